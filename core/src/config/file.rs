//! Configuration from TOML: the `[database.pool]` table.

use super::{ConfigValue, PoolConfig};
use crate::error::{Error, Result};

fn to_value(key: &str, v: &toml::Value) -> Result<ConfigValue> {
    Ok(match v {
        toml::Value::String(s) => ConfigValue::Str(s.clone()),
        toml::Value::Integer(i) => ConfigValue::Int(*i),
        toml::Value::Float(f) => ConfigValue::Float(*f),
        toml::Value::Boolean(b) => ConfigValue::Bool(*b),
        other => {
            return Err(Error::config(
                &format!("database.pool.{key}"),
                other.to_string(),
                "expected a string, number or boolean",
            ))
        }
    })
}

impl PoolConfig {
    /// Reads the `[database.pool]` table of a TOML document over the defaults.
    /// A missing table gives the defaults; an unknown key is an error.
    ///
    /// ```
    /// let c = unipool::PoolConfig::from_toml_str("[database.pool]\npool_size = 8\npool_timeout = \"2s\"\n").unwrap();
    /// assert_eq!(c.pool_size, 8);
    /// ```
    pub fn from_toml_str(text: &str) -> Result<PoolConfig> {
        let mut c = PoolConfig::default();
        c.apply_toml_str(text)?;
        c.normalize()?;
        Ok(c)
    }

    /// Reads a TOML file; see [`from_toml_str`](Self::from_toml_str).
    pub fn from_toml_file(path: impl AsRef<std::path::Path>) -> Result<PoolConfig> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::config("toml file", path.display(), format!("cannot be read: {e}"))
        })?;
        Self::from_toml_str(&text)
    }

    /// Applies the `[database.pool]` table over `self`; returns the keys used.
    pub fn apply_toml_str(&mut self, text: &str) -> Result<Vec<String>> {
        let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let msg = e.message().to_string();
            Error::config("toml", "document", format!("is not valid TOML: {msg}"))
        })?;
        let Some(db) = doc.get("database") else { return Ok(Vec::new()) };
        let Some(pool) = db.get("pool") else { return Ok(Vec::new()) };
        let table = pool.as_table().ok_or_else(|| {
            Error::config("database.pool", pool.type_str(), "expected a table ([database.pool])")
        })?;
        let mut used = Vec::new();
        for (k, v) in table {
            let value = to_value(k, v)?;
            self.set(k, value).map_err(|e| {
                Error::config(&format!("database.pool.{k}"), v.to_string(), e.message().rsplit(": ").next().unwrap_or("invalid").to_string())
            })?;
            used.push(k.clone());
        }
        Ok(used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn reads_database_pool_table() {
        let c = PoolConfig::from_toml_str(
            r#"
            [database]
            url = "postgres://x"
            [database.pool]
            pool_size = 8
            max_overflow = -1
            pool_recycle = 1800
            idle_timeout = "10m"
            pool_pre_ping = true
            name = "api"
            "#,
        )
        .unwrap();
        assert_eq!((c.pool_size, c.max_overflow, c.max_size()), (8, -1, None));
        assert_eq!(c.pool_recycle, Some(Duration::from_secs(1800)));
        assert_eq!(c.idle_timeout, Some(Duration::from_secs(600)));
        assert!(c.pool_pre_ping);
        assert_eq!(c.name, "api");
        assert_eq!(PoolConfig::from_toml_str("").unwrap(), {
            let mut d = PoolConfig::default();
            d.normalize().unwrap();
            d
        });
    }

    #[test]
    fn errors_name_the_table_key() {
        let e = PoolConfig::from_toml_str("[database.pool]\npool_size = -1\n").unwrap_err();
        assert!(e.to_string().contains("database.pool.pool_size = -1"), "{e}");
        let e = PoolConfig::from_toml_str("[database.pool]\nfoo = 1\n").unwrap_err();
        assert!(e.to_string().contains("database.pool.foo"), "{e}");
        let e = PoolConfig::from_toml_str("[database.pool\n").unwrap_err();
        assert!(e.to_string().contains("not valid TOML"), "{e}");
    }
}
