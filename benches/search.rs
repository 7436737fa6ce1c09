//! Search benchmark over a generated catalog (`macat::simulate::generate`):
//! index build time, the incremental update after a run that changed 1% of the catalog, warm
//! search latency (p50/p99 over a mix of queries), and the wall time of whole `macat search`
//! processes (open the mirror and the index, search, print).
//!
//! ```sh
//! cargo bench --bench search                 # 100,000 images
//! MACAT_BENCH_IMAGES=10000 cargo bench --bench search
//! ```
//!
//! Prints a Markdown summary for BENCHMARKS.md. Nothing here asserts on time.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use macat::index::{self, SearchIndex, SearchRequest};
use macat::simulate::generate::{evolve, generate};
use macat::store::Store;

use common::{commit_run, percentile};

// The allocator the macat binary uses, so that library code is timed as the binary runs it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SEED: u64 = 42;

/// Queries of every kind the language has: words, versions, typos, prefixes, phrases, fields,
/// boolean operators, Chinese, partial matches; with and without filters and history.
fn queries() -> Vec<SearchRequest> {
    let q = |s: &str| {
        SearchRequest::new(s)
            .and_then(|r| r.with_limit(20))
            .expect("a valid query")
    };
    let mut out: Vec<SearchRequest> = [
        "pytorch",
        "mindspore 2.2",
        "cuda 11.1",
        "pytorch 2.1 cann 8.0.rc1",
        "snt9b",
        "aarch64",
        "pytroch",
        "tensorflwo 2.6",
        "mindsp*",
        "\"cuda 12.1\"",
        "verl OR mindie",
        "pytorch -cuda",
        "arch:aarch64 mindspore",
        "昇腾推理",
        "distributed training",
        "nlp-research sft",
        // Partial matches: no image has every word, so the page is filled with the closest.
        "notebook ssh",
        "distributed inference solver",
        "pytorch serving weather forecast",
    ]
    .iter()
    .map(|s| q(s))
    .collect();
    let f = q("pytorch 2.7")
        .with_filter("arch", "x86_64")
        .and_then(|r| r.with_filter("type", "BUILD_IN"))
        .expect("valid filters");
    out.push(f);
    out.push(q("mindspore").with_include_removed(true));
    out.push(q("tensorflow 2.10").at_run(1));
    out
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// Commits one run holding `images` (split into the BUILD_IN and DEDICATED scopes).
fn end_to_end(db: &Path, query: &str) -> Duration {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_macat"))
        .arg("--db")
        .arg(db)
        .args(["search", query])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .expect("run macat");
    let took = started.elapsed();
    assert!(out.status.success(), "macat search {query} failed");
    took
}

fn main() {
    let n: usize = std::env::var("MACAT_BENCH_IMAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    // MACAT_BENCH_QUERIES_ONLY=DIR: reuse (or first create) the mirror in DIR and only time
    // searches; for profiling query changes without rebuilding a catalog each time.
    let reuse = std::env::var_os("MACAT_BENCH_QUERIES_ONLY").map(std::path::PathBuf::from);
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = reuse.clone().unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir).expect("bench dir");
    let db = dir.join("bench.db");
    if reuse.is_some() && db.exists() {
        let mut store = Store::open_existing(&db).expect("mirror");
        // MACAT_BENCH_EVOLVE=N: first commit N more runs of 1% changes (the index then has
        // the segments its updates leave, as it would after N syncs).
        let more: u32 = std::env::var("MACAT_BENCH_EVOLVE")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if more > 0 {
            SearchIndex::open(&store).expect("open");
            let mut day = generate(n, SEED);
            for d in 0..more {
                day = evolve(&day, 100 + d, 0.01, SEED);
                commit_run(&mut store, &day);
                index::update(&store).expect("update");
            }
        }
        queries_only(&store);
        return;
    }
    let mut store = Store::open_or_create(&db).expect("mirror");

    let t = Instant::now();
    let day1 = generate(n, SEED);
    commit_run(&mut store, &day1);
    let mirror_took = t.elapsed();

    let t = Instant::now();
    let built = SearchIndex::rebuild(&store).expect("build");
    let build_took = t.elapsed();
    let documents = built.report().documents;
    drop(built);

    let day2 = evolve(&day1, 2, 0.01, SEED);
    let changed = commit_run(&mut store, &day2);
    let t = Instant::now();
    let updated = index::update(&store).expect("update");
    let update_took = t.elapsed();

    // Warm: one open index, every query run once untimed, then timed rounds.
    let ix = SearchIndex::open(&store).expect("open");
    let qs = queries();
    for q in &qs {
        ix.search(q).expect("search");
    }
    let rounds = 100;
    let mut all = Vec::with_capacity(rounds * qs.len());
    let mut per_query: Vec<Vec<Duration>> = vec![Vec::new(); qs.len()];
    let mut hits = vec![0usize; qs.len()];
    for _ in 0..rounds {
        for (i, q) in qs.iter().enumerate() {
            let t = Instant::now();
            let h = ix.search(q).expect("search");
            let d = t.elapsed();
            hits[i] = h.len();
            all.push(d);
            per_query[i].push(d);
        }
    }
    all.sort();

    // Whole processes, page cache warm (the first run is not counted).
    let e2e_queries = [
        "pytorch 2.1",
        "mindspore 2.2 snt9b",
        "pytroch",
        "mindsp*",
        "昇腾",
    ];
    for q in e2e_queries {
        end_to_end(&db, q);
    }
    let mut e2e = Vec::new();
    for _ in 0..20 {
        for q in e2e_queries {
            e2e.push(end_to_end(&db, q));
        }
    }
    e2e.sort();

    let index_bytes: u64 = std::fs::read_dir(index::index_dir(&db))
        .map(|d| {
            d.filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);

    println!("## Search: {n} generated images (seed {SEED})\n");
    println!("| what | result |");
    println!("|---|---|");
    println!(
        "| mirror written (run 1, not the index) | {} |",
        ms(mirror_took)
    );
    println!(
        "| index build from the mirror | {} ({documents} documents, {:.1} MiB) |",
        ms(build_took),
        index_bytes as f64 / 1048576.0
    );
    println!(
        "| incremental update after a run changing 1% ({changed} added/changed/removed) | {} ({} versions rewritten) |",
        ms(update_took),
        updated.written
    );
    println!(
        "| warm search latency, {} searches of {} queries, limit 20 | p50 {}, p99 {}, max {} |",
        all.len(),
        qs.len(),
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.99)),
        ms(*all.last().expect("samples"))
    );
    println!(
        "| one `macat search` process (open + query + print), {} runs | p50 {}, p99 {} |",
        e2e.len(),
        ms(percentile(&e2e, 0.5)),
        ms(percentile(&e2e, 0.99))
    );
    println!("\nPer query (warm, {rounds} runs each):\n");
    println!("| query | hits | p50 | p99 |");
    println!("|---|---|---|---|");
    for (i, q) in qs.iter().enumerate() {
        let mut d = per_query[i].clone();
        d.sort();
        let mut label = format!("`{}`", q.query());
        for (f, v) in q.filters() {
            label.push_str(&format!(" --{} {v}", f.replace('_', "-")));
        }
        if q.include_removed() {
            label.push_str(" --include-removed");
        }
        if let Some(r) = q.run() {
            label.push_str(&format!(" --as-of run:{r}"));
        }
        println!(
            "| {label} | {} | {} | {} |",
            hits[i],
            ms(percentile(&d, 0.5)),
            ms(percentile(&d, 0.99))
        );
    }
}

fn queries_only(store: &Store) {
    let ix = SearchIndex::open(store).expect("open");
    let mut qs = queries();
    if let Ok(only) = std::env::var("MACAT_BENCH_ONLY") {
        qs.retain(|q| q.query() == only);
    }
    for q in &qs {
        ix.search(q).expect("search");
    }
    let rounds: usize = std::env::var("MACAT_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let mut all = Vec::new();
    for (i, q) in qs.iter().enumerate() {
        let mut d = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let t = Instant::now();
            ix.search(q).expect("search");
            d.push(t.elapsed());
        }
        d.sort();
        println!(
            "{i:2} {:<40} p50 {} p99 {}",
            q.query(),
            ms(percentile(&d, 0.5)),
            ms(percentile(&d, 0.99))
        );
        all.extend(d);
    }
    all.sort();
    println!(
        "all: p50 {} p99 {}",
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.99))
    );
}
