//! A consistent copy of the mirror (`macat backup`), taken while syncs and servers keep running.
//!
//! The mirror's history cannot be fetched again (the API only knows today), so the copy must be
//! whole or absent. It is made with SQLite's online backup API into a temporary file beside the
//! destination, checked with `quick_check`, synced to disk, and only then renamed to the
//! destination: a backup killed at any point leaves the destination as it was (and at most a
//! `.NAME.partial-*` file, removed by the next backup to the same destination).
//!
//! Consistency: each backup step reads inside one read transaction, and SQLite restarts the copy
//! when another connection commits between steps, so what is copied is one committed state. A
//! running sync writes in one long transaction that only becomes visible at its commit: the
//! copy holds every run committed before it (the running one shows as running, and is recorded
//! as abandoned by the copy's next sync).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use crate::error::{Error, Result};

/// Pages copied per step: about 4 MiB at SQLite's default page size, so that a copy of a large
/// mirror lets a sync's commit through between steps.
const PAGES_PER_STEP: i32 = 1024;

/// What a finished backup wrote.
#[derive(Debug, Clone, Serialize)]
pub struct BackupReport {
    pub out: PathBuf,
    pub bytes: u64,
    /// The latest committed run in the copy (none for a mirror that never committed).
    pub run_id: Option<i64>,
    /// Times the copy started over because the mirror changed under it.
    pub restarts: u64,
    pub duration_ms: u64,
}

/// Copies the mirror at `db` to `out` (replacing it only once the copy is whole and checked).
pub fn backup(db: &Path, out: &Path) -> Result<BackupReport> {
    let started = Instant::now();
    if !db.exists() {
        return Err(Error::usage(format!(
            "no mirror at {}: run `macat sync` first (or pass --db)",
            db.display()
        )));
    }
    let name = out
        .file_name()
        .ok_or_else(|| Error::usage(format!("--out {}: not a file name", out.display())))?
        .to_string_lossy()
        .into_owned();
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(Error::usage(format!(
            "--out {}: the directory {} does not exist",
            out.display(),
            dir.display()
        )));
    }
    if same_file(db, out) {
        return Err(Error::usage(format!(
            "--out {} is the mirror itself: name another file",
            out.display()
        )));
    }
    let prefix = format!(".{name}.partial-");
    remove_leftovers(&dir, &prefix);
    let tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .tempfile_in(&dir)
        .map_err(|e| Error::internal(format!("cannot create a file in {}: {e}", dir.display())))?
        .into_temp_path();

    let src = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| Error::internal(format!("cannot open {}: {e}", db.display())))?;
    src.busy_timeout(Duration::from_secs(10))?;
    let mut dst = Connection::open(&tmp)?;
    let restarts = copy(&src, &mut dst)?;
    drop(src);

    let check: String = dst.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if check != "ok" {
        return Err(Error::internal(format!(
            "the copy failed its check ({check}); {} is unchanged: run `macat check`",
            out.display()
        )));
    }
    let run_id: Option<i64> = dst.query_row(
        "SELECT max(id) FROM runs WHERE status = 'committed'",
        [],
        |r| r.get(0),
    )?;
    // A copy of a WAL-mode mirror is in WAL mode too: closing the last connection checkpoints
    // the copy's WAL into the file and removes it, so the file alone is the whole copy.
    dst.close().map_err(|(_, e)| Error::from(e))?;
    std::fs::File::open(&tmp)?.sync_all()?;
    let bytes = std::fs::metadata(&tmp)?.len();
    tmp.persist(out).map_err(|e| {
        Error::internal(format!("cannot rename the copy to {}: {e}", out.display()))
    })?;
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(BackupReport {
        out: out.to_path_buf(),
        bytes,
        run_id,
        restarts,
        duration_ms: started.elapsed().as_millis() as u64,
    })
}

/// Copies every page of `src` into `dst`, step by step; returns how often the copy restarted.
fn copy(src: &Connection, dst: &mut Connection) -> Result<u64> {
    let backup = Backup::new(src, dst)?;
    let mut restarts = 0;
    let mut last_remaining = i32::MAX;
    let mut first = true;
    loop {
        let step = backup.step(PAGES_PER_STEP)?;
        let p = backup.progress();
        if p.remaining > last_remaining {
            restarts += 1;
        }
        last_remaining = p.remaining;
        if first {
            crate::failpoint::hit("backup-step");
            first = false;
        }
        match step {
            StepResult::Done => return Ok(restarts),
            StepResult::More => {}
            StepResult::Busy | StepResult::Locked => std::thread::sleep(Duration::from_millis(20)),
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Removes the temporary files of backups to the same destination that were killed.
fn remove_leftovers(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(prefix) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
