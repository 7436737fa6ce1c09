//! `macat compare A B`: two sets of scopes side by side (regions, projects, workspaces or
//! types), images matched by (name, tag). The comparison is [`crate::store::compare`]'s; this
//! file renders it: `text` grouped like `diff`, `json` the contract's object.

use std::io::Write;

use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::value::RawValue;

use super::Session;
use crate::error::{Error, Result};
use crate::output;
use crate::output::json::{stored_object, RunJson};
use crate::store::compare::{Comparison, Different, Selector, Side};
use crate::store::LiveImage;
use crate::when::When;

#[derive(Debug, Args)]
#[command(after_help = super::man::examples(&[
    ("images of one region missing or different in another", "macat compare region=cn-north-4 region=ap-southeast-1"),
    ("two projects' dedicated images, for a script", "macat compare project=p1,type=DEDICATED project=p2 --format json"),
    ("two workspaces as they were on a day", "macat compare workspace=0 workspace=ws-team --as-of 2026-01-19"),
]))]
pub struct CompareArgs {
    /// Side A: scopes selected by region=R, project=ID, workspace=ID, type=T joined with `,`
    #[arg(value_name = "A")]
    pub a: String,
    /// Side B: scopes selected the same way; no scope may be on both sides
    #[arg(value_name = "B")]
    pub b: String,
    /// The point in time compared (latest, run:N, a date or time, or a duration ago)
    #[arg(long, value_name = "WHEN", default_value = "latest")]
    pub as_of: String,
    /// text: a grouped report for people; json: one object (a, b, only_a, only_b, different)
    #[arg(long, value_enum, default_value_t = CompareFormat::Text)]
    pub format: CompareFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompareFormat {
    Text,
    Json,
}

pub fn run(s: &Session, args: CompareArgs) -> Result<()> {
    let (a, b) = (Selector::parse(&args.a)?, Selector::parse(&args.b)?);
    let when = When::parse(&args.as_of, chrono::Utc::now())?;
    let store = s.store()?;
    let run = store.resolve(&when)?;
    let cmp = store.compare(&a, &b, run)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.format {
        CompareFormat::Json => {
            serde_json::to_writer(&mut out, &CompareJson::new(&cmp)?)
                .map_err(|e| Error::from(std::io::Error::from(e)))?;
            out.write_all(b"\n")?;
        }
        CompareFormat::Text => out.write_all(report(&cmp).as_bytes())?,
    }
    out.flush()?;
    Ok(())
}

/// A side in JSON: the selector, the scopes it matched, its image count, and the run compared.
#[derive(Serialize)]
struct SideJson<'a> {
    #[serde(flatten)]
    side: &'a Side,
    #[serde(flatten)]
    run: RunJson,
}

/// The contract's object: `{"a", "b", "only_a", "only_b", "different"}`.
#[derive(Serialize)]
struct CompareJson<'a> {
    a: SideJson<'a>,
    b: SideJson<'a>,
    only_a: Vec<&'a RawValue>,
    only_b: Vec<&'a RawValue>,
    different: &'a [Different],
}

fn raw(img: &LiveImage) -> Result<&RawValue> {
    stored_object(&img.raw, &img.image.id)
}

impl<'a> CompareJson<'a> {
    fn new(c: &'a Comparison) -> Result<Self> {
        let side = |side| SideJson {
            side,
            run: c.run.into(),
        };
        Ok(CompareJson {
            a: side(&c.a),
            b: side(&c.b),
            only_a: c.only_a.iter().map(raw).collect::<Result<_>>()?,
            only_b: c.only_b.iter().map(raw).collect::<Result<_>>()?,
            different: &c.different,
        })
    }
}

/// The text report, grouped like `diff`: `-` only in A, `+` only in B, `~` different with one
/// `field: a -> b` line per change. Catalog data is sanitized.
fn report(c: &Comparison) -> String {
    let name_tag = |name: Option<&str>, tag: Option<&str>| {
        output::sanitize(&format!(
            "{}:{}",
            name.unwrap_or("(no name)"),
            tag.unwrap_or("")
        ))
    };
    let side = |label: &str, s: &Side| {
        format!(
            "{label}: {} ({} scope{}, {} images)\n",
            output::sanitize(&s.selector),
            s.scopes.len(),
            if s.scopes.len() == 1 { "" } else { "s" },
            s.images
        )
    };
    let mut out = format!(
        "run {} ({})\n{}{}",
        c.run.run_id,
        output::human_time_ms(c.run.finished_at_ms),
        side("A", &c.a),
        side("B", &c.b)
    );
    for (title, sign, images) in [("only in A", '-', &c.only_a), ("only in B", '+', &c.only_b)] {
        out.push_str(&format!("\n{title} ({}):\n", images.len()));
        for img in images {
            let i = &img.image;
            out.push_str(&format!(
                "  {sign} {}  {}\n",
                name_tag(i.name.as_deref(), i.tag.as_deref()),
                output::sanitize(&i.id)
            ));
        }
    }
    out.push_str(&format!("\ndifferent ({}):\n", c.different.len()));
    for d in &c.different {
        out.push_str(&format!(
            "  ~ {}  {} / {}\n",
            name_tag(d.name.as_deref(), d.tag.as_deref()),
            output::sanitize(&d.a_id),
            output::sanitize(&d.b_id)
        ));
        for ch in &d.changes {
            out.push_str(&format!(
                "      {}: {} -> {}\n",
                output::sanitize(&ch.field),
                output::sanitize(&output::change_value(&ch.field, ch.a.as_ref())),
                output::sanitize(&output::change_value(&ch.field, ch.b.as_ref()))
            ));
        }
    }
    out
}
