//! Huawei Cloud `SDK-HMAC-SHA256` AK/SK request signing (client side) and
//! signature verification (server side).
//!
//! # Why this module exists
//!
//! The ModelArts image API only answers requests signed with an access key
//! (AK) / secret key (SK) pair using the algorithm of the official Huawei
//! Cloud SDK (`huaweicloudsdkcore`'s `Signer`). macat talks to that API without
//! the SDK, so it must produce the very same bytes; and the project's HTTP
//! simulator must accept exactly what the real service accepts. Both halves
//! live here and share one canonicalisation, pinned by vectors computed with
//! the official SDK (`tests/fixtures/signing-vectors.json`).
//!
//! # The algorithm
//!
//! ```text
//! CanonicalRequest = METHOD '\n'
//!                    CanonicalURI '\n'        path decoded, each segment re-encoded, always ends with '/'
//!                    CanonicalQuery '\n'      pairs sorted by (key, value), k=v joined by '&'
//!                    CanonicalHeaders '\n'    "name:value\n" per signed header, lowercase names, trimmed values
//!                    SignedHeaders '\n'       lowercase names, sorted, joined by ';'
//!                    hex(sha256(body))
//! StringToSign     = "SDK-HMAC-SHA256\n" X-Sdk-Date '\n' hex(sha256(CanonicalRequest))
//! Signature        = hex(hmac_sha256(SK, StringToSign))
//! Authorization    = "SDK-HMAC-SHA256 Access=AK, SignedHeaders=..., Signature=..."
//! ```
//!
//! Percent-encoding keeps only the unreserved characters `A-Za-z0-9-_.~`
//! (UTF-8 bytes, uppercase hex, a space becomes `%20`, never `+`). Every header
//! is signed except those whose name contains `_`; `host` is always signed.
//! The query string actually sent must be the canonical one, which is why
//! [`Signature::request_uri`] is returned.
//!
//! The secret key never appears in any value, `Debug` or `Display` output of
//! this module.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Name of the signing algorithm, first word of the `Authorization` header.
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
/// Header carrying the signing time, formatted by [`sdk_date`].
pub const HEADER_SDK_DATE: &str = "X-Sdk-Date";
/// Header carrying a temporary credential's security token (signed like any
/// other header).
pub const HEADER_SECURITY_TOKEN: &str = "X-Security-Token";
/// Optional header replacing the body hash in the canonical request (the SDK
/// sets it to `UNSIGNED-PAYLOAD` for non-JSON bodies). Only honoured when
/// signed and when the body is not empty, as in the SDK.
pub const HEADER_CONTENT_SHA256: &str = "X-Sdk-Content-Sha256";
/// `strftime` format of [`HEADER_SDK_DATE`].
pub const SDK_DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";
/// Largest accepted distance between the server clock and `X-Sdk-Date`.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);

/// A request to sign, as the client will send it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// HTTP method; uppercased in the canonical request.
    pub method: &'a str,
    /// Host (with port when not the default); signed as the `host` header
    /// unless `headers` already has a `Host` entry, which then wins (as in the
    /// SDK).
    pub host: &'a str,
    /// Resource path, e.g. `/v1/{project_id}/images`, sent as is.
    pub path: &'a str,
    /// Query parameters, unencoded; order does not matter.
    pub query: &'a [(String, String)],
    /// Headers that will be sent; must already include `X-Sdk-Date` (and
    /// `X-Security-Token` when using temporary credentials).
    pub headers: &'a [(String, String)],
    /// Request body (empty for GET).
    pub body: &'a [u8],
}

/// The result of [`sign`]: the header to send plus every intermediate string
/// (useful for debugging and pinned by the tests). Contains no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The canonical request that was hashed.
    pub canonical_request: String,
    /// The string that was HMAC-ed with the secret key.
    pub string_to_sign: String,
    /// Lowercase signed header names joined by `;`.
    pub signed_headers: String,
    /// Value of the `Authorization` header to send.
    pub authorization: String,
    /// Path plus canonical query string (no `?` when the query is empty): the
    /// request target to send so the server sees the signed query.
    pub request_uri: String,
}

/// Signs `req` with the key pair `ak`/`sk` at time `x_sdk_date` (which must
/// be the value of the request's `X-Sdk-Date` header, see [`sdk_date`]).
pub fn sign(req: &Request, ak: &str, sk: &str, x_sdk_date: &str) -> Signature {
    // Lowercase name -> trimmed value, sorted by name; a later duplicate wins.
    let mut headers: BTreeMap<String, &str> = BTreeMap::new();
    for (name, value) in req.headers {
        if name.contains('_') {
            continue;
        }
        headers.insert(name.to_ascii_lowercase(), value.trim());
    }
    headers
        .entry("host".to_owned())
        .or_insert_with(|| req.host.trim());

    let content_sha256 = headers
        .get(&HEADER_CONTENT_SHA256.to_ascii_lowercase())
        .copied();
    let signed: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let query = canonical_query(req.query);
    let (canonical_request, signed_headers) = canonical_request(
        req.method,
        req.path,
        &query,
        &signed,
        &payload_hash(req.body, content_sha256),
    );
    let string_to_sign = string_to_sign(x_sdk_date, &canonical_request);
    let signature = hex::encode(hmac(sk.as_bytes(), &string_to_sign).finalize().into_bytes());
    let authorization =
        format!("{ALGORITHM} Access={ak}, SignedHeaders={signed_headers}, Signature={signature}");
    let request_uri = if query.is_empty() {
        req.path.to_owned()
    } else {
        format!("{}?{}", req.path, query)
    };
    Signature {
        canonical_request,
        string_to_sign,
        signed_headers,
        authorization,
        request_uri,
    }
}

/// The canonical query string: pairs sorted by key then value (on the
/// unencoded strings, as the SDK does), each key and value percent-encoded,
/// joined as `k=v&k=v`. Empty for no parameters. This is also the query
/// string the client must send.
pub fn canonical_query(query: &[(String, String)]) -> String {
    let mut pairs: Vec<(&str, &str)> = query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    pairs.sort_unstable();
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&percent_encode(k));
        out.push('=');
        out.push_str(&percent_encode(v));
    }
    out
}

/// Formats `t` as an `X-Sdk-Date` value (`%Y%m%dT%H%M%SZ`, UTC).
pub fn sdk_date(t: DateTime<Utc>) -> String {
    t.format(SDK_DATE_FORMAT).to_string()
}

/// Parses an `X-Sdk-Date` value; `None` unless it is exactly
/// `YYYYMMDDTHHMMSSZ` and a valid UTC time.
pub fn parse_sdk_date(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 16
        && b.iter().enumerate().all(|(i, c)| match i {
            8 => *c == b'T',
            15 => *c == b'Z',
            _ => c.is_ascii_digit(),
        });
    if !shape_ok {
        return None;
    }
    let num = |range: std::ops::Range<usize>| s.get(range)?.parse::<u32>().ok();
    let year = i32::try_from(num(0..4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, num(4..6)?, num(6..8)?)?;
    let time = date.and_hms_opt(num(9..11)?, num(11..13)?, num(13..15)?)?;
    Some(time.and_utc())
}

/// The three fields of an `SDK-HMAC-SHA256` `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAuthorization {
    /// The access key (AK).
    pub access: String,
    /// Signed header names, lowercase, in the order they were signed.
    pub signed_headers: Vec<String>,
    /// The signature, 64 hex digits.
    pub signature: String,
}

/// Server side: parses an `Authorization` header of the form
/// `SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex` (fields in
/// any order, optional spaces after commas). `None` if it is malformed.
pub fn parse_authorization(h: &str) -> Option<ParsedAuthorization> {
    let rest = h.trim().strip_prefix(ALGORITHM)?;
    if !rest.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let (mut access, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (key, value) = part.trim().split_once('=')?;
        let slot = match key {
            "Access" => &mut access,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            _ => return None,
        };
        if slot.is_some() || value.is_empty() || value.contains(char::is_whitespace) {
            return None;
        }
        *slot = Some(value);
    }
    let signature = signature?;
    if signature.len() != 64 || !signature.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let mut signed_headers = Vec::new();
    for name in signed?.split(';') {
        if name.is_empty() || name.bytes().any(|c| c.is_ascii_uppercase()) {
            return None;
        }
        signed_headers.push(name.to_owned());
    }
    Some(ParsedAuthorization {
        access: access?.to_owned(),
        signed_headers,
        signature: signature.to_owned(),
    })
}

/// Why [`verify`] rejected a request. Messages never include key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyError {
    /// `Authorization` missing or unparseable, `X-Sdk-Date` unparseable, or
    /// `host`/`x-sdk-date` not among the signed headers.
    Malformed,
    /// The access key is not known to the server.
    UnknownAccessKey,
    /// The signature does not match the request (wrong SK, tampered request,
    /// or a signed header missing from the request).
    BadSignature,
    /// `X-Sdk-Date` is further from the server clock than the allowed skew.
    DateSkew,
    /// No `X-Sdk-Date` header.
    MissingDate,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VerifyError::Malformed => "missing or malformed SDK-HMAC-SHA256 Authorization header",
            VerifyError::UnknownAccessKey => "unknown access key",
            VerifyError::BadSignature => "request signature does not match",
            VerifyError::DateSkew => "X-Sdk-Date is too far from the server time",
            VerifyError::MissingDate => "missing X-Sdk-Date header",
        })
    }
}

impl std::error::Error for VerifyError {}

/// A request as received by a server, for [`verify`].
#[derive(Debug, Clone, Copy)]
pub struct ReceivedRequest<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Value of the `Host` header (or the URI authority).
    pub host: &'a str,
    /// Request path as received (still percent-encoded).
    pub path: &'a str,
    /// Raw query string without the leading `?` (empty when none).
    pub raw_query: &'a str,
    /// Request body.
    pub body: &'a [u8],
}

/// Server side: checks the `SDK-HMAC-SHA256` signature of a received request.
///
/// * `header` looks a header value up by lowercase name (e.g.
///   `|n: &str| headers.get(n).and_then(|v| v.to_str().ok())` with axum);
///   `Authorization`, `X-Sdk-Date` and every signed header are read through it,
///   except `host`, which is taken from `req.host`.
/// * `secret_for` maps an access key to its secret key (`None` if unknown).
/// * `now` and `max_skew` (normally [`MAX_CLOCK_SKEW`]) bound `X-Sdk-Date`.
///
/// The query is decoded from `req.raw_query` (percent-decoding; `+` is a
/// literal plus, since signers encode spaces as `%20`) and canonicalised again,
/// so parameter order on the wire does not matter. The signature is compared
/// in constant time.
pub fn verify<'h, H, K, S>(
    req: &ReceivedRequest<'_>,
    header: H,
    secret_for: K,
    now: DateTime<Utc>,
    max_skew: Duration,
) -> Result<(), VerifyError>
where
    H: Fn(&str) -> Option<&'h str>,
    K: FnOnce(&str) -> Option<S>,
    S: AsRef<[u8]>,
{
    let auth = header("authorization")
        .and_then(parse_authorization)
        .ok_or(VerifyError::Malformed)?;

    let date_value = header("x-sdk-date").ok_or(VerifyError::MissingDate)?.trim();
    let date = parse_sdk_date(date_value).ok_or(VerifyError::Malformed)?;
    let distance = if now >= date { now - date } else { date - now };
    match distance.to_std() {
        Ok(d) if d <= max_skew => {}
        _ => return Err(VerifyError::DateSkew),
    }
    let is_signed = |name: &str| auth.signed_headers.iter().any(|h| h == name);
    if !is_signed("host") || !is_signed("x-sdk-date") {
        return Err(VerifyError::Malformed);
    }

    let secret = secret_for(&auth.access).ok_or(VerifyError::UnknownAccessKey)?;

    let mut signed = Vec::with_capacity(auth.signed_headers.len());
    for name in &auth.signed_headers {
        let value = if name == "host" {
            req.host
        } else {
            header(name).ok_or(VerifyError::BadSignature)?
        };
        signed.push((name.as_str(), value.trim()));
    }
    let content_sha256 = signed
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(HEADER_CONTENT_SHA256))
        .map(|(_, v)| *v);
    let query = canonical_query(&parse_query(req.raw_query));
    let (canonical_request, _) = canonical_request(
        req.method,
        req.path,
        &query,
        &signed,
        &payload_hash(req.body, content_sha256),
    );
    let string_to_sign = string_to_sign(date_value, &canonical_request);
    let expected = hex::decode(&auth.signature).map_err(|_| VerifyError::Malformed)?;
    hmac(secret.as_ref(), &string_to_sign)
        .verify_slice(&expected)
        .map_err(|_| VerifyError::BadSignature)
}

/// Decodes a raw query string into `(key, value)` pairs: split on `&`, then
/// on the first `=` (a missing `=` means an empty value), percent-decoded with
/// `+` kept as a literal plus. Invalid escapes are kept verbatim and invalid
/// UTF-8 is replaced, never rejected.
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Builds the canonical request from already-selected signed headers
/// (lowercase name, trimmed value, in signing order). Returns it with the
/// signed-headers string.
fn canonical_request(
    method: &str,
    path: &str,
    canonical_query: &str,
    signed: &[(&str, &str)],
    payload_hash: &str,
) -> (String, String) {
    let mut headers = String::new();
    for (name, value) in signed {
        headers.push_str(name);
        headers.push(':');
        headers.push_str(value);
        headers.push('\n');
    }
    let signed_headers = signed
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(";");
    let canonical = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        method.to_ascii_uppercase(),
        canonical_uri(path),
        canonical_query,
        headers,
        signed_headers,
        payload_hash
    );
    (canonical, signed_headers)
}

/// The SDK's canonical URI: decode the path, re-encode each `/`-separated
/// segment, and make sure it ends with `/`.
fn canonical_uri(path: &str) -> String {
    let decoded = percent_decode(path);
    let mut uri = decoded
        .split('/')
        .map(percent_encode)
        .collect::<Vec<_>>()
        .join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// Hash of the body for the canonical request: the empty-string hash for an
/// empty body, else the signed `X-Sdk-Content-Sha256` value when present,
/// else hex(sha256(body)).
fn payload_hash(body: &[u8], content_sha256: Option<&str>) -> String {
    match content_sha256 {
        Some(v) if !body.is_empty() => v.to_owned(),
        _ => hex::encode(Sha256::digest(body)),
    }
}

fn string_to_sign(x_sdk_date: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{x_sdk_date}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    )
}

fn hmac(key: &[u8], message: &str) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(message.as_bytes());
    mac
}

/// Every byte but RFC 3986's unreserved `A-Za-z0-9-_.~` is escaped.
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes every byte except `A-Za-z0-9-_.~`, with uppercase hex.
fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, ESCAPED).to_string()
}

/// Decodes `%XX` escapes (any hex case); `+` stays a plus, invalid escapes are
/// kept as is, invalid UTF-8 is replaced with U+FFFD.
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const VECTORS: &str = include_str!("../../tests/fixtures/signing-vectors.json");

    struct Vector {
        name: String,
        method: String,
        host: String,
        path: String,
        query: Vec<(String, String)>,
        headers: Vec<(String, String)>,
        ak: String,
        sk: String,
        x_sdk_date: String,
        expected: serde_json::Value,
    }

    fn text(v: &serde_json::Value, key: &str) -> String {
        v[key]
            .as_str()
            .unwrap_or_else(|| panic!("field {key} is not a string"))
            .to_owned()
    }

    fn vectors() -> Vec<Vector> {
        let doc: serde_json::Value = serde_json::from_str(VECTORS).expect("vectors are JSON");
        doc["vectors"]
            .as_array()
            .expect("vectors array")
            .iter()
            .map(|v| Vector {
                name: text(v, "name"),
                method: text(v, "method"),
                host: text(v, "host"),
                path: text(v, "path"),
                query: v["query"]
                    .as_array()
                    .expect("query array")
                    .iter()
                    .map(|p| {
                        (
                            p[0].as_str().expect("key").to_owned(),
                            p[1].as_str().expect("value").to_owned(),
                        )
                    })
                    .collect(),
                headers: v["headers"]
                    .as_object()
                    .expect("headers object")
                    .iter()
                    .map(|(k, val)| (k.clone(), val.as_str().expect("header value").to_owned()))
                    .collect(),
                ak: text(v, "ak"),
                sk: text(v, "sk"),
                x_sdk_date: text(v, "x_sdk_date"),
                expected: v["expected"].clone(),
            })
            .collect()
    }

    fn sign_vector(v: &Vector) -> Signature {
        let req = Request {
            method: &v.method,
            host: &v.host,
            path: &v.path,
            query: &v.query,
            headers: &v.headers,
            body: b"",
        };
        sign(&req, &v.ak, &v.sk, &v.x_sdk_date)
    }

    #[test]
    fn every_vector_matches_the_official_sdk() {
        let vectors = vectors();
        assert!(vectors.len() >= 7, "expected the full vector set");
        for v in &vectors {
            let got = sign_vector(v);
            let e = &v.expected;
            assert_eq!(
                got.canonical_request,
                text(e, "canonical_request"),
                "{}",
                v.name
            );
            assert_eq!(got.string_to_sign, text(e, "string_to_sign"), "{}", v.name);
            assert_eq!(got.signed_headers, text(e, "signed_headers"), "{}", v.name);
            assert_eq!(got.authorization, text(e, "authorization"), "{}", v.name);
            assert_eq!(got.request_uri, text(e, "request_uri"), "{}", v.name);
            let (_, query) = got.request_uri.split_once('?').unwrap_or(("", ""));
            assert_eq!(canonical_query(&v.query), query, "{}", v.name);
        }
    }

    #[test]
    fn vector_dates_match_their_headers() {
        for v in vectors() {
            let header = v
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(HEADER_SDK_DATE))
                .map(|(_, val)| val.clone());
            assert_eq!(header.as_deref(), Some(v.x_sdk_date.as_str()), "{}", v.name);
            let t = parse_sdk_date(&v.x_sdk_date).expect("vector date parses");
            assert_eq!(sdk_date(t), v.x_sdk_date);
        }
    }

    #[test]
    fn signed_output_never_contains_the_secret() {
        for v in vectors() {
            let got = sign_vector(&v);
            assert!(!format!("{got:?}").contains(&v.sk));
        }
    }

    #[test]
    fn sdk_date_round_trip_and_rejections() {
        let t = parse_sdk_date("20261231T235959Z").expect("valid");
        assert_eq!(sdk_date(t), "20261231T235959Z");
        for bad in [
            "",
            "20261231T235959",
            "20261231 235959Z",
            "2026-12-31T23:59:59Z",
            "20261331T000000Z",
            "20260230T000000Z",
            "20261231T246000Z",
            "+2026123T235959Z",
            "20261231T23595９Z",
            "120261231T235959Z",
        ] {
            assert_eq!(parse_sdk_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn percent_coding() {
        assert_eq!(percent_encode("a b+c/~*é"), "a%20b%2Bc%2F~%2A%C3%A9");
        assert_eq!(percent_decode("a%20b+c%2f%zz%"), "a b+c/%zz%");
        assert_eq!(percent_decode("%FF"), "\u{FFFD}");
        assert_eq!(
            parse_query("a=1&&b&c=x%3Dy=z&d=a+b"),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), String::new()),
                ("c".into(), "x=y=z".into()),
                ("d".into(), "a+b".into()),
            ]
        );
        assert_eq!(canonical_uri("/v1/a%20b/images"), "/v1/a%20b/images/");
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_query(&[]), "");
    }

    #[test]
    fn query_sorts_by_key_then_value() {
        let q: Vec<(String, String)> = [("b", "2"), ("a", "z"), ("a", "y"), ("a-b", "1")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(canonical_query(&q), "a=y&a=z&a-b=1&b=2");
    }

    #[test]
    fn parse_authorization_accepts_sdk_output_and_rejects_garbage() {
        let sig = "a".repeat(64);
        let ok =
            format!("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature={sig}");
        let parsed = parse_authorization(&ok).expect("valid");
        assert_eq!(parsed.access, "AK");
        assert_eq!(parsed.signed_headers, ["host", "x-sdk-date"]);
        assert_eq!(parsed.signature, sig);
        let compact = format!("SDK-HMAC-SHA256 Signature={sig},Access=AK,SignedHeaders=host");
        assert!(parse_authorization(&compact).is_some());
        for bad in [
            String::new(),
            "SDK-HMAC-SHA256".into(),
            format!("SDK-HMAC-SHA256Access=AK, SignedHeaders=host, Signature={sig}"),
            format!("AWS4-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature={sig}"),
            format!("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature={sig}, Extra=1"),
            format!("SDK-HMAC-SHA256 Access=AK, Access=AK, SignedHeaders=host, Signature={sig}"),
            format!("SDK-HMAC-SHA256 Access=, SignedHeaders=host, Signature={sig}"),
            format!("SDK-HMAC-SHA256 SignedHeaders=host, Signature={sig}"),
            format!("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;;a, Signature={sig}"),
            format!("SDK-HMAC-SHA256 Access=AK, SignedHeaders=Host, Signature={sig}"),
            "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=abc".into(),
            format!(
                "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature={}",
                "g".repeat(64)
            ),
            "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=é".into(),
            "SDK-HMAC-SHA256 ,,,".into(),
        ] {
            assert_eq!(parse_authorization(&bad), None, "{bad:?}");
        }
    }

    /// A signed request as a server would receive it.
    struct Wire {
        method: String,
        host: String,
        path: String,
        raw_query: String,
        headers: HashMap<String, String>,
        body: Vec<u8>,
    }

    const AK: &str = "HPUA6BJNWFAKEEXAMPLE";
    const SK: &str = "q9Zt1nFakeSecretKeyForSigningVectors0001";
    const DATE: &str = "20261127T101010Z";

    fn signed_wire(query: &[(&str, &str)], extra_headers: &[(&str, &str)], body: &[u8]) -> Wire {
        let query: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut headers: Vec<(String, String)> = vec![
            ("Content-Type".into(), "application/json".into()),
            ("X-Sdk-Date".into(), DATE.into()),
            ("X-Security-Token".into(), "tok".into()),
        ];
        headers.extend(
            extra_headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let req = Request {
            method: "GET",
            host: "127.0.0.1:8443",
            path: "/v1/proj/images",
            query: &query,
            headers: &headers,
            body,
        };
        let sig = sign(&req, AK, SK, DATE);
        let (path, raw_query) = sig
            .request_uri
            .split_once('?')
            .unwrap_or((&sig.request_uri, ""));
        let mut received: HashMap<String, String> = headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        received.insert("authorization".into(), sig.authorization.clone());
        received.insert("host".into(), req.host.into());
        Wire {
            method: req.method.into(),
            host: req.host.into(),
            path: path.into(),
            raw_query: raw_query.into(),
            headers: received,
            body: body.to_vec(),
        }
    }

    fn check_with(w: &Wire, sk: &str, now: DateTime<Utc>) -> Result<(), VerifyError> {
        let received = ReceivedRequest {
            method: &w.method,
            host: &w.host,
            path: &w.path,
            raw_query: &w.raw_query,
            body: &w.body,
        };
        let keys = HashMap::from([(AK.to_owned(), sk.to_owned())]);
        verify(
            &received,
            |name: &str| w.headers.get(name).map(String::as_str),
            |ak: &str| keys.get(ak),
            now,
            MAX_CLOCK_SKEW,
        )
    }

    fn date() -> DateTime<Utc> {
        parse_sdk_date(DATE).expect("valid date")
    }

    fn check(w: &Wire) -> Result<(), VerifyError> {
        check_with(w, SK, date() + chrono::TimeDelta::minutes(3))
    }

    #[test]
    fn verify_accepts_what_sign_produces() {
        let w = signed_wire(&[("limit", "10"), ("name", "a+b c/é")], &[], b"");
        assert_eq!(w.raw_query, "limit=10&name=a%2Bb%20c%2F%C3%A9");
        assert_eq!(check(&w), Ok(()));

        let mut reordered = signed_wire(&[("limit", "10"), ("offset", "0")], &[], b"");
        reordered.raw_query = "offset=0&limit=10".into();
        assert_eq!(check(&reordered), Ok(()));

        let with_body = signed_wire(&[], &[], br#"{"a":1}"#);
        assert_eq!(check(&with_body), Ok(()));
    }

    #[test]
    fn verify_accepts_the_official_vectors() {
        for v in vectors() {
            let e = &v.expected;
            let uri = text(e, "request_uri");
            let (path, raw_query) = uri.split_once('?').unwrap_or((&uri, ""));
            let mut headers: HashMap<String, String> = v
                .headers
                .iter()
                .map(|(k, val)| (k.to_ascii_lowercase(), val.clone()))
                .collect();
            headers.insert("authorization".into(), text(e, "authorization"));
            let received = ReceivedRequest {
                method: &v.method,
                host: &v.host,
                path,
                raw_query,
                body: b"",
            };
            let now = parse_sdk_date(&v.x_sdk_date).expect("date");
            let result = verify(
                &received,
                |name: &str| headers.get(name).map(String::as_str),
                |ak: &str| (ak == v.ak).then_some(v.sk.as_str()),
                now,
                MAX_CLOCK_SKEW,
            );
            assert_eq!(result, Ok(()), "{}", v.name);
        }
    }

    #[test]
    fn verify_rejects_wrong_secret_and_unknown_key() {
        let w = signed_wire(&[("limit", "10")], &[], b"");
        let now = date();
        assert_eq!(
            check_with(&w, "not-the-secret", now),
            Err(VerifyError::BadSignature)
        );

        let mut unknown = signed_wire(&[("limit", "10")], &[], b"");
        let auth = unknown.headers["authorization"].replace(AK, "OTHERAK");
        unknown.headers.insert("authorization".into(), auth);
        assert_eq!(check(&unknown), Err(VerifyError::UnknownAccessKey));
    }

    #[test]
    fn verify_rejects_tampering() {
        let mut w = signed_wire(&[("limit", "10"), ("name", "a+b")], &[], b"");
        w.raw_query = "limit=200&name=a%2Bb".into();
        assert_eq!(check(&w), Err(VerifyError::BadSignature));

        // '+' is a literal plus, not a space: "a+b" on the wire is not "a b".
        let mut plus = signed_wire(&[("name", "a b")], &[], b"");
        plus.raw_query = "name=a+b".into();
        assert_eq!(check(&plus), Err(VerifyError::BadSignature));

        let mut extra = signed_wire(&[("limit", "10")], &[], b"");
        extra.raw_query.push_str("&offset=0");
        assert_eq!(check(&extra), Err(VerifyError::BadSignature));

        let mut path = signed_wire(&[], &[], b"");
        path.path = "/v1/other/images".into();
        assert_eq!(check(&path), Err(VerifyError::BadSignature));

        let mut method = signed_wire(&[], &[], b"");
        method.method = "DELETE".into();
        assert_eq!(check(&method), Err(VerifyError::BadSignature));

        let mut host = signed_wire(&[], &[], b"");
        host.host = "evil.example:8443".into();
        assert_eq!(check(&host), Err(VerifyError::BadSignature));

        let mut token = signed_wire(&[], &[], b"");
        token
            .headers
            .insert("x-security-token".into(), "other".into());
        assert_eq!(check(&token), Err(VerifyError::BadSignature));

        let mut missing = signed_wire(&[], &[], b"");
        missing.headers.remove("x-security-token");
        assert_eq!(check(&missing), Err(VerifyError::BadSignature));

        let mut body = signed_wire(&[], &[], b"{}");
        body.body = b"{\"x\":1}".to_vec();
        assert_eq!(check(&body), Err(VerifyError::BadSignature));

        // An unsigned X-Sdk-Content-Sha256 added in transit must not unpin the body.
        let mut unsigned_payload = signed_wire(&[], &[], b"{}");
        unsigned_payload
            .headers
            .insert("x-sdk-content-sha256".into(), "UNSIGNED-PAYLOAD".into());
        unsigned_payload.body = b"{\"x\":1}".to_vec();
        assert_eq!(check(&unsigned_payload), Err(VerifyError::BadSignature));
    }

    #[test]
    fn signed_content_sha256_header_replaces_the_body_hash() {
        let w = signed_wire(&[], &[("X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAD")], b"raw");
        let mut changed = signed_wire(&[], &[("X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAD")], b"raw");
        changed.body = b"other".to_vec();
        assert_eq!(check(&w), Ok(()));
        assert_eq!(check(&changed), Ok(()));
    }

    #[test]
    fn verify_enforces_the_clock_skew() {
        let w = signed_wire(&[("limit", "10")], &[], b"");
        let minutes = chrono::TimeDelta::minutes;
        assert_eq!(check_with(&w, SK, date() + minutes(15)), Ok(()));
        assert_eq!(check_with(&w, SK, date() - minutes(15)), Ok(()));
        assert_eq!(
            check_with(&w, SK, date() + minutes(16)),
            Err(VerifyError::DateSkew)
        );
        assert_eq!(
            check_with(&w, SK, date() - minutes(16)),
            Err(VerifyError::DateSkew)
        );

        let mut missing = signed_wire(&[], &[], b"");
        missing.headers.remove("x-sdk-date");
        assert_eq!(check(&missing), Err(VerifyError::MissingDate));

        let mut garbled = signed_wire(&[], &[], b"");
        garbled
            .headers
            .insert("x-sdk-date".into(), "yesterday".into());
        assert_eq!(check(&garbled), Err(VerifyError::Malformed));

        // A later date inside the skew still breaks the signature.
        let mut moved = signed_wire(&[], &[], b"");
        moved
            .headers
            .insert("x-sdk-date".into(), "20261127T101011Z".into());
        assert_eq!(check(&moved), Err(VerifyError::BadSignature));
    }

    #[test]
    fn headers_with_underscores_are_not_signed() {
        let w = signed_wire(
            &[],
            &[("X_Custom_Trace", "abc"), ("User-Agent", "macat/0.1")],
            b"",
        );
        let auth = parse_authorization(&w.headers["authorization"]).expect("valid");
        assert_eq!(
            auth.signed_headers,
            [
                "content-type",
                "host",
                "user-agent",
                "x-sdk-date",
                "x-security-token"
            ]
        );
        let mut changed = signed_wire(
            &[],
            &[("X_Custom_Trace", "abc"), ("User-Agent", "macat/0.1")],
            b"",
        );
        changed
            .headers
            .insert("x_custom_trace".into(), "changed".into());
        assert_eq!(check(&changed), Ok(()));
        changed.headers.insert("user-agent".into(), "curl".into());
        assert_eq!(check(&changed), Err(VerifyError::BadSignature));
    }

    #[test]
    fn verify_rejects_malformed_authorization() {
        let mut none = signed_wire(&[], &[], b"");
        none.headers.remove("authorization");
        assert_eq!(check(&none), Err(VerifyError::Malformed));

        let mut garbage = signed_wire(&[], &[], b"");
        garbage
            .headers
            .insert("authorization".into(), "Bearer x".into());
        assert_eq!(check(&garbage), Err(VerifyError::Malformed));

        // Signing without the date or host is refused even with a valid HMAC.
        let mut no_date = signed_wire(&[], &[], b"");
        let auth = no_date.headers["authorization"].replace(";x-sdk-date", "");
        no_date.headers.insert("authorization".into(), auth);
        assert_eq!(check(&no_date), Err(VerifyError::Malformed));
    }

    #[test]
    fn errors_do_not_leak_the_secret() {
        for e in [
            VerifyError::Malformed,
            VerifyError::UnknownAccessKey,
            VerifyError::BadSignature,
            VerifyError::DateSkew,
            VerifyError::MissingDate,
        ] {
            assert!(!e.to_string().contains(SK));
            assert!(!format!("{e:?}").contains(SK));
        }
    }
}
