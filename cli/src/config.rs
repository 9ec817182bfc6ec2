//! The effective pool configuration and where each value came from.
//!
//! Layers, lowest precedence first (each later layer overrides earlier ones):
//!
//! 1. defaults (`PoolConfig::default()`, SQLAlchemy's QueuePool defaults)
//! 2. profile (`--profile NAME`)
//! 3. TOML file (`--toml PATH`, table `[database.pool]`)
//! 4. environment (`DB_POOL_*`, prefix changed with `--env-prefix`, off with `--no-env`)
//! 5. URL query parameters that are pool keys (`?pool_size=20&pool_timeout=5s`)
//! 6. command line: `--pool-size`, `--max-overflow`, then every `--set key=value` in order
//!
//! Every layer is applied with the core's own reader (`apply_profile`,
//! `apply_toml_str`, `apply_env`, `apply_url`, `set`), so names, aliases,
//! units and error messages are exactly what an application using the core
//! gets; `normalize()` then resolves `max_size`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use unipool::{ConfigValue, PoolConfig};

/// Pool options shared by `bench`, `sweep` and `config`.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct PoolArgs {
    /// Start from a named profile (development, testing, staging, production, small, medium, large).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Read pool settings from the [database.pool] table of this TOML file
    /// (and the URL from [database] url when no --url / DATABASE_URL is given).
    #[arg(long, value_name = "PATH")]
    pub toml: Option<PathBuf>,
    /// Prefix of the environment variables holding pool settings.
    #[arg(long, value_name = "PREFIX", default_value = "DB_POOL_")]
    pub env_prefix: String,
    /// Ignore pool settings in the environment.
    #[arg(long)]
    pub no_env: bool,
    /// Connections kept open (shorthand for --set pool_size=N).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub pool_size: Option<i64>,
    /// Extra connections beyond pool_size, -1 = unbounded (shorthand for --set max_overflow=N).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub max_overflow: Option<i64>,
    /// Any pool setting, in the shared vocabulary (canonical names or aliases): --set pool_timeout=5s.
    /// Repeatable; applied last, in order.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    Default,
    Profile(String),
    Toml {
        path: String,
        key: String,
    },
    Env(String),
    Url(String),
    Flag(String),
    /// Computed from other keys (max_size = pool_size + max_overflow).
    Derived(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::Profile(p) => write!(f, "profile {p}"),
            Source::Toml { path, key } => write!(f, "toml {path} [database.pool] {key}"),
            Source::Env(v) => write!(f, "env {v}"),
            Source::Url(k) => write!(f, "url ?{k}"),
            Source::Flag(s) => f.write_str(s),
            Source::Derived(how) => write!(f, "derived: {how}"),
        }
    }
}

impl Source {
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Default => "default",
            Source::Profile(_) => "profile",
            Source::Toml { .. } => "toml",
            Source::Env(_) => "env",
            Source::Url(_) => "url",
            Source::Flag(_) => "flag",
            Source::Derived(_) => "derived",
        }
    }

    fn fix_hint(&self) -> String {
        match self {
            Source::Default => "this is a built-in default; report it as a bug".into(),
            Source::Profile(_) => {
                format!("choose one of the profiles: {}", profile_names().join(", "))
            }
            Source::Toml { path, key } => {
                format!("edit '{key}' in the [database.pool] table of {path}")
            }
            Source::Env(v) => {
                format!("change or unset the environment variable {v} (or pass --no-env)")
            }
            Source::Url(k) => format!("change the '{k}' query parameter of the URL"),
            Source::Flag(s) => format!("change the command-line option {s}"),
            Source::Derived(how) => format!("change the keys it is derived from ({how})"),
        }
    }
}

fn profile_names() -> Vec<String> {
    unipool::config::PROFILES
        .iter()
        .map(|p| p.0.to_string())
        .collect()
}

/// A configuration error with the layer it came from.
#[derive(Debug)]
pub struct ConfigError {
    pub source: Option<Source>,
    pub error: Option<unipool::Error>,
    pub message: String,
}

impl ConfigError {
    fn core(source: Source, error: unipool::Error) -> Self {
        ConfigError {
            message: error.to_string(),
            source: Some(source),
            error: Some(error),
        }
    }
    fn other(source: Option<Source>, message: String) -> Self {
        ConfigError {
            source,
            error: None,
            message,
        }
    }

    /// A multi-line explanation: what, where from, which key, how to fix.
    pub fn explain(&self) -> String {
        let mut s = format!("error: {}\n", self.message);
        if let Some(src) = &self.source {
            s.push_str(&format!("  from:  {src}\n"));
        }
        if let Some(k) = self.error.as_ref().and_then(|e| e.config_key()) {
            s.push_str(&format!("  key:   {k}\n"));
        }
        if let Some(src) = &self.source {
            s.push_str(&format!("  fix:   {}\n", src.fix_hint()));
        }
        s.push_str(
            "  note:  precedence (lowest first): default < profile < toml < env < url < --pool-size/--max-overflow/--set\n",
        );
        s
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(src) => write!(f, "{} (from {src})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Where the URL came from.
#[derive(Clone, Debug, PartialEq)]
pub enum UrlSource {
    Flag,
    Env(String),
    Toml(String),
    Embedded,
}

impl fmt::Display for UrlSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlSource::Flag => f.write_str("--url"),
            UrlSource::Env(v) => write!(f, "env {v}"),
            UrlSource::Toml(p) => write!(f, "toml {p} [database] url"),
            UrlSource::Embedded => {
                f.write_str("embedded SQLite (no --url, DATABASE_URL or TOML url given)")
            }
        }
    }
}

#[derive(Clone, Debug)]
pub struct Resolved {
    pub config: PoolConfig,
    /// canonical key -> where its value came from
    pub sources: BTreeMap<&'static str, Source>,
    /// Pool parameters found in the URL (already applied).
    pub url_pool_params: Vec<(String, String)>,
}

impl Resolved {
    pub fn source_of(&self, key: &str) -> &Source {
        self.sources.get(key).unwrap_or(&Source::Default)
    }

    /// (key, value, source) rows in the core's canonical order.
    pub fn rows(&self) -> Vec<(&'static str, String, String)> {
        self.config
            .to_pairs()
            .into_iter()
            .map(|(k, v)| (k, v, self.source_of(k).to_string()))
            .collect()
    }
}

/// The raw inputs of a resolution, gathered from the process (so tests can
/// build them by hand).
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    pub profile: Option<String>,
    pub toml: Option<(String, String)>, // (path, contents)
    /// The whole environment (the core picks `<prefix>*` and the `DB_*` namespace), None = --no-env.
    pub env: Option<Vec<(String, String)>>,
    pub env_prefix: String,
    pub url: Option<String>,
    pub pool_size: Option<i64>,
    pub max_overflow: Option<i64>,
    pub set: Vec<String>,
}

impl Inputs {
    pub fn gather(args: &PoolArgs, url: Option<&str>) -> Result<Inputs, ConfigError> {
        let toml = match &args.toml {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| {
                    ConfigError::other(None, format!("cannot read TOML file {}: {e}", p.display()))
                })?;
                Some((p.display().to_string(), text))
            }
            None => None,
        };
        let env = if args.no_env {
            None
        } else {
            Some(std::env::vars().collect())
        };
        Ok(Inputs {
            profile: args.profile.clone(),
            toml,
            env,
            env_prefix: args.env_prefix.clone(),
            url: url.map(str::to_string),
            pool_size: args.pool_size,
            max_overflow: args.max_overflow,
            set: args.set.clone(),
        })
    }
}

/// The `[database]` url of a TOML text, if any.
pub fn toml_url(text: &str) -> Option<String> {
    let v: toml::Value = toml::from_str(text).ok()?;
    v.get("database")?.get("url")?.as_str().map(str::to_string)
}

/// The URL's query parameters that the core takes as pool settings (the rest
/// stay in the URL for the driver), as the core's `apply_url` decides.
pub fn url_pool_params(url: &str) -> Vec<(String, String)> {
    let mut scratch = PoolConfig::default();
    let Ok(rest) = scratch.apply_url(url) else {
        return Vec::new();
    };
    let parts = |u: &str| -> Vec<String> {
        u.split('#')
            .next()
            .unwrap_or("")
            .split_once('?')
            .map(|(_, q)| q)
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect()
    };
    let kept = parts(&rest);
    parts(url)
        .into_iter()
        .filter(|p| !kept.contains(p))
        .filter_map(|p| {
            url::form_urlencoded::parse(p.as_bytes())
                .next()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
        })
        .collect()
}

struct Layering {
    config: PoolConfig,
    sources: BTreeMap<&'static str, Source>,
}

impl Layering {
    fn attribute(&mut self, spelling: &str, source: Source) {
        if let Some(c) = PoolConfig::canonical_key(spelling) {
            self.sources.insert(c, source);
        }
    }

    fn set(&mut self, key: &str, value: ConfigValue, source: Source) -> Result<(), ConfigError> {
        self.config
            .set(key, value)
            .map_err(|e| ConfigError::core(source.clone(), e))?;
        self.attribute(key, source);
        Ok(())
    }
}

/// Resolves the effective configuration from every layer.
pub fn resolve(inp: &Inputs) -> Result<Resolved, ConfigError> {
    let mut l = Layering {
        config: PoolConfig::default(),
        sources: BTreeMap::new(),
    };
    // 2. profile
    if let Some(p) = &inp.profile {
        let src = Source::Flag(format!("--profile {p}"));
        l.config
            .apply_profile(p)
            .map_err(|e| ConfigError::core(src, e))?;
        let lower = p.trim().to_ascii_lowercase();
        if let Some((_, pairs, _)) = unipool::config::PROFILES
            .iter()
            .find(|(n, _, _)| *n == lower)
        {
            for (k, _) in pairs.iter() {
                l.attribute(k, Source::Profile(lower.clone()));
            }
        }
    }
    // 3. TOML [database.pool]
    if let Some((path, text)) = &inp.toml {
        let used = l.config.apply_toml_str(text).map_err(|e| {
            let key = e
                .config_key()
                .unwrap_or("")
                .trim_start_matches("database.pool.")
                .to_string();
            ConfigError::core(
                Source::Toml {
                    path: path.clone(),
                    key,
                },
                e,
            )
        })?;
        for k in used {
            l.attribute(
                &k,
                Source::Toml {
                    path: path.clone(),
                    key: k.clone(),
                },
            );
        }
    }
    // 4. environment
    if let Some(env) = &inp.env {
        let used = l
            .config
            .apply_env(&inp.env_prefix, env.iter().cloned())
            .map_err(|e| {
                let var = e.config_key().unwrap_or(&inp.env_prefix).to_string();
                ConfigError::core(Source::Env(var), e)
            })?;
        for (name, canonical) in used {
            l.sources.insert(canonical, Source::Env(name));
        }
    }
    // 5. URL query parameters
    let mut url_params = Vec::new();
    if let Some(url) = &inp.url {
        url_params = url_pool_params(url);
        l.config.apply_url(url).map_err(|e| {
            let key = e
                .config_key()
                .unwrap_or("")
                .split(" (")
                .next()
                .unwrap_or("")
                .to_string();
            ConfigError::core(Source::Url(key), e)
        })?;
        for (k, _) in &url_params {
            l.attribute(k, Source::Url(k.clone()));
        }
    }
    // 6. command line
    if let Some(n) = inp.pool_size {
        l.set(
            "pool_size",
            ConfigValue::Int(n),
            Source::Flag(format!("--pool-size {n}")),
        )?;
    }
    if let Some(n) = inp.max_overflow {
        l.set(
            "max_overflow",
            ConfigValue::Int(n),
            Source::Flag(format!("--max-overflow {n}")),
        )?;
    }
    for item in &inp.set {
        let src = Source::Flag(format!("--set {item}"));
        let (k, v) = item.split_once('=').ok_or_else(|| {
            ConfigError::other(
                Some(src.clone()),
                format!("--set expects KEY=VALUE, got '{item}'"),
            )
        })?;
        l.set(k.trim(), ConfigValue::Str(v.trim().to_string()), src)?;
    }
    // Resolve max_size into pool_size + max_overflow and check combinations.
    let before = l.config.to_pairs();
    let max_size_source = l.sources.get("max_size").cloned();
    let sources = l.sources.clone();
    l.config.normalize().map_err(|e| {
        let src = e
            .config_key()
            .and_then(PoolConfig::canonical_key)
            .and_then(|k| sources.get(k).cloned())
            .or_else(|| max_size_source.clone());
        match src {
            Some(s) => ConfigError::core(s, e),
            None => ConfigError {
                message: e.to_string(),
                source: None,
                error: Some(e),
            },
        }
    })?;
    if let Some(src) = max_size_source {
        for ((k, a), (_, b)) in before.iter().zip(l.config.to_pairs().iter()) {
            if a != b {
                l.sources.insert(k, src.clone());
            }
        }
    }
    // After normalize, max_size is always pool_size + max_overflow.
    l.sources
        .insert("max_size", Source::Derived("pool_size + max_overflow"));
    Ok(Resolved {
        config: l.config,
        sources: l.sources,
        url_pool_params: url_params,
    })
}

/// Masks the password of a URL for display.
pub fn mask(url: &str) -> String {
    unipool::connectors::mask_url(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn inputs() -> Inputs {
        Inputs {
            env_prefix: "DB_POOL_".into(),
            env: Some(Vec::new()),
            ..Default::default()
        }
    }

    fn env(pairs: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        Some(
            pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        )
    }

    #[test]
    fn defaults_have_default_source() {
        let r = resolve(&inputs()).unwrap();
        assert_eq!(r.config, {
            let mut c = PoolConfig::default();
            c.normalize().unwrap();
            c
        });
        assert!(r
            .rows()
            .iter()
            .all(|(k, _, s)| s == "default" || (*k == "max_size" && s.starts_with("derived"))));
    }

    #[test]
    fn precedence_profile_toml_env_url_flags() {
        let mut i = inputs();
        i.profile = Some("production".into());
        i.toml = Some((
            "app.toml".into(),
            "[database.pool]\npool_size = 7\nmax_overflow = 3\npool_timeout = 4\nuse_lifo = true\n"
                .into(),
        ));
        i.env = env(&[
            ("DB_POOL_MAX_OVERFLOW", "2"),
            ("DB_POOL_TIMEOUT", "9s"),
            ("HOME", "/root"),
        ]);
        i.url = Some("postgres://u:pw@h/db?pool_timeout=1.5&sslmode=disable".into());
        i.set = vec!["use_lifo=false".into()];
        let r = resolve(&i).unwrap();
        assert_eq!(r.config.pool_size, 7);
        assert_eq!(
            r.source_of("pool_size").to_string(),
            "toml app.toml [database.pool] pool_size"
        );
        assert_eq!(r.config.max_overflow, 2);
        assert_eq!(
            r.source_of("max_overflow"),
            &Source::Env("DB_POOL_MAX_OVERFLOW".into())
        );
        assert_eq!(r.config.pool_timeout, Duration::from_millis(1500));
        assert_eq!(
            r.source_of("pool_timeout"),
            &Source::Url("pool_timeout".into())
        );
        assert!(!r.config.use_lifo);
        assert_eq!(r.source_of("use_lifo").to_string(), "--set use_lifo=false");
        // untouched production values keep the profile as source
        assert_eq!(
            r.source_of("pool_recycle"),
            &Source::Profile("production".into())
        );
        assert_eq!(r.source_of("lifetime_jitter"), &Source::Default);
        assert_eq!(
            r.url_pool_params,
            vec![("pool_timeout".to_string(), "1.5".to_string())]
        );
        // flags beat the URL
        i.pool_size = Some(11);
        i.set.push("pool_timeout=250ms".into());
        let r = resolve(&i).unwrap();
        assert_eq!(r.config.pool_size, 11);
        assert_eq!(r.config.pool_timeout, Duration::from_millis(250));
        assert_eq!(r.source_of("pool_size").to_string(), "--pool-size 11");
    }

    #[test]
    fn no_env_ignores_the_environment() {
        let mut i = inputs();
        i.env = None;
        i.toml = Some(("a.toml".into(), "[database.pool]\npool_size = 3\n".into()));
        assert_eq!(resolve(&i).unwrap().config.pool_size, 3);
        i.env = env(&[("DB_POOL_SIZE", "4")]);
        let r = resolve(&i).unwrap();
        assert_eq!(r.config.pool_size, 4);
        assert_eq!(
            r.source_of("pool_size"),
            &Source::Env("DB_POOL_SIZE".into())
        );
    }

    #[test]
    fn aliases_and_max_size_are_attributed() {
        let mut i = inputs();
        i.env = env(&[("DB_POOL_MAX_SIZE", "12")]);
        let r = resolve(&i).unwrap();
        assert_eq!(r.config.pool_size, 12);
        assert_eq!(r.config.max_overflow, 0);
        assert_eq!(
            r.source_of("pool_size"),
            &Source::Env("DB_POOL_MAX_SIZE".into())
        );
        assert_eq!(
            r.source_of("max_overflow"),
            &Source::Env("DB_POOL_MAX_SIZE".into())
        );
        let mut i = inputs();
        i.set = vec!["idleTimeoutMillis=1500".into()];
        let r = resolve(&i).unwrap();
        assert_eq!(r.config.idle_timeout, Some(Duration::from_millis(1500)));
        assert_eq!(r.source_of("idle_timeout").kind(), "flag");
    }

    #[test]
    fn errors_name_source_key_value_and_range() {
        let mut i = inputs();
        i.env = env(&[("DB_POOL_SIZE", "-3")]);
        let e = resolve(&i).unwrap_err();
        assert_eq!(e.source, Some(Source::Env("DB_POOL_SIZE".into())));
        let x = e.explain();
        assert!(x.contains("DB_POOL_SIZE") && x.contains("-3"), "{x}");
        assert!(x.contains("from 0 to"), "{x}");

        let mut i = inputs();
        i.set = vec!["pool_sise=3".into()];
        let x = resolve(&i).unwrap_err().explain();
        assert!(x.contains("did you mean pool_size"), "{x}");

        let mut i = inputs();
        i.set = vec!["pool_size".into()];
        assert!(resolve(&i).unwrap_err().to_string().contains("KEY=VALUE"));

        let mut i = inputs();
        i.profile = Some("huge".into());
        let x = resolve(&i).unwrap_err().explain();
        assert!(x.contains("huge") && x.contains("production"), "{x}");

        let mut i = inputs();
        i.url = Some("postgres://u:hunter2@h/db?pool_size=lots".into());
        let e = resolve(&i).unwrap_err();
        let x = e.explain();
        assert_eq!(e.source, Some(Source::Url("pool_size".into())), "{x}");
        assert!(x.contains("lots") && !x.contains("hunter2"), "{x}");

        // combination errors are attributed to one of the layers involved
        let mut i = inputs();
        i.set = vec!["pool_size=2".into(), "min_idle=4".into()];
        let e = resolve(&i).unwrap_err();
        assert!(e.to_string().contains("min_idle"), "{e}");
        assert_eq!(e.source.as_ref().map(|s| s.kind()), Some("flag"));

        let mut i = inputs();
        i.toml = Some(("x.toml".into(), "[database.pool]\npool_size = [1]\n".into()));
        let e = resolve(&i).unwrap_err();
        assert!(
            e.explain().contains("x.toml") && e.to_string().contains("pool_size"),
            "{}",
            e.explain()
        );
        i.toml = Some(("x.toml".into(), "[database.pool\n".into()));
        assert!(resolve(&i)
            .unwrap_err()
            .to_string()
            .contains("not valid TOML"));
    }

    #[test]
    fn url_params_split_pool_from_driver() {
        let p = url_pool_params("postgres://u:pw@h/db?sslmode=require&pool_size=3&maxLifetime=60000&application_name=x&connect_timeout=5");
        assert_eq!(
            p,
            vec![
                ("pool_size".into(), "3".into()),
                ("maxLifetime".into(), "60000".into())
            ]
        );
        assert!(url_pool_params("sqlite::memory:").is_empty());
    }

    #[test]
    fn masks_passwords() {
        let m = mask("postgres://alice:s3cret@127.0.0.1:5432/test?sslmode=disable");
        assert!(!m.contains("s3cret") && m.contains("alice:***@"), "{m}");
    }

    #[test]
    fn toml_url_is_read() {
        assert_eq!(
            toml_url("[database]\nurl = \"sqlite::memory:\"\n").as_deref(),
            Some("sqlite::memory:")
        );
        assert_eq!(toml_url("[database.pool]\npool_size = 1\n"), None);
    }
}
