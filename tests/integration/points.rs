//! Questions about time over the fixture days: `diff`, `list --as-of`, `show`, `history`, and
//! the points in time they accept. Expected values come from the fixture files and
//! `changes.json`, never from macat itself.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::history::expected_transition;
use crate::util::*;

/// The workspace of the renamed DEDICATED image (`qwen2.5-7b-sft` -> `qwen2.5-7b-sft-v1`).
const TEAM_WS: &str = "5750d31148db9db9f932257694639574";
/// Delisted on day 2, back on day 3 with the same id.
const RETURNED: &str = "64cf9a9a-3e1d-5e65-8781-4dc09c9d1790";
const RETURNED_NAME: &str = "mindspore1.8.0-cann5.1.2-py3.7-euler2.8.3";
/// Renamed on day 2 (BUILD_IN, same id).
const RENAMED: &str = "e1a07296-22a8-4f05-8bc8-e936c8e54088";
const RENAMED_FROM: &str = "mindstudio5.0.rc1-ascendsnt9-cann5.1.0-euler2.8.3-aarch64";
const RENAMED_TO: &str = "mindstudio5.0.rc1-cann5.1.0-euler2.8.3-aarch64";

/// A mirror of the three fixture days, one default sync (workspace "0", both types) per day.
fn three_days() -> (Sim, Env) {
    three_day_mirror()
}

fn json_out(env: &Env, args: &[&str]) -> Value {
    let out = env.run(args);
    assert_ok(&out);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {}", stdout(&out)))
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn ids(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

type Changes = BTreeMap<String, Vec<String>>;

/// A diff's (added, removed, changed fields) in the shape `expected_transition` gives.
fn summary(diff: &Value) -> (BTreeSet<String>, BTreeSet<String>, Changes) {
    let changed = diff["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let fields = c["changes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["field"].as_str().unwrap().to_string())
                .collect();
            (c["id"].as_str().unwrap().to_string(), fields)
        })
        .collect();
    (ids(&diff["added"]), ids(&diff["removed"]), changed)
}

/// The difference between two catalogs (an oracle written from the definition).
fn catalog_diff(
    a: &BTreeMap<String, Value>,
    b: &BTreeMap<String, Value>,
) -> (BTreeSet<String>, BTreeSet<String>, Changes) {
    let added = b.keys().filter(|k| !a.contains_key(*k)).cloned().collect();
    let removed = a.keys().filter(|k| !b.contains_key(*k)).cloned().collect();
    let changed = a
        .iter()
        .filter_map(|(id, va)| {
            let vb = b.get(id)?;
            let (ma, mb) = (va.as_object().unwrap(), vb.as_object().unwrap());
            let fields: BTreeSet<String> = ma
                .keys()
                .chain(mb.keys())
                .filter(|k| ma.get(*k) != mb.get(*k))
                .cloned()
                .collect();
            (!fields.is_empty()).then(|| (id.clone(), fields.into_iter().collect()))
        })
        .collect();
    (added, removed, changed)
}

#[test]
fn diff_of_each_step_equals_the_published_changes() {
    let (_sim, env) = three_days();
    for (i, (from, to)) in [("run:1", "run:2"), ("run:2", "run:3")]
        .into_iter()
        .enumerate()
    {
        let diff = json_out(
            &env,
            &["diff", "--from", from, "--to", to, "--format", "json"],
        );
        let want = expected_transition(i);
        assert!(!want.0.is_empty() && !want.1.is_empty() && !want.2.is_empty());
        assert_eq!(summary(&diff), want, "{from} -> {to}");

        // Images are the objects as the API returned them; changes carry the exact values.
        let (before, after) = (day_in_workspace0(i + 1), day_in_workspace0(i + 2));
        for img in diff["added"].as_array().unwrap() {
            assert_eq!(Some(img), after.get(img["id"].as_str().unwrap()));
        }
        for img in diff["removed"].as_array().unwrap() {
            assert_eq!(Some(img), before.get(img["id"].as_str().unwrap()));
        }
        for c in diff["changed"].as_array().unwrap() {
            let id = c["id"].as_str().unwrap();
            assert_eq!(c["name"], after[id]["name"]);
            for f in c["changes"].as_array().unwrap() {
                let field = f["field"].as_str().unwrap();
                let side = |obj: &Value| obj.get(field).cloned().unwrap_or(Value::Null);
                assert_eq!(f["from"], side(&before[id]), "{id} {field}");
                assert_eq!(f["to"], side(&after[id]), "{id} {field}");
            }
        }
        for (key, run) in [("from", from), ("to", to)] {
            let r = &diff[key];
            assert_eq!(format!("run:{}", r["run_id"]), run);
            let at = r["finished_at"].as_str().unwrap();
            assert!(at.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(at).is_ok());
        }
    }
    // The default compares the two latest runs.
    let default = json_out(&env, &["diff", "--format", "json"]);
    assert_eq!(default["from"]["run_id"], 2);
    assert_eq!(default["to"]["run_id"], 3);
    assert_eq!(summary(&default), expected_transition(1));
}

#[test]
fn diff_between_runs_further_apart_and_backwards() {
    let (_sim, env) = three_days();
    let (d1, d3) = (day_in_workspace0(1), day_in_workspace0(3));
    let diff = json_out(
        &env,
        &[
            "diff", "--from", "run:1", "--to", "run:3", "--format", "json",
        ],
    );
    let want = catalog_diff(&d1, &d3);
    assert_eq!(summary(&diff), want);
    // Removed on day 2 and back unchanged but for update_at: only a change from day 1 to 3.
    assert_eq!(want.2.get(RETURNED).unwrap(), &["update_at"]);

    let back = json_out(
        &env,
        &[
            "diff", "--from", "run:3", "--to", "run:1", "--format", "json",
        ],
    );
    assert_eq!(summary(&back), catalog_diff(&d3, &d1));
    assert_eq!(back["from"]["run_id"], 3);

    let same = json_out(
        &env,
        &[
            "diff", "--from", "latest", "--to", "run:3", "--format", "json",
        ],
    );
    assert_eq!(summary(&same), Default::default());
}

#[test]
fn diff_between_runs_of_different_scopes_compares_each_scope_with_itself() {
    let sim = Sim::days(&[]);
    let env = Env::new();
    assert_ok(&env.sync(&sim, &[]));
    sim.advance();
    assert_ok(&env.sync(&sim, &["--type", "BUILD_IN"]));
    sim.advance();
    assert_ok(&env.sync(&sim, &[]));

    let of_type = |day: usize, t: &str| -> BTreeMap<String, Value> {
        day_in_workspace0(day)
            .into_iter()
            .filter(|(_, v)| v["type"] == t)
            .collect()
    };
    let merge = |a: BTreeMap<String, Value>, b: BTreeMap<String, Value>| {
        let mut a = a;
        a.extend(b);
        a
    };
    // Run 2 walked BUILD_IN only: DEDICATED is as run 1 saw it, not removed.
    let at2 = merge(of_type(2, "BUILD_IN"), of_type(1, "DEDICATED"));
    let d12 = json_out(
        &env,
        &[
            "diff", "--from", "run:1", "--to", "run:2", "--format", "json",
        ],
    );
    assert_eq!(summary(&d12), catalog_diff(&day_in_workspace0(1), &at2));
    assert!(d12["removed"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["type"] == "BUILD_IN"));
    let d23 = json_out(&env, &["diff", "--format", "json"]);
    assert_eq!(summary(&d23), catalog_diff(&at2, &day_in_workspace0(3)));
}

/// The query parameters of each comparison between `list` and the simulator.
const QUERIES: &[&[(&str, &str)]] = &[
    &[],
    &[("type", "DEDICATED")],
    &[("type", "dedicated"), ("sort_key", "size,update_at")],
    &[("name", "PyTorch")],
    &[
        ("name", "pytorch_1_8"),
        ("name_fuzzy_match", "false"),
        ("type", "DEDICATED"),
    ],
    &[("name", "pytorch"), ("name_fuzzy_match", "TRUE")],
    &[("namespace", "atelier")],
    &[("service_type", "TRAIN"), ("sort_dir", "ASC")],
    &[
        ("sort_key", "name,tag"),
        ("sort_dir", "ASC"),
        ("limit", "7"),
        ("offset", "3"),
    ],
    &[("sort_key", "create_at"), ("limit", "1000")],
    &[("type", "DEDICATED"), ("workspace_id", TEAM_WS)],
    &[("workspace_id", TEAM_WS)],
    &[("offset", "500")],
];

#[test]
fn list_as_of_equals_the_simulator_with_the_same_parameters() {
    let sim = Sim::days(&[]);
    let env = Env::new();
    let mut served: Vec<Vec<Value>> = Vec::new();
    for day in 1..=3 {
        if day > 1 {
            sim.advance();
        }
        assert_ok(&env.sync(&sim, &[]));
        assert_ok(&env.sync(&sim, &["--workspace-id", TEAM_WS, "--type", "DEDICATED"]));
        for q in QUERIES {
            let query: Vec<String> = q
                .iter()
                .map(|(k, v)| format!("{k}={}", encode(v)))
                .collect();
            let (status, body) = sim.get(&format!("/v1/p1/images?{}", query.join("&")));
            assert_eq!(status, 200, "{body}");
            let page: Value = serde_json::from_str(&body).unwrap();
            served.push(page["data"].as_array().unwrap().clone());
        }
    }
    let mut served = served.into_iter();
    for day in 1..=3 {
        let as_of = format!("run:{}", day * 2);
        for q in QUERIES {
            let mut args = vec!["list", "--as-of", &as_of, "--format", "json"];
            let flags: Vec<(String, &str)> = q
                .iter()
                .map(|(k, v)| (format!("--{}", k.replace('_', "-")), *v))
                .collect();
            for (k, v) in &flags {
                args.push(k);
                args.push(v);
            }
            let got = json_out(&env, &args);
            let want = served.next().unwrap();
            assert_eq!(got.as_array().unwrap(), &want, "day {day}, {q:?}");
            // Past the end, and the API's default type (BUILD_IN) in a team workspace.
            if *q == [("offset", "500")] || *q == [("workspace_id", TEAM_WS)] {
                assert!(want.is_empty());
            } else {
                assert!(!want.is_empty(), "day {day}, {q:?} selects nothing");
            }
        }
    }
}

#[test]
fn list_refuses_what_the_api_refuses_with_the_same_message() {
    let sim = Sim::days(&[]);
    let env = Env::new();
    assert_ok(&env.sync(&sim, &[]));
    for (k, v) in [
        ("limit", "0"),
        ("offset", "-1"),
        ("sort_dir", "UP"),
        ("sort_key", "name;drop"),
        ("name_fuzzy_match", "maybe"),
    ] {
        let (status, body) = sim.get(&format!("/v1/p1/images?{k}={}", encode(v)));
        assert_eq!(status, 400);
        let api: Value = serde_json::from_str(&body).unwrap();
        let flag = format!("--{}", k.replace('_', "-"));
        let out = env.run(&["list", &flag, v]);
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(
            err.contains(api["error_msg"].as_str().unwrap()),
            "{err} vs {api}"
        );
    }
    // The largest numbers both accept are answered, not a crash (regression: an overflow).
    let max = u64::MAX.to_string();
    let (status, _) = sim.get(&format!("/v1/p1/images?offset=1&limit={max}"));
    assert_eq!(status, 200);
    let out = env.run(&["list", "--offset", "1", "--limit", &max, "--format", "json"]);
    assert_ok(&out);
}

#[test]
fn list_formats_and_the_table_for_people() {
    let (_sim, env) = three_days();
    let ndjson = env.run(&["list", "--format", "ndjson", "--limit", "5"]);
    assert_ok(&ndjson);
    assert_eq!(stdout(&ndjson).lines().count(), 5);
    for l in stdout(&ndjson).lines() {
        serde_json::from_str::<Value>(l).unwrap();
    }
    let csv = env.run(&["list", "--format", "csv", "--type", "DEDICATED"]);
    assert_ok(&csv);
    let text = stdout(&csv);
    assert!(text.starts_with("id,name,tag,type,"));
    let dedicated = day_in_workspace0(3)
        .values()
        .filter(|v| v["type"] == "DEDICATED")
        .count();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(reader.records().count(), dedicated);

    // Sizes in human units in the table; exact in JSON.
    let table = env.run(&["list", "--name", "grafana", "--type", "DEDICATED"]);
    assert_ok(&table);
    let t = stdout(&table);
    assert!(t.starts_with("ID "), "{t}");
    assert!(t.contains(" 4.9 GB "), "{t}");
    let json = json_out(
        &env,
        &[
            "list",
            "--name",
            "grafana",
            "--type",
            "DEDICATED",
            "--format",
            "json",
        ],
    );
    assert_eq!(json[0]["size"], 5247805223u64);
}

#[test]
fn show_prints_every_field_and_names_candidates() {
    let (_sim, env) = three_days();
    let d3 = day_in_workspace0(3);
    let (id, want) = d3
        .iter()
        .find(|(_, v)| v.get("support_res_categories").is_some())
        .unwrap();
    // By id, by name:tag; JSON is the object exactly as the API returned it, unknown fields kept.
    let name_tag = format!(
        "{}:{}",
        want["name"].as_str().unwrap(),
        want["tag"].as_str().unwrap()
    );
    for spec in [id.as_str(), &id[..8], name_tag.as_str()] {
        assert_eq!(&json_out(&env, &["show", spec, "--format", "json"]), want);
    }
    let table = env.run(&["show", id]);
    assert_ok(&table);
    let t = stdout(&table);
    for key in want.as_object().unwrap().keys() {
        assert!(
            t.lines().any(|l| l.starts_with(key.as_str())),
            "{key} missing:\n{t}"
        );
    }
    let csv = env.run(&["show", id, "--format", "csv"]);
    assert_ok(&csv);
    assert!(stdout(&csv)
        .lines()
        .next()
        .unwrap()
        .contains("support_res_categories"));

    // Bytes and KB both shown in human units, the exact value beside them.
    let bytes = env.run(&["show", "689c81b3-15dd-4500-b63e-1871e24eb391"]);
    assert_ok(&bytes);
    let size_line = stdout(&bytes)
        .lines()
        .find(|l| l.starts_with("size"))
        .unwrap()
        .to_string();
    assert!(size_line.contains("7.7 GB (8285974481)"), "{size_line}");

    // A name several images share: exit 2, the candidates listed with their ids.
    let out = env.run(&["show", "pytorch_1_8"]);
    assert_exit(&out, 2);
    let err = stderr(&out);
    let sharing: Vec<&String> = d3
        .iter()
        .filter(|(_, v)| v["name"] == "pytorch_1_8")
        .map(|(k, _)| k)
        .collect();
    assert!(sharing.len() > 1);
    for id in sharing {
        assert!(err.contains(id.as_str()), "{id} not listed:\n{err}");
    }
    assert!(err.contains("ambiguous"));

    // Not found, and found only in the past.
    let out = env.run(&["show", "no-such-image"]);
    assert_exit(&out, 2);
    assert_eq!(stderr(&out).trim().lines().count(), 1);
    let gone = "dda7069b-96a3-574a-bb3c-f1bf55e0f7ca";
    let out = env.run(&["show", gone]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("macat history"), "{}", stderr(&out));
    let then = json_out(
        &env,
        &["show", gone, "--as-of", "run:1", "--format", "json"],
    );
    assert_eq!(Some(&then), day_in_workspace0(1).get(gone));
}

fn events(h: &Value) -> Vec<(i64, String)> {
    h.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["run_id"].as_i64().unwrap(),
                e["event"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn history_of_a_removed_and_returned_image() {
    let (_sim, env) = three_days();
    for spec in [RETURNED, RETURNED_NAME] {
        let h = json_out(&env, &["history", spec, "--format", "json"]);
        assert_eq!(
            events(&h),
            [
                (1, "added".to_string()),
                (2, "removed".to_string()),
                (3, "returned".to_string())
            ]
        );
        let h = h.as_array().unwrap();
        assert_eq!(Some(&h[0]["image"]), day_in_workspace0(1).get(RETURNED));
        assert!(h[1]["image"].is_null());
        assert_eq!(h[1]["name"], RETURNED_NAME);
        assert_eq!(Some(&h[2]["image"]), day_in_workspace0(3).get(RETURNED));
        let fields: Vec<&str> = h[2]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["update_at"]);
        for e in h {
            assert!(e["finished_at"].as_str().unwrap().ends_with('Z'));
            assert_eq!(e["scope"]["type"], "BUILD_IN");
        }
    }
    let table = env.run(&["history", RETURNED]);
    assert_ok(&table);
    let t = stdout(&table);
    for word in ["added", "removed", "returned", "update_at"] {
        assert!(t.contains(word), "{word}:\n{t}");
    }
    let ndjson = env.run(&["history", RETURNED, "--format", "ndjson"]);
    assert_eq!(stdout(&ndjson).lines().count(), 3);
    let csv = env.run(&["history", RETURNED, "--format", "csv"]);
    assert!(stdout(&csv).starts_with("run_id,finished_at,event,"));
}

#[test]
fn history_of_a_renamed_image_by_either_name() {
    let (_sim, env) = three_days();
    for spec in [RENAMED, RENAMED_FROM, RENAMED_TO] {
        let h = json_out(&env, &["history", spec, "--format", "json"]);
        assert_eq!(
            events(&h),
            [(1, "added".to_string()), (2, "changed".to_string())],
            "{spec}"
        );
        let rename = h[1]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["field"] == "name")
            .unwrap()
            .clone();
        assert_eq!(rename["from"], RENAMED_FROM);
        assert_eq!(rename["to"], RENAMED_TO);
        assert_eq!(h[1]["name"], RENAMED_TO);
    }

    // The DEDICATED rename lives in a team workspace: sync that scope.
    let sim = Sim::days(&[]);
    let team = Env::new();
    for day in 1..=3 {
        if day > 1 {
            sim.advance();
        }
        assert_ok(&team.sync(&sim, &["--workspace-id", TEAM_WS, "--type", "DEDICATED"]));
    }
    let h = json_out(&team, &["history", "qwen2.5-7b-sft", "--format", "json"]);
    assert_eq!(
        events(&h),
        [(1, "added".to_string()), (3, "changed".to_string())]
    );
    let fields: Vec<&str> = h[1]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "swr_path", "update_at"]);
    assert_eq!(h[1]["scope"]["workspace_id"], TEAM_WS);
}

#[test]
fn points_in_time_that_are_not_points_are_usage_errors() {
    let sim = Sim::days(&[]);
    let env = Env::new();
    assert_ok(&env.sync(&sim, &[]));
    // One run: nothing to compare it with by default, but any two points work.
    let out = env.run(&["diff"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("first committed run"),
        "{}",
        stderr(&out)
    );
    assert_ok(&env.run(&["diff", "--from", "run:1", "--to", "latest"]));

    let failing = Sim::days(&["--fail-status", "500"]);
    assert_exit(&env.sync(&failing, &["--retries", "0"]), 4);
    let cases: &[(&[&str], &str)] = &[
        (&["diff", "--to", "run:2"], "not committed"),
        (&["list", "--as-of", "run:2"], "not committed"),
        (&["show", "x", "--as-of", "run:2"], "not committed"),
        (&["diff", "--from", "run:9"], "no run 9"),
        (
            &["diff", "--from", "1999-01-01"],
            "before the first committed run",
        ),
        (
            &["list", "--as-of", "2000-01-01T00:00:00Z"],
            "before the first",
        ),
        (&["diff", "--to", "soon"], "invalid point in time"),
        (&["list", "--as-of", "7x"], "invalid point in time"),
        (&["show", "x", "--as-of", "run:"], "invalid point in time"),
        (&["list", "--as-of", "1h"], "before the first committed run"),
    ];
    for (args, want) in cases {
        let out = env.run(args);
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    // A duration ago that does not reach back past the run is fine.
    assert_ok(&env.run(&["list", "--as-of", "0s", "--format", "json"]));
}

#[test]
fn diff_text_ndjson_and_csv() {
    let (_sim, env) = three_days();
    let text = env.run(&["diff", "--from", "run:1", "--to", "run:2"]);
    assert_ok(&text);
    let t = stdout(&text);
    let (added, removed, changed) = expected_transition(0);
    assert!(t.lines().next().unwrap().contains(&format!(
        "{} added, {} removed, {} changed",
        added.len(),
        removed.len(),
        changed.len()
    )));
    for heading in ["Added (", "Removed (", "Changed ("] {
        assert!(t.contains(heading), "{heading}:\n{t}");
    }
    assert!(t.contains(&format!("name: \"{RENAMED_FROM}\" -> \"{RENAMED_TO}\"")));
    assert!(!t.contains('\x1b'), "no colour when not a terminal");

    let nd = env.run(&[
        "diff", "--from", "run:1", "--to", "run:2", "--format", "ndjson",
    ]);
    assert_ok(&nd);
    let lines: Vec<Value> = stdout(&nd)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), added.len() + removed.len() + changed.len());
    let csv = env.run(&[
        "diff", "--from", "run:1", "--to", "run:2", "--format", "csv",
    ]);
    assert_ok(&csv);
    let rows = csv::Reader::from_reader(stdout(&csv).as_bytes())
        .records()
        .count();
    let fields: usize = changed.values().map(Vec::len).sum();
    assert_eq!(rows, added.len() + removed.len() + fields);
}

/// A catalog whose text fields carry terminal control sequences.
fn hostile_catalog(dir: &std::path::Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(fixture_day_path(1)).unwrap();
    let mut all: Vec<Value> = serde_json::from_str(&text).unwrap();
    let evil = "pwn\x1b[2J\x1b]0;title\x07\rgotcha";
    all[0]["description"] = Value::from(evil);
    all[0]["name"] = Value::from(format!("name-{evil}"));
    all[0]["x_unknown"] = Value::from(evil);
    let path = dir.join("hostile.json");
    std::fs::write(&path, serde_json::to_string(&all).unwrap()).unwrap();
    path
}

#[test]
fn tables_fit_the_terminal_and_never_pass_control_characters() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = hostile_catalog(dir.path());
    let sim = Sim::start(
        &[
            "--catalog",
            hostile.to_str().unwrap(),
            "--catalog",
            fixture_day_path(2).to_str().unwrap(),
        ],
        &[],
    );
    let env = Env::new();
    assert_ok(&env.sync(&sim, &[]));
    sim.advance();
    assert_ok(&env.sync(&sim, &[]));
    let id = {
        let text = std::fs::read_to_string(&hostile).unwrap();
        let all: Vec<Value> = serde_json::from_str(&text).unwrap();
        all[0]["id"].as_str().unwrap().to_string()
    };
    let narrow = |args: &[&str], cols: &str| {
        let out = macat_cmd()
            .arg("--db")
            .arg(&env.db)
            .args(args)
            .env("COLUMNS", cols)
            .output()
            .unwrap();
        assert_ok(&out);
        stdout(&out)
    };
    for cols in ["60", "100", "200"] {
        let width: usize = cols.parse().unwrap();
        for args in [
            vec!["list", "--limit", "50"],
            vec!["list", "--type", "DEDICATED"],
            vec!["runs"],
            vec!["show", &id],
            vec!["history", &id],
            vec!["diff"],
        ] {
            let t = narrow(&args, cols);
            assert!(!t.is_empty(), "{args:?}");
            for line in t.lines() {
                assert!(
                    line.chars().count() <= width,
                    "{args:?} at {cols} columns: {line:?}"
                );
            }
            assert!(
                !t.chars().any(|c| c.is_control() && c != '\n'),
                "{args:?} passed a control character: {t:?}"
            );
        }
    }
    let shown = narrow(&["show", &id, "--as-of", "run:1"], "200");
    assert!(shown.contains("pwn\\x{1b}[2J"), "{shown}");
    assert!(shown.contains("x_unknown"));
    // Piped output with no COLUMNS is never cut; JSON keeps the exact bytes.
    let whole = env.run(&["list", "--as-of", "run:1", "--name", "name-pwn"]);
    assert_ok(&whole);
    assert!(stdout(&whole).contains("gotcha"));
    let json = json_out(&env, &["show", &id, "--as-of", "run:1", "--format", "json"]);
    assert!(json["description"]
        .as_str()
        .unwrap()
        .contains("\x1b[2J\x1b]0;title\x07\r"));
}

#[test]
fn demo_shows_the_diff_of_day_1_and_day_3_and_a_history() {
    let env = Env::new();
    let out = env.run(&["demo"]);
    assert_ok(&out);
    let t = stdout(&out);
    assert!(t.contains("$ macat diff --from run:1 --to run:3"), "{t}");
    let want = catalog_diff(&day_in_workspace0(1), &day_in_workspace0(3));
    assert!(t.contains(&format!(
        "{} added, {} removed, {} changed",
        want.0.len(),
        want.1.len(),
        want.2.len()
    )));
    assert!(t.contains(&format!("$ macat history {RETURNED_NAME}")));
    assert!(t.contains("returned"));
    // The demo's mirror is an ordinary one: the same questions work on it afterwards.
    let diff = json_out(
        &env,
        &[
            "diff", "--from", "run:1", "--to", "run:3", "--format", "json",
        ],
    );
    assert_eq!(summary(&diff), want);
}
