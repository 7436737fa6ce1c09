//! Atom feeds (RFC 4287) of what changed: one entry per committed run that changed the catalog,
//! or one per event of a watch, newest first. `macat feed` writes them; `macat serve` serves
//! them at `/feed.atom` and `/watches/NAME/feed.atom`.
//!
//! Entry ids are `urn:uuid:` URNs derived from what the entry reports (the run and when it
//! started; a watch event's own id), so a feed reader sees the same entry as the same item
//! however often the feed is regenerated. Every value from the catalog is XML-escaped, and
//! characters XML 1.0 cannot carry are shown as `\x{..}`.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::store::{rfc3339_ms, Store};

/// Entries when no limit is given.
pub const DEFAULT_LIMIT: usize = 50;

/// Text escaped for XML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                out.push_str(&format!("\\x{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// A UUID-shaped id made from `seed`: the first 16 bytes of its SHA-256 (stable: the same
/// seed gives the same id). Feed entries and watch events are named with it.
pub fn stable_uuid(seed: &str) -> String {
    let h = hex::encode(&Sha256::digest(seed.as_bytes())[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// A `urn:uuid:` made from `seed`.
fn uuid_urn(seed: &str) -> String {
    format!("urn:uuid:{}", stable_uuid(seed))
}

struct Entry {
    id: String,
    title: String,
    updated_ms: i64,
    content: String,
}

/// The mirror's identity for feed ids: when its first run started.
fn mirror_seed(store: &Store) -> Result<String> {
    let started = match store.first_committed()? {
        Some(r) => store.committed_run_started_at(r.run_id)?.unwrap_or(0),
        None => 0,
    };
    Ok(format!("macat mirror {started}"))
}

fn render(id: &str, title: &str, updated_ms: i64, entries: &[Entry]) -> String {
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    x.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    x.push_str(&format!("  <id>{}</id>\n", escape(id)));
    x.push_str(&format!("  <title>{}</title>\n", escape(title)));
    x.push_str(&format!(
        "  <updated>{}</updated>\n",
        rfc3339_ms(updated_ms)
    ));
    x.push_str("  <author><name>macat</name></author>\n");
    x.push_str(&format!(
        "  <generator version=\"{}\">macat</generator>\n",
        env!("CARGO_PKG_VERSION")
    ));
    for e in entries {
        x.push_str("  <entry>\n");
        x.push_str(&format!("    <id>{}</id>\n", escape(&e.id)));
        x.push_str(&format!("    <title>{}</title>\n", escape(&e.title)));
        x.push_str(&format!(
            "    <updated>{}</updated>\n",
            rfc3339_ms(e.updated_ms)
        ));
        x.push_str(&format!(
            "    <content type=\"text\">{}</content>\n",
            escape(&e.content)
        ));
        x.push_str("  </entry>\n");
    }
    x.push_str("</feed>\n");
    x
}

/// The feed of the catalog: one entry per committed run that changed it, newest first.
pub fn catalog_feed(store: &Store, limit: usize) -> Result<String> {
    let seed = mirror_seed(store)?;
    let mut entries = Vec::new();
    for (run, added, changed, removed) in store.changing_runs(limit)? {
        let mut lines = Vec::new();
        for c in store.changes_of(run.run_id)? {
            let mark = match c.kind.as_str() {
                "added" => "+",
                "removed" => "-",
                _ => "~",
            };
            let mut line = format!("{mark} {} {}", c.image_id, c.name.unwrap_or_default());
            if !c.fields.is_empty() {
                line.push_str(&format!(" ({})", c.fields.join(", ")));
            }
            lines.push(line);
        }
        entries.push(Entry {
            id: uuid_urn(&format!("{seed} run {}", run.run_id)),
            title: format!("run {}: +{added} ~{changed} -{removed}", run.run_id),
            updated_ms: run.finished_at_ms,
            content: lines.join("\n"),
        });
    }
    let updated = entries
        .first()
        .map(|e| e.updated_ms)
        .or(store.last_success_ms()?)
        .unwrap_or(0);
    Ok(render(
        &uuid_urn(&seed),
        "ModelArts image catalog changes (macat)",
        updated,
        &entries,
    ))
}

/// The feed of one watch: one entry per event, newest first. An unknown watch is a usage error.
pub fn watch_feed(store: &Store, name: &str, limit: usize) -> Result<String> {
    crate::watch::check_name(name)?;
    let w = store.watch(name)?.ok_or_else(|| {
        Error::usage(format!(
            "there is no watch named {name} (see `macat watch list`)"
        ))
    })?;
    let mut entries = Vec::new();
    for e in store.events_of(w.id, None, limit)? {
        let body: Value = serde_json::from_str(&e.body).unwrap_or(Value::Null);
        let mut lines = Vec::new();
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        for (mark, key) in [("+", "added"), ("-", "removed")] {
            for img in body
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                lines.push(format!(
                    "{mark} {} {} {}",
                    text(img, "id"),
                    text(img, "name"),
                    text(img, "tag")
                ));
            }
        }
        for c in body
            .get("changed")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let fields: Vec<String> = c
                .get("changes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|f| text(f, "field"))
                .collect();
            lines.push(format!(
                "~ {} {} ({})",
                text(c, "id"),
                text(c, "name"),
                fields.join(", ")
            ));
        }
        entries.push(Entry {
            id: format!("urn:uuid:{}", e.event_id),
            title: format!(
                "{}: run {}: +{} ~{} -{}",
                w.name, e.run_id, e.added, e.changed, e.removed
            ),
            updated_ms: e.run_finished_at,
            content: lines.join("\n"),
        });
    }
    let updated = entries
        .first()
        .map(|e| e.updated_ms)
        .unwrap_or(w.created_at);
    let seed = mirror_seed(store)?;
    Ok(render(
        &uuid_urn(&format!("{seed} watch {} {}", w.name, w.created_at)),
        &format!("macat watch {}: {}", w.name, w.query),
        updated,
        &entries,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_controls() {
        assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
        assert_eq!(escape("x\u{1b}[31m"), "x\\x{1b}[31m");
    }

    #[test]
    fn ids_are_stable_uuids() {
        let a = uuid_urn("seed");
        assert_eq!(a, uuid_urn("seed"));
        assert_ne!(a, uuid_urn("other"));
        assert_eq!(a.len(), "urn:uuid:".len() + 36);
    }
}
