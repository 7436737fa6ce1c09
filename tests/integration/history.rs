//! Day 1 -> day 2 -> day 3: recorded changes equal `changes.json`, and every run can be
//! exported back as that day's catalog.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::util::*;

/// `changes.json` restricted to the images of workspace "0" (the scopes a default sync walks).
pub(crate) fn expected_transition(
    index: usize,
) -> (
    BTreeSet<String>,
    BTreeSet<String>,
    BTreeMap<String, Vec<String>>,
) {
    let text = std::fs::read_to_string(repo().join("tests/fixtures/changes.json")).unwrap();
    let changes: Value = serde_json::from_str(&text).unwrap();
    let t = &changes["transitions"][index];
    let (from, to) = (day_in_workspace0(index + 1), day_in_workspace0(index + 2));
    let in_scope = |id: &str| from.contains_key(id) || to.contains_key(id);
    let ids = |key: &str| -> BTreeSet<String> {
        t[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .filter(|id| in_scope(id))
            .collect()
    };
    let changed = t["changed"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| in_scope(c["id"].as_str().unwrap()))
        .map(|c| {
            let fields = c["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap().to_string())
                .collect();
            (c["id"].as_str().unwrap().to_string(), fields)
        })
        .collect();
    (ids("added"), ids("removed"), changed)
}

fn recorded(
    env: &Env,
    run: i64,
) -> (
    BTreeSet<String>,
    BTreeSet<String>,
    BTreeMap<String, Vec<String>>,
) {
    let conn = env.sqlite();
    let mut stmt = conn
        .prepare("SELECT kind, image_id, fields FROM changes WHERE run_id = ?1")
        .unwrap();
    let rows: Vec<(String, String, Option<String>)> = stmt
        .query_map([run], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut added = BTreeSet::new();
    let mut removed = BTreeSet::new();
    let mut changed = BTreeMap::new();
    for (kind, id, fields) in rows {
        match kind.as_str() {
            "added" => {
                added.insert(id);
            }
            "removed" => {
                removed.insert(id);
            }
            _ => {
                changed.insert(id, serde_json::from_str(&fields.unwrap()).unwrap());
            }
        }
    }
    (added, removed, changed)
}

#[test]
fn three_days_record_exactly_the_published_changes() {
    let sim = Sim::days(&[]);
    let env = Env::new();
    for day in 1..=3 {
        if day > 1 {
            sim.advance();
        }
        assert_ok(&env.sync(&sim, &["--page-size", "25"]));
    }
    for (i, run) in [(0, 2), (1, 3)] {
        let want = expected_transition(i);
        assert!(!want.0.is_empty() && !want.1.is_empty() && !want.2.is_empty());
        assert_eq!(
            recorded(&env, run),
            want,
            "transition {} -> {}",
            i + 1,
            i + 2
        );
    }
    for day in 1..=3 {
        assert_same_catalog(&env.export(&format!("run:{day}")), &day_in_workspace0(day));
    }
    assert_same_catalog(&env.export("latest"), &day_in_workspace0(3));
}

#[test]
fn export_keeps_unknown_fields_and_the_server_spelling() {
    let sim = Sim::days(&[]);
    let env = Env::new();
    assert_ok(&env.sync(&sim, &[]));
    let got = env.export("latest");
    assert!(got
        .values()
        .any(|v| v.get("support_res_categories").is_some()));
    assert!(got.values().any(|v| v["arch"] == "x86_64"));
    assert!(got.values().any(|v| v["arch"] == "X86_64"));
    assert!(got
        .values()
        .any(|v| v.get("swr_instance_id") == Some(&Value::Null)));
}

#[test]
fn runs_json_has_the_contract_shape() {
    let sim = Sim::days(&[]);
    let env = Env::new();
    assert_ok(&env.sync(&sim, &[]));
    sim.advance();
    assert_ok(&env.sync(&sim, &["--type", "BUILD_IN"]));
    let out = env.run(&["runs", "--format", "json"]);
    assert_ok(&out);
    let runs: Value = serde_json::from_slice(&out.stdout).unwrap();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["run_id"], 2, "newest first");
    for r in runs {
        for key in [
            "run_id",
            "scopes",
            "status",
            "started_at",
            "finished_at",
            "pages",
            "seen",
            "added",
            "changed",
            "removed",
            "error",
        ] {
            assert!(r.get(key).is_some(), "{key} missing in {r}");
        }
        assert_eq!(r["status"], "committed");
        let started = r["started_at"].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(started).is_ok());
        assert!(started.ends_with('Z'));
        for s in r["scopes"].as_array().unwrap() {
            assert_eq!(s["endpoint"], sim.url.as_str());
            assert_eq!(s["project_id"], "p1");
            assert_eq!(s["workspace_id"], "0");
            assert!(s["type"] == "BUILD_IN" || s["type"] == "DEDICATED");
        }
    }
    assert_eq!(runs[0]["scopes"].as_array().unwrap().len(), 1);
    // A run of BUILD_IN only leaves the DEDICATED scope as run 1 saw it.
    let after = env.export("latest");
    let d1 = day_in_workspace0(1);
    let d2 = day_in_workspace0(2);
    for (id, v) in &after {
        let want = if v["type"] == "BUILD_IN" { &d2 } else { &d1 };
        assert_eq!(want.get(id), Some(v), "{id}");
    }
}

#[test]
fn export_formats_and_points_in_time() {
    let sim = Sim::days(&[]);
    let env = Env::new();
    assert_ok(&env.sync(&sim, &[]));
    let json = env.run(&["export", "--format", "json"]);
    assert_ok(&json);
    let arr: Vec<Value> = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(arr.len(), day_in_workspace0(1).len());
    let csv = env.run(&["export", "--format", "csv"]);
    assert_ok(&csv);
    let text = String::from_utf8(csv.stdout).unwrap();
    assert!(text.starts_with("id,name,tag,"));
    for (when, code) in [
        ("run:9", 2),
        ("1999-01-01", 2),
        ("yesterday", 2),
        ("7d", 2),
        ("latest", 0),
    ] {
        let out = env.run(&["export", "--as-of", when]);
        assert_exit(&out, code);
        if code != 0 {
            let err = stderr(&out);
            assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        }
    }
    let before = env.run(&["export", "--as-of", "1999-01-01"]);
    assert!(stderr(&before).contains("before the first committed run"));
}

#[test]
fn read_commands_without_a_mirror_say_how_to_make_one() {
    let env = Env::new();
    let out = env.run(&["runs"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("macat sync"));
    assert!(
        !env.db.exists(),
        "a read command must not create the mirror"
    );
}

#[test]
fn completions_are_generated_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = macat_cmd().args(["completions", shell]).output().unwrap();
        assert_ok(&out);
        assert!(String::from_utf8_lossy(&out.stdout).contains("sync"));
    }
    assert_exit(
        &macat_cmd().args(["completions", "tcsh"]).output().unwrap(),
        2,
    );
}

/// Found in review: the same catalog fetched through another endpoint (another host serving it,
/// or another spelling of the URL) was stored as a second copy of every image.
#[test]
fn the_same_catalog_from_another_endpoint_updates_the_same_images() {
    let day1 = Sim::start(&["--catalog", fixture_day_path(1).to_str().unwrap()], &[]);
    let day2 = Sim::start(&["--catalog", fixture_day_path(2).to_str().unwrap()], &[]);
    let env = Env::new();
    assert_ok(&env.sync(&day1, &[]));
    let spelled = day1.url.replace("127.0.0.1", "localhost");
    let again = env.run(&[
        "sync",
        "--endpoint",
        &spelled,
        "--project-id",
        "p1",
        "--format",
        "json",
    ]);
    assert_ok(&again);
    let report: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        (&report["added"], &report["removed"]),
        (&Value::from(0), &Value::from(0))
    );
    assert_ok(&env.sync(&day2, &[]));
    assert_eq!(recorded(&env, 3), expected_transition(0));
    assert_same_catalog(&env.export("latest"), &day_in_workspace0(2));
    // Each run still says where it fetched from.
    let runs = env.run(&["runs", "--format", "json"]);
    let runs: Value = serde_json::from_slice(&runs.stdout).unwrap();
    assert_eq!(runs[0]["scopes"][0]["endpoint"], day2.url.as_str());
    assert_eq!(runs[1]["scopes"][0]["endpoint"], spelled.as_str());
    assert_eq!(runs[2]["scopes"][0]["endpoint"], day1.url.as_str());
}

/// A walk limited to one namespace updates and removes only that namespace's images.
#[test]
fn a_namespace_walk_is_a_partial_walk_of_its_scope() {
    let sim = Sim::days(&[]);
    let env = Env::new();
    assert_ok(&env.sync(&sim, &[]));
    sim.advance();
    let out = env.sync(&sim, &["--namespace", "atelier", "--format", "json"]);
    assert_ok(&out);
    let (d1, d2) = (day_in_workspace0(1), day_in_workspace0(2));
    let in_atelier = |v: &Value| v.get("namespace").and_then(Value::as_str) == Some("atelier");
    let got = env.export("latest");
    let want: std::collections::BTreeMap<String, Value> = d1
        .iter()
        .filter(|(_, v)| !in_atelier(v))
        .chain(d2.iter().filter(|(_, v)| in_atelier(v)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_same_catalog(&got, &want);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let touched = d1
        .keys()
        .chain(d2.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|id| {
            let (a, b) = (d1.get(*id), d2.get(*id));
            (a.is_some_and(in_atelier) || b.is_some_and(in_atelier)) && a != b
        });
    let n = report["added"].as_u64().unwrap()
        + report["changed"].as_u64().unwrap()
        + report["removed"].as_u64().unwrap();
    assert_eq!(n as usize, touched.count());
}
