//! `macat show IMAGE`: one image at a point in time, every field, unknown ones included.
//!
//! IMAGE is an id, a name, `name:tag`, or a unique id prefix. Names are not unique in the
//! catalog: an ambiguous one lists the candidates and exits 2, so the user can pick one by id.

use clap::Args;
use serde_json::Value;

use super::{Format, Session};
use crate::error::{Error, Result};
use crate::output::styled::Styled;
use crate::output::{self, Column, Tabular};
use crate::store::diff::parse_object;
use crate::store::history::{Candidate, Lookup};
use crate::when::When;

#[derive(Debug, Args)]
#[command(after_help = super::man::examples(&[
    ("an image by a unique prefix of its id", "macat show 2097c2e8"),
    ("by name, as it was at run 1, exactly as the API returned it", "macat show mindspore1.7.0-py3.7-ubuntu18.04 --as-of run:1 --format json"),
]))]
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

pub fn run(s: &Session, args: ShowArgs) -> Result<()> {
    let when = When::parse(&args.as_of, chrono::Utc::now())?;
    let store = s.store()?;
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
    let object = Object(parse_object(&raw));
    output::emit(&object, args.format, [raw.as_str()], &s.screen())
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

/// One stored object: JSON exactly as the API returned it; CSV a header row of its fields and
/// a row of values; for people every field, one a line (`field  value`), values wrapped to the
/// terminal, sizes and times in human units with the exact value beside them.
struct Object(serde_json::Map<String, Value>);

impl Tabular<str> for Object {
    fn csv_headers(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }
    fn csv_rows(&self, _raw: &str) -> Result<Vec<Vec<String>>> {
        Ok(vec![self
            .0
            .values()
            .map(|v| output::csv_cell(Some(v)))
            .collect()])
    }
    fn json(&self, raw: &str) -> Result<String> {
        Ok(raw.to_string())
    }
    fn json_layout(&self) -> output::JsonLayout {
        output::JsonLayout::Single
    }
    fn columns(&self) -> Vec<Column<'_>> {
        vec![Column::fixed("FIELD"), Column::wrapping("VALUE", 20)]
    }
    fn table_rows(&self, _raw: &str) -> Vec<Vec<Styled>> {
        self.0
            .iter()
            .map(|(k, v)| {
                let mut shown = match k.as_str() {
                    "tags" => tag_list(v).unwrap_or_else(|| output::human_value(k, v)),
                    _ => output::human_value(k, v),
                };
                if matches!(k.as_str(), "size" | "create_at" | "update_at") && v.is_number() {
                    shown = format!("{shown} ({v})");
                }
                vec![Styled::plain(k), Styled::plain(&shown)]
            })
            .collect()
    }
    fn header(&self) -> bool {
        false
    }
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
        let raw = r#"{"show_name":"PyTorch 2.1","show_tag":"latest","tags":[{"key":"team","value":"ai"},{"key":"gpu"}],"swr_instance_id":"ins-1"}"#;
        let screen = output::Screen {
            width: None,
            terminal: false,
            color: false,
        };
        let text = output::draw(&Object(parse_object(raw)), &[raw], &screen);
        let lines: Vec<Vec<&str>> = text
            .lines()
            .map(|l| {
                l.split("  ")
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .collect()
            })
            .collect();
        for want in [
            ["show_name", "PyTorch 2.1"],
            ["show_tag", "latest"],
            ["tags", "team=ai, gpu"],
            ["swr_instance_id", "ins-1"],
        ] {
            assert!(
                lines.iter().any(|l| l[..] == want[..]),
                "{want:?} in {text}"
            );
        }
        assert_eq!(tag_list(&serde_json::json!([{"key": 1}])), None);
    }
}
