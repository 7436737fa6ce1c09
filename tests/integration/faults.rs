//! Faults: recovered with an exact mirror, or past the retry budget with the mirror unchanged;
//! a catalog changing mid-walk never yields a torn snapshot; API rejections exit 3; the lock.

use std::time::{Duration, Instant};

use crate::util::*;

#[test]
fn transient_faults_are_retried_to_an_exact_mirror() {
    for seed in ["1", "2", "3"] {
        let sim = Sim::days(&[
            "--fail-rate",
            "0.3",
            "--throttle-rate",
            "0.15",
            "--retry-after",
            "0",
            "--seed",
            seed,
        ]);
        let env = Env::new();
        let out = env.sync(
            &sim,
            &["--page-size", "20", "--retries", "10", "--concurrency", "4"],
        );
        assert_ok(&out);
        assert!(
            stderr(&out).contains("retrying"),
            "faults should have been seen"
        );
        assert_same_catalog(&env.export("latest"), &day_in_workspace0(1));
    }
}

#[test]
fn retry_after_is_honoured() {
    let sim = Sim::days(&[
        "--throttle-rate",
        "0.5",
        "--retry-after",
        "1",
        "--seed",
        "7",
    ]);
    let env = Env::new();
    let out = env.sync(&sim, &["--page-size", "50", "--retries", "10", "-v"]);
    assert_ok(&out);
    let err = stderr(&out);
    assert!(err.contains("HTTP 429 APIGW.0308"), "{err}");
    assert!(err.contains("retrying in 1000 ms"), "{err}");
    assert_same_catalog(&env.export("latest"), &day_in_workspace0(1));
}

#[test]
fn faults_past_the_retry_budget_leave_the_mirror_unchanged() {
    let good = Sim::days(&[]);
    let env = Env::new();
    assert_ok(&env.sync(&good, &[]));
    let before = env.export_bytes();
    let bad = Sim::days(&["--fail-rate", "1"]);
    bad.advance();
    let out = env.sync(&bad, &["--retries", "2", "--format", "json"]);
    assert_exit(&out, 4);
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["status"], "failed");
    assert_eq!(summary["run_id"], 2);
    assert!(summary["error"].as_str().unwrap().contains("gave up"));
    let err = stderr(&out);
    assert!(err.contains("gave up"), "{err}");
    assert_eq!(
        err.lines()
            .filter(|l| l.starts_with("macat: error"))
            .count(),
        1
    );
    assert_eq!(env.export_bytes(), before);
    let runs = env.run(&["runs", "--format", "json"]);
    let runs: serde_json::Value = serde_json::from_slice(&runs.stdout).unwrap();
    assert_eq!(runs[0]["status"], "failed");
    assert!(runs[0]["error"].as_str().unwrap().contains("gave up"));
    assert_eq!(runs[1]["status"], "committed");
    // The next good sync commits on top of the last committed snapshot.
    good.advance();
    assert_ok(&env.sync(&good, &[]));
    assert_same_catalog(&env.export("latest"), &day_in_workspace0(2));
}

#[test]
fn a_catalog_changing_mid_walk_never_commits_a_torn_snapshot() {
    let (day1, day2) = (day_in_workspace0(1), day_in_workspace0(2));
    let mut rewalked = 0;
    for advance_after in 1..=16u32 {
        for concurrency in ["1", "4"] {
            let n = advance_after.to_string();
            let sim = Sim::days(&["--advance-after", &n]);
            let env = Env::new();
            let out = env.sync(&sim, &["--page-size", "10", "--concurrency", concurrency]);
            match out.status.code() {
                Some(0) => {
                    let got = env.export("latest");
                    // Each scope is its own snapshot: BUILD_IN and DEDICATED may be from
                    // different days, but each must be exactly one day.
                    for ty in ["BUILD_IN", "DEDICATED"] {
                        let pick = |m: &std::collections::BTreeMap<String, serde_json::Value>| {
                            m.iter()
                                .filter(|(_, v)| v["type"] == ty)
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect::<std::collections::BTreeMap<_, _>>()
                        };
                        let g = pick(&got);
                        assert!(
                            g == pick(&day1) || g == pick(&day2),
                            "torn {ty} snapshot with advance after {n}, concurrency {concurrency}"
                        );
                    }
                    if stderr(&out).contains("changed during walk") {
                        rewalked += 1;
                    }
                    // The index built during the walk saw the re-walked scope's first pass
                    // too: it must hold what the mirror holds, as a rebuild from it would.
                    let everything = |env: &Env| {
                        let out = env.run(&["search", "*", "--limit", "10000", "--format", "json"]);
                        assert_ok(&out);
                        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
                    };
                    let inline = everything(&env);
                    let mut ids: Vec<&str> = inline
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|h| h["id"].as_str().unwrap())
                        .collect();
                    ids.sort();
                    assert_eq!(ids, got.keys().map(String::as_str).collect::<Vec<_>>());
                    assert_ok(&env.run(&["reindex"]));
                    assert_same_hits(
                        &inline,
                        &everything(&env),
                        &format!(
                            "advance after {n}, concurrency {concurrency}: the index built \
                             during the sync against a rebuild"
                        ),
                    );
                }
                Some(4) => {
                    assert!(stderr(&out).contains("changed during"), "{}", stderr(&out));
                    let runs = env.run(&["runs", "--format", "json"]);
                    let runs: serde_json::Value = serde_json::from_slice(&runs.stdout).unwrap();
                    assert_eq!(runs[0]["status"], "failed");
                }
                other => panic!("exit {other:?}: {}", stderr(&out)),
            }
        }
    }
    assert!(
        rewalked > 0,
        "some walks must have noticed the change and walked again"
    );
}

#[test]
fn api_rejections_exit_3_with_the_error_code() {
    for (flags, code) in [
        (vec!["--fail-status", "401"], "APIGW.0301"),
        (vec!["--fail-status", "403"], "ModelArts.0103"),
        (vec!["--project-id", "someone-else"], "ModelArts.0104"),
    ] {
        let sim = Sim::days(&flags);
        let env = Env::new();
        let out = env.sync(&sim, &[]);
        assert_exit(&out, 3);
        let err = stderr(&out);
        assert!(err.contains(code), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

#[test]
fn plain_http_is_refused_off_loopback_and_bad_flags_exit_2() {
    let env = Env::new();
    let out = env.run(&[
        "sync",
        "--endpoint",
        "http://example.com",
        "--project-id",
        "p",
    ]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("--insecure-http"));
    assert_exit(&env.run(&["sync", "--project-id", "p"]), 2);
    assert_exit(
        &env.run(&["sync", "--endpoint", "https://x", "--page-size", "0"]),
        2,
    );
    assert_exit(&env.run(&["sync", "--endpoint", "https://x"]), 2);
}

#[test]
fn a_second_sync_on_the_same_mirror_exits_75_naming_the_holder() {
    let env = Env::new();
    let sim = Sim::days(&["--latency-ms", "200"]);
    let mut first = env.spawn_sync(&sim, &["--page-size", "20"]);
    wait_for_running_run(&env);
    let second = env.sync(&sim, &[]);
    assert_exit(&second, 75);
    assert!(
        stderr(&second).contains(&format!("pid {}", first.id())),
        "{}",
        stderr(&second)
    );
    assert!(first.wait().unwrap().success());
    assert_same_catalog(&env.export("latest"), &day_in_workspace0(1));
}

#[test]
fn a_killed_sync_changes_nothing_and_its_lock_is_taken_over() {
    let env = Env::new();
    let sim = Sim::days(&["--latency-ms", "150"]);
    assert_ok(&env.sync(&sim, &["--page-size", "50"]));
    let before = env.export_bytes();
    sim.advance();
    let mut victim = env.spawn_sync(&sim, &["--page-size", "10"]);
    wait_for_running_run(&env);
    let newest_run = |env: &Env| {
        let out = env.run(&["runs", "--format", "json"]);
        assert_ok(&out);
        let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        runs[0].clone()
    };
    assert_eq!(newest_run(&env)["status"], "running");
    victim.kill().unwrap();
    victim.wait().unwrap();
    assert_eq!(env.export_bytes(), before);
    // Its process is gone: `runs` says so before any other sync has recorded it.
    let dead = newest_run(&env);
    assert_eq!(dead["status"], "failed", "{dead}");
    assert!(
        dead["error"].as_str().unwrap().contains("interrupted"),
        "{dead}"
    );
    let ok = env.sync(&sim, &["--page-size", "50"]);
    assert_ok(&ok);
    assert_same_catalog(&env.export("latest"), &day_in_workspace0(2));
    let runs = env.run(&["runs", "--format", "json"]);
    let runs: serde_json::Value = serde_json::from_slice(&runs.stdout).unwrap();
    assert_eq!(runs[1]["status"], "failed");
    assert!(runs[1]["error"].as_str().unwrap().contains("interrupted"));
}

/// Waits (bounded) until a sync has recorded its run as running: the walk is under way.
fn wait_for_running_run(env: &Env) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if env.db.exists() {
            let running: Option<i64> = rusqlite::Connection::open(&env.db).ok().and_then(|c| {
                c.query_row(
                    "SELECT count(*) FROM runs WHERE status = 'running'",
                    [],
                    |r| r.get(0),
                )
                .ok()
            });
            if running.unwrap_or(0) > 0 {
                return;
            }
        }
        assert!(Instant::now() < deadline, "the sync never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts a sync (page size 10), waits until it walks, sends it SIGTERM; returns its output.
fn terminate_mid_walk(env: &Env, sim: &Sim) -> std::process::Output {
    let victim = env
        .sync_command(sim, &["--page-size", "10"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_running_run(env);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &victim.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    victim.wait_with_output().unwrap()
}

#[test]
fn sigterm_abandons_the_run_cleanly_with_exit_130() {
    let env = Env::new();
    let sim = Sim::days(&["--latency-ms", "150"]);
    assert_ok(&env.sync(&sim, &["--page-size", "50"]));
    let before = env.export_bytes();
    sim.advance();
    let out = terminate_mid_walk(&env, &sim);
    assert_exit(&out, 130);
    assert!(stderr(&out).contains("interrupted"));
    assert_eq!(env.export_bytes(), before);
    let runs = env.run(&["runs", "--format", "json"]);
    let runs: serde_json::Value = serde_json::from_slice(&runs.stdout).unwrap();
    assert_eq!(runs[0]["status"], "failed");
    assert_eq!(runs[0]["error"], "interrupted; nothing was committed");
}

#[test]
fn an_interrupted_first_sync_leaves_no_index_behind() {
    // A new mirror's index is built during its first walk; an interrupted walk throws it away.
    let env = Env::new();
    let sim = Sim::days(&["--latency-ms", "150"]);
    let out = terminate_mid_walk(&env, &sim);
    assert_exit(&out, 130);
    let mut left: Vec<String> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("index"))
        .collect();
    left.sort();
    assert!(left.is_empty(), "left behind: {left:?}");
    // The next sync builds it.
    assert_ok(&env.sync(&sim, &[]));
    let out = env.run(&["-v", "search", "pytorch"]);
    assert_ok(&out);
    assert!(!stderr(&out).contains("building"), "{}", stderr(&out));
}
