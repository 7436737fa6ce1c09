//! Crash consistency: a sync killed at any point leaves the last committed snapshot intact, the
//! database passes `PRAGMA integrity_check`, and the next sync succeeds.
//!
//! Crash points are exact (`MACAT_CRASH_AT`: after the N-th page written, before the commit,
//! after the commit), plus `kill -9` at seeded random moments. The normal run tries a sample;
//! the long version tries every page of a small-page walk and 40 random kills:
//! `cargo test --release --test integration -- --ignored crash_long`.

use std::time::Duration;

use rand::{Rng, SeedableRng};

use crate::util::*;

/// Where a crash happened, and which day the mirror must show afterwards.
enum Crash {
    At(String),
    KillAfter(Duration),
}

fn crash_once(crash: &Crash) {
    let sim = Sim::days(&["--latency-ms", "10"]);
    let env = Env::new();
    assert_ok(&env.sync(&sim, &["--page-size", "10"]));
    sim.advance();
    let mut cmd = env.sync_command(&sim, &["--page-size", "10"]);
    let mut expect_day = 1;
    match crash {
        Crash::At(point) => {
            cmd.env("MACAT_CRASH_AT", point);
            let status = cmd.status().unwrap();
            assert!(!status.success(), "the sync should have crashed at {point}");
            if point == "after-commit" {
                expect_day = 2;
            }
        }
        Crash::KillAfter(delay) => {
            let mut child = cmd.spawn().unwrap();
            std::thread::sleep(*delay);
            let _ = child.kill();
            let status = child.wait().unwrap();
            if status.success() {
                expect_day = 2; // the kill came after the sync had finished
            }
        }
    }
    let label = match crash {
        Crash::At(p) => p.clone(),
        Crash::KillAfter(d) => format!("kill -9 after {} ms", d.as_millis()),
    };
    let check: String = env
        .sqlite()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok", "{label}");
    let got = env.export("latest");
    if expect_day == 2 || got != day_in_workspace0(1) {
        assert_same_catalog(&got, &day_in_workspace0(2));
    }
    let next = env.sync(&sim, &["--page-size", "10"]);
    assert_ok(&next);
    assert_same_catalog(&env.export("latest"), &day_in_workspace0(2));
    let runs = env.run(&["runs", "--format", "json"]);
    let runs: serde_json::Value = serde_json::from_slice(&runs.stdout).unwrap();
    assert_eq!(runs[0]["status"], "committed", "{label}");
    assert!(runs
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["status"] != "running"));
}

fn points(long: bool, seed: u64) -> Vec<Crash> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut out = vec![
        Crash::At("before-commit".into()),
        Crash::At("after-commit".into()),
        Crash::At("page:1".into()),
    ];
    // Day 2 in workspace 0 at 10 images a page: 12 BUILD_IN and 2 DEDICATED pages written.
    let pages: Vec<u64> = if long {
        (2..=14).collect()
    } else {
        vec![rng.gen_range(2..8), rng.gen_range(8..15)]
    };
    out.extend(pages.into_iter().map(|n| Crash::At(format!("page:{n}"))));
    let kills = if long { 40 } else { 3 };
    for _ in 0..kills {
        out.push(Crash::KillAfter(Duration::from_millis(
            rng.gen_range(20..400),
        )));
    }
    out
}

#[test]
fn a_crash_at_any_point_keeps_the_last_snapshot() {
    for crash in points(false, 1) {
        crash_once(&crash);
    }
}

#[test]
#[ignore = "long version: cargo test --release --test integration -- --ignored crash_long"]
fn crash_long_every_page_and_40_random_kills() {
    let crashes = points(true, 2);
    assert!(crashes.len() >= 50);
    for crash in crashes {
        crash_once(&crash);
    }
}
