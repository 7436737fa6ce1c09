//! Bad user input and hostile environments: each gets one clear line and a documented exit
//! code, and nothing is corrupted.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::*;

/// A small tmpfs mounted for one test (needs root, as in CI); unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        let at = dir.join("fs");
        std::fs::create_dir_all(&at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&at)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            eprintln!("skipped: cannot mount a tmpfs here (not root?)");
            return None;
        }
        Some(Tmpfs(at))
    }

    fn remount(&self, opts: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,{opts}")])
            .arg(&self.0)
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn run_on(db: &Path, args: &[&str]) -> std::process::Output {
    macat_cmd().arg("--db").arg(db).args(args).output().unwrap()
}

fn one_line_error(out: &std::process::Output) -> String {
    let err = stderr(out);
    let lines: Vec<_> = err
        .lines()
        .filter(|l| l.starts_with("macat: error"))
        .collect();
    assert_eq!(lines.len(), 1, "{err}");
    lines[0].to_string()
}

#[test]
fn a_full_disk_fails_cleanly_and_keeps_the_last_snapshot() {
    let env = Env::new();
    let Some(fs) = Tmpfs::mount(env.dir.path(), "3m") else {
        return;
    };
    let db = fs.0.join("mirror.db");
    let sim = Sim::days(&[]);
    let first = run_on(&db, &["sync", "--endpoint", &sim.url, "--project-id", "p1"]);
    assert_ok(&first);
    // Fill the disk, then ask for a day with changes.
    let filler = fs.0.join("filler");
    let free = {
        let out = Command::new("df")
            .args(["--output=avail", "-B1"])
            .arg(&fs.0)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .unwrap()
            .trim()
            .parse::<u64>()
            .unwrap()
    };
    std::fs::write(&filler, vec![0u8; free.saturating_sub(48 * 1024) as usize]).unwrap();
    sim.advance();
    sim.advance();
    let out = run_on(&db, &["sync", "--endpoint", &sim.url, "--project-id", "p1"]);
    assert_exit(&out, 1);
    let line = one_line_error(&out);
    assert!(line.contains("full"), "{line}");
    std::fs::remove_file(&filler).unwrap();
    let export = run_on(&db, &["export"]);
    assert_ok(&export);
    let got: std::collections::BTreeMap<String, serde_json::Value> =
        String::from_utf8(export.stdout)
            .unwrap()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (v["id"].as_str().unwrap().to_string(), v)
            })
            .collect();
    assert_same_catalog(&got, &day_in_workspace0(1));
    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    drop(conn);
    assert_ok(&run_on(
        &db,
        &["sync", "--endpoint", &sim.url, "--project-id", "p1"],
    ));
}

#[test]
fn a_read_only_mirror_can_be_read_but_not_synced() {
    let env = Env::new();
    let Some(fs) = Tmpfs::mount(env.dir.path(), "8m") else {
        return;
    };
    let db = fs.0.join("mirror.db");
    let sim = Sim::days(&[]);
    assert_ok(&run_on(
        &db,
        &["sync", "--endpoint", &sim.url, "--project-id", "p1"],
    ));
    let before = run_on(&db, &["export"]).stdout;
    fs.remount("ro");
    let runs = run_on(&db, &["runs", "--format", "json"]);
    assert_ok(&runs);
    let export = run_on(&db, &["export"]);
    assert_ok(&export);
    assert_eq!(export.stdout, before);
    let out = run_on(&db, &["sync", "--endpoint", &sim.url, "--project-id", "p1"]);
    assert_exit(&out, 2);
    let line = one_line_error(&out);
    let lower = line.to_lowercase();
    assert!(
        lower.contains("read-only") || lower.contains("readonly"),
        "{line}"
    );
    fs.remount("rw");
}

#[test]
fn a_database_path_under_a_file_is_a_usage_error() {
    let env = Env::new();
    let file = env.dir.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    let db = file.join("mirror.db");
    let sim = Sim::days(&[]);
    let out = run_on(&db, &["sync", "--endpoint", &sim.url, "--project-id", "p1"]);
    assert_exit(&out, 2);
    one_line_error(&out);
    assert_exit(&run_on(&db, &["runs"]), 2);
}

#[test]
fn malformed_flag_values_are_usage_errors() {
    let env = Env::new();
    for args in [
        vec!["sync", "--endpoint", "not a url", "--project-id", "p"],
        vec![
            "sync",
            "--endpoint",
            "https://x",
            "--project-id",
            "p",
            "--concurrency",
            "0",
        ],
        vec![
            "sync",
            "--endpoint",
            "https://x",
            "--project-id",
            "p",
            "--type",
            "OTHER",
        ],
        vec![
            "sync",
            "--endpoint",
            "https://x",
            "--project-id",
            "p",
            "--timeout",
            "-1",
        ],
        vec!["export", "--as-of", "run:abc"],
        vec!["export", "--format", "xml"],
        vec!["runs", "--color", "sometimes"],
        vec!["simulate", "--fail-rate", "2"],
        vec!["simulate", "--listen", "nowhere"],
        vec!["nonsense"],
    ] {
        let out = env.run(&args);
        assert_exit(&out, 2);
        assert!(!stderr(&out).contains("panicked"), "{args:?}");
    }
}

#[test]
fn servers_bind_loopback_by_default() {
    let sim = Sim::days(&[]);
    assert!(sim.url.starts_with("http://127.0.0.1:"));
}
