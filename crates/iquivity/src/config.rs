//! One typed configuration: defaults < `iquivity.toml` < `IQUIVITY_*` environment < command-line flags.

use anyhow::{bail, Context};
use iquivity_core::mail::{SmtpSettings, SmtpTls};
use iquivity_core::outbound::DestinationPolicy;
use iquivity_domain::{Plan, Platform};
use iquivity_platforms::{PlatformSettings, SETTING_KEYS};
use secrecy::SecretString;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `sqlite://path`; empty means `sqlite://<data_dir>/iquivity.db`.
    pub database_url: Option<String>,
    pub default_plan: Plan,
    pub encryption_key: Option<SecretString>,
    pub encryption_old_keys: Vec<SecretString>,
    pub public_url: Option<String>,
    pub log: String,
    pub log_json: bool,
    /// How long one platform call may take before it counts as unavailable.
    pub platform_timeout: std::time::Duration,
    /// Whether this instance runs the lifecycle engine (renewals, health checks, revocations).
    pub run_lifecycle: bool,
    /// How long an instance holds a claimed job or post before another instance may take it over: how
    /// long the work of an instance that died waits. Must exceed two platform timeouts.
    pub job_lease: std::time::Duration,
    /// How many jobs or publications of one instance may talk to one platform at once (1 to 256).
    pub per_platform_concurrency: u32,
    /// Each platform's endpoints and app credentials. A platform without a client id runs on the sandbox.
    pub platforms: BTreeMap<Platform, PlatformSettings>,
    /// Host names, addresses and CIDRs that webhooks may reach although they are not public (plain http
    /// is accepted to these too). Everything else must be a public address over https.
    pub webhook_allowed_hosts: Vec<String>,
    /// The ports webhooks may use.
    pub webhook_allowed_ports: Vec<u16>,
    /// Reverse proxies (addresses or networks) whose `X-Forwarded-For` names the client, for the
    /// per-address limits on sign-in and sign-up. Empty: every request's client is its peer.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Where email goes; `None`: emails are written to the log (without their bodies) and pages say email
    /// is off.
    pub smtp: Option<SmtpSettings>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url().ok().map(|url| redact_password(&url)),
            )
            .field("default_plan", &self.default_plan)
            .field(
                "encryption_key",
                &self.encryption_key.as_ref().map(|_| "[redacted]"),
            )
            .field(
                "encryption_old_keys",
                &format!("[{} redacted]", self.encryption_old_keys.len()),
            )
            .field("public_url", &self.public_url)
            .field("log", &self.log)
            .field("log_json", &self.log_json)
            .field("run_lifecycle", &self.run_lifecycle)
            .field("platform_timeout", &self.platform_timeout)
            .field("job_lease", &self.job_lease)
            .field("per_platform_concurrency", &self.per_platform_concurrency)
            .field("platforms", &self.platforms)
            .field("webhook_allowed_hosts", &self.webhook_allowed_hosts)
            .field("webhook_allowed_ports", &self.webhook_allowed_ports)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("smtp", &self.smtp)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            default_plan: Plan::Free,
            encryption_key: None,
            encryption_old_keys: Vec::new(),
            public_url: None,
            log: "info".into(),
            log_json: false,
            run_lifecycle: true,
            platform_timeout: std::time::Duration::from_secs(20),
            job_lease: std::time::Duration::from_secs(300),
            per_platform_concurrency: iquivity_core::lifecycle::LifecycleSettings::default()
                .per_platform_concurrency,
            platforms: Platform::ALL
                .into_iter()
                .map(|p| (p, PlatformSettings::real(p)))
                .collect(),
            webhook_allowed_hosts: Vec::new(),
            webhook_allowed_ports: iquivity_core::outbound::DEFAULT_PORTS.to_vec(),
            trusted_proxies: Vec::new(),
            smtp: None,
        }
    }
}

/// The keys of `iquivity.toml`; each also reads from `IQUIVITY_<KEY in upper case>`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    default_plan: Option<String>,
    encryption_key: Option<String>,
    encryption_old_keys: Option<String>,
    public_url: Option<String>,
    log: Option<String>,
    log_format: Option<String>,
    run_lifecycle: Option<String>,
    platform_timeout_secs: Option<String>,
    job_lease_secs: Option<String>,
    /// Comma-separated host names, addresses and CIDRs.
    webhook_allowed_hosts: Option<String>,
    /// Comma-separated ports.
    webhook_allowed_ports: Option<String>,
    /// A list, or one string with commas (as the environment gives it).
    trusted_proxies: Option<OneOrMany>,
    per_platform_concurrency: Option<String>,
    /// The SMTP server: its host (which turns email on), port, username, password, sender and TLS mode.
    smtp_host: Option<String>,
    smtp_port: Option<String>,
    smtp_username: Option<String>,
    smtp_password: Option<String>,
    smtp_from: Option<String>,
    smtp_tls: Option<String>,
    /// `[platforms.<platform>]` tables: client_id, client_secret, authorize_url, token_url, revoke_url,
    /// api_url, api_version.
    #[serde(default)]
    platforms: BTreeMap<String, BTreeMap<String, String>>,
}

/// A setting that takes a list: `["a", "b"]` in the file, `"a, b"` in the file or the environment.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn joined(self) -> String {
        match self {
            OneOrMany::One(text) => text,
            OneOrMany::Many(items) => items.join(","),
        }
    }
}

impl FileConfig {
    /// The SMTP keys: a host turns email on; the rest refine it, and need one.
    fn apply_smtp(&self, config: &mut Config, source: &str) -> anyhow::Result<()> {
        let Some(host) = self.smtp_host.clone() else {
            let refinements = [
                &self.smtp_port,
                &self.smtp_username,
                &self.smtp_password,
                &self.smtp_from,
                &self.smtp_tls,
            ];
            if refinements.iter().any(|v| v.is_some()) && config.smtp.is_none() {
                bail!("{source}: smtp_port, smtp_username, smtp_password, smtp_from and smtp_tls need smtp_host");
            }
            return Ok(());
        };
        let tls: SmtpTls = match &self.smtp_tls {
            Some(mode) => mode
                .parse()
                .map_err(|e| anyhow::anyhow!("{source}: smtp_tls {e}"))?,
            None => SmtpTls::StartTls,
        };
        let port = match &self.smtp_port {
            Some(port) => port
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .with_context(|| {
                    format!("{source}: smtp_port must be a port from 1 to 65535 (got {port:?})")
                })?,
            None if tls == SmtpTls::Implicit => 465,
            None => 587,
        };
        let from = self.smtp_from.clone().with_context(|| {
            format!("{source}: smtp_from (the sender address) is required with smtp_host")
        })?;
        config.smtp = Some(SmtpSettings {
            host,
            port,
            username: self.smtp_username.clone(),
            password: self.smtp_password.clone().map(SecretString::from),
            from,
            tls,
        });
        Ok(())
    }

    fn from_env(vars: &dyn Fn(&str) -> Option<String>) -> Self {
        let get = |key: &str| {
            vars(&format!("IQUIVITY_{}", key.to_ascii_uppercase())).filter(|v| !v.is_empty())
        };
        FileConfig {
            listen: get("listen"),
            data_dir: get("data_dir").map(PathBuf::from),
            database_url: get("database_url"),
            default_plan: get("default_plan"),
            encryption_key: get("encryption_key"),
            encryption_old_keys: get("encryption_old_keys"),
            public_url: get("public_url"),
            log: get("log"),
            log_format: get("log_format"),
            run_lifecycle: get("run_lifecycle"),
            platform_timeout_secs: get("platform_timeout_secs"),
            job_lease_secs: get("job_lease_secs"),
            webhook_allowed_hosts: get("webhook_allowed_hosts"),
            webhook_allowed_ports: get("webhook_allowed_ports"),
            trusted_proxies: get("trusted_proxies").map(OneOrMany::One),
            per_platform_concurrency: get("per_platform_concurrency"),
            smtp_host: get("smtp_host"),
            smtp_port: get("smtp_port"),
            smtp_username: get("smtp_username"),
            smtp_password: get("smtp_password"),
            smtp_from: get("smtp_from"),
            smtp_tls: get("smtp_tls"),
            platforms: Platform::ALL
                .into_iter()
                .filter_map(|platform| {
                    let keys: BTreeMap<String, String> = SETTING_KEYS
                        .iter()
                        .filter_map(|key| {
                            get(&format!("{}_{key}", platform.as_str()))
                                .map(|v| (key.to_string(), v))
                        })
                        .collect();
                    (!keys.is_empty()).then(|| (platform.as_str().to_string(), keys))
                })
                .collect(),
        }
    }

    fn apply(self, config: &mut Config, source: &str) -> anyhow::Result<()> {
        self.apply_smtp(config, source)?;
        if let Some(listen) = self.listen {
            config.listen = listen.parse().with_context(|| {
                format!("{source}: listen {listen:?} is not an address like 127.0.0.1:8080")
            })?;
        }
        if let Some(dir) = self.data_dir {
            config.data_dir = dir;
        }
        if let Some(url) = self.database_url {
            if !url.starts_with("sqlite:") && !iquivity_store::is_postgres_url(&url) {
                bail!(
                    "{source}: database_url must start with sqlite:// or postgres://, not {:?}",
                    redact_password(&url)
                );
            }
            config.database_url = Some(url);
        }
        if let Some(plan) = self.default_plan {
            config.default_plan = plan.parse().map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
        }
        if let Some(key) = self.encryption_key {
            config.encryption_key = Some(SecretString::from(key));
        }
        if let Some(keys) = self.encryption_old_keys {
            config.encryption_old_keys = keys
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(|k| SecretString::from(k.to_string()))
                .collect();
        }
        if let Some(url) = self.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                bail!("{source}: public_url must start with http:// or https://");
            }
            config.public_url = Some(url.trim_end_matches('/').to_string());
        }
        if let Some(log) = self.log {
            config.log = log;
        }
        for (name, keys) in self.platforms {
            let platform: Platform = name
                .parse()
                .map_err(|e| anyhow::anyhow!("{source}: platforms.{name}: {e}"))?;
            let settings = config
                .platforms
                .entry(platform)
                .or_insert_with(|| PlatformSettings::real(platform));
            for (key, value) in keys {
                settings
                    .set(&key, value)
                    .map_err(|e| anyhow::anyhow!("{source}: platforms.{name}: {e}"))?;
            }
        }
        if let Some(secs) = self.platform_timeout_secs {
            let secs: u64 = secs
                .parse()
                .ok()
                .filter(|s| (1..=300).contains(s))
                .with_context(|| format!("{source}: platform_timeout_secs must be a whole number of seconds from 1 to 300 (got {secs:?})"))?;
            config.platform_timeout = std::time::Duration::from_secs(secs);
        }
        if let Some(secs) = self.job_lease_secs {
            let secs: u64 = secs
                .parse()
                .ok()
                .filter(|s| (5..=3600).contains(s))
                .with_context(|| format!("{source}: job_lease_secs must be a whole number of seconds from 5 to 3600 (got {secs:?})"))?;
            config.job_lease = std::time::Duration::from_secs(secs);
        }
        if let Some(hosts) = self.webhook_allowed_hosts {
            let hosts: Vec<String> = hosts
                .split(',')
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .map(str::to_string)
                .collect();
            DestinationPolicy::new(&hosts, &[])
                .with_context(|| format!("{source}: webhook_allowed_hosts"))?;
            config.webhook_allowed_hosts = hosts;
        }
        if let Some(ports) = self.webhook_allowed_ports {
            config.webhook_allowed_ports = ports
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| p.parse::<u16>().ok().filter(|p| *p > 0).with_context(|| {
                    format!("{source}: webhook_allowed_ports must list ports from 1 to 65535, separated by commas (got {p:?})")
                }))
                .collect::<anyhow::Result<_>>()?;
            if config.webhook_allowed_ports.is_empty() {
                bail!("{source}: webhook_allowed_ports must list at least one port");
            }
        }
        if let Some(list) = self.trusted_proxies {
            config.trusted_proxies = iquivity_server::parse_trusted_proxies(&list.joined())
                .map_err(|e| anyhow::anyhow!("{source}: trusted_proxies: {e}"))?;
        }
        if let Some(slots) = self.per_platform_concurrency {
            let slots: u32 = slots
                .parse()
                .ok()
                .filter(|s| (1..=256).contains(s))
                .with_context(|| format!("{source}: per_platform_concurrency must be a whole number from 1 to 256 (got {slots:?})"))?;
            config.per_platform_concurrency = slots;
        }
        match self.run_lifecycle.as_deref() {
            None => {}
            Some("true" | "1" | "yes") => config.run_lifecycle = true,
            Some("false" | "0" | "no") => config.run_lifecycle = false,
            Some(other) => bail!("{source}: run_lifecycle must be true or false (got {other:?})"),
        }
        match self.log_format.as_deref() {
            None => {}
            Some("json") => config.log_json = true,
            Some("text") => config.log_json = false,
            Some(other) => bail!("{source}: log_format must be text or json (got {other:?})"),
        }
        Ok(())
    }
}

impl Config {
    /// Loads the configuration file (the given one, which must exist, or `./iquivity.toml` when present)
    /// and then the environment.
    pub fn load(
        file: Option<&Path>,
        vars: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Config> {
        let mut config = Config::default();
        let file = file.map(Path::to_path_buf).or_else(|| {
            let default = PathBuf::from("iquivity.toml");
            default.exists().then_some(default)
        });
        if let Some(path) = file {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read configuration file {}", path.display()))?;
            let parsed: FileConfig = toml::from_str(&text)
                .with_context(|| format!("configuration file {} is not valid", path.display()))?;
            parsed.apply(&mut config, &path.display().to_string())?;
        }
        FileConfig::from_env(vars).apply(&mut config, "environment")?;
        // A lease that ran out while its holder still waits on a platform would let a second instance
        // repeat the work; a job makes up to two platform calls in a row.
        if config.job_lease <= config.platform_timeout * 2 {
            bail!(
                "job_lease_secs ({}) must be more than twice platform_timeout_secs ({})",
                config.job_lease.as_secs(),
                config.platform_timeout.as_secs()
            );
        }
        Ok(config)
    }

    /// Where webhooks may point, from `webhook_allowed_hosts` and `webhook_allowed_ports`.
    pub fn webhook_policy(&self) -> anyhow::Result<DestinationPolicy> {
        DestinationPolicy::new(&self.webhook_allowed_hosts, &self.webhook_allowed_ports)
            .context("webhook_allowed_hosts")
    }

    /// The address people and platforms reach the service at.
    pub fn public_base(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
    }

    /// The database to open: the configured URL, or the embedded SQLite file in the data directory.
    pub fn database_url(&self) -> anyhow::Result<String> {
        match &self.database_url {
            Some(url) => Ok(url.clone()),
            None => {
                let path = self.data_dir.join("iquivity.db");
                let path = path.to_str().with_context(|| {
                    format!(
                        "the data directory {} is not valid UTF-8",
                        self.data_dir.display()
                    )
                })?;
                Ok(format!("sqlite://{path}"))
            }
        }
    }
}

/// The URL with any password replaced, fit for logs and error messages.
pub fn redact_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Only fails for URLs that cannot carry a password, which this one does.
            let _ = parsed.set_password(Some("redacted"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn environment_overrides_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("iquivity.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\ndefault_plan = \"starter\"\n",
        )
        .unwrap();
        let env: HashMap<String, String> = [(
            "IQUIVITY_DEFAULT_PLAN".to_string(),
            "enterprise".to_string(),
        )]
        .into();
        let config = Config::load(Some(&file), &|k| env.get(k).cloned()).unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.default_plan, Plan::Enterprise);
        assert_eq!(config.data_dir, PathBuf::from("./data"));
    }

    #[test]
    fn mistakes_are_named() {
        let env: HashMap<String, String> =
            [("IQUIVITY_DEFAULT_PLAN".to_string(), "gold".to_string())].into();
        let err = Config::load(None, &|k| env.get(k).cloned()).unwrap_err();
        assert!(err.to_string().contains("gold"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("iquivity.toml");
        std::fs::write(&file, "colour = \"blue\"\n").unwrap();
        let err = format!("{:#}", Config::load(Some(&file), &|_| None).unwrap_err());
        assert!(err.contains("colour"), "{err}");
    }

    #[test]
    fn smtp_is_off_without_a_host_and_its_password_is_never_shown() {
        assert!(Config::load(None, &|_| None).unwrap().smtp.is_none());
        let env = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let on = env(&[
            ("IQUIVITY_SMTP_HOST", "smtp.example.com"),
            ("IQUIVITY_SMTP_PASSWORD", "hunter2-smtp"),
            ("IQUIVITY_SMTP_USERNAME", "mailer"),
            ("IQUIVITY_SMTP_FROM", "Social <social@example.com>"),
        ]);
        let config = Config::load(None, &|k| on.get(k).cloned()).unwrap();
        let smtp = config.smtp.as_ref().unwrap();
        assert_eq!((smtp.port, smtp.tls), (587, SmtpTls::StartTls));
        assert!(!format!("{config:?}").contains("hunter2-smtp"));
        let implicit = env(&[
            ("IQUIVITY_SMTP_HOST", "smtp.example.com"),
            ("IQUIVITY_SMTP_TLS", "tls"),
            ("IQUIVITY_SMTP_FROM", "social@example.com"),
        ]);
        let config = Config::load(None, &|k| implicit.get(k).cloned()).unwrap();
        assert_eq!(config.smtp.unwrap().port, 465);
        for (pairs, named) in [
            (vec![("IQUIVITY_SMTP_PORT", "25")], "smtp_host"),
            (
                vec![("IQUIVITY_SMTP_HOST", "smtp.example.com")],
                "smtp_from",
            ),
            (
                vec![
                    ("IQUIVITY_SMTP_HOST", "smtp.example.com"),
                    ("IQUIVITY_SMTP_FROM", "a@example.com"),
                    ("IQUIVITY_SMTP_TLS", "ssl"),
                ],
                "smtp_tls",
            ),
        ] {
            let vars = env(&pairs);
            let err = Config::load(None, &|k| vars.get(k).cloned()).unwrap_err();
            assert!(err.to_string().contains(named), "{err}");
        }
    }

    #[test]
    fn platform_settings_come_from_the_file_and_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("iquivity.toml");
        std::fs::write(&file, "[platforms.x]\nclient_id = \"from-file\"\ntoken_url = \"https://proxy.example/token\"\n").unwrap();
        let env: HashMap<String, String> = [
            ("IQUIVITY_X_CLIENT_ID".to_string(), "from-env".to_string()),
            (
                "IQUIVITY_LINKEDIN_API_VERSION".to_string(),
                "202612".to_string(),
            ),
        ]
        .into();
        let config = Config::load(Some(&file), &|k| env.get(k).cloned()).unwrap();
        let x = &config.platforms[&Platform::X];
        assert_eq!(x.client_id, "from-env");
        assert_eq!(x.token_url, "https://proxy.example/token");
        assert_eq!(x.authorize_url, "https://x.com/i/oauth2/authorize");
        assert_eq!(config.platforms[&Platform::Linkedin].api_version, "202612");
        assert!(!config.platforms[&Platform::Tiktok].has_credentials());

        std::fs::write(&file, "[platforms.myspace]\nclient_id = \"x\"\n").unwrap();
        let err = format!("{:#}", Config::load(Some(&file), &|_| None).unwrap_err());
        assert!(err.contains("myspace"), "{err}");
        std::fs::write(&file, "[platforms.x]\nclient_colour = \"x\"\n").unwrap();
        let err = format!("{:#}", Config::load(Some(&file), &|_| None).unwrap_err());
        assert!(err.contains("client_colour"), "{err}");
    }

    #[test]
    fn webhook_destinations_come_from_the_file_and_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("iquivity.toml");
        let config = Config::load(None, &|_| None).unwrap();
        assert!(config.webhook_allowed_hosts.is_empty());
        assert_eq!(config.webhook_allowed_ports, vec![443, 8443]);
        assert_eq!(
            config.webhook_policy().unwrap(),
            DestinationPolicy::default()
        );

        std::fs::write(
            &file,
            "webhook_allowed_hosts = \"hooks.internal, 10.0.0.0/8,127.0.0.1\"\nwebhook_allowed_ports = \"443, 8080\"\n",
        )
        .unwrap();
        let config = Config::load(Some(&file), &|_| None).unwrap();
        assert_eq!(
            config.webhook_allowed_hosts,
            ["hooks.internal", "10.0.0.0/8", "127.0.0.1"]
        );
        assert_eq!(config.webhook_allowed_ports, vec![443, 8080]);
        let policy = config.webhook_policy().unwrap();
        assert!(policy
            .check_url(&url::Url::parse("http://hooks.internal:8080/x").unwrap())
            .is_ok());

        let env: HashMap<String, String> = [(
            "IQUIVITY_WEBHOOK_ALLOWED_PORTS".to_string(),
            "9000".to_string(),
        )]
        .into();
        let config = Config::load(Some(&file), &|k| env.get(k).cloned()).unwrap();
        assert_eq!(config.webhook_allowed_ports, vec![9000]);

        for (key, value, named) in [
            (
                "IQUIVITY_WEBHOOK_ALLOWED_HOSTS",
                "http://hooks.internal",
                "http://hooks.internal",
            ),
            (
                "IQUIVITY_WEBHOOK_ALLOWED_HOSTS",
                "10.0.0.0/40",
                "10.0.0.0/40",
            ),
            ("IQUIVITY_WEBHOOK_ALLOWED_PORTS", "443,http", "http"),
            ("IQUIVITY_WEBHOOK_ALLOWED_PORTS", "0", "0"),
            ("IQUIVITY_WEBHOOK_ALLOWED_PORTS", " , ", "at least one"),
        ] {
            let env: HashMap<String, String> = [(key.to_string(), value.to_string())].into();
            let err = format!(
                "{:#}",
                Config::load(None, &|k| env.get(k).cloned()).unwrap_err()
            );
            assert!(err.contains(named), "{err}");
        }
    }

    #[test]
    fn trusted_proxies_come_as_a_list_or_with_commas() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("iquivity.toml");
        std::fs::write(&file, "trusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n").unwrap();
        let config = Config::load(Some(&file), &|_| None).unwrap();
        assert_eq!(config.trusted_proxies.len(), 2);
        assert!(
            config.trusted_proxies[0].contains(&"10.2.3.4".parse::<std::net::IpAddr>().unwrap())
        );
        let env: HashMap<String, String> = [(
            "IQUIVITY_TRUSTED_PROXIES".to_string(),
            "192.0.2.1, 172.16.0.0/12".to_string(),
        )]
        .into();
        let config = Config::load(Some(&file), &|k| env.get(k).cloned()).unwrap();
        assert_eq!(
            config.trusted_proxies.len(),
            2,
            "the environment replaces the file"
        );
        assert!(
            config.trusted_proxies[1].contains(&"172.20.0.1".parse::<std::net::IpAddr>().unwrap())
        );
        assert!(Config::load(None, &|_| None)
            .unwrap()
            .trusted_proxies
            .is_empty());
        let env: HashMap<String, String> = [(
            "IQUIVITY_TRUSTED_PROXIES".to_string(),
            "10.0.0.0/8, nginx".to_string(),
        )]
        .into();
        let err = Config::load(None, &|k| env.get(k).cloned()).unwrap_err();
        assert!(err.to_string().contains("nginx"), "{err}");
    }

    #[test]
    fn debug_never_shows_keys() {
        let config = Config {
            encryption_key: Some(SecretString::from("c2VjcmV0".to_string())),
            ..Config::default()
        };
        assert!(!format!("{config:?}").contains("c2VjcmV0"));
        let config = Config {
            database_url: Some("postgres://app:hunter2-secret@db:5432/iquivity".into()),
            ..Config::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2-secret"), "{shown}");
        assert!(
            shown.contains("postgres://app:redacted@db:5432/iquivity"),
            "{shown}"
        );
    }

    #[test]
    fn the_database_is_sqlite_or_postgres_and_leases_outlast_platform_calls() {
        let load = |pairs: &[(&str, &str)]| {
            let env: HashMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Config::load(None, &|k| env.get(k).cloned())
        };
        let config = load(&[("IQUIVITY_DATABASE_URL", "postgresql://db/iquivity")]).unwrap();
        assert_eq!(config.database_url().unwrap(), "postgresql://db/iquivity");
        let config = load(&[("IQUIVITY_DATA_DIR", "/srv/iq")]).unwrap();
        assert_eq!(
            config.database_url().unwrap(),
            "sqlite:///srv/iq/iquivity.db"
        );
        let err = load(&[("IQUIVITY_DATABASE_URL", "mysql://u:pw-secret@db/x")]).unwrap_err();
        assert!(
            err.to_string().contains("sqlite:// or postgres://"),
            "{err}"
        );
        assert!(!err.to_string().contains("pw-secret"), "{err}");
        let err = load(&[
            ("IQUIVITY_JOB_LEASE_SECS", "30"),
            ("IQUIVITY_PLATFORM_TIMEOUT_SECS", "20"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("more than twice"), "{err}");
        let config = load(&[
            ("IQUIVITY_JOB_LEASE_SECS", "15"),
            ("IQUIVITY_PLATFORM_TIMEOUT_SECS", "5"),
        ])
        .unwrap();
        assert_eq!(config.job_lease, std::time::Duration::from_secs(15));
    }

    #[test]
    fn per_platform_concurrency_is_1_to_256_and_defaults_to_32() {
        let load = |value: &str| {
            let value = value.to_string();
            Config::load(None, &move |k| {
                (k == "IQUIVITY_PER_PLATFORM_CONCURRENCY").then(|| value.clone())
            })
        };
        assert_eq!(load("").unwrap().per_platform_concurrency, 32);
        assert_eq!(load("1").unwrap().per_platform_concurrency, 1);
        assert_eq!(load("256").unwrap().per_platform_concurrency, 256);
        for bad in ["0", "257", "-1", "four", "1.5"] {
            let err = load(bad).unwrap_err();
            assert!(
                err.to_string().contains("per_platform_concurrency"),
                "{bad}: {err}"
            );
        }
    }
}
