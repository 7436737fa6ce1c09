//! How requests prove who sends them: nothing (the simulator), an IAM token, or AK/SK signing.
//!
//! Secrets live in [`Secret`], whose `Debug` never shows the value, so they cannot leak into
//! logs or error messages by accident.

use chrono::{DateTime, Utc};

use crate::api::sign;

/// A secret string (SK, security token, IAM token). Shown as `***` when debugged.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Clone, Debug, Default)]
pub enum Auth {
    /// No credentials (the simulator and `macat serve` without `--require-auth`).
    #[default]
    None,
    /// `X-Auth-Token: <IAM token>`.
    Token(Secret),
    /// SDK-HMAC-SHA256 with an access key, secret key and optional temporary security token.
    AkSk {
        ak: String,
        sk: Secret,
        security_token: Option<Secret>,
    },
}

impl Auth {
    /// The headers to send with one request. For AK/SK, `params` must be exactly the query the
    /// request sends (the client builds its URL from the same pairs).
    pub fn headers(
        &self,
        method: &str,
        host: &str,
        path: &str,
        params: &[(String, String)],
        now: DateTime<Utc>,
    ) -> Vec<(String, String)> {
        match self {
            Auth::None => Vec::new(),
            Auth::Token(t) => vec![("X-Auth-Token".into(), t.expose().to_string())],
            Auth::AkSk {
                ak,
                sk,
                security_token,
            } => {
                let date = sign::sdk_date(now);
                let mut headers = vec![("X-Sdk-Date".to_string(), date.clone())];
                if let Some(t) = security_token {
                    headers.push(("X-Security-Token".into(), t.expose().to_string()));
                }
                let req = sign::Request {
                    method,
                    host,
                    path,
                    query: params,
                    headers: &headers,
                    body: b"",
                };
                let sig = sign::sign(&req, ak, sk.expose(), &date);
                headers.push(("Authorization".into(), sig.authorization));
                headers
            }
        }
    }
}
