//! Pool configuration: one vocabulary for every language and every source.
//!
//! Keys are SQLAlchemy's names (`pool_size`, `max_overflow`, `pool_timeout`,
//! `pool_recycle`, `pool_pre_ping`, ...); the aliases of asyncpg, sqlx, pg-pool
//! and HikariCP are accepted and mapped (see `docs/semantics.md`). Values come
//! from [`PoolConfig::set`], the [builder](PoolConfigBuilder), environment
//! variables ([`PoolConfig::from_env`]), TOML ([`PoolConfig::from_toml_str`]),
//! URL query parameters ([`PoolConfig::from_url`]) or a named
//! [profile](PoolConfig::profile). Every rejected value produces one
//! [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig) error naming
//! the key, the value and what is allowed.

mod aliases;
mod env;
mod file;
mod profiles;
mod url;

use std::fmt;
use std::time::Duration;

use crate::error::{Error, Result};
pub(crate) use aliases::Key;
use aliases::{Spelling, Unit};

pub use env::DEFAULT_PREFIX as DEFAULT_ENV_PREFIX;
pub use profiles::PROFILES;

/// The largest `pool_size`, `max_size` or `min_idle` accepted.
pub const MAX_CONNECTIONS_LIMIT: usize = 1_000_000;

/// What happens to a connection when it is returned (SQLAlchemy's `reset_on_return`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ResetOnReturn {
    /// Roll back any open transaction (SQLAlchemy's default).
    #[default]
    Rollback,
    /// Commit any open transaction.
    Commit,
    /// Leave the connection as it is.
    None,
}

impl ResetOnReturn {
    /// `rollback`, `commit` or `none`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ResetOnReturn::Rollback => "rollback",
            ResetOnReturn::Commit => "commit",
            ResetOnReturn::None => "none",
        }
    }
}

/// A configuration value as a binding or a text source hands it over.
#[derive(Clone, Debug, PartialEq)]
pub enum ConfigValue {
    /// `None` / `null`: "not set" for optional durations and limits.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float (durations in seconds).
    Float(f64),
    /// Text, parsed by the key's rules (`"30"`, `"30s"`, `"500ms"`, `"true"`).
    Str(String),
}

impl fmt::Display for ConfigValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigValue::Null => f.write_str("null"),
            ConfigValue::Bool(b) => write!(f, "{b}"),
            ConfigValue::Int(i) => write!(f, "{i}"),
            ConfigValue::Float(x) => write!(f, "{x}"),
            ConfigValue::Str(s) => write!(f, "{s:?}"),
        }
    }
}

impl From<bool> for ConfigValue {
    fn from(v: bool) -> Self {
        ConfigValue::Bool(v)
    }
}
impl From<i64> for ConfigValue {
    fn from(v: i64) -> Self {
        ConfigValue::Int(v)
    }
}
impl From<i32> for ConfigValue {
    fn from(v: i32) -> Self {
        ConfigValue::Int(v.into())
    }
}
impl From<usize> for ConfigValue {
    fn from(v: usize) -> Self {
        ConfigValue::Int(v as i64)
    }
}
impl From<u64> for ConfigValue {
    fn from(v: u64) -> Self {
        ConfigValue::Int(v as i64)
    }
}
impl From<f64> for ConfigValue {
    fn from(v: f64) -> Self {
        ConfigValue::Float(v)
    }
}
impl From<&str> for ConfigValue {
    fn from(v: &str) -> Self {
        ConfigValue::Str(v.to_string())
    }
}
impl From<String> for ConfigValue {
    fn from(v: String) -> Self {
        ConfigValue::Str(v)
    }
}
impl From<Duration> for ConfigValue {
    fn from(v: Duration) -> Self {
        ConfigValue::Float(v.as_secs_f64())
    }
}
impl<T: Into<ConfigValue>> From<Option<T>> for ConfigValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(ConfigValue::Null, Into::into)
    }
}

/// The complete configuration of one pool. Defaults are SQLAlchemy's QueuePool
/// defaults where SQLAlchemy has the parameter, HikariCP's otherwise.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolConfig {
    /// Pool name, used in metrics labels, logs and errors. Default `"default"`.
    pub name: String,
    /// Connections kept open once created (SQLAlchemy `pool_size`). Default 5.
    /// `0` means "no limit on kept connections", as in SQLAlchemy.
    pub pool_size: usize,
    /// Extra connections allowed beyond `pool_size`, closed when returned while
    /// more than `pool_size` are open. `-1` is unbounded. Default 10.
    pub max_overflow: i64,
    /// Connections opened eagerly and kept ready by maintenance. Default 0.
    pub min_idle: usize,
    /// How long `acquire` waits for a connection. Default 30 s.
    pub pool_timeout: Duration,
    /// How long creating one connection may take. Default 30 s.
    pub connect_timeout: Duration,
    /// Maximum lifetime of a connection; `None` keeps connections forever
    /// (SQLAlchemy's `-1`). Each connection's lifetime is shortened by a random
    /// amount up to `lifetime_jitter` so a pool never recycles all at once.
    pub pool_recycle: Option<Duration>,
    /// Fraction of `pool_recycle` by which each lifetime is randomly shortened.
    /// Default 0.025 (HikariCP's 2.5 %).
    pub lifetime_jitter: f64,
    /// Idle connections above `min_idle` are closed after this long. Default none.
    pub idle_timeout: Option<Duration>,
    /// Ping a connection before handing it out. Default false.
    pub pool_pre_ping: bool,
    /// No pre-ping for connections used within this window. Default 500 ms (HikariCP).
    pub pre_ping_bypass: Duration,
    /// Reset applied when a connection is returned. Default rollback.
    pub reset_on_return: ResetOnReturn,
    /// Hand out the most recently returned idle connection first. Default false (FIFO, as SQLAlchemy).
    pub use_lifo: bool,
    /// Close a connection after this many checkouts. Default none.
    pub max_uses: Option<u64>,
    /// Report a connection held longer than this as a possible leak. Default none.
    pub leak_detection_threshold: Option<Duration>,
    /// At start, wait this long for `min_idle` connections and fail with the
    /// reason if they cannot be opened (HikariCP's initializationFailTimeout).
    /// Default none: start without waiting.
    pub initialization_fail_timeout: Option<Duration>,
    /// How often background maintenance runs. Default 1 s (reaping precision).
    pub maintenance_interval: Duration,
    /// Log pool events at debug level (SQLAlchemy `echo_pool`). Default false.
    pub echo_pool: bool,
    /// A total limit asked for through `max_size` or an alias (sqlx
    /// `max_connections`, asyncpg `max_size`, pg-pool `max`, HikariCP
    /// `maximumPoolSize`); resolved by [`PoolConfig::normalize`].
    pub max_size: Option<usize>,
    explicit_pool_size: bool,
    explicit_max_overflow: bool,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            name: "default".to_string(),
            pool_size: 5,
            max_overflow: 10,
            min_idle: 0,
            pool_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(30),
            pool_recycle: None,
            lifetime_jitter: 0.025,
            idle_timeout: None,
            pool_pre_ping: false,
            pre_ping_bypass: Duration::from_millis(500),
            reset_on_return: ResetOnReturn::Rollback,
            use_lifo: false,
            max_uses: None,
            leak_detection_threshold: None,
            initialization_fail_timeout: None,
            maintenance_interval: Duration::from_secs(1),
            echo_pool: false,
            max_size: None,
            explicit_pool_size: false,
            explicit_max_overflow: false,
        }
    }
}

fn describe(spelling: &Spelling) -> String {
    if spelling.origin == "canonical" {
        spelling.name.to_string()
    } else {
        format!("{} ({} alias of {})", spelling.name, spelling.origin, aliases::canonical(spelling.key))
    }
}

fn parse_bool(key: &str, v: &ConfigValue) -> Result<bool> {
    let allowed = "expected a boolean (true/false, 1/0, yes/no, on/off)";
    match v {
        ConfigValue::Bool(b) => Ok(*b),
        ConfigValue::Int(0) => Ok(false),
        ConfigValue::Int(1) => Ok(true),
        ConfigValue::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" | "" => Ok(false),
            _ => Err(Error::config(key, v, allowed)),
        },
        _ => Err(Error::config(key, v, allowed)),
    }
}

fn parse_int(key: &str, v: &ConfigValue, min: i64, max: i64) -> Result<i64> {
    let allowed = || format!("expected an integer from {min} to {max}");
    let n = match v {
        ConfigValue::Int(i) => *i,
        ConfigValue::Float(f) if f.fract() == 0.0 && f.is_finite() => *f as i64,
        ConfigValue::Str(s) => s.trim().parse::<i64>().map_err(|_| Error::config(key, v, allowed()))?,
        _ => return Err(Error::config(key, v, allowed())),
    };
    if n < min || n > max {
        return Err(Error::config(key, v, allowed()));
    }
    Ok(n)
}

/// Parses a duration. Plain numbers are in `unit`; text may carry its own unit
/// (`"250ms"`, `"30s"`, `"5m"`, `"1h"`). `None` means "disabled" and is only
/// returned when `nullable` (null, negative numbers as in SQLAlchemy's
/// `recycle=-1`, or `0` when `zero_disables`).
fn parse_duration(
    key: &str,
    v: &ConfigValue,
    unit: Unit,
    nullable: bool,
    zero_disables: bool,
) -> Result<Option<Duration>> {
    let allowed = || {
        let unit_name = if unit == Unit::Millis { "milliseconds" } else { "seconds" };
        if nullable {
            format!(
                "expected a duration in {unit_name} (a number >= 0, or text such as \"500ms\", \"30s\", \"5m\"), or -1/null to disable"
            )
        } else {
            format!("expected a duration in {unit_name} (a number >= 0, or text such as \"500ms\", \"30s\", \"5m\")")
        }
    };
    let scale = if unit == Unit::Millis { 0.001 } else { 1.0 };
    let secs: f64 = match v {
        ConfigValue::Null if nullable => return Ok(None),
        ConfigValue::Int(i) => *i as f64 * scale,
        ConfigValue::Float(f) => *f * scale,
        ConfigValue::Str(s) => {
            let t = s.trim().to_ascii_lowercase();
            if nullable && (t.is_empty() || t == "none" || t == "null" || t == "off") {
                return Ok(None);
            }
            let (num, mult) = if let Some(n) = t.strip_suffix("ms") {
                (n, 0.001)
            } else if let Some(n) = t.strip_suffix("us") {
                (n, 0.000_001)
            } else if let Some(n) = t.strip_suffix('s') {
                (n, 1.0)
            } else if let Some(n) = t.strip_suffix('m') {
                (n, 60.0)
            } else if let Some(n) = t.strip_suffix('h') {
                (n, 3600.0)
            } else {
                (t.as_str(), scale)
            };
            num.trim().parse::<f64>().map_err(|_| Error::config(key, v, allowed()))? * mult
        }
        _ => return Err(Error::config(key, v, allowed())),
    };
    if !secs.is_finite() || secs > 10.0 * 365.0 * 86400.0 {
        return Err(Error::config(key, v, allowed()));
    }
    if secs < 0.0 {
        return if nullable { Ok(None) } else { Err(Error::config(key, v, allowed())) };
    }
    if secs == 0.0 && zero_disables && nullable {
        return Ok(None);
    }
    Ok(Some(Duration::from_secs_f64(secs)))
}

impl PoolConfig {
    /// A builder starting from the defaults.
    pub fn builder() -> PoolConfigBuilder {
        PoolConfigBuilder { config: PoolConfig::default(), error: None }
    }

    /// Sets one key (canonical, alias, camelCase or kebab-case) from a value.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig) naming the
    /// key, the value and what is allowed; unknown keys get a "did you mean".
    pub fn set(&mut self, key: &str, value: impl Into<ConfigValue>) -> Result<()> {
        let value = value.into();
        let spelling = aliases::lookup(key).ok_or_else(|| {
            let hint = aliases::closest(key).map(|c| format!(" (did you mean {c}?)")).unwrap_or_default();
            Error::config(key, &value, format!("unknown configuration key{hint}; see docs/semantics.md for the keys"))
        })?;
        let k = describe(spelling);
        let k = k.as_str();
        let lim = MAX_CONNECTIONS_LIMIT as i64;
        match spelling.key {
            Key::Name => {
                let s = match &value {
                    ConfigValue::Str(s) => s.trim().to_string(),
                    _ => return Err(Error::config(k, &value, "expected text of 1 to 64 printable characters")),
                };
                if s.is_empty() || s.len() > 64 || s.chars().any(|c| c.is_control()) {
                    return Err(Error::config(k, &value, "expected text of 1 to 64 printable characters"));
                }
                self.name = s;
            }
            Key::PoolSize => {
                self.pool_size = parse_int(k, &value, 0, lim)? as usize;
                self.explicit_pool_size = true;
            }
            Key::MaxOverflow => {
                self.max_overflow = parse_int(k, &value, -1, lim)?;
                self.explicit_max_overflow = true;
            }
            Key::MaxSize => {
                self.max_size = match value {
                    ConfigValue::Null => None,
                    _ => Some(parse_int(k, &value, 1, lim)? as usize),
                }
            }
            Key::MinIdle => self.min_idle = parse_int(k, &value, 0, lim)? as usize,
            Key::PoolTimeout => {
                self.pool_timeout = parse_duration(k, &value, spelling.unit, false, false)?.unwrap_or_default()
            }
            Key::ConnectTimeout => {
                self.connect_timeout = parse_duration(k, &value, spelling.unit, false, false)?.unwrap_or_default();
                if self.connect_timeout.is_zero() {
                    return Err(Error::config(k, &value, "expected a duration greater than 0"));
                }
            }
            Key::PoolRecycle => self.pool_recycle = parse_duration(k, &value, spelling.unit, true, true)?,
            Key::IdleTimeout => self.idle_timeout = parse_duration(k, &value, spelling.unit, true, true)?,
            Key::LeakDetectionThreshold => {
                self.leak_detection_threshold = parse_duration(k, &value, spelling.unit, true, true)?
            }
            Key::InitializationFailTimeout => {
                self.initialization_fail_timeout = parse_duration(k, &value, spelling.unit, true, false)?
            }
            Key::PrePingBypass => {
                self.pre_ping_bypass = parse_duration(k, &value, spelling.unit, false, false)?.unwrap_or_default()
            }
            Key::MaintenanceInterval => {
                let d = parse_duration(k, &value, spelling.unit, false, false)?.unwrap_or_default();
                if d < Duration::from_millis(10) {
                    return Err(Error::config(k, &value, "expected a duration of at least 10 ms"));
                }
                self.maintenance_interval = d;
            }
            Key::LifetimeJitter => {
                let x = match &value {
                    ConfigValue::Int(i) => *i as f64,
                    ConfigValue::Float(f) => *f,
                    ConfigValue::Str(s) => s.trim().parse::<f64>().unwrap_or(f64::NAN),
                    _ => f64::NAN,
                };
                if !(0.0..=0.5).contains(&x) {
                    return Err(Error::config(k, &value, "expected a fraction from 0.0 to 0.5"));
                }
                self.lifetime_jitter = x;
            }
            Key::PoolPrePing => self.pool_pre_ping = parse_bool(k, &value)?,
            Key::UseLifo => self.use_lifo = parse_bool(k, &value)?,
            Key::EchoPool => {
                // SQLAlchemy also accepts echo_pool="debug".
                self.echo_pool = match &value {
                    ConfigValue::Str(s) if s.eq_ignore_ascii_case("debug") => true,
                    _ => parse_bool(k, &value)?,
                }
            }
            Key::ResetOnReturn => {
                let allowed = "expected one of rollback, commit, none (or true = rollback, false/null = none)";
                self.reset_on_return = match &value {
                    ConfigValue::Null | ConfigValue::Bool(false) => ResetOnReturn::None,
                    ConfigValue::Bool(true) => ResetOnReturn::Rollback,
                    ConfigValue::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
                        "rollback" | "true" => ResetOnReturn::Rollback,
                        "commit" => ResetOnReturn::Commit,
                        "none" | "false" | "null" | "" => ResetOnReturn::None,
                        _ => return Err(Error::config(k, &value, allowed)),
                    },
                    _ => return Err(Error::config(k, &value, allowed)),
                }
            }
            Key::MaxUses => {
                self.max_uses = match &value {
                    ConfigValue::Null | ConfigValue::Int(0) => None,
                    ConfigValue::Str(s) if s.trim() == "0" || s.trim().is_empty() => None,
                    _ => Some(parse_int(k, &value, 0, i64::MAX)? as u64),
                }
            }
        }
        Ok(())
    }

    /// Applies many key/value pairs; stops at the first error.
    pub fn apply<K: AsRef<str>, V: Into<ConfigValue>>(&mut self, pairs: impl IntoIterator<Item = (K, V)>) -> Result<()> {
        for (k, v) in pairs {
            self.set(k.as_ref(), v)?;
        }
        Ok(())
    }

    /// Resolves `max_size` into `pool_size` + `max_overflow` and checks every
    /// combination. Pools call this on creation; calling it twice is harmless.
    ///
    /// `max_size = N` means `pool_size + max_overflow = N`: when `pool_size` was
    /// given too, `max_overflow = N - pool_size`; when it was not, all `N`
    /// connections are kept (`pool_size = N`, `max_overflow = 0`), which is how
    /// sqlx, asyncpg, pg-pool and HikariCP treat their maximum.
    pub fn normalize(&mut self) -> Result<()> {
        if let Some(m) = self.max_size {
            if self.explicit_pool_size {
                if self.pool_size > m {
                    return Err(Error::config(
                        "pool_size",
                        self.pool_size,
                        format!("must not exceed max_size = {m} (max_size is pool_size + max_overflow)"),
                    ));
                }
                let overflow = (m - self.pool_size) as i64;
                if self.explicit_max_overflow && self.max_overflow != overflow {
                    return Err(Error::config(
                        "max_overflow",
                        self.max_overflow,
                        format!(
                            "conflicts with max_size = {m} and pool_size = {}: give max_overflow = {overflow} or leave one of them out",
                            self.pool_size
                        ),
                    ));
                }
                self.max_overflow = overflow;
            } else {
                self.pool_size = m;
                self.max_overflow = 0;
            }
            self.max_size = None;
            self.explicit_pool_size = true;
            self.explicit_max_overflow = true;
        }
        self.validate()
    }

    /// Checks combinations of values (each value alone was checked by [`set`](Self::set)).
    pub fn validate(&self) -> Result<()> {
        if self.max_overflow < -1 {
            return Err(Error::config("max_overflow", self.max_overflow, "expected an integer >= -1 (-1 = unbounded)"));
        }
        if self.pool_size == 0 && self.max_overflow == 0 {
            return Err(Error::config(
                "max_overflow",
                0,
                "with pool_size = 0 the pool could never open a connection: give max_overflow > 0 or -1",
            ));
        }
        if let Some(max) = self.max_size() {
            if self.min_idle > max {
                return Err(Error::config("min_idle", self.min_idle, format!("must not exceed the pool's maximum {max} (pool_size + max_overflow)")));
            }
        }
        if self.pool_size > 0 && self.min_idle > self.pool_size {
            return Err(Error::config(
                "min_idle",
                self.min_idle,
                format!("must not exceed pool_size = {} (connections beyond pool_size are closed when returned)", self.pool_size),
            ));
        }
        if !(0.0..=0.5).contains(&self.lifetime_jitter) {
            return Err(Error::config("lifetime_jitter", self.lifetime_jitter, "expected a fraction from 0.0 to 0.5"));
        }
        if self.connect_timeout.is_zero() {
            return Err(Error::config("connect_timeout", 0, "expected a duration greater than 0"));
        }
        if self.name.is_empty() || self.name.len() > 64 {
            return Err(Error::config("name", format!("{:?}", self.name), "expected text of 1 to 64 printable characters"));
        }
        Ok(())
    }

    /// `pool_size + max_overflow`, or `None` when unbounded.
    pub fn max_size(&self) -> Option<usize> {
        if let Some(m) = self.max_size {
            return Some(m);
        }
        if self.max_overflow < 0 {
            None
        } else {
            Some(self.pool_size + self.max_overflow as usize)
        }
    }

    /// The effective configuration as canonical key/value text pairs.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        fn d(x: Option<Duration>) -> String {
            x.map_or("none".to_string(), |d| format!("{}", d.as_secs_f64()))
        }
        vec![
            ("name", self.name.clone()),
            ("pool_size", self.pool_size.to_string()),
            ("max_overflow", self.max_overflow.to_string()),
            ("max_size", self.max_size().map_or("unbounded".to_string(), |m| m.to_string())),
            ("min_idle", self.min_idle.to_string()),
            ("pool_timeout", d(Some(self.pool_timeout))),
            ("connect_timeout", d(Some(self.connect_timeout))),
            ("pool_recycle", d(self.pool_recycle)),
            ("lifetime_jitter", self.lifetime_jitter.to_string()),
            ("idle_timeout", d(self.idle_timeout)),
            ("pool_pre_ping", self.pool_pre_ping.to_string()),
            ("pre_ping_bypass", d(Some(self.pre_ping_bypass))),
            ("reset_on_return", self.reset_on_return.as_str().to_string()),
            ("use_lifo", self.use_lifo.to_string()),
            ("max_uses", self.max_uses.map_or("none".to_string(), |m| m.to_string())),
            ("leak_detection_threshold", d(self.leak_detection_threshold)),
            ("initialization_fail_timeout", d(self.initialization_fail_timeout)),
            ("maintenance_interval", d(Some(self.maintenance_interval))),
            ("echo_pool", self.echo_pool.to_string()),
        ]
    }

    /// Every accepted key spelling with its canonical key, unit and origin:
    /// `(spelling, canonical, unit, origin)`. Used by docs tests and `unipool config`.
    pub fn spellings() -> Vec<(&'static str, &'static str, &'static str, &'static str)> {
        aliases::SPELLINGS
            .iter()
            .map(|s| {
                let unit = match s.unit {
                    Unit::None => "",
                    Unit::Seconds => "seconds",
                    Unit::Millis => "milliseconds",
                };
                (s.name, aliases::canonical(s.key), unit, s.origin)
            })
            .collect()
    }

    /// The canonical name for a spelling, if it is one.
    pub fn canonical_key(spelling: &str) -> Option<&'static str> {
        aliases::lookup(spelling).map(|s| aliases::canonical(s.key))
    }
}

/// Builder for [`PoolConfig`]; errors are kept until [`build`](Self::build).
///
/// ```
/// use std::time::Duration;
/// let cfg = unipool::PoolConfig::builder()
///     .pool_size(10)
///     .max_overflow(5)
///     .pool_timeout(Duration::from_secs(2))
///     .set("idleTimeoutMillis", 10_000)
///     .build()
///     .unwrap();
/// assert_eq!(cfg.max_size(), Some(15));
/// assert_eq!(cfg.idle_timeout, Some(Duration::from_secs(10)));
/// ```
#[derive(Debug, Clone)]
pub struct PoolConfigBuilder {
    config: PoolConfig,
    error: Option<Error>,
}

macro_rules! builder_setters {
    ($($(#[$doc:meta])* $fn:ident($ty:ty) => $key:literal;)*) => {
        $( $(#[$doc])* pub fn $fn(self, v: $ty) -> Self { self.set($key, v) } )*
    };
}

impl PoolConfigBuilder {
    /// Sets any key by name (canonical or alias).
    pub fn set(mut self, key: &str, value: impl Into<ConfigValue>) -> Self {
        if self.error.is_none() {
            if let Err(e) = self.config.set(key, value) {
                self.error = Some(e);
            }
        }
        self
    }

    builder_setters! {
        /// See [`PoolConfig::name`].
        name(&str) => "name";
        /// See [`PoolConfig::pool_size`].
        pool_size(usize) => "pool_size";
        /// See [`PoolConfig::max_overflow`].
        max_overflow(i64) => "max_overflow";
        /// Total maximum (`pool_size + max_overflow`); see [`PoolConfig::normalize`].
        max_size(usize) => "max_size";
        /// See [`PoolConfig::min_idle`].
        min_idle(usize) => "min_idle";
        /// See [`PoolConfig::pool_timeout`].
        pool_timeout(Duration) => "pool_timeout";
        /// See [`PoolConfig::connect_timeout`].
        connect_timeout(Duration) => "connect_timeout";
        /// See [`PoolConfig::pool_recycle`].
        pool_recycle(Option<Duration>) => "pool_recycle";
        /// See [`PoolConfig::lifetime_jitter`].
        lifetime_jitter(f64) => "lifetime_jitter";
        /// See [`PoolConfig::idle_timeout`].
        idle_timeout(Option<Duration>) => "idle_timeout";
        /// See [`PoolConfig::pool_pre_ping`].
        pool_pre_ping(bool) => "pool_pre_ping";
        /// See [`PoolConfig::pre_ping_bypass`].
        pre_ping_bypass(Duration) => "pre_ping_bypass";
        /// See [`PoolConfig::use_lifo`].
        use_lifo(bool) => "use_lifo";
        /// See [`PoolConfig::max_uses`].
        max_uses(Option<u64>) => "max_uses";
        /// See [`PoolConfig::leak_detection_threshold`].
        leak_detection_threshold(Option<Duration>) => "leak_detection_threshold";
        /// See [`PoolConfig::initialization_fail_timeout`].
        initialization_fail_timeout(Option<Duration>) => "initialization_fail_timeout";
        /// See [`PoolConfig::maintenance_interval`].
        maintenance_interval(Duration) => "maintenance_interval";
        /// See [`PoolConfig::echo_pool`].
        echo_pool(bool) => "echo_pool";
    }

    /// See [`PoolConfig::reset_on_return`].
    pub fn reset_on_return(self, v: ResetOnReturn) -> Self {
        self.set("reset_on_return", v.as_str())
    }

    /// Validates and returns the configuration.
    pub fn build(self) -> Result<PoolConfig> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut c = self.config;
        c.normalize()?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn defaults_are_sqlalchemys() {
        let c = PoolConfig::default();
        assert_eq!((c.pool_size, c.max_overflow, c.pool_timeout), (5, 10, Duration::from_secs(30)));
        assert_eq!(c.pool_recycle, None);
        assert!(!c.use_lifo && !c.pool_pre_ping);
        assert_eq!(c.reset_on_return, ResetOnReturn::Rollback);
        assert_eq!(c.max_size(), Some(15));
    }

    #[test]
    fn aliases_map_to_canonical_fields_with_units() {
        let mut c = PoolConfig::default();
        c.set("idleTimeoutMillis", 10_000).unwrap();
        assert_eq!(c.idle_timeout, Some(Duration::from_secs(10)));
        c.set("connectionTimeoutMillis", 250).unwrap();
        assert_eq!(c.pool_timeout, Duration::from_millis(250));
        c.set("maxLifetimeSeconds", 60).unwrap();
        assert_eq!(c.pool_recycle, Some(Duration::from_secs(60)));
        c.set("maxLifetimeMs", 1_800_000).unwrap();
        assert_eq!(c.pool_recycle, Some(Duration::from_secs(1800)));
        c.set("max_inactive_connection_lifetime", 300.0).unwrap();
        assert_eq!(c.idle_timeout, Some(Duration::from_secs(300)));
        c.set("recycle", -1).unwrap();
        assert_eq!(c.pool_recycle, None);
        c.set("timeout", "1.5").unwrap();
        assert_eq!(c.pool_timeout, Duration::from_millis(1500));
        c.set("pool_timeout", "250ms").unwrap();
        assert_eq!(c.pool_timeout, Duration::from_millis(250));
        c.set("test_before_acquire", "yes").unwrap();
        assert!(c.pool_pre_ping);
        c.set("min_size", 2).unwrap();
        assert_eq!(c.min_idle, 2);
        c.set("max_queries", 50000).unwrap();
        assert_eq!(c.max_uses, Some(50000));
        c.set("reset_on_return", false).unwrap();
        assert_eq!(c.reset_on_return, ResetOnReturn::None);
    }

    #[test]
    fn max_size_alone_keeps_every_connection() {
        for alias in ["max_size", "max_connections", "max", "maximumPoolSize"] {
            let mut c = PoolConfig::default();
            c.set(alias, 20).unwrap();
            c.normalize().unwrap();
            assert_eq!((c.pool_size, c.max_overflow, c.max_size()), (20, 0, Some(20)), "{alias}");
        }
    }

    #[test]
    fn max_size_with_pool_size_is_overflow_in_any_order() {
        let mut a = PoolConfig::default();
        a.set("max_size", 20).unwrap();
        a.set("pool_size", 8).unwrap();
        a.normalize().unwrap();
        let mut b = PoolConfig::default();
        b.set("pool_size", 8).unwrap();
        b.set("max_size", 20).unwrap();
        b.normalize().unwrap();
        assert_eq!((a.pool_size, a.max_overflow), (8, 12));
        assert_eq!(a, b);
    }

    #[test]
    fn conflicting_combinations_name_the_keys() {
        let mut c = PoolConfig::default();
        c.apply([("pool_size", 8), ("max_overflow", 3), ("max_size", 20)]).unwrap();
        let e = c.normalize().unwrap_err();
        assert_eq!(e.config_key(), Some("max_overflow"));
        assert!(e.to_string().contains("max_size = 20"), "{e}");

        let e = PoolConfig::builder().pool_size(2).min_idle(3).build().unwrap_err();
        assert_eq!(e.config_key(), Some("min_idle"));
        assert!(e.to_string().contains("pool_size = 2"), "{e}");

        let e = PoolConfig::builder().pool_size(0).max_overflow(0).build().unwrap_err();
        assert_eq!(e.config_key(), Some("max_overflow"));
    }

    #[test]
    fn bad_values_name_key_value_and_range() {
        let mut c = PoolConfig::default();
        let before = c.clone();
        let e = c.set("pool_size", -3).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig);
        assert!(e.to_string().contains("pool_size = -3"), "{e}");
        assert!(e.to_string().contains("from 0 to"), "{e}");
        let e = c.set("max", "lots").unwrap_err();
        assert!(e.to_string().contains("max (pg-pool alias of max_size) = \"lots\""), "{e}");
        let e = c.set("pool_pre_ping", "maybe").unwrap_err();
        assert!(e.to_string().contains("expected a boolean"), "{e}");
        let e = c.set("pool_timeout", "soon").unwrap_err();
        assert!(e.to_string().contains("duration"), "{e}");
        let e = c.set("pool_sise", 3).unwrap_err();
        assert!(e.to_string().contains("did you mean pool_size"), "{e}");
        let e = c.set("lifetime_jitter", 0.9).unwrap_err();
        assert!(e.to_string().contains("0.0 to 0.5"), "{e}");
        // a rejected value changes nothing
        assert_eq!(c, before);
    }
}
