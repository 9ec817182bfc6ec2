//! Named starting points. A profile is a set of key/value pairs applied over
//! the defaults; anything set afterwards overrides it.

use super::PoolConfig;
use crate::error::{Error, Result};

/// `(profile, [(key, value)], why)`. Documented in docs/config.md.
pub static PROFILES: &[(&str, &[(&str, &str)], &str)] = &[
    (
        "development",
        &[("pool_size", "2"), ("max_overflow", "3"), ("pool_timeout", "10"), ("pool_pre_ping", "true"), ("echo_pool", "true"), ("leak_detection_threshold", "30")],
        "few connections, loud: pool events logged and leaks reported after 30 s",
    ),
    (
        "testing",
        &[("pool_size", "1"), ("max_overflow", "2"), ("pool_timeout", "5"), ("pool_pre_ping", "false"), ("leak_detection_threshold", "10")],
        "fail fast: a test that holds connections or waits long surfaces within seconds",
    ),
    (
        "staging",
        &[("pool_size", "5"), ("max_overflow", "10"), ("pool_timeout", "30"), ("pool_recycle", "1800"), ("pool_pre_ping", "true"), ("idle_timeout", "600")],
        "production's rules at SQLAlchemy's default size",
    ),
    (
        "production",
        &[("pool_size", "10"), ("max_overflow", "20"), ("pool_timeout", "30"), ("pool_recycle", "1800"), ("pool_pre_ping", "true"), ("idle_timeout", "600"), ("min_idle", "2")],
        "recycle under typical 1 h server/proxy limits, pre-ping, two warm connections",
    ),
    ("small", &[("pool_size", "5"), ("max_overflow", "5")], "up to 10 connections"),
    ("medium", &[("pool_size", "10"), ("max_overflow", "10")], "up to 20 connections"),
    ("large", &[("pool_size", "20"), ("max_overflow", "30")], "up to 50 connections"),
];

impl PoolConfig {
    /// The configuration of a named profile (`development`, `testing`,
    /// `staging`, `production`, `small`, `medium`, `large`).
    pub fn profile(name: &str) -> Result<PoolConfig> {
        let mut c = PoolConfig::default();
        c.apply_profile(name)?;
        c.normalize()?;
        Ok(c)
    }

    /// Applies a profile's pairs over `self`.
    pub fn apply_profile(&mut self, name: &str) -> Result<()> {
        let lower = name.trim().to_ascii_lowercase();
        let (_, pairs, _) = PROFILES.iter().find(|(n, _, _)| *n == lower).ok_or_else(|| {
            let names: Vec<&str> = PROFILES.iter().map(|(n, _, _)| *n).collect();
            Error::config("profile", format!("{name:?}"), format!("expected one of {}", names.join(", ")))
        })?;
        for (k, v) in pairs.iter() {
            self.set(k, *v)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_is_valid_and_unknown_is_named() {
        for (name, _, _) in PROFILES {
            PoolConfig::profile(name).unwrap();
        }
        assert_eq!(PoolConfig::profile("production").unwrap().max_size(), Some(30));
        let e = PoolConfig::profile("huge").unwrap_err();
        assert!(e.to_string().contains("\"huge\"") && e.to_string().contains("development"), "{e}");
    }
}
