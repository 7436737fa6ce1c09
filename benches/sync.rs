//! Sync benchmarks at 100,000 images (issue targets in BENCHMARKS.md).
//!
//! Run with `cargo bench --bench sync` (add `-- --quick` for 20,000 images;
//! `MACAT_BENCH_IMAGES=1000000 cargo bench --bench sync -- --first-only` for the scale target). It drives the real
//! release binary against the real simulator on loopback, as a user would, and measures:
//! first sync (wall, peak RSS, database size against the JSON received), re-sync of the
//! unchanged catalog (wall, database growth), syncs under 50 ms of latency per page at
//! concurrency 1/4/8/16 against the floor (pages x latency / concurrency), and the
//! parse + hash + write path alone, without HTTP; then the round trips of small catalogs (150
//! and 2,000 images at 200 ms a request) against their floor.
//!
//! `-- --only round-trips` runs only the round-trip rows; `MACAT_BENCH_BIN=PATH` measures another
//! build of `macat` (an earlier commit's, for a before/after).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use macat::api::types::parse_page;
use macat::simulate::generate::generate;
use macat::store::snapshot::SnapshotWriter;
use macat::store::{ScopeKey, Store};

use common::Server;

/// The `macat` measured: `$MACAT_BENCH_BIN`, else the one this bench was built with.
fn bin() -> String {
    std::env::var("MACAT_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_macat").to_string())
}

/// The simulator serving `n` generated images, each request answered `latency_ms` after it came.
fn start_sim(n: usize, latency_ms: u64) -> Server {
    let sim = Server::start_bin(
        &bin(),
        &[
            "simulate",
            "--generate",
            &n.to_string(),
            "--seed",
            "1",
            "--latency-ms",
            &latency_ms.to_string(),
        ],
    );
    // The simulator sorts a selection of its catalog the first time it is asked for it:
    // its own one-time cost, kept out of the syncs measured.
    for ty in ["BUILD_IN", "DEDICATED"] {
        get(&sim.1, &format!("/v1/bench/images?type={ty}&limit=1"));
    }
    sim
}

/// A plain HTTP GET of `path` from the server at `url`; panics unless it answers 200.
fn get(url: &str, path: &str) {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("connect to the simulator");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{path}: {response}");
}

struct Run {
    wall: Duration,
    peak_rss_kb: u64,
    report: serde_json::Value,
}

/// Runs `macat sync`, sampling its peak RSS (VmHWM) from /proc while it runs.
fn sync(db: &Path, url: &str, concurrency: u32) -> Run {
    let start = Instant::now();
    let mut child = Command::new(bin())
        .arg("--db")
        .arg(db)
        .args([
            "sync",
            "--endpoint",
            url,
            "--project-id",
            "bench",
            "-q",
            "--format",
            "json",
        ])
        .args([
            "--page-size",
            "200",
            "--concurrency",
            &concurrency.to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start sync");
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status_path) {
            if let Some(kb) = text
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
            {
                peak = peak.max(kb);
            }
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let wall = start.elapsed();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "sync failed");
    Run {
        wall,
        peak_rss_kb: peak,
        report: serde_json::from_slice(&out.stdout).unwrap(),
    }
}

fn size(db: &Path) -> u64 {
    let mut total = 0;
    for suffix in ["", "-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        total += std::fs::metadata(PathBuf::from(p))
            .map(|m| m.len())
            .unwrap_or(0);
    }
    total
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// Syncs of small catalogs at 200 ms a request, against their floor: every scope's first page
/// (one round trip), then the other pages `concurrency` at a time, then one round trip to check
/// a scope of several pages (the re-read of its first page).
fn round_trips(dir: &Path) {
    let latency = 200;
    println!(
        "\n| images | concurrency | pages (BUILD_IN + DEDICATED) | floor | first sync: committed | / floor | re-sync: committed | / floor | requests |\n|---|---|---|---|---|---|---|---|---|"
    );
    for (n, c) in [(150usize, 4u32), (2_000, 4), (2_000, 8)] {
        let catalog = generate(n, 1);
        let pages: Vec<u64> = ["BUILD_IN", "DEDICATED"]
            .iter()
            .map(|ty| {
                let count = catalog
                    .iter()
                    .filter(|v| {
                        v["type"] == *ty && v["workspace_id"].as_str().unwrap_or("0") == "0"
                    })
                    .count() as u64;
                count.div_ceil(200).max(1)
            })
            .collect();
        let rest: u64 = pages.iter().map(|p| p - 1).sum();
        let check = u64::from(pages.iter().any(|&p| p > 1));
        let trips = 1 + rest.div_ceil(u64::from(c)) + check;
        let floor = trips as f64 * latency as f64 / 1000.0;
        let sim = start_sim(n, latency);
        let db = dir.join(format!("round-trips-{n}-{c}.db"));
        let first = sync(&db, &sim.1, c);
        let again = sync(&db, &sim.1, c);
        let secs = |r: &Run| r.report["duration_ms"].as_f64().unwrap() / 1000.0;
        println!(
            "| {n} | {c} | {} + {} | {trips} x {latency} ms = {floor:.2} s | {:.2} s | {:.2}x | {:.2} s | {:.2}x | {} |",
            pages[0],
            pages[1],
            secs(&first),
            secs(&first) / floor,
            secs(&again),
            secs(&again) / floor,
            again.report["pages"]
        );
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let args: Vec<String> = std::env::args().collect();
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    if only.as_deref() == Some("round-trips") {
        let dir = tempfile::tempdir().unwrap();
        println!("# macat sync benchmark: round trips of small catalogs, page size 200");
        round_trips(dir.path());
        return;
    }
    let n: usize = match std::env::var("MACAT_BENCH_IMAGES") {
        Ok(v) => v.parse().expect("MACAT_BENCH_IMAGES is a number"),
        Err(_) if quick => 20_000,
        Err(_) => 100_000,
    };
    // `-- --first-only`: the first sync and the unchanged re-sync, nothing after (the 10^6 run).
    let first_only = args.iter().any(|a| a == "--first-only");
    let dir = tempfile::tempdir().unwrap();
    println!("# macat sync benchmark: {n} images, page size 200");

    let catalog = generate(n, 1);
    let raw_bytes: u64 = catalog
        .iter()
        .map(|v| serde_json::to_string(v).unwrap().len() as u64)
        .sum();

    // First sync and re-sync, no latency.
    let sim = start_sim(n, 0);
    let db = dir.path().join("first.db");
    let first = sync(&db, &sim.1, 4);
    let first_size = size(&db);
    let again = sync(&db, &sim.1, 4);
    let growth = size(&db) as i64 - first_size as i64;
    drop(sim);
    println!("\n| measurement | value | target |\n|---|---|---|");
    println!(
        "| first sync, wall (walk, commit, first search index) | {:.2} s ({} pages; committed after {:.2} s) | < 5 s |",
        first.wall.as_secs_f64(),
        first.report["pages"],
        first.report["duration_ms"].as_f64().unwrap() / 1000.0
    );
    println!(
        "| first sync, peak RSS | {:.0} MiB | < 200 MB |",
        first.peak_rss_kb as f64 / 1024.0
    );
    println!(
        "| database after first sync / JSON received | {:.1} MB / {:.1} MB = {:.2}x | < 1.5x |",
        mb(first_size),
        mb(raw_bytes),
        first_size as f64 / raw_bytes as f64
    );
    println!(
        "| re-sync unchanged, wall | {:.2} s | < 2 s |",
        again.wall.as_secs_f64()
    );
    println!("| re-sync unchanged, database growth | {growth} bytes | < 4096 bytes |");
    println!(
        "| re-sync unchanged, changes recorded | +{} ~{} -{} | 0 |",
        again.report["added"], again.report["changed"], again.report["removed"]
    );

    if first_only {
        return;
    }

    // Latency-bound syncs.
    let latency = 50;
    let sim = start_sim(n, latency);
    println!(
        "\n| concurrency | pages | floor (pages x {latency} ms / concurrency) | first sync: committed | / floor | first sync: index built too | / floor | re-sync: wall | / floor |\n|---|---|---|---|---|---|---|---|---|"
    );
    for c in [1u32, 4, 8, 16] {
        if quick && c == 1 {
            continue;
        }
        let db = dir.path().join(format!("latency-{c}.db"));
        let first = sync(&db, &sim.1, c);
        let again = sync(&db, &sim.1, c);
        let pages = first.report["pages"].as_u64().unwrap();
        let floor = pages as f64 * latency as f64 / 1000.0 / c as f64;
        // The run is committed (its `duration_ms`) before the first search index is built.
        let committed = first.report["duration_ms"].as_f64().unwrap() / 1000.0;
        println!(
            "| {c} | {pages} | {floor:.2} s | {committed:.2} s | {:.2}x | {:.2} s | {:.2}x | {:.2} s | {:.2}x |",
            committed / floor,
            first.wall.as_secs_f64(),
            first.wall.as_secs_f64() / floor,
            again.wall.as_secs_f64(),
            again.wall.as_secs_f64() / floor
        );
    }
    drop(sim);

    // Parse + hash + write, without HTTP: page bodies straight into one snapshot.
    let bodies: Vec<String> = catalog
        .chunks(200)
        .map(|chunk| {
            serde_json::json!({"current": 1, "data": chunk, "pages": 1, "size": 200, "total": n})
                .to_string()
        })
        .collect();
    drop(catalog);
    let db = dir.path().join("write.db");
    let mut store = Store::open_or_create(&db).unwrap();
    let scope = ScopeKey {
        endpoint: "https://bench".into(),
        project_id: "bench".into(),
        workspace_id: "0".into(),
        image_type: "BUILD_IN".into(),
        namespace: None,
    };
    let (run_id, scope_ids) = store.begin_run(std::slice::from_ref(&scope)).unwrap();
    let start = Instant::now();
    let pages: Vec<_> = bodies
        .iter()
        .map(|b| parse_page(b.as_bytes()).unwrap())
        .collect();
    let parse = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut writer = SnapshotWriter::begin(store.conn(), run_id).unwrap();
    writer.start_scope(scope_ids[0], None).unwrap();
    for page in &pages {
        writer.add_items(&page.items).unwrap();
    }
    writer.end_scope().unwrap();
    writer.commit(bodies.len() as u64).unwrap();
    let write = start.elapsed().as_secs_f64();
    let t = parse + write;
    println!("\n| path without HTTP ({n} images) | time | images/s |\n|---|---|---|");
    println!(
        "| parse + validate + canonicalize + hash | {parse:.2} s | {:.0} |",
        n as f64 / parse
    );
    println!(
        "| write one snapshot (first sync) | {write:.2} s | {:.0} |",
        n as f64 / write
    );
    println!("| both, one thread | {t:.2} s | {:.0} |", n as f64 / t);

    round_trips(dir.path());
}
