//! The pages of `macat serve` and `macat report` (targets in BENCHMARKS.md): the search page
//! with a query on a 100,000-image mirror, `/runs` on a mirror of 365 runs, and the report of
//! the 100,000-image mirror. Run with `cargo bench --bench pages` (`-- --quick`: 20,000 images,
//! 90 runs).
//!
//! Mirrors are built by the real binary syncing from the simulator's generated catalogs; the
//! server is the real binary; one client asks one page at a time (latency, not throughput).

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{percentile, sync_mirror, Server, BIN};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One HTTP/1.1 request on a new connection (as a browser's first request): status, body size.
fn request(method: &str, url: &str) -> (u16, usize) {
    use std::io::{Read, Write};
    let rest = url.trim_start_matches("http://");
    let (addr, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).unwrap();
    let status = std::str::from_utf8(&resp[9..12]).unwrap().parse().unwrap();
    (status, resp.len())
}

/// Each URL in turn, `rounds` times; every answer a 200 with a body. Sorted latencies.
fn timed(urls: &[String], rounds: usize) -> Vec<Duration> {
    let mut lat = Vec::new();
    for _ in 0..rounds {
        for url in urls {
            let t = Instant::now();
            let (status, size) = request("GET", url);
            assert!(status == 200 && size > 300, "{url}: {status}");
            lat.push(t.elapsed());
        }
    }
    lat.sort();
    lat
}

const QUERIES: [&str; 8] = [
    "pytorch",
    "mindspore 2.2",
    "cuda 11.1",
    "snt9b",
    "pytroch",
    "tensorflow 2.6 aarch64",
    "mindsp*",
    "arch:aarch64 cann",
];

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (n, days) = if quick { (20_000, 90) } else { (100_000, 365) };
    let dir = tempfile::tempdir().unwrap();
    println!("# macat pages: search on a {n}-image mirror, /runs over {days} runs, report of the {n}-image mirror\n");
    println!("| measurement | value | target |\n|---|---|---|");

    // The search page on the large mirror.
    let big = dir.path().join("big.db");
    let big = big.to_str().unwrap();
    {
        let sim = Server::start(&["simulate", "--generate", &n.to_string(), "--seed", "1"]);
        sync_mirror(big, &sim.1);
    }
    {
        let server = Server::start(&["--db", big, "serve", "--listen", "127.0.0.1:0"]);
        let urls: Vec<String> = QUERIES
            .iter()
            .map(|q| {
                reqwest::Url::parse_with_params(&format!("{}/", server.1), &[("q", q)])
                    .unwrap()
                    .to_string()
            })
            .collect();
        timed(&urls[..1], 1); // opens the index
        let lat = timed(&urls, 50);
        println!(
            "| `/?q=...` ({} queries x 50, one at a time) p50 / p99 / max | {:.1} / {:.1} / {:.1} ms | p99 < 20 ms |",
            QUERIES.len(),
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.99)),
            ms(*lat.last().unwrap())
        );
    }
    let out = dir.path().join("report");
    let t = Instant::now();
    let report = Command::new(BIN)
        .args([
            "--db",
            big,
            "report",
            "--out",
            out.to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(report.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    println!(
        "| `macat report` of the {n}-image mirror (1 run) | {:.1} s, {} files ({} image pages) | |",
        t.elapsed().as_secs_f64(),
        summary["files"],
        summary["image_pages"]
    );

    // /runs on a mirror of many runs: a small catalog that changes every day.
    let many = dir.path().join("many.db");
    let many = many.to_str().unwrap();
    {
        let sim = Server::start(&[
            "simulate",
            "--generate",
            "2000",
            "--generate-days",
            &days.to_string(),
            "--change-rate",
            "0.02",
            "--seed",
            "2",
        ]);
        let advance = format!("{}/_sim/advance", sim.1);
        for day in 0..days {
            if day > 0 {
                assert_eq!(request("POST", &advance).0, 200);
            }
            sync_mirror(many, &sim.1);
        }
    }
    let server = Server::start(&["--db", many, "serve", "--listen", "127.0.0.1:0"]);
    for (path, what) in [
        ("/runs", "`/runs`"),
        ("/runs/sizes.svg", "`/runs/sizes.svg`"),
        ("/runs/changes.svg", "`/runs/changes.svg`"),
    ] {
        let urls = vec![format!("{}{path}", server.1)];
        let first = timed(&urls, 1);
        let lat = timed(&urls, 50);
        println!(
            "| {what}, {days} runs: first / p50 / p99 | {:.1} / {:.1} / {:.1} ms | p99 < 100 ms |",
            ms(first[0]),
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.99))
        );
    }
    // The same runs in a terminal: `macat runs`, one whole process each time.
    let mut runs: Vec<Duration> = (0..10)
        .map(|_| {
            let t = Instant::now();
            let out = Command::new(BIN)
                .args(["--db", many, "runs"])
                .output()
                .unwrap();
            assert!(out.status.success());
            t.elapsed()
        })
        .collect();
    runs.sort();
    println!(
        "| `macat runs`, {days} runs (one process, median of 10) | {:.1} ms | < 100 ms |",
        ms(runs[5])
    );
}
