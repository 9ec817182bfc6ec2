//! Configuration from URL query parameters.

use super::{aliases, ConfigValue, PoolConfig};
use crate::error::{redact, Error, Result};

impl PoolConfig {
    /// Reads pool keys from a database URL's query string over the defaults and
    /// returns the URL without them (other parameters such as `sslmode` stay).
    ///
    /// ```
    /// let (c, url) = unipool::PoolConfig::from_url("postgres://u:p@h/db?pool_size=3&sslmode=require").unwrap();
    /// assert_eq!(c.pool_size, 3);
    /// assert_eq!(url, "postgres://u:p@h/db?sslmode=require");
    /// ```
    pub fn from_url(url: &str) -> Result<(PoolConfig, String)> {
        let mut c = PoolConfig::default();
        let rest = c.apply_url(url)?;
        c.normalize()?;
        Ok((c, rest))
    }

    /// Applies pool keys from `url`'s query over `self`; returns the URL without them.
    pub fn apply_url(&mut self, url: &str) -> Result<String> {
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, q),
            None => return Ok(url.to_string()),
        };
        let (query, fragment) = match query.split_once('#') {
            Some((q, f)) => (q, Some(f)),
            None => (query, None),
        };
        let mut kept: Vec<&str> = Vec::new();
        for part in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let key: String = ::url::form_urlencoded::parse(format!("k={k}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            let value: String = ::url::form_urlencoded::parse(format!("v={v}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            if aliases::lookup(&key).is_some() && !is_driver_param(&key) {
                self.set(&key, ConfigValue::Str(value.clone())).map_err(|e| {
                    Error::config(
                        &format!("{key} (URL query of {})", redact(base)),
                        format!("{value:?}"),
                        e.message().rsplit(": ").next().unwrap_or("invalid").to_string(),
                    )
                })?;
            } else {
                kept.push(part);
            }
        }
        let mut out = base.to_string();
        if !kept.is_empty() {
            out.push('?');
            out.push_str(&kept.join("&"));
        }
        if let Some(f) = fragment {
            out.push('#');
            out.push_str(f);
        }
        Ok(out)
    }
}

/// Driver parameters whose names collide with pool aliases stay in the URL:
/// libpq's `connect_timeout` belongs to the driver, and so does MySQL's.
fn is_driver_param(key: &str) -> bool {
    matches!(key, "connect_timeout" | "timeout" | "name")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pool_keys_are_taken_driver_keys_stay() {
        let (c, rest) = PoolConfig::from_url(
            "postgres://u:secret@h/db?sslmode=require&pool_size=3&max_overflow=2&pool_recycle=60&connect_timeout=5&application_name=x",
        )
        .unwrap();
        assert_eq!((c.pool_size, c.max_overflow), (3, 2));
        assert_eq!(c.pool_recycle, Some(Duration::from_secs(60)));
        assert_eq!(rest, "postgres://u:secret@h/db?sslmode=require&connect_timeout=5&application_name=x");
        let (_, rest) = PoolConfig::from_url("sqlite::memory:").unwrap();
        assert_eq!(rest, "sqlite::memory:");
    }

    #[test]
    fn errors_never_show_the_password() {
        let e = PoolConfig::from_url("postgres://u:secret@h/db?pool_size=x").unwrap_err();
        let s = e.to_string();
        assert!(s.contains("pool_size") && s.contains("\"x\""), "{s}");
        assert!(!s.contains("secret"), "{s}");
    }
}
