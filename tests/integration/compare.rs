//! `macat compare`: two simulators with different catalogs, synced into one mirror as two
//! scopes of a profile, compared as the construction of the second catalog implies.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{json, Value};

use crate::util::*;

/// Day 1 of workspace 0 as region A, and region B derived from it: every image under a new
/// id, created later, pulled from another registry host; some dropped, some with a new
/// description, and one image that only B has. Images whose (name, tag) is not unique are
/// left as they are, so that the pairing of A and B is the construction's.
struct Regions {
    a: Vec<Value>,
    b: Vec<Value>,
    dropped: BTreeSet<String>,
    /// A's id -> the description B gives it.
    described: BTreeMap<String, String>,
    only_b: Value,
}

fn regions() -> Regions {
    let a: Vec<Value> = day_in_workspace0(1).into_values().collect();
    let mut keys: HashMap<(Value, Value), usize> = HashMap::new();
    for v in &a {
        *keys
            .entry((v["name"].clone(), v["tag"].clone()))
            .or_default() += 1;
    }
    let (mut b, mut dropped, mut described) = (Vec::new(), BTreeSet::new(), BTreeMap::new());
    for (i, v) in a.iter().enumerate() {
        let id = v["id"].as_str().unwrap().to_string();
        let unique = keys[&(v["name"].clone(), v["tag"].clone())] == 1;
        if unique && i % 10 == 0 {
            dropped.insert(id);
            continue;
        }
        let mut w = v.clone();
        w["id"] = json!(format!("b-{id}"));
        w["create_at"] = json!(v["create_at"].as_i64().unwrap_or(0) + 86_400_000);
        if let Some(path) = v["swr_path"].as_str() {
            let rest = path.split_once('/').map_or(path, |(_, r)| r);
            w["swr_path"] = json!(format!("swr.ap-southeast-1.myhuaweicloud.com/{rest}"));
        }
        if unique && i % 7 == 3 {
            let text = format!("Region B's own words for image {i}");
            w["description"] = json!(text);
            described.insert(id, text);
        }
        b.push(w);
    }
    let mut only_b = a[1].clone();
    only_b["id"] = json!("b-only-image");
    only_b["name"] = json!("only-in-region-b");
    b.push(only_b.clone());
    Regions {
        a,
        b,
        dropped,
        described,
        only_b,
    }
}

/// Two simulators (A with project pa, B with project pb) and a mirror that synced both as the
/// scopes of one profile.
fn mirror(r: &Regions) -> (Sim, Sim, Env) {
    let env = Env::new();
    let write = |name: &str, images: &[Value]| {
        let path = env.dir.path().join(name);
        std::fs::write(&path, serde_json::to_string(images).unwrap()).unwrap();
        path.to_string_lossy().into_owned()
    };
    let (file_a, file_b) = (write("a.json", &r.a), write("b.json", &r.b));
    let sim_a = Sim::start(&["--catalog", &file_a, "--project-id", "pa"], &[]);
    let sim_b = Sim::start(&["--catalog", &file_b, "--project-id", "pb"], &[]);
    let config = env.dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[profiles.two]

[[profiles.two.scopes]]
endpoint = "{a}"
project_id = "pa"

[[profiles.two.scopes]]
endpoint = "{b}"
project_id = "pb"
"#,
            a = sim_a.url,
            b = sim_b.url
        ),
    )
    .unwrap();
    let out = env.run(&[
        "sync",
        "--config",
        config.to_str().unwrap(),
        "--profile",
        "two",
    ]);
    assert_ok(&out);
    (sim_a, sim_b, env)
}

fn ids(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn compare_finds_what_the_construction_of_region_b_implies() {
    let r = regions();
    let (_a, _b, env) = mirror(&r);
    let out = env.run(&["compare", "project=pa", "project=pb", "--format", "json"]);
    assert_ok(&out);
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys: Vec<&str> = got
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 5, "{keys:?}");
    for k in ["a", "b", "only_a", "only_b", "different"] {
        assert!(got.get(k).is_some(), "{k}");
    }
    assert_eq!(got["a"]["selector"], "project=pa");
    assert_eq!(got["a"]["scopes"].as_array().unwrap().len(), 2);
    assert_eq!(got["a"]["images"], r.a.len());
    assert_eq!(got["b"]["images"], r.b.len());

    // Only in A: the dropped images, as the API returned them.
    assert_eq!(ids(&got["only_a"]), r.dropped);
    let a_by_id: HashMap<&str, &Value> =
        r.a.iter().map(|v| (v["id"].as_str().unwrap(), v)).collect();
    for img in got["only_a"].as_array().unwrap() {
        assert_eq!(img, a_by_id[img["id"].as_str().unwrap()]);
    }
    // Only in B: the one image A never had.
    assert_eq!(got["only_b"], json!([r.only_b]));
    // Different: exactly the new descriptions; new ids, dates and registry hosts are no change.
    let want: BTreeMap<String, Value> = r
        .described
        .iter()
        .map(|(id, text)| {
            let a = a_by_id[id.as_str()];
            let change = json!({
                "name": a["name"], "tag": a["tag"], "a_id": id, "b_id": format!("b-{id}"),
                "changes": [{"field": "description", "a": a["description"], "b": text}],
            });
            (id.clone(), change)
        })
        .collect();
    let got_different: BTreeMap<String, Value> = got["different"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["a_id"].as_str().unwrap().to_string(), d.clone()))
        .collect();
    assert!(!want.is_empty());
    assert_eq!(got_different, want);

    // The text report: the same three groups.
    let out = env.run(&["compare", "project=pa", "project=pb"]);
    assert_ok(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!("only in A ({}):", r.dropped.len())),
        "{text}"
    );
    assert!(text.contains("only in B (1):"), "{text}");
    assert!(
        text.contains(&format!("different ({}):", want.len())),
        "{text}"
    );
    for id in &r.dropped {
        assert!(
            text.lines()
                .any(|l| l.starts_with("  - ") && l.ends_with(id.as_str())),
            "{id}"
        );
    }
    assert!(text.contains("  + only-in-region-b:"), "{text}");
    assert_eq!(
        text.matches("      description: ").count(),
        want.len(),
        "{text}"
    );
    assert!(!text.contains("swr_path"), "{text}");

    // The other way round, one type on each side, and a point in time.
    let out = env.run(&["compare", "project=pb", "project=pa", "--format", "json"]);
    let back: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(back["only_b"], got["only_a"]);
    assert_eq!(back["different"].as_array().unwrap().len(), want.len());
    let out = env.run(&[
        "compare",
        "project=pa,type=dedicated",
        "project=pb,type=DEDICATED",
        "--as-of",
        "run:1",
        "--format",
        "json",
    ]);
    assert_ok(&out);
    let typed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(typed["a"]["scopes"].as_array().unwrap().len(), 1);
    assert!(typed["only_a"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["type"] == "DEDICATED"));
}

#[test]
fn selections_that_match_nothing_or_overlap_are_usage_errors() {
    let r = regions();
    let (_a, _b, env) = mirror(&r);
    for (a, b, says) in [
        ("project=pa", "project=nope", "selects no scope"),
        ("region=cn-north-4", "project=pb", "selects no scope"),
        ("project=pa", "type=DEDICATED", "both sides"),
        ("project=pa", "zone=x", "unknown key"),
        ("project=pa", "project", "invalid scope selector"),
    ] {
        let out = env.run(&["compare", a, b]);
        assert_exit(&out, 2);
        assert!(stderr(&out).contains(says), "{a} {b}: {}", stderr(&out));
    }
    assert_exit(
        &env.run(&["compare", "project=pa", "project=pb", "--as-of", "run:9"]),
        2,
    );
}
