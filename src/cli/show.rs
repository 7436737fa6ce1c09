//! `macat show IMAGE`: one image at a point in time, every field, unknown ones included.
//!
//! IMAGE is an id, a name, `name:tag`, or a unique id prefix. Names are not unique in the
//! catalog: an ambiguous one lists the candidates and exits 2, so the user can pick one by id.

use clap::Args;
use serde_json::Value;

use super::{Format, GlobalArgs};
use crate::error::{Error, Result};
use crate::output;
use crate::store::diff::parse_object;
use crate::store::history::{Candidate, Lookup};
use crate::store::Store;
use crate::when::When;

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The image: an id, a name, name:tag, or a unique id prefix
    #[arg(value_name = "IMAGE")]
    pub image: String,
    /// Point in time: YYYY-MM-DD, RFC 3339, run:N, latest, or a duration ago (36h, 7d)
    #[arg(long, value_name = "WHEN", default_value = "latest")]
    pub as_of: String,
    /// Output format (json and ndjson: the object exactly as the API returned it)
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

pub fn run(g: &GlobalArgs, args: ShowArgs) -> Result<()> {
    let when = When::parse(&args.as_of, chrono::Utc::now())?;
    let store = Store::open_existing(&g.db_path()?)?;
    let point = store.resolve(&when)?;
    let spec = args.image.as_str();
    let found = match store.lookup(spec, Some(point.run_id))? {
        Lookup::Found(c) => c,
        Lookup::Ambiguous(c) => return Err(ambiguous(spec, &c)),
        Lookup::NotFound => {
            let msg = match store.lookup(spec, None)? {
                Lookup::NotFound => format!(
                    "no image matches {spec:?} (by id, name, name:tag or id prefix) at run {}",
                    point.run_id
                ),
                _ => format!(
                    "{spec:?} is not in the catalog at run {}: see `macat history {spec}`",
                    point.run_id
                ),
            };
            return Err(Error::usage(output::one_line(&msg, 400)));
        }
    };
    let c = &found[0];
    let raw = store
        .version_at(c.scope_id, &c.image_id, point.run_id)?
        .ok_or_else(|| Error::internal("the image vanished between two reads"))?;
    print_object(&raw, args.format)
}

/// The error for a name that matches several images, after listing them on stderr.
pub(crate) fn ambiguous(spec: &str, candidates: &[Candidate]) -> Error {
    let mut ids: Vec<&str> = candidates.iter().map(|c| c.image_id.as_str()).collect();
    ids.dedup();
    let rows: Vec<Vec<String>> = candidates
        .iter()
        .map(|c| {
            vec![
                c.image_id.clone(),
                c.name.clone().unwrap_or_default(),
                c.tag.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let mut rows_dedup = rows.clone();
    rows_dedup.dedup();
    let table = output::table(&["ID", "NAME", "TAG"], &rows_dedup);
    eprintln!("{:?} matches {} images:", output::sanitize(spec), ids.len());
    for line in table.lines() {
        eprintln!("  {line}");
    }
    Error::usage(format!(
        "{} is ambiguous: name one of the images above by its id",
        output::one_line(&format!("{spec:?}"), 200)
    ))
}

fn print_object(raw: &str, format: Format) -> Result<()> {
    match format {
        Format::Json | Format::Ndjson => output::stdout_line(raw)?,
        Format::Csv => {
            let map = parse_object(raw);
            let mut w = output::Csv::new(std::io::stdout().lock());
            w.row(map.keys())?;
            w.row(map.values().map(|v| output::csv_cell(Some(v))))?;
            w.finish()?;
        }
        Format::Table => {
            let text = field_list(&parse_object(raw), output::terminal_width());
            output::stdout_line(text.trim_end())?;
        }
    }
    Ok(())
}

/// Every field, one a line (`field  value`), values wrapped to the terminal. Sizes and times
/// are shown in human units with the exact value beside them.
fn field_list(map: &serde_json::Map<String, Value>, width: Option<usize>) -> String {
    let key_w = map
        .keys()
        .map(|k| output::display_width(&output::sanitize(k)))
        .max()
        .unwrap_or(0);
    let value_w = width.map(|w| w.saturating_sub(key_w + 2).max(20));
    let mut out = String::new();
    for (k, v) in map {
        let mut shown = match k.as_str() {
            "tags" => tag_list(v).unwrap_or_else(|| output::human_value(k, v)),
            _ => output::human_value(k, v),
        };
        if matches!(k.as_str(), "size" | "create_at" | "update_at") && v.is_number() {
            shown = format!("{shown} ({v})");
        }
        let shown = output::sanitize(&shown);
        let lines = match value_w {
            Some(w) => output::wrap(&shown, w),
            None => vec![shown],
        };
        for (i, line) in lines.iter().enumerate() {
            let key = if i == 0 {
                output::sanitize(k)
            } else {
                String::new()
            };
            let pad = key_w.saturating_sub(output::display_width(&key));
            out.push_str(&key);
            out.extend(std::iter::repeat_n(' ', pad));
            out.push_str("  ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The SDK's `tags` (a list of `{key, value}`) as `key=value, key` for people; `None` when the
/// field has another shape (then it is shown as JSON).
fn tag_list(v: &Value) -> Option<String> {
    let tags = v.as_array()?;
    let shown = tags
        .iter()
        .map(|t| {
            let key = t.get("key")?.as_str()?;
            Some(match t.get("value").and_then(Value::as_str) {
                Some(value) => format!("{key}={value}"),
                None => key.to_string(),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(shown.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_names_tags_and_the_sdks_newer_fields() {
        let map = parse_object(
            r#"{"show_name":"PyTorch 2.1","show_tag":"latest","tags":[{"key":"team","value":"ai"},{"key":"gpu"}],"swr_instance_id":"ins-1"}"#,
        );
        let text = field_list(&map, None);
        assert!(text.contains("show_name        PyTorch 2.1\n"), "{text}");
        assert!(text.contains("show_tag         latest\n"), "{text}");
        assert!(text.contains("tags             team=ai, gpu\n"), "{text}");
        assert!(text.contains("swr_instance_id  ins-1\n"), "{text}");
        assert_eq!(tag_list(&serde_json::json!([{"key": 1}])), None);
    }
}
