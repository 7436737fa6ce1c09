//! `macat serve` under load (targets in BENCHMARKS.md): 16 concurrent clients paging through
//! 200-image pages of a 100,000-image mirror, the whole listing and a filtered one, then 16
//! clients searching it through `/images/search`. Run with `cargo bench --bench serve`
//! (`-- --quick` for 20,000 images; `MACAT_BENCH_IMAGES=1000000` for the scale target).
//!
//! The mirror is built by the real binary syncing from the simulator's generated catalog; the
//! server is the real binary; the clients are reqwest tasks in this process.

mod common;

use std::time::{Duration, Instant};

use common::{percentile, sync_mirror, Server};

const CLIENTS: usize = 16;
const PAGE: u64 = 200;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n: usize = match std::env::var("MACAT_BENCH_IMAGES") {
        Ok(v) => v.parse().expect("MACAT_BENCH_IMAGES is a number"),
        Err(_) if quick => 20_000,
        Err(_) => 100_000,
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mirror.db");
    let db_arg = db.to_str().unwrap();
    {
        let sim = Server::start(&["simulate", "--generate", &n.to_string(), "--seed", "1"]);
        sync_mirror(db_arg, &sim.1);
    }
    let started = Instant::now();
    let server = Server::start(&["--db", db_arg, "serve", "--listen", "127.0.0.1:0"]);
    let base = format!("{}/v1/bench/images", server.1);
    let listening = started.elapsed();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (latencies, wall, filtered, search) = rt.block_on(async {
        let http = reqwest::Client::new();
        // The first request: nothing is loaded before it.
        let warm = Instant::now();
        let total = total_of(&http, &format!("{base}?limit={PAGE}&offset=0")).await;
        println!("# macat serve under load: {n}-image mirror ({total} BUILD_IN), {CLIENTS} clients, {PAGE}-image pages");
        println!(
            "\nlistening {:.0} ms after start; first page {:.0} ms after that ({:.0} ms after start)",
            listening.as_secs_f64() * 1000.0,
            warm.elapsed().as_secs_f64() * 1000.0,
            started.elapsed().as_secs_f64() * 1000.0
        );
        let (all, wall) = load(&http, walks(&base, "", total.div_ceil(PAGE))).await;
        // The same with a filter (service_type=TRAIN, about a fifth of the listing).
        let train = total_of(&http, &format!("{base}?limit=1&service_type=TRAIN")).await;
        let filtered = load(
            &http,
            walks(&base, "&service_type=TRAIN", train.div_ceil(PAGE)),
        )
        .await;
        (all, wall, filtered, search_load(&http, &server.1).await)
    });
    let rss = std::fs::read_to_string(format!("/proc/{}/status", server.0.id()))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0);
    let mut sorted = latencies;
    sorted.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("\n| measurement | value | target |\n|---|---|---|");
    println!(
        "| pages served | {} in {:.2} s = {:.0} pages/s | >= 500 pages/s |",
        sorted.len(),
        wall.as_secs_f64(),
        sorted.len() as f64 / wall.as_secs_f64()
    );
    println!(
        "| latency p50 | {:.1} ms | |",
        ms(percentile(&sorted, 0.50))
    );
    println!(
        "| latency p99 | {:.1} ms | < 50 ms |",
        ms(percentile(&sorted, 0.99))
    );
    println!("| latency max | {:.1} ms | |", ms(*sorted.last().unwrap()));
    let (mut f, fwall) = filtered;
    f.sort();
    println!(
        "| filtered pages (`service_type=TRAIN`) | {} in {:.2} s = {:.0} pages/s | >= 1,000 pages/s |",
        f.len(),
        fwall.as_secs_f64(),
        f.len() as f64 / fwall.as_secs_f64()
    );
    println!(
        "| filtered latency p50 / p99 / max | {:.1} / {:.1} / {:.1} ms | p99 < 50 ms |",
        ms(percentile(&f, 0.50)),
        ms(percentile(&f, 0.99)),
        ms(*f.last().unwrap())
    );
    println!(
        "| serve's peak RSS | {:.0} MiB | < 500 MB |",
        rss as f64 / 1024.0
    );
    let (mut sorted, wall) = search;
    sorted.sort();
    println!(
        "| searches (`/images/search`, {} queries in turn) | {} in {:.2} s = {:.0} searches/s | |",
        QUERIES.len(),
        sorted.len(),
        wall.as_secs_f64(),
        sorted.len() as f64 / wall.as_secs_f64()
    );
    println!(
        "| search latency p50 / p99 | {:.1} ms / {:.1} ms | |",
        ms(percentile(&sorted, 0.50)),
        ms(percentile(&sorted, 0.99))
    );
}

/// The `total` a listing's page gives.
async fn total_of(http: &reqwest::Client, url: &str) -> u64 {
    let body = http.get(url).send().await.unwrap().bytes().await.unwrap();
    let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
    page["total"].as_u64().unwrap()
}

/// Client `c` walks every one of a listing's `pages` (its filter in `filter`), starting at a
/// different page than the others.
fn walks<'a>(base: &'a str, filter: &'a str, pages: u64) -> impl Fn(usize) -> Vec<String> + 'a {
    move |c| {
        (0..pages)
            .map(|k| {
                let page = (k + c as u64 * pages / CLIENTS as u64) % pages;
                format!("{base}?limit={PAGE}&offset={}{filter}", page * PAGE)
            })
            .collect()
    }
}

/// Searches of several kinds: words, versions, a typo, a prefix, a filter-like field.
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
const SEARCHES_PER_CLIENT: usize = 50;

/// 16 clients searching at once; returns each search's latency and the wall time.
async fn search_load(http: &reqwest::Client, url: &str) -> (Vec<Duration>, Duration) {
    let base = format!("{url}/v1/bench/images/search");
    // Warm-up: the first search opens the index.
    let first = http
        .get(&base)
        .query(&[("q", "pytorch")])
        .send()
        .await
        .unwrap();
    assert!(first.status().is_success());
    load(http, |c| {
        (0..SEARCHES_PER_CLIENT)
            .map(|k| {
                let q = QUERIES[(c + k) % QUERIES.len()];
                let url = reqwest::Url::parse_with_params(&base, &[("q", q)]).unwrap();
                url.to_string()
            })
            .collect()
    })
    .await
}

/// [`CLIENTS`] clients at once, client `c` requesting `urls(c)` in turn; every answer must be a
/// 200 with something in it (`[]` is nothing). Returns each request's latency and the wall time.
async fn load(
    http: &reqwest::Client,
    urls: impl Fn(usize) -> Vec<String>,
) -> (Vec<Duration>, Duration) {
    let start = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let http = http.clone();
            let urls = urls(c);
            tokio::spawn(async move {
                let mut lat = Vec::new();
                for url in urls {
                    let t = Instant::now();
                    let resp = http.get(&url).send().await.unwrap();
                    assert!(resp.status().is_success(), "{url}");
                    let body = resp.bytes().await.unwrap();
                    assert!(body.len() > 2, "{url}: {}", String::from_utf8_lossy(&body));
                    lat.push(t.elapsed());
                }
                lat
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    (all, start.elapsed())
}
