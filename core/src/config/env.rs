//! Configuration from environment variables.
//!
//! With the default prefix `DB_POOL_`, a key `pool_<x>` is read from
//! `DB_POOL_<X>` (`DB_POOL_SIZE`, `DB_POOL_TIMEOUT`, `DB_POOL_RECYCLE`,
//! `DB_POOL_PRE_PING`), any other key `<k>` from `DB_POOL_<K>`
//! (`DB_POOL_MIN_SIZE`, `DB_POOL_MAX_SIZE`, `DB_POOL_IDLE_TIMEOUT`), and the
//! SQLAlchemy `create_engine` names that do not start with `pool_` also from
//! the prefix's namespace (`DB_MAX_OVERFLOW`, `DB_ECHO_POOL`). An unknown
//! variable under the full prefix is an error (a typo must not pass silently);
//! unknown variables under the namespace (`DB_HOST`) are not ours and ignored.

use super::{aliases, ConfigValue, PoolConfig};
use crate::error::{Error, Result};

/// The default prefix.
pub const DEFAULT_PREFIX: &str = "DB_POOL_";

fn map_suffix(suffix: &str) -> Option<String> {
    let lower = suffix.to_ascii_lowercase();
    for candidate in [format!("pool_{lower}"), lower.clone()] {
        if let Some(s) = aliases::lookup(&candidate) {
            return Some(s.name.to_string());
        }
    }
    None
}

impl PoolConfig {
    /// Reads `DB_POOL_*` (and `DB_MAX_OVERFLOW`, `DB_ECHO_POOL`) over the defaults.
    pub fn from_env() -> Result<PoolConfig> {
        Self::from_env_prefix(DEFAULT_PREFIX)
    }

    /// Like [`from_env`](Self::from_env) with another prefix, e.g. `"APP_DB_POOL_"`.
    pub fn from_env_prefix(prefix: &str) -> Result<PoolConfig> {
        let mut c = PoolConfig::default();
        c.apply_env(prefix, std::env::vars())?;
        c.normalize()?;
        Ok(c)
    }

    /// Applies environment-style pairs with `prefix` over `self` (testable without
    /// touching the process environment). Returns the variables that were used.
    pub fn apply_env(
        &mut self,
        prefix: &str,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Vec<(String, &'static str)>> {
        if prefix.is_empty() {
            return Err(Error::config("env prefix", "\"\"", "expected a non-empty prefix such as DB_POOL_"));
        }
        let prefix_up = prefix.to_ascii_uppercase();
        let namespace = prefix_up.strip_suffix("POOL_").filter(|n| !n.is_empty()).map(str::to_string);
        let mut vars: Vec<(String, String)> = vars.into_iter().collect();
        vars.sort();
        let mut used = Vec::new();
        for (name, value) in vars {
            let upper = name.to_ascii_uppercase();
            let spelling = if let Some(suffix) = upper.strip_prefix(&prefix_up) {
                match map_suffix(suffix) {
                    Some(s) => s,
                    None => {
                        let hint = aliases::closest(&suffix.to_ascii_lowercase())
                            .map(|c| format!(" (did you mean {prefix_up}{}?)", c.trim_start_matches("pool_").to_ascii_uppercase()))
                            .unwrap_or_default();
                        return Err(Error::config(&name, format!("{value:?}"), format!("unknown pool setting{hint}")));
                    }
                }
            } else if let Some(suffix) = namespace.as_deref().and_then(|ns| upper.strip_prefix(ns)) {
                // DB_MAX_OVERFLOW, DB_ECHO_POOL, DB_POOL_... handled above.
                let lower = suffix.to_ascii_lowercase();
                match aliases::lookup(&lower) {
                    Some(s) if s.origin == "canonical" || s.origin.starts_with("SQLAlchemy") => s.name.to_string(),
                    _ => continue,
                }
            } else {
                continue;
            };
            self.set(&spelling, ConfigValue::Str(value.clone())).map_err(|e| {
                Error::config(&name, format!("{value:?}"), e.message().rsplit(": ").next().unwrap_or("invalid").to_string())
            })?;
            used.push((name, aliases::canonical(aliases::lookup(&spelling).expect("mapped").key)));
        }
        Ok(used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn issue_names_map() {
        let mut c = PoolConfig::default();
        let used = c
            .apply_env(
                "DB_POOL_",
                env(&[
                    ("DB_POOL_SIZE", "7"),
                    ("DB_MAX_OVERFLOW", "3"),
                    ("DB_POOL_MIN_SIZE", "2"),
                    ("DB_POOL_TIMEOUT", "4.5"),
                    ("DB_POOL_RECYCLE", "3600"),
                    ("DB_POOL_PRE_PING", "true"),
                    ("DB_ECHO_POOL", "1"),
                    ("DB_HOST", "ignored"),
                    ("PATH", "/bin"),
                ]),
            )
            .unwrap();
        assert_eq!(used.len(), 7);
        c.normalize().unwrap();
        assert_eq!((c.pool_size, c.max_overflow, c.min_idle), (7, 3, 2));
        assert_eq!(c.pool_timeout, Duration::from_millis(4500));
        assert_eq!(c.pool_recycle, Some(Duration::from_secs(3600)));
        assert!(c.pool_pre_ping && c.echo_pool);
    }

    #[test]
    fn max_size_and_custom_prefix() {
        let mut c = PoolConfig::default();
        c.apply_env("APP_POOL_", env(&[("APP_POOL_MAX_SIZE", "12"), ("DB_POOL_SIZE", "99")])).unwrap();
        c.normalize().unwrap();
        assert_eq!(c.max_size(), Some(12));
        assert_eq!(c.pool_size, 12);
    }

    #[test]
    fn errors_name_the_variable() {
        let mut c = PoolConfig::default();
        let e = c.apply_env("DB_POOL_", env(&[("DB_POOL_SIZE", "ten")])).unwrap_err();
        assert!(e.to_string().contains("DB_POOL_SIZE = \"ten\""), "{e}");
        assert!(e.to_string().contains("integer from 0"), "{e}");
        let e = c.apply_env("DB_POOL_", env(&[("DB_POOL_SIZ", "1")])).unwrap_err();
        assert!(e.to_string().contains("DB_POOL_SIZ"), "{e}");
        assert!(e.to_string().contains("unknown"), "{e}");
    }
}
