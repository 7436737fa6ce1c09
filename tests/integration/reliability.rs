//! Damage never panics, history is never lost: `macat check` on healthy and damaged mirrors,
//! `macat backup` while a sync runs and when killed, and what a crash looks like.

use std::io::{Seek, SeekFrom, Write};
use std::process::Stdio;

use serde_json::Value;

use crate::util::*;

/// `macat check --format json`: the exit code and the parsed report.
fn check(env: &Env, extra: &[&str]) -> (Option<i32>, Value, String) {
    let mut args = vec!["check", "--format", "json"];
    args.extend_from_slice(extra);
    let out = env.run(&args);
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stderr(&out)));
    (out.status.code(), report, stderr(&out))
}

fn verdict(report: &Value, name: &str) -> bool {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {report}"))["ok"]
        .as_bool()
        .unwrap()
}

#[test]
fn check_passes_on_a_healthy_mirror() {
    let (_sim, env) = three_day_mirror();
    // The index is built by the syncs; a search makes sure it is level with run 3.
    assert_ok(&env.run(&["search", "pytorch"]));
    let (code, report, err) = check(&env, &[]);
    assert_eq!(code, Some(0), "{report} {err}");
    assert_eq!(report["ok"], true);
    assert!(report["next_step"].is_null());
    for name in [
        "schema",
        "quick_check",
        "versions_do_not_overlap",
        "versions_in_committed_runs",
        "changes_point_at_versions",
        "run_counts",
        "query_keys_match_versions",
        "index_agrees",
    ] {
        assert!(verdict(&report, name), "{name}: {report}");
    }
    let (code, report, _) = check(&env, &["--read-data"]);
    assert_eq!(code, Some(0));
    assert!(verdict(&report, "integrity_check"), "{report}");
    // Text: one verdict a line.
    let out = env.run(&["check"]);
    assert_ok(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 8, "{text}");
    assert!(text.lines().all(|l| l.starts_with("ok ")), "{text}");
}

#[test]
fn check_fails_an_image_whose_versions_overlap() {
    let (_sim, env) = three_day_mirror();
    // Reopen a version that a later version of the same image replaced.
    let changed = env
        .sqlite()
        .execute(
            "UPDATE versions SET valid_to = NULL WHERE id = (
                SELECT a.id FROM versions a JOIN versions b
                  ON a.scope_id = b.scope_id AND a.image_id = b.image_id
                 AND b.valid_from = a.valid_to
                LIMIT 1)",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1, "the fixture days change at least one image");
    let (code, report, err) = check(&env, &[]);
    assert_eq!(code, Some(1), "{report}");
    assert!(!verdict(&report, "versions_do_not_overlap"), "{report}");
    assert!(verdict(&report, "quick_check"), "{report}");
    assert!(err.contains("restore"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn check_fails_a_run_whose_counts_disagree_with_its_versions() {
    let (_sim, env) = three_day_mirror();
    env.sqlite()
        .execute("UPDATE runs SET added = added + 1 WHERE id = 2", [])
        .unwrap();
    let (code, report, _) = check(&env, &[]);
    assert_eq!(code, Some(1));
    assert!(!verdict(&report, "run_counts"), "{report}");
    assert!(verdict(&report, "versions_do_not_overlap"), "{report}");
    assert!(verdict(&report, "changes_point_at_versions"), "{report}");
}

#[test]
fn check_fails_query_keys_that_disagree_with_the_versions() {
    let (_sim, env) = three_day_mirror();
    let (code, report, _) = check(&env, &[]);
    assert_eq!(code, Some(0), "{report}");
    // A key row lost (as a write that bypassed the triggers would leave it), then one whose
    // run range is wrong.
    env.sqlite()
        .execute(
            "DELETE FROM version_keys WHERE version_id = (SELECT min(version_id) FROM version_keys)",
            [],
        )
        .unwrap();
    let (code, report, err) = check(&env, &[]);
    assert_eq!(code, Some(1), "{report}");
    assert!(!verdict(&report, "query_keys_match_versions"), "{report}");
    assert!(verdict(&report, "run_counts"), "{report}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let (_sim, env) = three_day_mirror();
    env.sqlite()
        .execute(
            "UPDATE version_keys SET valid_to = 99 WHERE version_id = (SELECT max(version_id) FROM version_keys)",
            [],
        )
        .unwrap();
    let (code, report, _) = check(&env, &[]);
    assert_eq!(code, Some(1), "{report}");
    assert!(!verdict(&report, "query_keys_match_versions"), "{report}");
}

#[test]
fn check_fails_an_index_behind_the_database_and_says_reindex() {
    let (_sim, env) = three_day_mirror();
    assert_ok(&env.run(&["search", "pytorch"]));
    // Another history's index in place of this one's.
    let fresh = Env::new();
    let sim = Sim::days(&[]);
    assert_ok(&fresh.sync(&sim, &[]));
    assert_ok(&fresh.run(&["search", "pytorch"]));
    let dir = {
        let mut s = env.db.as_os_str().to_owned();
        s.push(".index");
        std::path::PathBuf::from(s)
    };
    let foreign = {
        let mut s = fresh.db.as_os_str().to_owned();
        s.push(".index");
        std::path::PathBuf::from(s)
    };
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::rename(&foreign, &dir).unwrap();
    let (code, report, err) = check(&env, &[]);
    assert_eq!(code, Some(1), "{report}");
    assert!(!verdict(&report, "index_agrees"), "{report}");
    assert!(verdict(&report, "run_counts"), "{report}");
    assert!(err.contains("macat reindex"), "{err}");
    assert_ok(&env.run(&["reindex"]));
    assert_eq!(check(&env, &[]).0, Some(0));
}

#[test]
fn check_fails_quick_check_on_damaged_pages_without_panicking() {
    let (_sim, env) = three_day_mirror();
    let len = std::fs::metadata(&env.db).unwrap().len();
    assert!(len > 64 * 1024, "{len}");
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&env.db)
            .unwrap();
        f.seek(SeekFrom::Start(len / 2 - 8192)).unwrap();
        f.write_all(&vec![0xA5; 16384]).unwrap();
    }
    for read_data in [false, true] {
        let extra: &[&str] = if read_data { &["--read-data"] } else { &[] };
        let (code, report, err) = check(&env, extra);
        assert_eq!(code, Some(1), "{report} {err}");
        let pages = if read_data {
            "integrity_check"
        } else {
            "quick_check"
        };
        assert!(!verdict(&report, pages), "{report}");
        assert!(err.contains("restore"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// Polls `macat runs --format json` until a run is `running`.
fn wait_for_running_run(env: &Env, sync: &mut std::process::Child) {
    loop {
        let out = env.run(&["runs", "--format", "json"]);
        if out.status.success() {
            let runs: Value = serde_json::from_slice(&out.stdout).unwrap();
            if runs
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["status"] == "running")
            {
                return;
            }
        }
        assert!(
            sync.try_wait().unwrap().is_none(),
            "the sync ended before it was seen running"
        );
        std::thread::yield_now();
    }
}

/// The committed runs of a mirror, oldest first.
fn committed_runs(env: &Env) -> Vec<i64> {
    let out = env.run(&["runs", "--format", "json"]);
    assert_ok(&out);
    let runs: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut ids: Vec<i64> = runs
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "committed")
        .map(|r| r["run_id"].as_i64().unwrap())
        .collect();
    ids.sort();
    ids
}

#[test]
fn backup_taken_while_a_sync_runs_equals_a_committed_state() {
    let sim = Sim::start(
        &["--generate", "20000", "--seed", "11", "--latency-ms", "30"],
        &[],
    );
    let env = Env::new();
    assert_ok(&env.sync(&sim, &["--page-size", "500"]));
    let mut sync = env.spawn_sync(&sim, &["--page-size", "100", "--concurrency", "1"]);
    wait_for_running_run(&env, &mut sync);
    let out_path = env.dir.path().join("backup.db");
    let out = env.run(&[
        "backup",
        "--out",
        out_path.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let still_running = sync.try_wait().unwrap().is_none();
    assert_ok(&out);
    assert!(sync.wait().unwrap().success());
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(summary["bytes"].as_u64().unwrap() > 0, "{summary}");

    let copy = Env {
        dir: tempfile::tempdir().unwrap(),
        db: out_path.clone(),
    };
    let source_runs = committed_runs(&env);
    let copy_runs = committed_runs(&copy);
    assert!(!copy_runs.is_empty());
    assert_eq!(
        copy_runs[..],
        source_runs[..copy_runs.len()],
        "the copy holds a prefix of the committed runs"
    );
    if still_running {
        assert_eq!(copy_runs.len(), source_runs.len() - 1, "{copy_runs:?}");
    }
    for run in &copy_runs {
        let at = format!("run:{run}");
        assert_eq!(copy.export(&at), env.export(&at), "run {run}");
    }
    // The copy is a mirror: whole by every check, and searchable once its index is built.
    assert_eq!(check(&copy, &[]).0, Some(0));
    assert_ok(&copy.run(&["search", "pytorch"]));
    assert!(!copy.db.with_extension("db-wal").exists());
}

#[test]
fn a_killed_backup_leaves_no_partial_file() {
    let (_sim, env) = three_day_mirror();
    let out_path = env.dir.path().join("backup.db");
    let out = macat_cmd()
        .env("MACAT_CRASH_AT", "backup-step")
        .arg("--db")
        .arg(&env.db)
        .args(["backup", "--out", out_path.to_str().unwrap()])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(out.status.code(), None, "killed by a signal");
    assert!(!out_path.exists());
    // The next backup to the same file succeeds and clears what the killed one left.
    assert_ok(&env.run(&["backup", "--out", out_path.to_str().unwrap()]));
    assert!(out_path.exists());
    let leftovers: Vec<String> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".partial-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_panic_prints_one_line_and_writes_a_report() {
    let tmp = tempfile::tempdir().unwrap();
    let env = Env::new();
    let out = macat_cmd()
        .env("MACAT_PANIC_AT", "command")
        .env("TMPDIR", tmp.path())
        .arg("--db")
        .arg(&env.db)
        .args(["runs"])
        .output()
        .unwrap();
    assert_exit(&out, 101);
    let err = stderr(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("a bug"), "{err}");
    assert!(!err.contains("backtrace"), "{err}");
    let reports: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(err.contains(&reports[0].display().to_string()), "{err}");
    let report = std::fs::read_to_string(&reports[0]).unwrap();
    assert!(report.contains("panic injected at command"), "{report}");
    assert!(report.contains("location: src/failpoint.rs"), "{report}");
    assert!(report.contains("command: runs"), "{report}");
    assert!(report.contains("backtrace:"), "{report}");
}

/// The server's resident memory, from /proc (Linux), in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[test]
fn serve_under_abuse_keeps_answering_with_bounded_pages() {
    let sim = Sim::start(&["--generate", "6000", "--seed", "5"], &[]);
    let env = Env::new();
    assert_ok(&env.sync(&sim, &["--page-size", "500"]));
    drop(sim);
    // A listing without `type` is the built-in images, as the API answers.
    let want: std::collections::BTreeSet<String> = env
        .export("latest")
        .into_iter()
        .filter(|(_, v)| v["type"] == "BUILD_IN")
        .map(|(id, _)| id)
        .collect();
    assert!(want.len() > 1000, "{}", want.len());
    let server = Sim::serve(&env.db, &["--header-timeout", "2"], &[]);
    let addr = server.url.trim_start_matches("http://").to_string();
    let rss_start = rss_kib(server.pid());

    // One answer holds at most 1,000 records, whatever `limit` asks; `total` is still the whole.
    let (status, body) = server.get("/v1/p1/images?limit=999999999");
    assert_eq!(status, 200);
    let page: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(page["data"].as_array().unwrap().len(), 1000);
    assert_eq!(page["total"].as_u64().unwrap() as usize, want.len());

    // 500 connections that never send a byte.
    let idle: Vec<std::net::TcpStream> = (0..500)
        .map(|_| std::net::TcpStream::connect(&addr).unwrap())
        .collect();

    // 16 clients walk every page meanwhile; each must see the whole catalog.
    let started = std::time::Instant::now();
    let clients: Vec<_> = (0..16)
        .map(|_| {
            let url = server.url.clone();
            let want = want.len();
            std::thread::spawn(move || {
                let client = Sim::at(&url);
                let mut ids = std::collections::BTreeSet::new();
                let mut latencies = Vec::new();
                let mut offset = 0;
                loop {
                    let t = std::time::Instant::now();
                    let (status, body) =
                        client.get(&format!("/v1/p1/images?limit=100&offset={offset}"));
                    latencies.push(t.elapsed());
                    assert_eq!(status, 200, "{body}");
                    let page: Value = serde_json::from_str(&body).unwrap();
                    let data = page["data"].as_array().unwrap();
                    for image in data {
                        ids.insert(image["id"].as_str().unwrap().to_string());
                    }
                    offset += data.len();
                    if data.is_empty() || offset >= want {
                        break;
                    }
                }
                (ids, latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for c in clients {
        let (ids, l) = c.join().unwrap();
        assert_eq!(ids, want);
        latencies.extend(l);
    }
    let wall = started.elapsed();
    latencies.sort();
    let p = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    eprintln!(
        "serve under abuse: 500 idle connections, 16 clients, {} requests in {wall:?}: \
         p50 {:?}, p99 {:?}, max {:?}; RSS {:?} KiB at start, {:?} KiB after",
        latencies.len(),
        p(0.5),
        p(0.99),
        latencies.last().unwrap(),
        rss_start,
        rss_kib(server.pid())
    );

    // The idle connections were cut off by the header timeout: reading them ends.
    for mut s in idle {
        let mut buf = [0u8; 1];
        match std::io::Read::read(&mut s, &mut buf) {
            Ok(0) | Err(_) => {}
            Ok(_) => panic!("an idle connection was sent data"),
        }
    }

    // A client trickling its headers one line at a time is cut off too.
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    slow.set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap();
    std::io::Write::write_all(&mut slow, b"GET /v1/p1/images HTTP/1.1\r\n").unwrap();
    let mut cut_off = false;
    for i in 0..150 {
        if std::io::Write::write_all(&mut slow, format!("X-Slow-{i}: 1\r\n").as_bytes()).is_err() {
            cut_off = true;
            break;
        }
        let mut buf = [0u8; 512];
        match std::io::Read::read(&mut slow, &mut buf) {
            Ok(0) => {
                cut_off = true;
                break;
            }
            Ok(_) => {
                // hyper may answer 408 before closing: what follows is the close.
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => {
                cut_off = true;
                break;
            }
        }
    }
    assert!(
        cut_off,
        "a client trickling headers for 30 s was never cut off"
    );
    // And the server still answers.
    assert_eq!(server.get("/v1/p1/images?limit=1").0, 200);
}
