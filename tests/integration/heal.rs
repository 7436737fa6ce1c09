//! The index heals: a seeded corruption loop over every kind of index file (bytes flipped, the
//! file truncated or deleted, the whole index swapped for another mirror's). After each, every
//! command that searches (`macat search`, `macat watch check`, serve's search endpoint and
//! search page) answers exactly what a fresh index answers, or fails with one line; never a
//! panic.
//!
//! The normal run tries a dozen seeded trials; the long version 216:
//! `cargo test --release --test integration -- --ignored heal_long --nocapture`.

use std::path::{Path, PathBuf};
use std::process::Output;

use rand::{Rng, SeedableRng};

use crate::util::*;

/// Every kind of file in the index directory: tantivy's segment files, its metadata, and the
/// record of which files were checked.
const KINDS: [&str; 9] = [
    "idx",
    "store",
    "term",
    "pos",
    "fast",
    "fieldnorm",
    "meta.json",
    ".managed.json",
    "macat-checked.json",
];

#[derive(Debug, Clone, Copy)]
enum Damage {
    Flip,
    Truncate,
    Delete,
    /// The whole index replaced by another mirror's.
    Foreign,
}

const QUERIES: [&[&str]; 3] = [
    &["pytorch 2.1", "--limit", "50"],
    &["*", "--limit", "500", "--include-removed"],
    &["mindspore", "--as-of", "run:1"],
];

/// A watch's full match sets at two runs, compared.
const WATCH_CHECK: &[&str] = &[
    "watch", "check", "ms", "--from", "run:1", "--to", "run:3", "--format", "json",
];

const ENDPOINTS: [&str; 3] = [
    "/v1/p1/images/search?q=pytorch+2.1&limit=50",
    "/v1/p1/images/search?q=*&limit=500&include_removed=true",
    "/?q=mindspore&as_of=run:1",
];

fn index_dir(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(".index");
    PathBuf::from(s)
}

fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// The files of `kind` in the index directory, by name.
fn files_of(dir: &Path, kind: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name == kind || p.extension().is_some_and(|e| e == kind)
        })
        .collect();
    files.sort();
    files
}

/// Damages the index at `dir` as trial `seed` says; returns what was done, for messages.
fn damage(dir: &Path, foreign: &Path, kind: &str, how: Damage, seed: u64) -> String {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    if let Damage::Foreign = how {
        copy_dir(foreign, dir);
        return "swapped in another mirror's index".into();
    }
    let files = files_of(dir, kind);
    assert!(!files.is_empty(), "no {kind} file in {}", dir.display());
    let file = &files[rng.gen_range(0..files.len())];
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    let mut bytes = std::fs::read(file).unwrap();
    match how {
        Damage::Flip => {
            let n = rng.gen_range(1..=4);
            let mut at = Vec::new();
            for _ in 0..n {
                let i = rng.gen_range(0..bytes.len().max(1));
                if let Some(b) = bytes.get_mut(i) {
                    *b ^= rng.gen_range(1..=255u8);
                    at.push(i);
                }
            }
            std::fs::write(file, &bytes).unwrap();
            format!("flipped bytes {at:?} of {name} ({} bytes)", bytes.len())
        }
        Damage::Truncate => {
            let to = rng.gen_range(0..bytes.len().max(1));
            bytes.truncate(to);
            std::fs::write(file, &bytes).unwrap();
            format!("truncated {name} to {to} bytes")
        }
        Damage::Delete => {
            std::fs::remove_file(file).unwrap();
            format!("deleted {name}")
        }
        Damage::Foreign => unreachable!(),
    }
}

/// What the trials found.
#[derive(Default, Debug)]
struct Tally {
    trials: usize,
    /// Answers equal to a fresh index's after the index said it was rebuilt.
    rebuilt: usize,
    /// Answers equal to a fresh index's, nothing rebuilt (the damage did not touch them).
    unaffected: usize,
    /// Commands that failed with one line.
    failed_cleanly: usize,
}

/// A command's outcome: the same answer as a fresh index, or a one-line failure; no panic.
fn judge_cli(out: &Output, want: &[u8], what: &str, tally: &mut Tally) {
    let err = stderr(out);
    assert_ne!(out.status.code(), Some(101), "{what}: panicked: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace") && !err.contains("internal error"),
        "{what}: {err}"
    );
    assert!(
        err.matches("rebuilt").count() <= 1,
        "{what}: said more than once that it rebuilt: {err}"
    );
    if out.status.success() {
        assert!(
            out.stdout == want,
            "{what}: answered differently from a fresh index ({} bytes, want {}); stderr: {err}",
            out.stdout.len(),
            want.len()
        );
        if err.contains("rebuilt") {
            tally.rebuilt += 1;
        } else {
            tally.unaffected += 1;
        }
    } else {
        assert_eq!(out.status.code(), Some(1), "{what}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{what}: {err}");
        tally.failed_cleanly += 1;
    }
}

fn judge_served(got: &(u16, String), want: &str, what: &str, tally: &mut Tally) {
    let (status, body) = got;
    assert!(
        !body.contains("panicked") && !body.contains("backtrace"),
        "{what}: {body}"
    );
    if *status == 200 {
        assert!(
            body == want,
            "{what}: answered differently from a fresh index ({} bytes, want {})",
            body.len(),
            want.len()
        );
        tally.unaffected += 1;
    } else {
        assert_eq!(*status, 500, "{what}: {body}");
        assert_eq!(body.trim().lines().count(), 1, "{what}: {body}");
        tally.failed_cleanly += 1;
    }
}

fn search(env: &Env, q: &[&str]) -> Output {
    let mut args = vec!["search"];
    args.extend_from_slice(q);
    args.extend_from_slice(&["--format", "json"]);
    env.run(&args)
}

fn corruption_loop(trials: usize, seed: u64) -> Tally {
    let (_sim, env) = three_day_mirror();
    let dir = index_dir(&env.db);
    // The fresh index and what it answers.
    assert_ok(&env.run(&["watch", "add", "ms", "mindspore"]));
    assert_ok(&env.run(&["reindex"]));
    let want_watch = {
        let out = env.run(WATCH_CHECK);
        assert_ok(&out);
        out.stdout
    };
    let want_cli: Vec<Vec<u8>> = QUERIES
        .iter()
        .map(|q| {
            let out = search(&env, q);
            assert_ok(&out);
            assert!(stderr(&out).is_empty(), "{}", stderr(&out));
            out.stdout
        })
        .collect();
    let want_served: Vec<String> = {
        let server = Sim::serve(&env.db, &[], &[]);
        ENDPOINTS
            .iter()
            .map(|p| {
                let (status, body) = server.get(p);
                assert_eq!(status, 200, "{p}: {body}");
                body
            })
            .collect()
    };
    let keep = tempfile::tempdir().unwrap();
    let pristine = keep.path().join("pristine");
    copy_dir(&dir, &pristine);
    // Another mirror's index: the first fixture day alone (its run 1 is not this mirror's).
    let other = Env::new();
    assert_ok(&other.sync(&Sim::days(&[]), &[]));
    let foreign = keep.path().join("foreign");
    copy_dir(&index_dir(&other.db), &foreign);

    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut tally = Tally::default();
    for trial in 0..trials {
        let kind = KINDS[trial % KINDS.len()];
        // Every kind meets every damage as the trials go round; one in twelve is foreign.
        let how = if trial % 12 == 11 {
            Damage::Foreign
        } else {
            [Damage::Flip, Damage::Truncate, Damage::Delete][(trial + trial / KINDS.len()) % 3]
        };
        let trial_seed: u64 = rng.gen();
        // The same damage met first by `macat search`, then by a server.
        copy_dir(&pristine, &dir);
        let done = damage(&dir, &foreign, kind, how, trial_seed);
        for (q, want) in QUERIES.iter().zip(&want_cli) {
            let what = format!("trial {trial} ({done}), macat search {q:?}");
            judge_cli(&search(&env, q), want, &what, &mut tally);
        }
        copy_dir(&pristine, &dir);
        damage(&dir, &foreign, kind, how, trial_seed);
        let what = format!("trial {trial} ({done}), macat watch check");
        judge_cli(&env.run(WATCH_CHECK), &want_watch, &what, &mut tally);
        copy_dir(&pristine, &dir);
        damage(&dir, &foreign, kind, how, trial_seed);
        let server = Sim::serve(&env.db, &[], &[]);
        for (p, want) in ENDPOINTS.iter().zip(&want_served) {
            let what = format!("trial {trial} ({done}), serve GET {p}");
            judge_served(&server.get(p), want, &what, &mut tally);
        }
        drop(server);
        tally.trials += 1;
    }
    eprintln!("index corruption loop: {tally:?}");
    tally
}

#[test]
fn a_damaged_index_heals_or_fails_in_one_line() {
    let tally = corruption_loop(12, 20);
    assert_eq!(tally.trials, 12);
    assert!(tally.rebuilt > 0, "{tally:?}");
}

#[test]
#[ignore = "long version: cargo test --release --test integration -- --ignored heal_long --nocapture"]
fn heal_long_216_seeded_corruptions() {
    let tally = corruption_loop(216, 2026);
    assert_eq!(tally.trials, 216);
    assert!(tally.rebuilt > 0, "{tally:?}");
}
