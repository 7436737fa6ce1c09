//! Full walks of one catalog day in every paging dialect the simulator can speak.

use serde_json::Value;

use crate::util::*;

fn full_walk(sim_flags: &[&str], sync_flags: &[&str]) {
    let sim = Sim::days(sim_flags);
    let env = Env::new();
    let mut flags = vec!["--format", "json"];
    flags.extend_from_slice(sync_flags);
    let out = env.sync(&sim, &flags);
    assert_ok(&out);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let want = day_in_workspace0(1);
    assert_eq!(report["status"], "committed");
    assert_eq!(report["seen"], want.len());
    assert_eq!(report["added"], want.len());
    assert_eq!(report["removed"], 0);
    assert_eq!(report["scopes"].as_array().unwrap().len(), 2);
    for key in ["run_id", "pages", "changed", "duration_ms"] {
        assert!(report[key].is_u64(), "{key} in {report}");
    }
    assert_same_catalog(&env.export("latest"), &want);
}

#[test]
fn records_offsets_default_page_size() {
    full_walk(&[], &[]);
}

#[test]
fn records_offsets_small_pages_concurrency_1() {
    full_walk(&[], &["--page-size", "7", "--concurrency", "1"]);
}

#[test]
fn records_offsets_small_pages_concurrency_8() {
    full_walk(&[], &["--page-size", "9", "--concurrency", "8"]);
}

#[test]
fn page_offsets_from_0_with_current_0_and_size_as_count() {
    full_walk(
        &PAGES_FROM_0_SIZE_AS_COUNT,
        &["--page-size", "10", "--concurrency", "8"],
    );
}

#[test]
fn page_offsets_from_1() {
    full_walk(
        &["--offset-mode", "pages1"],
        &["--page-size", "11", "--concurrency", "1"],
    );
}

#[test]
fn server_capping_the_page_size_in_both_offset_modes() {
    full_walk(&["--max-limit", "13"], &["--page-size", "200"]);
    full_walk(
        &["--max-limit", "13", "--offset-mode", "pages"],
        &["--page-size", "200", "--concurrency", "8"],
    );
}

#[test]
fn one_record_per_page() {
    full_walk(&["--max-limit", "1"], &["--concurrency", "8"]);
}

#[test]
fn a_single_scope_walks_only_that_type() {
    let sim = Sim::days(&[]);
    let env = Env::new();
    assert_ok(&env.sync(&sim, &["--type", "DEDICATED"]));
    let got = env.export("latest");
    let want: std::collections::BTreeMap<_, _> = day_in_workspace0(1)
        .into_iter()
        .filter(|(_, v)| v["type"] == "DEDICATED")
        .collect();
    assert_same_catalog(&got, &want);
}

#[test]
fn resync_of_an_unchanged_catalog_adds_only_run_rows() {
    let sim = Sim::days(&[]);
    let env = Env::new();
    assert_ok(&env.sync(&sim, &[]));
    let count = |sql: &str| -> i64 { env.sqlite().query_row(sql, [], |r| r.get(0)).unwrap() };
    let versions = count("SELECT count(*) FROM versions");
    let changes = count("SELECT count(*) FROM changes");
    let out = env.sync(&sim, &["--format", "json"]);
    assert_ok(&out);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (&report["added"], &report["changed"], &report["removed"]),
        (&Value::from(0), &Value::from(0), &Value::from(0))
    );
    assert_eq!(count("SELECT count(*) FROM versions"), versions);
    assert_eq!(count("SELECT count(*) FROM changes"), changes);
    assert_eq!(count("SELECT count(*) FROM runs"), 2);
}

/// The image requests the simulator has answered so far.
fn requests(sim: &Sim) -> u64 {
    let state: Value = serde_json::from_str(&sim.http("GET", "/_sim/state")).unwrap();
    state["requests"].as_u64().unwrap()
}

#[test]
fn a_catalog_of_one_page_per_scope_costs_one_request_per_scope() {
    let sim = Sim::days(&[]);
    let env = Env::new();
    for concurrency in ["1", "4"] {
        let before = requests(&sim);
        let out = env.sync(&sim, &["--format", "json", "--concurrency", concurrency]);
        assert_ok(&out);
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["scopes"].as_array().unwrap().len(), 2);
        assert_eq!(report["pages"], 2, "{report}");
        assert_eq!(requests(&sim) - before, 2, "concurrency {concurrency}");
        assert_same_catalog(&env.export("latest"), &day_in_workspace0(1));
    }
    // 118 BUILD_IN images on two pages keep every check: first page, probe at offset 1,
    // second page, re-read of the first; the 19 DEDICATED images are one request.
    let before = requests(&sim);
    assert_ok(&env.sync(&sim, &["--page-size", "100"]));
    assert_eq!(requests(&sim) - before, 5);
}
