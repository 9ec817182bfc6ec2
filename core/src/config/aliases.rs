//! The one configuration vocabulary: canonical keys (SQLAlchemy's names) and
//! the aliases of asyncpg, sqlx, pg-pool and HikariCP, with their units.

/// Canonical configuration keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    Name,
    PoolSize,
    MaxOverflow,
    MaxSize,
    MinIdle,
    PoolTimeout,
    ConnectTimeout,
    PoolRecycle,
    LifetimeJitter,
    IdleTimeout,
    PoolPrePing,
    PrePingBypass,
    ResetOnReturn,
    UseLifo,
    MaxUses,
    LeakDetectionThreshold,
    InitializationFailTimeout,
    MaintenanceInterval,
    EchoPool,
}

/// How a value given under a key is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    /// Not a duration.
    None,
    /// Durations in seconds (canonical; floats allowed).
    Seconds,
    /// Durations in milliseconds (pg-pool's and HikariCP's names).
    Millis,
}

/// One accepted spelling of a key.
#[derive(Debug)]
pub(crate) struct Spelling {
    pub name: &'static str,
    pub key: Key,
    pub unit: Unit,
    /// Where the alias comes from, for the docs table and error messages.
    pub origin: &'static str,
}

macro_rules! s {
    ($name:literal, $key:ident, $unit:ident, $origin:literal) => {
        Spelling { name: $name, key: Key::$key, unit: Unit::$unit, origin: $origin }
    };
}

/// Every spelling, canonical ones first. `docs/semantics.md` mirrors this table
/// and a test checks that every entry is mentioned there.
pub(crate) static SPELLINGS: &[Spelling] = &[
    s!("name", Name, None, "canonical"),
    s!("pool_size", PoolSize, None, "canonical"),
    s!("max_overflow", MaxOverflow, None, "canonical"),
    s!("max_size", MaxSize, None, "canonical"),
    s!("min_idle", MinIdle, None, "canonical"),
    s!("pool_timeout", PoolTimeout, Seconds, "canonical"),
    s!("connect_timeout", ConnectTimeout, Seconds, "canonical"),
    s!("pool_recycle", PoolRecycle, Seconds, "canonical"),
    s!("lifetime_jitter", LifetimeJitter, None, "canonical"),
    s!("idle_timeout", IdleTimeout, Seconds, "canonical"),
    s!("pool_pre_ping", PoolPrePing, None, "canonical"),
    s!("pre_ping_bypass", PrePingBypass, Seconds, "canonical"),
    s!("reset_on_return", ResetOnReturn, None, "canonical"),
    s!("use_lifo", UseLifo, None, "canonical"),
    s!("max_uses", MaxUses, None, "canonical"),
    s!("leak_detection_threshold", LeakDetectionThreshold, Seconds, "canonical"),
    s!("initialization_fail_timeout", InitializationFailTimeout, Seconds, "canonical"),
    s!("maintenance_interval", MaintenanceInterval, Seconds, "canonical"),
    s!("echo_pool", EchoPool, None, "canonical"),
    // SQLAlchemy: QueuePool's own argument names and create_engine's pool_* names.
    s!("size", PoolSize, None, "SQLAlchemy"),
    s!("timeout", PoolTimeout, Seconds, "SQLAlchemy QueuePool(timeout=)"),
    s!("recycle", PoolRecycle, Seconds, "SQLAlchemy QueuePool(recycle=)"),
    s!("pre_ping", PoolPrePing, None, "SQLAlchemy Pool(pre_ping=)"),
    s!("pool_use_lifo", UseLifo, None, "SQLAlchemy create_engine"),
    s!("pool_reset_on_return", ResetOnReturn, None, "SQLAlchemy create_engine"),
    s!("logging_name", Name, None, "SQLAlchemy Pool(logging_name=)"),
    s!("pool_logging_name", Name, None, "SQLAlchemy create_engine"),
    s!("echo", EchoPool, None, "SQLAlchemy Pool(echo=)"),
    s!("pool_name", Name, None, "generic"),
    // asyncpg create_pool()
    s!("min_size", MinIdle, None, "asyncpg"),
    s!("max_queries", MaxUses, None, "asyncpg"),
    s!("max_inactive_connection_lifetime", IdleTimeout, Seconds, "asyncpg"),
    // sqlx PoolOptions
    s!("max_connections", MaxSize, None, "sqlx"),
    s!("min_connections", MinIdle, None, "sqlx"),
    s!("acquire_timeout", PoolTimeout, Seconds, "sqlx"),
    s!("max_lifetime", PoolRecycle, Seconds, "sqlx"),
    s!("test_before_acquire", PoolPrePing, None, "sqlx"),
    // pg-pool (node-postgres)
    s!("max", MaxSize, None, "pg-pool"),
    s!("min", MinIdle, None, "pg-pool"),
    s!("idle_timeout_millis", IdleTimeout, Millis, "pg-pool idleTimeoutMillis"),
    s!("connection_timeout_millis", PoolTimeout, Millis, "pg-pool connectionTimeoutMillis"),
    s!("max_lifetime_seconds", PoolRecycle, Seconds, "pg-pool maxLifetimeSeconds"),
    // HikariCP (milliseconds)
    s!("maximum_pool_size", MaxSize, None, "HikariCP maximumPoolSize"),
    s!("minimum_idle", MinIdle, None, "HikariCP minimumIdle"),
    s!("connection_timeout", PoolTimeout, Millis, "HikariCP connectionTimeout"),
    s!("idle_timeout_ms", IdleTimeout, Millis, "HikariCP idleTimeout (ms)"),
    s!("max_lifetime_ms", PoolRecycle, Millis, "HikariCP maxLifetime (ms)"),
    s!("leak_detection_threshold_ms", LeakDetectionThreshold, Millis, "HikariCP leakDetectionThreshold (ms)"),
    s!("initialization_fail_timeout_ms", InitializationFailTimeout, Millis, "HikariCP initializationFailTimeout (ms)"),
    s!("alive_bypass_window_ms", PrePingBypass, Millis, "HikariCP aliveBypassWindowMs"),
    s!("housekeeping_period_ms", MaintenanceInterval, Millis, "HikariCP housekeeping.periodMs"),
];

/// camelCase spellings that do not convert mechanically to their snake_case
/// alias. HikariCP's `idleTimeout`, `maxLifetime`, `leakDetectionThreshold`
/// and `initializationFailTimeout` are deliberately NOT here: camelCase of a
/// canonical key is the canonical key (Node's convention, in seconds), so
/// HikariCP's millisecond values go under the `*Ms` spellings.
static CAMEL_OVERRIDES: &[(&str, &str)] = &[
    ("connectionTimeout", "connection_timeout"),
    ("aliveBypassWindowMs", "alive_bypass_window_ms"),
    ("maximumPoolSize", "maximum_pool_size"),
    ("minimumIdle", "minimum_idle"),
    ("poolName", "pool_name"),
];

/// camelCase -> snake_case (`idleTimeoutMillis` -> `idle_timeout_millis`).
pub(crate) fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, ch) in name.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
        } else if ch == '-' || ch == '.' {
            out.push('_');
        } else {
            out.push(ch);
        }
    }
    out
}

/// Finds the spelling for a key as a caller wrote it: canonical, alias, camelCase
/// or kebab-case. Returns `None` for unknown keys.
pub(crate) fn lookup(name: &str) -> Option<&'static Spelling> {
    let name = name.trim();
    let normalized = match CAMEL_OVERRIDES.iter().find(|(camel, _)| *camel == name) {
        Some((_, mapped)) => mapped.to_string(),
        None => snake_case(name),
    };
    SPELLINGS.iter().find(|s| s.name == normalized)
}

/// The canonical spelling of a key.
pub(crate) fn canonical(key: Key) -> &'static str {
    SPELLINGS.iter().find(|s| s.key == key).map(|s| s.name).expect("every key has a canonical spelling")
}

/// All spellings, for "did you mean" hints.
pub(crate) fn closest(name: &str) -> Option<&'static str> {
    let target = snake_case(name);
    SPELLINGS
        .iter()
        .map(|s| (edit_distance(&target, s.name), s.name))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, n)| n)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(lookup("pool_size").unwrap().key, Key::PoolSize);
        assert_eq!(lookup("idleTimeoutMillis").unwrap().unit, Unit::Millis);
        assert_eq!(lookup("idleTimeout").unwrap().unit, Unit::Seconds);
        assert_eq!(lookup("idleTimeoutMs").unwrap().unit, Unit::Millis);
        assert_eq!(lookup("idle_timeout").unwrap().unit, Unit::Seconds);
        assert_eq!(lookup("maxLifetimeSeconds").unwrap().key, Key::PoolRecycle);
        assert_eq!(lookup("max").unwrap().key, Key::MaxSize);
        assert_eq!(lookup("poolSize").unwrap().key, Key::PoolSize);
        assert!(lookup("pool_sise").is_none());
        assert_eq!(closest("pool_sise"), Some("pool_size"));
    }

    #[test]
    fn every_key_has_one_canonical_spelling() {
        let mut seen = std::collections::HashSet::new();
        for s in SPELLINGS {
            assert!(seen.insert(s.name), "duplicate spelling {}", s.name);
        }
        for s in SPELLINGS {
            assert_eq!(lookup(canonical(s.key)).unwrap().key, s.key);
        }
    }
}

#[cfg(test)]
mod docs_tests {
    use super::*;

    /// docs/semantics.md must document every spelling the code accepts.
    #[test]
    fn every_spelling_is_documented() {
        let doc = include_str!("../../../docs/semantics.md");
        for s in SPELLINGS {
            assert!(doc.contains(&format!("`{}`", s.name)), "docs/semantics.md does not mention `{}`", s.name);
        }
    }
}
