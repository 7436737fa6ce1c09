//! Watch benchmark: the cost a sync adds to check 10 and 100 watches after a run over a
//! generated catalog of 100,000 images (about 1% of it changed), and the time to deliver one
//! event to a webhook receiver on loopback.
//!
//! ```sh
//! cargo bench --bench watch                       # 100,000 images
//! MACAT_BENCH_IMAGES=10000 cargo bench --bench watch
//! ```
//!
//! Prints a Markdown summary for BENCHMARKS.md. Nothing here asserts on time.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use macat::index::{self, SearchIndex};
use macat::simulate::generate::{evolve, generate};
use macat::store::Store;
use macat::watch::{self, NewWatch};

use common::commit_run;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SEED: u64 = 42;

/// What people watch: frameworks, versions, chips, with and without filters.
const QUERIES: &[(&str, &[(&str, &str)])] = &[
    ("pytorch", &[]),
    ("mindspore", &[]),
    ("pytorch", &[("arch", "aarch64")]),
    ("mindspore 2.2", &[]),
    ("cuda 11.1", &[]),
    ("snt9b", &[]),
    ("tensorflow", &[("arch", "x86_64")]),
    ("cann 8.0.rc1", &[]),
    ("verl OR mindie", &[]),
    ("mindsp*", &[("service_type", "TRAIN")]),
    ("pytorch 2.1 cann", &[]),
    ("ubuntu", &[("category", "GPU")]),
];

fn add_watches(db: &std::path::Path, prefix: &str, n: usize, webhook: Option<&str>) {
    for i in 0..n {
        let (query, filters) = QUERIES[i % QUERIES.len()];
        watch::add(
            db,
            NewWatch {
                name: format!("{prefix}{i}"),
                query: query.into(),
                filters: filters
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<BTreeMap<_, _>>(),
                webhook: webhook.map(str::to_string),
                secret_file: None,
                insecure_http: false,
            },
        )
        .expect("add watch");
    }
}

/// A receiver answering 204 to every POST, counting them; returns its URL.
fn receiver(count: Arc<AtomicU64>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = axum::Router::new().fallback(move || {
                count.fetch_add(1, Ordering::Relaxed);
                async { axum::http::StatusCode::NO_CONTENT }
            });
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    url
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let n: usize = std::env::var("MACAT_BENCH_IMAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let mut store = Store::open_or_create(&db).unwrap();
    let day1 = generate(n, SEED);
    commit_run(&mut store, &day1);
    SearchIndex::rebuild(&store).unwrap();

    // 10 watches, then a run changing ~1% of the catalog.
    add_watches(&db, "a", 10, None);
    let day2 = evolve(&day1, 2, 0.01, SEED);
    let changed2 = commit_run(&mut store, &day2);
    index::update(&store).unwrap();
    let t = Instant::now();
    let index = SearchIndex::open(&store).unwrap();
    let made10 = watch::catch_up(&store, &index).unwrap();
    let ten = t.elapsed();

    // 100 watches (the 10 removed), posting to a receiver on loopback.
    for i in 0..10 {
        store.remove_watch(&format!("a{i}")).unwrap();
    }
    let count = Arc::new(AtomicU64::new(0));
    let url = receiver(count.clone());
    add_watches(&db, "b", 100, Some(&url));
    let day3 = evolve(&day2, 3, 0.01, SEED);
    let changed3 = commit_run(&mut store, &day3);
    index::update(&store).unwrap();
    let t = Instant::now();
    let index = SearchIndex::open(&store).unwrap();
    let made100 = watch::catch_up(&store, &index).unwrap();
    let hundred = t.elapsed();

    let t = Instant::now();
    let d = watch::deliver::deliver_pending(&store).unwrap();
    let delivery = t.elapsed();
    assert_eq!(d.delivered, made100);
    assert_eq!(count.load(Ordering::Relaxed), made100);

    println!("| what | images | changed in the run | events | time |");
    println!("|---|---|---|---|---|");
    println!(
        "| check 10 watches after a sync | {n} | {changed2} | {made10} | {} |",
        ms(ten)
    );
    println!(
        "| check 100 watches after a sync | {n} | {changed3} | {made100} | {} |",
        ms(hundred)
    );
    println!(
        "| deliver {} events to a loopback receiver | | | {} | {} ({} per event) |",
        d.delivered,
        d.delivered,
        ms(delivery),
        ms(delivery / d.delivered.max(1) as u32)
    );
}
