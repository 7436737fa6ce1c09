//! Points in time at scale: a mirror of a generated catalog (100,000 images by default) after
//! 30 runs with 1% of the catalog changing per run, then the real `macat` binary answering
//! `diff`, `export --as-of`, `list --as-of` and `history` on it, timed.
//!
//! The mirror is written through the store's own write path (`SnapshotWriter`, the code a sync
//! commits with, split into the two scopes a default sync walks) from the shared generator
//! (`simulate::generate`), so what is measured is what users get, minus the network. Numbers go
//! into BENCHMARKS.md; no test asserts on wall-clock time.
//!
//! ```sh
//! cargo bench --bench points_in_time
//! MACAT_BENCH_IMAGES=20000 MACAT_BENCH_RUNS=10 cargo bench --bench points_in_time
//! MACAT_BENCH_DB=/tmp/bench.db cargo bench --bench points_in_time   # keep the mirror
//! MACAT_BENCH_IMAGES=1000000 cargo bench --bench points_in_time      # the 10^6 scale target
//! ```

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use macat::api::types::Item;
use macat::simulate::generate::{evolve, generate};
use macat::store::snapshot::SnapshotWriter;
use macat::store::{ScopeKey, Store};

const SEED: u64 = 42;
const CHANGE_RATE: f64 = 0.01;
/// Timed repetitions of each command (the median is reported).
const REPEAT: usize = 5;

fn env_or(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The database's size on disk with its write-ahead log folded in.
fn db_size(store: &Store, db: &Path) -> u64 {
    store
        .conn()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .expect("checkpoint");
    let len = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    len(db) + len(&db.with_extension("db-wal"))
}

fn mib(bytes: u64) -> String {
    if bytes < 1024 * 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    }
}

/// Runs `macat --db DB ARGS` REPEAT times with stdout discarded; returns the median time and
/// the size of one run's output.
fn time_cli(db: &Path, args: &[&str]) -> (Duration, usize) {
    let bin = env!("CARGO_BIN_EXE_macat");
    let out = Command::new(bin)
        .arg("--db")
        .arg(db)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("COLUMNS")
        .output()
        .expect("run macat");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut times: Vec<Duration> = (0..REPEAT)
        .map(|_| {
            let t = Instant::now();
            let status = Command::new(bin)
                .arg("--db")
                .arg(db)
                .args(args)
                .stdout(Stdio::null())
                .status()
                .expect("run macat");
            assert!(status.success());
            t.elapsed()
        })
        .collect();
    times.sort();
    (times[REPEAT / 2], out.stdout.len())
}

/// Times migration 8 (version_keys) on a copy of the mirror taken back to schema 7, as a mirror
/// written by the previous release is.
fn migration(db: &Path, n: usize) {
    let copy = db.with_extension("v7.db");
    let _ = std::fs::remove_file(&copy);
    {
        let conn = rusqlite::Connection::open(db).expect("open");
        conn.execute_batch(&format!("VACUUM INTO '{}'", copy.display()))
            .expect("copy");
    }
    let conn = rusqlite::Connection::open(&copy).expect("open copy");
    conn.execute_batch(
        "DROP TRIGGER version_keys_insert; DROP TRIGGER version_keys_delete;
         DROP TRIGGER version_keys_range; DROP TRIGGER version_keys_replace;
         DROP TABLE version_keys; DROP VIEW version_keys_of; DROP TABLE version_keys_deferred;
         CREATE INDEX versions_q_created ON versions (q_type, q_workspace_id, q_create_at,
             valid_from, valid_to, q_namespace, q_service_type, q_name, scope_id, image_id);
         CREATE INDEX versions_q_updated ON versions (q_type, q_workspace_id, q_update_at,
             valid_from, valid_to, scope_id, image_id);
         CREATE INDEX versions_q_name ON versions (q_name, q_tag, valid_from, valid_to, q_type,
             q_workspace_id, scope_id, image_id);
         PRAGMA user_version = 7; VACUUM;",
    )
    .expect("back to schema 7");
    drop(conn);
    let before = std::fs::metadata(&copy).map_or(0, |m| m.len());
    let t = Instant::now();
    let store = Store::open_or_create(&copy).expect("migrate");
    let took = t.elapsed();
    let after = db_size(&store, &copy);
    drop(store);
    println!(
        "| migrating a schema-7 mirror of {n} images to schema 8 | {:.2} s ({} -> {}) |",
        took.as_secs_f64(),
        mib(before),
        mib(after)
    );
    let _ = std::fs::remove_file(&copy);
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let n = env_or("MACAT_BENCH_IMAGES", 100_000) as usize;
    let runs = env_or("MACAT_BENCH_RUNS", 30);
    let dir = tempfile::tempdir().expect("temp dir");
    // MACAT_BENCH_DB keeps the mirror (a new file) to explore it afterwards.
    let db = match std::env::var_os("MACAT_BENCH_DB") {
        Some(p) => std::path::PathBuf::from(p),
        None => dir.path().join("bench.db"),
    };
    assert!(
        !db.exists(),
        "{} exists: the benchmark writes a new mirror",
        db.display()
    );
    let mut store = Store::open_or_create(&db).expect("open the mirror");
    let scopes = ["BUILD_IN", "DEDICATED"].map(|t| ScopeKey {
        endpoint: "https://modelarts.cn-southwest-2.myhuaweicloud.com".into(),
        project_id: "bench".into(),
        workspace_id: "0".into(),
        image_type: t.into(),
        namespace: None,
    });

    println!("points_in_time: {n} images, {runs} runs, {CHANGE_RATE} of the catalog changing per run (seed {SEED})");
    let mut day = generate(n, SEED);
    let mut first_size = 0;
    let mut write_times = Vec::new();
    let mut some_changed_id = None;
    for r in 1..=runs {
        if r > 1 {
            let next = evolve(&day, r, CHANGE_RATE, SEED);
            if some_changed_id.is_none() {
                let before: std::collections::HashMap<&str, &serde_json::Value> = day
                    .iter()
                    .map(|v| (v["id"].as_str().unwrap_or(""), v))
                    .collect();
                some_changed_id = next
                    .iter()
                    .find(|v| {
                        before
                            .get(v["id"].as_str().unwrap_or(""))
                            .is_some_and(|b| *b != *v)
                    })
                    .map(|v| {
                        let text = |k: &str| v[k].as_str().unwrap_or("").to_string();
                        (text("id"), format!("{}:{}", text("name"), text("tag")))
                    });
            }
            day = next;
        }
        let items: Vec<Item> = day
            .iter()
            .map(|v| Item::from_value(v).expect("generated image"))
            .collect();
        let t = Instant::now();
        let (run_id, scope_ids) = store.begin_run(&scopes).expect("begin run");
        let mut w = SnapshotWriter::begin(store.conn(), run_id).expect("begin snapshot");
        let mut pages = 0;
        for (scope, id) in scopes.iter().zip(&scope_ids) {
            w.start_scope(*id, None).expect("scope");
            let of_scope: Vec<Item> = items
                .iter()
                .filter(|i| i.image.image_type.as_deref() == Some(scope.image_type.as_str()))
                .cloned()
                .collect();
            for page in of_scope.chunks(200) {
                w.add_items(page).expect("write page");
                pages += 1;
            }
            w.end_scope().expect("end scope");
        }
        let counts = w.commit(pages).expect("commit");
        write_times.push(t.elapsed());
        if r == 1 {
            first_size = db_size(&store, &db);
            let json: usize = items.iter().map(|i| i.raw.len()).sum();
            println!(
                "  run 1: database {} for {} of JSON ({:.2}x)",
                mib(first_size),
                mib(json as u64),
                first_size as f64 / json as f64
            );
        }
        if r == 1 || r == runs || r % 10 == 0 {
            println!(
                "  run {r}: {} images, +{} ~{} -{}, written in {:.2} s",
                counts.seen,
                counts.added,
                counts.changed,
                counts.removed,
                write_times.last().map_or(0.0, Duration::as_secs_f64)
            );
        }
    }
    let last_size = db_size(&store, &db);
    drop(store);

    println!();
    println!("| measure | result |");
    println!("|---|---|");
    println!(
        "| database after run 1 | {} |\n| database after run {runs} | {} ({:.2}x run 1) |",
        mib(first_size),
        mib(last_size),
        last_size as f64 / first_size as f64
    );
    let mut median_write = write_times[1..].to_vec();
    median_write.sort();
    if let Some(m) = median_write.get(median_write.len() / 2) {
        println!(
            "| writing one run's snapshot (median of runs 2-{runs}) | {:.2} s |",
            m.as_secs_f64()
        );
    }
    let prev = format!("run:{}", runs - 1);
    let last = format!("run:{runs}");
    let (history_id, history_name_tag) = some_changed_id.unwrap_or_default();
    // A name the default listing (BUILD_IN) holds in the last run.
    let exact_name = day
        .iter()
        .filter(|v| v["type"].as_str() == Some("BUILD_IN"))
        .find_map(|v| v["name"].as_str())
        .unwrap_or("")
        .to_string();
    // Built-in images have no namespace: the most common one of the dedicated images.
    let mut namespaces: std::collections::HashMap<&str, usize> = Default::default();
    for ns in day.iter().filter_map(|v| v["namespace"].as_str()) {
        *namespaces.entry(ns).or_default() += 1;
    }
    let namespace = namespaces
        .into_iter()
        .max_by_key(|&(ns, count)| (count, std::cmp::Reverse(ns)))
        .map_or("modelarts", |(ns, _)| ns)
        .to_string();
    let deep = (n / 2).to_string();
    // Search reads the index beside the mirror: build it once, untimed.
    let out = Command::new(env!("CARGO_BIN_EXE_macat"))
        .arg("--db")
        .arg(&db)
        .arg("reindex")
        .output()
        .expect("run macat reindex");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    migration(&db, n);
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            format!("`diff --from {prev} --to {last} --format json` (adjacent runs)"),
            vec!["diff", "--from", &prev, "--to", &last, "--format", "json"],
        ),
        (
            "`diff` (text report, the two latest runs)".into(),
            vec!["diff"],
        ),
        (
            format!("`diff --from run:1 --to {last} --format json`"),
            vec!["diff", "--from", "run:1", "--to", &last, "--format", "json"],
        ),
        (
            "`export --as-of run:1` (ndjson)".into(),
            vec!["export", "--as-of", "run:1"],
        ),
        (
            "`export --as-of latest` (ndjson)".into(),
            vec!["export", "--as-of", "latest"],
        ),
        (
            "`list --as-of run:1 --limit 1000 --sort-key name --format json`".into(),
            vec![
                "list",
                "--as-of",
                "run:1",
                "--limit",
                "1000",
                "--sort-key",
                "name",
                "--format",
                "json",
            ],
        ),
        (
            "`history ID --format json` (an image changed in run 2)".into(),
            vec!["history", &history_id, "--format", "json"],
        ),
        (
            "`history NAME:TAG --format json` (the same image by name)".into(),
            vec!["history", &history_name_tag, "--format", "json"],
        ),
        ("`show ID` (table)".into(), vec!["show", &history_id]),
        (
            "`show NAME:TAG` (table)".into(),
            vec!["show", &history_name_tag],
        ),
        ("`list --limit 20`".into(), vec!["list", "--limit", "20"]),
        (
            "`list --limit 20 --as-of run:1`".into(),
            vec!["list", "--limit", "20", "--as-of", "run:1"],
        ),
        (
            "`list --name pytorch --limit 5` (fuzzy)".into(),
            vec!["list", "--name", "pytorch", "--limit", "5"],
        ),
        (
            "`list --name NAME --name-fuzzy-match false`".into(),
            vec!["list", "--name", &exact_name, "--name-fuzzy-match", "false"],
        ),
        (
            format!("`list --type DEDICATED --namespace {namespace} --limit 20`"),
            vec![
                "list",
                "--type",
                "DEDICATED",
                "--namespace",
                &namespace,
                "--limit",
                "20",
            ],
        ),
        (
            format!(
                "`list --type DEDICATED --namespace {namespace} --sort-key update_at --limit 20`"
            ),
            vec![
                "list",
                "--type",
                "DEDICATED",
                "--namespace",
                &namespace,
                "--sort-key",
                "update_at",
                "--limit",
                "20",
            ],
        ),
        (
            "`list --service-type TRAIN --limit 20`".into(),
            vec!["list", "--service-type", "TRAIN", "--limit", "20"],
        ),
        (
            "`list --service-type TRAIN --limit 20 --as-of run:1`".into(),
            vec![
                "list",
                "--service-type",
                "TRAIN",
                "--limit",
                "20",
                "--as-of",
                "run:1",
            ],
        ),
        (
            "`list --type DEDICATED --limit 20`".into(),
            vec!["list", "--type", "DEDICATED", "--limit", "20"],
        ),
        (
            "`list --workspace-id 0 --limit 20`".into(),
            vec!["list", "--workspace-id", "0", "--limit", "20"],
        ),
        (
            format!("`list --sort-key create_at --limit 20 --offset {deep}`"),
            vec![
                "list",
                "--sort-key",
                "create_at",
                "--limit",
                "20",
                "--offset",
                &deep,
            ],
        ),
        (
            format!("`list --sort-key name --limit 20 --offset {deep}`"),
            vec![
                "list",
                "--sort-key",
                "name",
                "--limit",
                "20",
                "--offset",
                &deep,
            ],
        ),
        (
            "`search pytorch --limit 20`".into(),
            vec!["search", "pytorch", "--limit", "20"],
        ),
        ("`runs`".into(), vec!["runs"]),
    ];
    for (label, args) in cases {
        let (t, bytes) = time_cli(&db, &args);
        println!(
            "| {label} | {:.3} s ({} of output) |",
            t.as_secs_f64(),
            mib(bytes as u64)
        );
    }
}
