//! What several benches share: a `macat` process serving on a port, syncing a mirror from one,
//! committing a generated day through the store's write path, and percentiles.
//! (Each bench uses part of it.)
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use macat::api::types::Item;
use macat::store::snapshot::SnapshotWriter;
use macat::store::{ScopeKey, Store};

/// The `macat` binary this bench was built with.
pub const BIN: &str = env!("CARGO_BIN_EXE_macat");

/// A `macat serve` or `macat simulate` on port 0: the child and the URL it printed first.
/// Killed when dropped.
pub struct Server(pub Child, pub String);

impl Server {
    pub fn start(args: &[&str]) -> Server {
        Server::start_bin(BIN, args)
    }

    /// The same with another `macat` binary.
    pub fn start_bin(bin: &str, args: &[&str]) -> Server {
        let mut child = Command::new(bin)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start a server");
        let mut url = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut url)
            .unwrap();
        Server(child, url.trim().to_string())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Syncs the mirror `db` from the server at `url` (project `bench`), quietly; panics on failure.
pub fn sync_mirror(db: &str, url: &str) {
    let ok = Command::new(BIN)
        .args([
            "--db",
            db,
            "sync",
            "--endpoint",
            url,
            "--project-id",
            "bench",
            "-q",
        ])
        .status()
        .unwrap()
        .success();
    assert!(ok, "building the mirror failed");
}

/// The `p` quantile of sorted durations (nearest rank).
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Commits `images` as one run of the BUILD_IN and DEDICATED scopes through the store's own
/// write path; returns how many images it added, changed or removed.
pub fn commit_run(store: &mut Store, images: &[serde_json::Value]) -> u64 {
    let scopes: Vec<ScopeKey> = ["BUILD_IN", "DEDICATED"]
        .iter()
        .map(|t| ScopeKey {
            endpoint: "https://bench.invalid".into(),
            project_id: "bench".into(),
            workspace_id: "0".into(),
            image_type: t.to_string(),
            namespace: None,
        })
        .collect();
    let (run_id, scope_ids) = store.begin_run(&scopes).expect("begin run");
    let mut w = SnapshotWriter::begin(store.conn(), run_id).expect("begin snapshot");
    for (scope, id) in scopes.iter().zip(scope_ids) {
        w.start_scope(id, None).expect("scope");
        let items: Vec<Item> = images
            .iter()
            .filter(|v| v["type"] == scope.image_type.as_str())
            .map(|v| Item::from_value(v).expect("generated image"))
            .collect();
        for chunk in items.chunks(500) {
            w.add_items(chunk).expect("items");
        }
        w.end_scope().expect("end scope");
    }
    let c = w.commit(0).expect("commit");
    c.added + c.changed + c.removed
}
