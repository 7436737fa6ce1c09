//! Configuration, and the one place that says which setting wins.
//!
//! Precedence, highest first: **command-line flags > environment > the scope entry of the
//! profile > the profile > built-in defaults.**
//!
//! The file (TOML; `--config PATH`, else `$MACAT_CONFIG`, else
//! `<XDG config dir>/macat/config.toml`) holds named profiles; `--profile NAME` (else
//! `$MACAT_PROFILE`, else `default`) picks one:
//!
//! ```toml
//! [profiles.default]
//! region = "cn-north-4"                  # or endpoint = "https://..."
//! project_id = "0b5d2a1c..."
//! credentials_file = "~/.config/macat/credentials.toml"   # ak, sk[, security_token] or token
//! db = "/var/lib/macat/catalog.db"
//!
//! [[profiles.default.scopes]]            # optional: several scopes, one sync walks them all
//! workspace_id = "0"
//! [[profiles.default.scopes]]
//! region = "ap-southeast-1"
//! project_id = "9f1e..."
//! workspace_id = "2a4b..."
//! ```
//!
//! Environment: `HUAWEICLOUD_SDK_AK`, `HUAWEICLOUD_SDK_SK`, `HUAWEICLOUD_SDK_SECURITY_TOKEN`,
//! `HUAWEICLOUD_SDK_PROJECT_ID`, `MACAT_AUTH_TOKEN`, `MACAT_DB`, `MACAT_CONFIG`,
//! `MACAT_PROFILE`. Secrets come only from the environment or files, never from flags.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use etcetera::BaseStrategy;
use serde::Deserialize;

use crate::api::auth::{Auth, Secret};
use crate::error::{Error, Result};

/// The whole configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// Settings shared by a profile and its scope entries.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub project_id: Option<String>,
    pub workspace_id: Option<String>,
    #[serde(rename = "type")]
    pub image_type: Option<String>,
    pub namespace: Option<String>,
    pub credentials_file: Option<PathBuf>,
    pub token_file: Option<PathBuf>,
    pub insecure_http: Option<bool>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(flatten)]
    pub settings: Settings,
    pub db: Option<PathBuf>,
    /// Where `sync` writes its Prometheus metrics (like `--metrics-file`).
    pub metrics_file: Option<PathBuf>,
    #[serde(default)]
    pub scopes: Vec<Settings>,
}

/// A credentials file: `ak` + `sk` (+ `security_token`), or `token`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsFile {
    ak: Option<String>,
    sk: Option<String>,
    security_token: Option<String>,
    token: Option<String>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `~` or `~/...` as the home directory; anything else as is.
fn expand_home(p: &Path) -> PathBuf {
    match (p.strip_prefix("~"), etcetera::home_dir()) {
        (Ok(rest), Ok(home)) => home.join(rest),
        _ => p.to_path_buf(),
    }
}

/// The XDG base directories (`$XDG_DATA_HOME`, else `~/.local/share`; `$XDG_CONFIG_HOME`, else
/// `~/.config`) on every platform, as documented; `None` without a home directory.
fn xdg() -> Option<impl BaseStrategy> {
    etcetera::base_strategy::Xdg::new().ok()
}

/// The default mirror path: `<XDG data dir>/macat/catalog.db`.
pub fn default_db() -> Option<PathBuf> {
    xdg().map(|d| d.data_dir().join("macat").join("catalog.db"))
}

/// The selected profile (empty when there is no configuration file).
#[derive(Debug, Default, Clone)]
pub struct Loaded {
    pub profile: Profile,
    pub source: Option<PathBuf>,
}

/// Loads the configuration file and picks the profile. A file named explicitly must exist; the
/// default one may be absent. A profile named explicitly must exist.
pub fn load(config: Option<&Path>, profile: Option<&str>) -> Result<Loaded> {
    let explicit = config
        .map(Path::to_path_buf)
        .or_else(|| env("MACAT_CONFIG").map(PathBuf::from));
    let path = match &explicit {
        Some(p) => Some(expand_home(p)),
        None => xdg().map(|d| d.config_dir().join("macat").join("config.toml")),
    };
    let profile_name = profile.map(str::to_string).or_else(|| env("MACAT_PROFILE"));
    let file = match &path {
        Some(p) if p.exists() => {
            let text = std::fs::read_to_string(p).map_err(|e| {
                Error::bad_path(format!("cannot read the config {}", p.display()), e)
            })?;
            toml::from_str::<ConfigFile>(&text).map_err(|e| {
                Error::usage(format!(
                    "invalid config {}: {}",
                    p.display(),
                    crate::output::one_line(&e.to_string(), 300)
                ))
            })?
        }
        Some(p) if explicit.is_some() => {
            return Err(Error::usage(format!(
                "the config file {} does not exist",
                p.display()
            )))
        }
        _ => ConfigFile::default(),
    };
    let name = profile_name.clone().unwrap_or_else(|| "default".into());
    match file.profiles.get(&name) {
        Some(p) => Ok(Loaded {
            profile: p.clone(),
            source: path,
        }),
        None if profile_name.is_some() => Err(Error::usage(format!(
            "no profile {name:?} in {} (profiles: {})",
            path.map(|p| p.display().to_string())
                .unwrap_or_else(|| "the config".into()),
            file.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
        ))),
        None => Ok(Loaded::default()),
    }
}

/// What the command line says for one sync (flags only; the environment is read here).
#[derive(Debug, Default, Clone)]
pub struct SyncFlags {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub project_id: Option<String>,
    pub workspace_id: Option<String>,
    pub image_type: Option<String>,
    pub namespace: Option<String>,
    pub token_file: Option<PathBuf>,
    pub insecure_http: bool,
}

/// One resolved scope target: where to walk and with which credentials.
#[derive(Debug, Clone)]
pub struct Target {
    pub endpoint: String,
    pub project_id: String,
    pub workspace_id: String,
    /// `BUILD_IN`, `DEDICATED`, or `all`.
    pub image_type: String,
    pub namespace: Option<String>,
    pub auth: Auth,
}

/// Resolves every scope a sync walks, applying the precedence in the module doc.
pub fn resolve_targets(flags: &SyncFlags, loaded: &Loaded) -> Result<Vec<Target>> {
    let profile = &loaded.profile;
    let entries: Vec<Settings> = if profile.scopes.is_empty() {
        vec![Settings::default()]
    } else {
        profile.scopes.clone()
    };
    entries
        .iter()
        .map(|scope| resolve_one(flags, scope, &profile.settings))
        .collect()
}

fn resolve_one(flags: &SyncFlags, scope: &Settings, base: &Settings) -> Result<Target> {
    let pick = |f: &Option<String>, e: Option<String>, get: fn(&Settings) -> &Option<String>| {
        f.clone()
            .or(e)
            .or_else(|| get(scope).clone())
            .or_else(|| get(base).clone())
    };
    // Endpoint: a flag (--endpoint or --region) beats the file; within one layer an explicit
    // endpoint beats a region.
    let endpoint = match (&flags.endpoint, &flags.region) {
        (Some(e), _) => e.clone(),
        (None, Some(r)) => crate::api::regions::endpoint(r)?,
        (None, None) => match (&scope.endpoint, &scope.region, &base.endpoint, &base.region) {
            (Some(e), _, _, _) => e.clone(),
            (None, Some(r), _, _) => crate::api::regions::endpoint(r)?,
            (None, None, Some(e), _) => e.clone(),
            (None, None, None, Some(r)) => crate::api::regions::endpoint(r)?,
            (None, None, None, None) => {
                return Err(Error::usage(
                    "no endpoint: pass --endpoint URL or --region REGION, or set one in the config profile",
                ))
            }
        },
    };
    let insecure =
        flags.insecure_http || scope.insecure_http.or(base.insecure_http).unwrap_or(false);
    let endpoint = check_endpoint(&endpoint, insecure)?;
    let project_id = pick(&flags.project_id, env("HUAWEICLOUD_SDK_PROJECT_ID"), |s| &s.project_id)
        .ok_or_else(|| {
            Error::usage(
                "no project id: pass --project-id, set HUAWEICLOUD_SDK_PROJECT_ID, or set project_id in the config profile",
            )
        })?;
    let workspace_id =
        pick(&flags.workspace_id, None, |s| &s.workspace_id).unwrap_or_else(|| "0".into());
    let image_type =
        pick(&flags.image_type, None, |s| &s.image_type).unwrap_or_else(|| "all".into());
    let image_type = match image_type.to_ascii_uppercase().as_str() {
        "ALL" => "all".to_string(),
        "BUILD_IN" | "DEDICATED" => image_type.to_ascii_uppercase(),
        other => {
            return Err(Error::usage(format!(
                "invalid type {other:?}: BUILD_IN, DEDICATED or all"
            )))
        }
    };
    let namespace = pick(&flags.namespace, None, |s| &s.namespace);
    let auth = resolve_auth(flags, scope, base)?;
    if matches!(auth, Auth::None) && !is_loopback(&endpoint) {
        // The cloud answers 401 to every unsigned request: refuse before sending any.
        return Err(Error::usage(format!(
            "no credentials for {endpoint}: set HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK, \
             pass --token-file (or set MACAT_AUTH_TOKEN), or set credentials_file in the config \
             profile (only a loopback endpoint, such as `macat simulate` or `macat serve`, is \
             asked without credentials)"
        )));
    }
    Ok(Target {
        endpoint,
        project_id,
        workspace_id,
        image_type,
        namespace,
        auth,
    })
}

fn resolve_auth(flags: &SyncFlags, scope: &Settings, base: &Settings) -> Result<Auth> {
    if let Some(path) = &flags.token_file {
        return token_from_file(path);
    }
    if let Some(token) = env("MACAT_AUTH_TOKEN") {
        return Ok(Auth::Token(Secret::new(token.trim())));
    }
    match (env("HUAWEICLOUD_SDK_AK"), env("HUAWEICLOUD_SDK_SK")) {
        (Some(ak), Some(sk)) => {
            return Ok(Auth::AkSk {
                ak,
                sk: Secret::new(sk),
                security_token: env("HUAWEICLOUD_SDK_SECURITY_TOKEN").map(Secret::new),
            })
        }
        (Some(_), None) => {
            return Err(Error::usage(
                "HUAWEICLOUD_SDK_AK is set but HUAWEICLOUD_SDK_SK is not",
            ))
        }
        (None, Some(_)) => {
            return Err(Error::usage(
                "HUAWEICLOUD_SDK_SK is set but HUAWEICLOUD_SDK_AK is not",
            ))
        }
        (None, None) => {}
    }
    for layer in [scope, base] {
        if let Some(path) = &layer.token_file {
            return token_from_file(&expand_home(path));
        }
        if let Some(path) = &layer.credentials_file {
            return credentials_from_file(&expand_home(path));
        }
    }
    Ok(Auth::None)
}

/// Warns when a file holding secrets can be read by other users.
pub(crate) fn warn_if_shared(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode();
            if mode & 0o077 != 0 {
                tracing::warn!(
                    "{} holds secrets but is readable by others (mode {:o}); run `chmod 600 {}`",
                    path.display(),
                    mode & 0o777,
                    path.display()
                );
            }
        }
    }
}

fn read_secret_file(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::bad_path(format!("cannot read {}", path.display()), e))?;
    warn_if_shared(path);
    Ok(text)
}

fn token_from_file(path: &Path) -> Result<Auth> {
    let text = read_secret_file(path)?;
    let token = text.trim();
    if token.is_empty() {
        return Err(Error::usage(format!(
            "the token file {} is empty",
            path.display()
        )));
    }
    Ok(Auth::Token(Secret::new(token)))
}

fn credentials_from_file(path: &Path) -> Result<Auth> {
    let text = read_secret_file(path)?;
    // The parser's message may quote the line it failed on: never show it (it may hold a key).
    let creds: CredentialsFile = toml::from_str(&text).map_err(|_| {
        Error::usage(format!(
            "invalid credentials file {}: expected TOML with ak and sk (and optionally security_token), or token",
            path.display()
        ))
    })?;
    match creds {
        CredentialsFile { token: Some(t), .. } if !t.trim().is_empty() => {
            Ok(Auth::Token(Secret::new(t.trim())))
        }
        CredentialsFile {
            ak: Some(ak),
            sk: Some(sk),
            security_token,
            ..
        } => Ok(Auth::AkSk {
            ak,
            sk: Secret::new(sk),
            security_token: security_token.map(Secret::new),
        }),
        _ => Err(Error::usage(format!(
            "credentials file {} needs ak and sk, or token",
            path.display()
        ))),
    }
}

/// Whether a URL's host is this machine (127.0.0.0/8, ::1 or `localhost`).
fn url_is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Whether an endpoint (checked by [`check_endpoint`]) is on this machine.
pub fn is_loopback(endpoint: &str) -> bool {
    reqwest::Url::parse(endpoint).is_ok_and(|u| url_is_loopback(&u))
}

/// Checks an endpoint: http(s) only, and plain http only to loopback unless allowed.
pub fn check_endpoint(endpoint: &str, insecure_http: bool) -> Result<String> {
    let url = reqwest::Url::parse(endpoint)
        .map_err(|e| Error::usage(format!("invalid endpoint {endpoint:?}: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" => {
            if !url_is_loopback(&url) && !insecure_http {
                return Err(Error::usage(format!(
                    "refusing plain http:// to {endpoint}: use https://, or pass --insecure-http"
                )));
            }
        }
        s => {
            return Err(Error::usage(format!(
                "unsupported scheme {s}:// in {endpoint}"
            )))
        }
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::usage(format!(
            "the endpoint {endpoint} must not have a query"
        )));
    }
    Ok(endpoint.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded(toml_text: &str, name: &str) -> Loaded {
        let file: ConfigFile = toml::from_str(toml_text).unwrap();
        Loaded {
            profile: file.profiles[name].clone(),
            source: None,
        }
    }

    #[test]
    fn flags_beat_scope_entries_which_beat_the_profile() {
        let l = loaded(
            r#"
            [profiles.prod]
            region = "cn-north-4"
            project_id = "base"
            [[profiles.prod.scopes]]
            workspace_id = "ws1"
            [[profiles.prod.scopes]]
            region = "ap-southeast-1"
            project_id = "other"
            type = "DEDICATED"
            "#,
            "prod",
        );
        // The cloud is asked only with credentials: a token file stands for them.
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "a-token").unwrap();
        let with_token = SyncFlags {
            token_file: Some(token.clone()),
            ..Default::default()
        };
        let t = resolve_targets(&with_token, &l).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(
            t[0].endpoint,
            "https://modelarts.cn-north-4.myhuaweicloud.com"
        );
        assert_eq!(
            (t[0].project_id.as_str(), t[0].workspace_id.as_str()),
            ("base", "ws1")
        );
        assert_eq!(t[0].image_type, "all");
        assert_eq!(
            t[1].endpoint,
            "https://modelarts.ap-southeast-1.myhuaweicloud.cn"
        );
        assert_eq!(
            (t[1].project_id.as_str(), t[1].image_type.as_str()),
            ("other", "DEDICATED")
        );
        let flags = SyncFlags {
            project_id: Some("flag".into()),
            endpoint: Some("https://example.test/".into()),
            token_file: Some(token),
            ..Default::default()
        };
        let t = resolve_targets(&flags, &l).unwrap();
        assert!(t
            .iter()
            .all(|t| t.project_id == "flag" && t.endpoint == "https://example.test"));
        // Without any credentials the cloud is not asked; a loopback server is.
        let e = resolve_targets(&SyncFlags::default(), &l).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("HUAWEICLOUD_SDK_AK"));
        let local = SyncFlags {
            endpoint: Some("http://127.0.0.2:9".into()),
            ..Default::default()
        };
        assert!(resolve_targets(&local, &l).is_ok());
    }

    #[test]
    fn unknown_keys_and_missing_settings_are_usage_errors() {
        assert!(toml::from_str::<ConfigFile>("[profiles.a]\nendpint = \"x\"").is_err());
        let e = resolve_targets(&SyncFlags::default(), &Loaded::default()).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(check_endpoint("http://127.0.0.1:8080", false).is_ok());
        assert!(check_endpoint("http://[::1]:8080", false).is_ok());
        assert!(check_endpoint("http://localhost:1", false).is_ok());
        assert_eq!(
            check_endpoint("http://10.0.0.1", false)
                .unwrap_err()
                .exit_code(),
            2
        );
        assert!(check_endpoint("http://10.0.0.1", true).is_ok());
        assert!(check_endpoint("ftp://x", true).is_err());
    }
}
