//! Pool configuration: an opaque `unipool_config` built from the shared key vocabulary
//! (key=value strings, environment, TOML, profiles) or from the plain `unipool_settings` struct.

use std::ffi::{c_char, c_int};

use unipool::{ConfigValue, PoolConfig};

use crate::error::{arg_str, copy_out, guard, guard_void, owned_c_string, FfiError, FfiResult};

/// A pool configuration (opaque). Made by unipool_config_new / unipool_config_from_*; freed with
/// unipool_config_free. unipool_pool_new copies it, so it may be freed right after.
/// Not synchronised: do not modify one config from two threads at once (reading is fine).
pub struct unipool_config {
    pub(crate) inner: PoolConfig,
}

/// What to do with a connection when it is returned (the `reset_on_return` key).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum unipool_reset_mode {
    /// Call the reset callback with this mode; it should roll back (the default).
    UNIPOOL_RESET_ROLLBACK = 0,
    /// Call the reset callback with this mode; it should commit.
    UNIPOOL_RESET_COMMIT = 1,
    /// Do not call the reset callback.
    UNIPOOL_RESET_NONE = 2,
}

/// The common settings as a plain struct. Fill it with unipool_settings_init (which writes the
/// defaults), change fields, then call unipool_config_from_settings. Durations are milliseconds;
/// a negative value in an optional duration means "none" (disabled).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct unipool_settings {
    /// Pool name used in metrics and messages; NULL means "default". Copied; not kept.
    pub name: *const c_char,
    /// Connections kept open (SQLAlchemy pool_size). Default 5.
    pub pool_size: usize,
    /// Extra connections beyond pool_size; -1 = unbounded. Default 10.
    pub max_overflow: i64,
    /// Idle connections the background thread keeps ready. Default 0.
    pub min_idle: usize,
    /// Default acquire deadline in ms. Default 30000.
    pub pool_timeout_ms: i64,
    /// Connect deadline in ms (the create callback should honour it). Default 30000.
    pub connect_timeout_ms: i64,
    /// Maximum connection lifetime in ms; negative = none. Default none.
    pub pool_recycle_ms: i64,
    /// Close connections idle longer than this (ms); negative = none. Default none.
    pub idle_timeout_ms: i64,
    /// Ping connections (ping callback) before handing them out. Default false.
    pub pool_pre_ping: bool,
    /// Skip the ping when the connection was used within this many ms. Default 500.
    pub pre_ping_bypass_ms: i64,
    /// UNIPOOL_RESET_ROLLBACK (default), UNIPOOL_RESET_COMMIT or UNIPOOL_RESET_NONE.
    pub reset_on_return: c_int,
    /// Hand out the most recently returned idle connection first. Default false (FIFO).
    pub use_lifo: bool,
    /// Close a connection after this many checkouts; 0 = no limit. Default 0.
    pub max_uses: u64,
    /// Report a connection held longer than this (ms) as leaked; negative = off. Default off.
    pub leak_detection_threshold_ms: i64,
}

fn ms_opt(d: Option<std::time::Duration>) -> i64 {
    d.map(|d| d.as_millis().min(i64::MAX as u128) as i64).unwrap_or(-1)
}

fn reset_mode_of(cfg: &PoolConfig) -> c_int {
    use unipool::ResetOnReturn;
    (match cfg.reset_on_return {
        ResetOnReturn::Rollback => unipool_reset_mode::UNIPOOL_RESET_ROLLBACK,
        ResetOnReturn::Commit => unipool_reset_mode::UNIPOOL_RESET_COMMIT,
        ResetOnReturn::None => unipool_reset_mode::UNIPOOL_RESET_NONE,
    }) as c_int
}

fn settings_from(cfg: &PoolConfig) -> unipool_settings {
    // Resolve max_size into pool_size + max_overflow the way a pool would.
    let mut resolved = cfg.clone();
    let cfg = if resolved.normalize().is_ok() { &resolved } else { cfg };
    unipool_settings {
        name: std::ptr::null(),
        pool_size: cfg.pool_size,
        max_overflow: cfg.max_overflow,
        min_idle: cfg.min_idle,
        pool_timeout_ms: ms_opt(Some(cfg.pool_timeout)),
        connect_timeout_ms: ms_opt(Some(cfg.connect_timeout)),
        pool_recycle_ms: ms_opt(cfg.pool_recycle),
        idle_timeout_ms: ms_opt(cfg.idle_timeout),
        pool_pre_ping: cfg.pool_pre_ping,
        pre_ping_bypass_ms: ms_opt(Some(cfg.pre_ping_bypass)),
        reset_on_return: reset_mode_of(cfg),
        use_lifo: cfg.use_lifo,
        max_uses: cfg.max_uses.unwrap_or(0),
        leak_detection_threshold_ms: ms_opt(cfg.leak_detection_threshold),
    }
}

/// Splits "k1=v1 k2=v2; k3=v3" into pairs. Separators: whitespace, ',' and ';'.
/// A value may be wrapped in single or double quotes to contain separators.
pub(crate) fn parse_pairs(text: &str) -> FfiResult<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    let mut chars = text.char_indices().peekable();
    let is_sep = |c: char| c.is_whitespace() || c == ',' || c == ';';
    loop {
        while matches!(chars.peek(), Some(&(_, c)) if is_sep(c)) {
            chars.next();
        }
        let Some(&(start, _)) = chars.peek() else { break };
        let mut key = String::new();
        let mut saw_eq = false;
        while let Some(&(_, c)) = chars.peek() {
            if c == '=' {
                chars.next();
                saw_eq = true;
                break;
            }
            if is_sep(c) {
                break;
            }
            key.push(c);
            chars.next();
        }
        if !saw_eq || key.is_empty() {
            return Err(FfiError::new(
                crate::error::unipool_code::UNIPOOL_E_INVALID_CONFIG,
                format!(
                    "configuration string: expected key=value at byte {start}, found '{}'; \
                     allowed: key=value pairs separated by spaces, ',' or ';'",
                    text[start..].split(is_sep).next().unwrap_or("")
                ),
            ));
        }
        let mut value = String::new();
        if let Some(&(_, q)) = chars.peek() {
            if q == '"' || q == '\'' {
                chars.next();
                let mut closed = false;
                for (_, c) in chars.by_ref() {
                    if c == q {
                        closed = true;
                        break;
                    }
                    value.push(c);
                }
                if !closed {
                    return Err(FfiError::new(
                        crate::error::unipool_code::UNIPOOL_E_INVALID_CONFIG,
                        format!("configuration string: value of '{key}' has an unterminated {q} quote"),
                    ));
                }
                pairs.push((key, value));
                continue;
            }
        }
        while let Some(&(_, c)) = chars.peek() {
            if is_sep(c) {
                break;
            }
            value.push(c);
            chars.next();
        }
        pairs.push((key, value));
    }
    Ok(pairs)
}

unsafe fn cfg_mut<'a>(cfg: *mut unipool_config) -> FfiResult<&'a mut PoolConfig> {
    cfg.as_mut().map(|c| &mut c.inner).ok_or_else(|| FfiError::null("config"))
}

unsafe fn cfg_ref<'a>(cfg: *const unipool_config) -> FfiResult<&'a PoolConfig> {
    cfg.as_ref().map(|c| &c.inner).ok_or_else(|| FfiError::null("config"))
}

unsafe fn put_config(out: *mut *mut unipool_config, inner: PoolConfig) -> FfiResult {
    *out = Box::into_raw(Box::new(unipool_config { inner }));
    Ok(())
}

unsafe fn check_out(out: *mut *mut unipool_config) -> FfiResult {
    if out.is_null() {
        return Err(FfiError::null("out"));
    }
    *out = std::ptr::null_mut();
    Ok(())
}

/// Makes a configuration with the defaults. On success `*out` is a new config owned by the caller
/// (free with unipool_config_free); on failure `*out` is set to NULL (when `out` is not NULL).
#[no_mangle]
pub unsafe extern "C" fn unipool_config_new(out: *mut *mut unipool_config) -> c_int {
    guard(|| {
        check_out(out)?;
        put_config(out, PoolConfig::default())
    })
}

/// Frees a config. NULL is a no-op. Pools made from it are unaffected.
#[no_mangle]
pub unsafe extern "C" fn unipool_config_free(config: *mut unipool_config) {
    if !config.is_null() {
        guard_void(|| drop(Box::from_raw(config)));
    }
}

/// Copies a config. `*out` is a new config owned by the caller.
#[no_mangle]
pub unsafe extern "C" fn unipool_config_clone(config: *const unipool_config, out: *mut *mut unipool_config) -> c_int {
    guard(|| {
        check_out(out)?;
        let c = cfg_ref(config)?.clone();
        put_config(out, c)
    })
}

/// Sets one key from the shared vocabulary (canonical snake_case names such as "pool_size",
/// "max_overflow", "pool_timeout", any documented alias such as "max_size", "maxLifetime", or
/// their camelCase). The value is text and is parsed like an environment variable: "5", "true",
/// "2.5" (seconds), "500ms", "30s". A NULL value resets an optional setting to "none".
/// On failure (UNIPOOL_E_INVALID_CONFIG) the config is unchanged and the message names the key,
/// the value and what is allowed. Both strings are copied.
#[no_mangle]
pub unsafe extern "C" fn unipool_config_set(
    config: *mut unipool_config,
    key: *const c_char,
    value: *const c_char,
) -> c_int {
    guard(|| {
        let cfg = cfg_mut(config)?;
        let key = arg_str(key, "key")?;
        let value = if value.is_null() { ConfigValue::Null } else { ConfigValue::from(arg_str(value, "value")?) };
        set_checked(cfg, key, value)
    })
}

fn set_checked(cfg: &mut PoolConfig, key: &str, value: ConfigValue) -> FfiResult {
    // Apply to a copy so a rejected value leaves the caller's config untouched.
    let mut next = cfg.clone();
    next.set(key, value)?;
    *cfg = next;
    Ok(())
}

/// Sets an integer-valued key (e.g. "pool_size", "max_overflow"; durations in seconds).
#[no_mangle]
pub unsafe extern "C" fn unipool_config_set_int(config: *mut unipool_config, key: *const c_char, value: i64) -> c_int {
    guard(|| {
        let cfg = cfg_mut(config)?;
        set_checked(cfg, arg_str(key, "key")?, ConfigValue::from(value))
    })
}

/// Sets a number-valued key; durations are in seconds (e.g. "pool_timeout", 2.5).
#[no_mangle]
pub unsafe extern "C" fn unipool_config_set_double(config: *mut unipool_config, key: *const c_char, value: f64) -> c_int {
    guard(|| {
        let cfg = cfg_mut(config)?;
        set_checked(cfg, arg_str(key, "key")?, ConfigValue::from(value))
    })
}

/// Sets a boolean key (e.g. "pool_pre_ping", "use_lifo").
#[no_mangle]
pub unsafe extern "C" fn unipool_config_set_bool(config: *mut unipool_config, key: *const c_char, value: bool) -> c_int {
    guard(|| {
        let cfg = cfg_mut(config)?;
        set_checked(cfg, arg_str(key, "key")?, ConfigValue::from(value))
    })
}

/// Applies a configuration string of key=value pairs separated by spaces, ',' or ';', e.g.
/// "pool_size=4 max_overflow=0 pool_timeout=2s". A value may be quoted ('...' or "...").
/// All pairs are applied or none: on failure the config is unchanged.
#[no_mangle]
pub unsafe extern "C" fn unipool_config_parse(config: *mut unipool_config, text: *const c_char) -> c_int {
    guard(|| {
        let cfg = cfg_mut(config)?;
        let text = arg_str(text, "text")?;
        let mut next = cfg.clone();
        for (k, v) in parse_pairs(text)? {
            next.set(&k, ConfigValue::from(v))?;
        }
        *cfg = next;
        Ok(())
    })
}

/// Makes a config from a configuration string (see unipool_config_parse) applied over the
/// defaults. `*out` is a new config owned by the caller.
#[no_mangle]
pub unsafe extern "C" fn unipool_config_from_string(text: *const c_char, out: *mut *mut unipool_config) -> c_int {
    guard(|| {
        check_out(out)?;
        let text = arg_str(text, "text")?;
        let mut cfg = PoolConfig::default();
        for (k, v) in parse_pairs(text)? {
            cfg.set(&k, ConfigValue::from(v))?;
        }
        put_config(out, cfg)
    })
}

/// Makes a config from environment variables with the given prefix, e.g. prefix "DB_POOL_" reads
/// DB_POOL_POOL_SIZE, DB_POOL_MAX_OVERFLOW, ... (NULL prefix: the core's default prefix).
/// `*out` is a new config owned by the caller.
#[no_mangle]
pub unsafe extern "C" fn unipool_config_from_env(prefix: *const c_char, out: *mut *mut unipool_config) -> c_int {
    guard(|| {
        check_out(out)?;
        let cfg = if prefix.is_null() { PoolConfig::from_env()? } else { PoolConfig::from_env_prefix(arg_str(prefix, "prefix")?)? };
        put_config(out, cfg)
    })
}

/// Makes a config from the pool parameters in a database URL's query string over the defaults,
/// e.g. "postgres://app:secret@db/test?pool_size=3&sslmode=require", and gives back the URL
/// without them (here "postgres://app:secret@db/test?sslmode=require", for the driver) in
/// `url_buf`, snprintf-style: at most url_buf_len-1 bytes plus a NUL, `*url_needed` (if not NULL)
/// gets the full length; url_buf may be NULL when url_buf_len is 0. `*out` is a new config owned
/// by the caller. The password stays in the returned URL (the driver needs it) but never appears
/// in an error message.
#[no_mangle]
pub unsafe extern "C" fn unipool_config_from_url(
    url: *const c_char,
    out: *mut *mut unipool_config,
    url_buf: *mut c_char,
    url_buf_len: usize,
    url_needed: *mut usize,
) -> c_int {
    guard(|| {
        check_out(out)?;
        if url_buf.is_null() && url_buf_len != 0 {
            return Err(FfiError::usage("argument 'url_buf' is NULL but 'url_buf_len' is not 0"));
        }
        let (cfg, rest) = PoolConfig::from_url(arg_str(url, "url")?)?;
        copy_out(&rest, url_buf, url_buf_len, url_needed)?;
        put_config(out, cfg)
    })
}

/// Makes a config from TOML text (the [database.pool] table). `*out` is owned by the caller.
#[no_mangle]
pub unsafe extern "C" fn unipool_config_from_toml(toml: *const c_char, out: *mut *mut unipool_config) -> c_int {
    guard(|| {
        check_out(out)?;
        let cfg = PoolConfig::from_toml_str(arg_str(toml, "toml")?)?;
        put_config(out, cfg)
    })
}

/// Makes a config from a named profile ("development", "testing", "staging", "production",
/// "small", "medium", "large"). `*out` is owned by the caller.
#[no_mangle]
pub unsafe extern "C" fn unipool_config_from_profile(name: *const c_char, out: *mut *mut unipool_config) -> c_int {
    guard(|| {
        check_out(out)?;
        let cfg = PoolConfig::profile(arg_str(name, "name")?)?;
        put_config(out, cfg)
    })
}

/// Fills `*out` with the default settings. `out` is caller-owned; `out->name` is set to NULL.
#[no_mangle]
pub unsafe extern "C" fn unipool_settings_init(out: *mut unipool_settings) -> c_int {
    guard(|| {
        let out = out.as_mut().ok_or_else(|| FfiError::null("out"))?;
        *out = settings_from(&PoolConfig::default());
        Ok(())
    })
}

/// Reads a config's common settings into the caller-owned `*out`. `out->name` is set to NULL
/// (read the name with unipool_config_get(config, "name", ...)).
#[no_mangle]
pub unsafe extern "C" fn unipool_config_get_settings(config: *const unipool_config, out: *mut unipool_settings) -> c_int {
    guard(|| {
        let cfg = cfg_ref(config)?;
        let out = out.as_mut().ok_or_else(|| FfiError::null("out"))?;
        *out = settings_from(cfg);
        Ok(())
    })
}

/// Makes a config from a settings struct (start from unipool_settings_init). Every field goes
/// through the same validation as unipool_config_set, so errors name the field.
/// `*out` is a new config owned by the caller; `settings` is only read.
#[no_mangle]
pub unsafe extern "C" fn unipool_config_from_settings(
    settings: *const unipool_settings,
    out: *mut *mut unipool_config,
) -> c_int {
    guard(|| {
        check_out(out)?;
        let s = settings.as_ref().ok_or_else(|| FfiError::null("settings"))?;
        let mut cfg = PoolConfig::default();
        let opt_secs = |ms: i64| if ms < 0 { ConfigValue::Null } else { ConfigValue::Float(ms as f64 / 1000.0) };
        if !s.name.is_null() {
            cfg.set("name", arg_str(s.name, "settings.name")?)?;
        }
        cfg.set("pool_size", s.pool_size as i64)?;
        cfg.set("max_overflow", s.max_overflow)?;
        cfg.set("min_idle", s.min_idle as i64)?;
        cfg.set("pool_timeout", ConfigValue::Float(s.pool_timeout_ms as f64 / 1000.0))?;
        cfg.set("connect_timeout", ConfigValue::Float(s.connect_timeout_ms as f64 / 1000.0))?;
        cfg.set("pool_recycle", opt_secs(s.pool_recycle_ms))?;
        cfg.set("idle_timeout", opt_secs(s.idle_timeout_ms))?;
        cfg.set("pool_pre_ping", s.pool_pre_ping)?;
        cfg.set("pre_ping_bypass", ConfigValue::Float(s.pre_ping_bypass_ms as f64 / 1000.0))?;
        let mode = match s.reset_on_return {
            0 => "rollback",
            1 => "commit",
            2 => "none",
            other => {
                return Err(FfiError::new(
                    crate::error::unipool_code::UNIPOOL_E_INVALID_CONFIG,
                    format!(
                        "settings.reset_on_return = {other} is not allowed; use UNIPOOL_RESET_ROLLBACK (0), \
                         UNIPOOL_RESET_COMMIT (1) or UNIPOOL_RESET_NONE (2)"
                    ),
                ))
            }
        };
        cfg.set("reset_on_return", mode)?;
        cfg.set("use_lifo", s.use_lifo)?;
        cfg.set("max_uses", if s.max_uses == 0 { ConfigValue::Null } else { ConfigValue::Int(s.max_uses.min(i64::MAX as u64) as i64) })?;
        cfg.set("leak_detection_threshold", opt_secs(s.leak_detection_threshold_ms))?;
        cfg.validate()?;
        put_config(out, cfg)
    })
}

/// Checks the combination of settings (e.g. min_idle not above the maximum size).
/// unipool_pool_new runs the same check.
#[no_mangle]
pub unsafe extern "C" fn unipool_config_validate(config: *const unipool_config) -> c_int {
    guard(|| {
        cfg_ref(config)?.validate()?;
        Ok(())
    })
}

/// Reads the effective value of one setting by its canonical name (as printed by
/// unipool_config_to_string) or any alias into a caller buffer, snprintf-style: at most buf_len-1 bytes plus a
/// NUL are written and `*needed` (if not NULL) receives the full length without the NUL, so a
/// call with buf=NULL, buf_len=0 asks for the size. Unknown key: UNIPOOL_E_INVALID_CONFIG.
#[no_mangle]
pub unsafe extern "C" fn unipool_config_get(
    config: *const unipool_config,
    key: *const c_char,
    buf: *mut c_char,
    buf_len: usize,
    needed: *mut usize,
) -> c_int {
    guard(|| {
        let cfg = cfg_ref(config)?;
        let key = arg_str(key, "key")?;
        let canonical = PoolConfig::canonical_key(key).unwrap_or(key);
        let pairs = cfg.to_pairs();
        match pairs.iter().find(|(k, _)| *k == canonical) {
            Some((_, v)) => copy_out(v, buf, buf_len, needed),
            None => Err(FfiError::new(
                crate::error::unipool_code::UNIPOOL_E_INVALID_CONFIG,
                format!(
                    "unknown configuration key '{key}' for unipool_config_get; allowed: {}",
                    pairs.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
                ),
            )),
        }
    })
}

/// The effective configuration as "key=value" lines (canonical names). `*out` is a new string
/// owned by the caller: free it with unipool_string_free.
#[no_mangle]
pub unsafe extern "C" fn unipool_config_to_string(config: *const unipool_config, out: *mut *mut c_char) -> c_int {
    guard(|| {
        if out.is_null() {
            return Err(FfiError::null("out"));
        }
        *out = std::ptr::null_mut();
        let cfg = cfg_ref(config)?;
        let mut s = String::new();
        for (k, v) in cfg.to_pairs() {
            s.push_str(k);
            s.push('=');
            s.push_str(&v);
            s.push('\n');
        }
        *out = owned_c_string(&s);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::parse_pairs;

    #[test]
    fn pairs() {
        let p = parse_pairs(" a=1, b=2;c='x y'\n d=\"\" ").unwrap();
        assert_eq!(
            p,
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "2".into()),
                ("c".into(), "x y".into()),
                ("d".into(), "".into())
            ]
        );
        assert!(parse_pairs("a=1 b").is_err());
        assert!(parse_pairs("=1").is_err());
        assert!(parse_pairs("a='x").is_err());
        assert!(parse_pairs("").unwrap().is_empty());
    }
}
