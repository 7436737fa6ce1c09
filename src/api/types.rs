//! The ModelArts "Querying Supported Images" response, as macat reads it.
//!
//! Two views of every image are kept side by side: the object exactly as the server sent it
//! (canonical JSON, unknown fields included, which is what the mirror stores and `export` gives
//! back) and a typed [`Image`] used for filtering, sorting and display. Parsing a page checks the
//! types of every documented field, so a page with a wrong type or an item without `id` is
//! reported as malformed (and retried) instead of being half-stored.

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// An ImageResponse with every documented field (plus the newer `swr_instance_id`, `show_name`,
/// `show_tag`, `tags`). All fields but `id` are optional: real responses omit many of them.
/// Enum-like fields stay strings, exactly as the server sent them (`x86_64` and `X86_64` both
/// occur, and `AI_FLOW` is in no enum).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Image {
    pub id: String,
    pub name: Option<String>,
    pub tag: Option<String>,
    pub arch: Option<String>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub create_at: Option<i64>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub update_at: Option<i64>,
    pub description: Option<String>,
    pub dev_services: Option<Vec<String>>,
    pub namespace: Option<String>,
    pub origin: Option<String>,
    pub resource_categories: Option<Vec<String>>,
    pub service_type: Option<String>,
    /// Documented as KB; some real objects carry bytes.
    #[serde(default, deserialize_with = "lenient_i64")]
    pub size: Option<i64>,
    pub status: Option<String>,
    pub status_message: Option<String>,
    pub swr_path: Option<String>,
    #[serde(rename = "type")]
    pub image_type: Option<String>,
    pub visibility: Option<String>,
    pub workspace_id: Option<String>,
    pub flavor_type: Option<String>,
    pub swr_instance_id: Option<String>,
    pub show_name: Option<String>,
    pub show_tag: Option<String>,
    pub tags: Option<Vec<TmsTag>>,
}

/// A number field of the typed view: any JSON number is accepted (the raw object keeps it
/// exactly), but only an integer that fits i64 has a typed value; a fraction or a number too
/// large is `None` there. Anything but a number or null is a wrong type, which makes the page
/// malformed.
fn lenient_i64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<serde_json::Number>::deserialize(d)? {
        None => Ok(None),
        Some(n) => Ok(n.as_i64()),
    }
}

/// A TMS tag on an image (`{"key": ..., "value": ...}`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TmsTag {
    pub key: Option<String>,
    pub value: Option<String>,
}

/// One image as received: its canonical JSON, a content hash, and the typed view.
#[derive(Debug, Clone)]
pub struct Item {
    pub image: Image,
    /// The object as the API returned it, serialized canonically (keys sorted, compact).
    pub raw: String,
    /// First 16 bytes of SHA-256 over `raw`: equal content, equal hash.
    pub hash: [u8; 16],
}

impl Item {
    /// Validates one object from a page's `data` array.
    pub fn from_value(value: &Value) -> Result<Item, String> {
        if !value.is_object() {
            return Err("an item in `data` is not an object".into());
        }
        match value.get("id") {
            Some(Value::String(s)) if !s.is_empty() => {}
            Some(Value::String(_)) => return Err("an item has an empty `id`".into()),
            Some(_) => return Err("an item has a non-string `id`".into()),
            None => return Err("an item has no `id`".into()),
        }
        let image = Image::deserialize(value).map_err(|e| {
            let id = value.get("id").and_then(Value::as_str).unwrap_or("?");
            format!("image {id}: {e}")
        })?;
        let raw = serde_json::to_string(value).map_err(|e| e.to_string())?;
        let hash = content_hash(&raw);
        Ok(Item { image, raw, hash })
    }

    /// Parses a stored canonical object (from the mirror or a fixture file).
    pub fn from_raw(raw: &str) -> Result<Item, String> {
        let value: Value = serde_json::from_str(raw).map_err(|e| e.to_string())?;
        Item::from_value(&value)
    }
}

/// The hash the mirror keeps beside each version.
pub fn content_hash(raw: &str) -> [u8; 16] {
    let digest = Sha256::digest(raw.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// The envelope of one page, with the fields whose meaning servers disagree on kept as sent.
#[derive(Debug, Deserialize)]
struct RawPage {
    current: Option<i64>,
    data: Vec<Value>,
    pages: Option<i64>,
    size: Option<i64>,
    total: i64,
}

/// One validated page.
#[derive(Debug)]
pub struct Page {
    pub current: Option<i64>,
    pub pages: Option<i64>,
    pub size: Option<i64>,
    pub total: u64,
    pub items: Vec<Item>,
}

/// Parses and validates a page body. The error says what is wrong in one line.
pub fn parse_page(body: &[u8]) -> Result<Page, String> {
    let raw: RawPage = serde_json::from_slice(body).map_err(|e| describe_json_error(body, &e))?;
    if raw.total < 0 {
        return Err(format!("negative `total` ({})", raw.total));
    }
    let items = raw
        .data
        .iter()
        .map(Item::from_value)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page {
        current: raw.current,
        pages: raw.pages,
        size: raw.size,
        total: raw.total as u64,
        items,
    })
}

fn describe_json_error(body: &[u8], e: &serde_json::Error) -> String {
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map(|i| body[i]);
    match start {
        None => "empty body".into(),
        Some(b'<') => "an HTML page instead of JSON".into(),
        _ if e.is_eof() => format!("cut-off JSON after {} bytes", body.len()),
        _ => format!("not a valid page: {e}"),
    }
}

/// The body of a ModelArts error response (`{"error_code": ..., "error_msg": ...}`).
#[derive(Debug, Deserialize, serde::Serialize)]
pub struct ApiErrorBody {
    pub error_code: Option<String>,
    pub error_msg: Option<String>,
}

#[cfg(test)]
mod proptests {
    //! Bad server data never panics the parser, and what it accepts is what it stores.
    use super::*;
    use proptest::prelude::*;

    /// Any JSON value, nested a few levels, with hostile strings.
    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "\\PC{0,40}".prop_map(Value::String),
            "[\\x00-\\x1f\\x7f\\u{1b}]{0,10}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("id".to_string()),
                        Just("name".to_string()),
                        Just("size".to_string()),
                        Just("tags".to_string()),
                        Just("dev_services".to_string()),
                        "[a-z_]{1,12}"
                    ],
                    inner,
                    0..8
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn page_of(data: Value, total: Value) -> Vec<u8> {
        serde_json::json!({"current": 1, "data": data, "pages": 1, "size": 10, "total": total})
            .to_string()
            .into_bytes()
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse_page(&body);
        }

        #[test]
        fn arbitrary_json_pages_never_panic(data in json(), total in json()) {
            let body = page_of(data, total);
            if let Err(e) = parse_page(&body) {
                prop_assert!(!e.contains('\n') || e.len() < 2000);
            }
        }

        #[test]
        fn accepted_items_round_trip(items in prop::collection::vec(json(), 0..8)) {
            let data: Vec<Value> = items
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    let mut m = match v { Value::Object(m) => m, _ => serde_json::Map::new() };
                    m.insert("id".into(), Value::String(format!("id-{i}")));
                    Value::Object(m)
                })
                .collect();
            let n = data.len();
            let body = page_of(Value::Array(data.clone()), Value::from(n));
            if let Ok(page) = parse_page(&body) {
                prop_assert_eq!(page.items.len(), n);
                for (item, want) in page.items.iter().zip(&data) {
                    let back: Value = serde_json::from_str(&item.raw).unwrap();
                    prop_assert_eq!(&back, want);
                    prop_assert_eq!(item.hash, content_hash(&item.raw));
                }
            }
        }

        #[test]
        fn truncated_valid_pages_are_errors(cut in 0usize..200) {
            let body = page_of(serde_json::json!([{"id": "a", "name": "pytorch", "size": 5}]), Value::from(1));
            let cut = cut.min(body.len() - 1);
            prop_assert!(parse_page(&body[..cut]).is_err());
        }
    }

    #[test]
    fn huge_strings_deep_nesting_and_invalid_utf8() {
        let huge = "x".repeat(5_000_000);
        let body = page_of(
            serde_json::json!([{"id": "a", "description": huge}]),
            Value::from(1),
        );
        assert_eq!(parse_page(&body).unwrap().items.len(), 1);
        let deep = format!(
            "{{\"data\":[{{\"id\":\"a\",\"x\":{}{}}}],\"total\":1}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(parse_page(deep.as_bytes()).is_err());
        let mut bad = page_of(
            serde_json::json!([{"id": "a", "name": "nm"}]),
            Value::from(1),
        );
        let at = bad.windows(2).position(|w| w == b"nm").unwrap();
        bad[at] = 0xff;
        assert!(parse_page(&bad).is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_with_unknown_fields_and_nulls_parses() {
        let body = br#"{"current":1,"data":[{"id":"a","name":"n","swr_instance_id":null,"new_thing":{"x":1}}],"pages":1,"size":1,"total":1}"#;
        let page = parse_page(body).unwrap();
        assert_eq!(page.items.len(), 1);
        assert!(page.items[0].raw.contains("new_thing"));
        assert_eq!(page.items[0].image.name.as_deref(), Some("n"));
    }

    #[test]
    fn malformed_pages_are_errors_not_panics() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "empty body"),
            (b"<html><body>502 Bad Gateway</body></html>", "HTML"),
            (br#"{"data":[{"id":"a"}],"total":1"#, "cut-off"),
            (br#"{"data":[{"name":"x"}],"total":1}"#, "no `id`"),
            (br#"{"data":[{"id":7}],"total":1}"#, "non-string `id`"),
            (
                br#"{"data":[{"id":"a","size":"big"}],"total":1}"#,
                "image a",
            ),
            (br#"{"data":"nope","total":1}"#, "not a valid page"),
            (br#"{"data":[],"total":-1}"#, "negative"),
            (br#"{"data":[5],"total":1}"#, "not an object"),
        ];
        for (body, want) in cases {
            let err = parse_page(body).unwrap_err();
            assert!(err.contains(want), "{err:?} should mention {want:?}");
            assert!(!err.contains('\n'));
        }
    }

    /// Found by fuzzing: a 138-digit number in an unknown field was stored rounded to a float,
    /// so the mirror no longer held the object as the server sent it.
    #[test]
    fn numbers_are_kept_exactly_as_sent() {
        let body = include_bytes!("../../tests/fixtures/fuzz-huge-number.json");
        let page = parse_page(body).unwrap();
        let item = &page.items[0];
        let again = Item::from_raw(&item.raw).unwrap();
        assert_eq!((&again.raw, again.hash), (&item.raw, item.hash));
        let text = String::from_utf8_lossy(body);
        let sent = text.split("\"createOat\": ").nth(1).unwrap();
        let digits: String = sent.chars().take_while(char::is_ascii_digit).collect();
        assert_eq!(digits.len(), 138);
        assert!(
            item.raw.contains(&format!("\"createOat\":{digits},")),
            "{}",
            item.raw
        );
        let precise = Item::from_raw(
            r#"{"id":"a","size":12345678901234567890123,"x":0.1000000000000000055511151231257827}"#,
        )
        .unwrap();
        assert!(precise.raw.contains("12345678901234567890123"));
        assert!(precise.raw.contains("0.1000000000000000055511151231257827"));
        assert_eq!(precise.image.size, None);
        assert!(Item::from_raw(r#"{"id":"a","size":"big"}"#).is_err());
    }

    #[test]
    fn hash_follows_content_not_key_order() {
        let a = Item::from_raw(r#"{"id":"x","name":"a","tag":"1"}"#).unwrap();
        let b = Item::from_raw(r#"{"tag":"1","name":"a","id":"x"}"#).unwrap();
        let c = Item::from_raw(r#"{"tag":"2","name":"a","id":"x"}"#).unwrap();
        assert_eq!(a.raw, b.raw);
        assert_eq!(a.hash, b.hash);
        assert_ne!(a.hash, c.hash);
    }
}
