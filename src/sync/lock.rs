//! One sync at a time per database: an exclusive lock on `<db>.lock`.
//!
//! The lock is an OS file lock (`flock`), so it dies with its process: a sync killed with
//! `kill -9` leaves no lock to clean up, and the next sync takes over at once. The file holds the
//! holder's pid and start time so that a refused sync can say who holds it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Held for the duration of a sync; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct SyncLock {
    _file: File,
    path: PathBuf,
}

impl SyncLock {
    pub fn path_for(db: &Path) -> PathBuf {
        let mut p = db.as_os_str().to_owned();
        p.push(".lock");
        PathBuf::from(p)
    }

    /// Takes the lock or fails at once with [`Error::Locked`] naming the holder.
    pub fn acquire(db: &Path) -> Result<SyncLock> {
        let path = Self::path_for(db);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::bad_path(format!("cannot create {}", dir.display()), e))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::bad_path(format!("cannot open the lock {}", path.display()), e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let who = if holder.is_empty() {
                    "another process".to_string()
                } else {
                    crate::output::one_line(holder, 200)
                };
                return Err(Error::Locked(format!(
                    "another sync holds the lock on {} ({who}); try again when it has finished",
                    db.display()
                )));
            }
            Err(TryLockError::Error(e)) => {
                return Err(Error::io(format!("cannot lock {}", path.display()), e))
            }
        }
        let stamp = format!(
            "pid {}, started {}",
            std::process::id(),
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        let write = |file: &mut File| {
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
            file.write_all(stamp.as_bytes())?;
            file.flush()
        };
        write(&mut file)
            .map_err(|e| Error::io(format!("cannot write the lock {}", path.display()), e))?;
        Ok(SyncLock { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The mirror's runs, newest first, as they stand: a run still marked running while no
    /// sync can be holding the lock was abandoned (its process is gone) and says so.
    pub fn runs_as_seen(store: &crate::store::Store) -> Result<Vec<crate::store::RunInfo>> {
        let mut runs = store.runs()?;
        if runs.iter().any(|r| r.status == "running") && !Self::may_be_running(store.path()) {
            runs.iter_mut()
                .for_each(crate::store::RunInfo::mark_abandoned);
        }
        Ok(runs)
    }

    /// Whether a sync of `db` may be running: `false` only when the process the lock file names
    /// (or the lack of one) shows none can be. Looks, never locks (a lock taken even briefly
    /// could turn a sync starting at that moment away). Where processes cannot be looked up
    /// (not Unix), any sync may be running.
    pub fn may_be_running(db: &Path) -> bool {
        let Ok(holder) = std::fs::read_to_string(Self::path_for(db)) else {
            return false;
        };
        match holder
            .strip_prefix("pid ")
            .and_then(|rest| rest.split(',').next())
            .and_then(|pid| pid.trim().parse::<i32>().ok())
        {
            Some(pid) => process_exists(pid),
            // Being written by a sync that has just taken the lock.
            None => true,
        }
    }
}

/// Whether a process `pid` exists (signal 0: checked, never sent). One that exists but belongs
/// to another user answers `EPERM`: it exists.
#[cfg(unix)]
fn process_exists(pid: i32) -> bool {
    use rustix::io::Errno;
    let Some(pid) = rustix::process::Pid::from_raw(pid) else {
        // 0 or negative: not a process the lock file could name.
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        Err(e) => e != Errno::SRCH,
    }
}

#[cfg(not(unix))]
fn process_exists(_pid: i32) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A child spawned while a lock is held shares its open file until the child's exec closes
    /// it, so the lock outlives its drop for that moment: these tests take turns.
    static TURNS: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn second_holder_is_refused_with_the_first_named() {
        let _turn = TURNS.lock().unwrap_or_else(|p| p.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("m.db");
        let first = SyncLock::acquire(&db).unwrap();
        let err = SyncLock::acquire(&db).unwrap_err();
        assert_eq!(err.exit_code(), 75);
        assert!(err
            .to_string()
            .contains(&format!("pid {}", std::process::id())));
        assert!(SyncLock::may_be_running(&db));
        drop(first);
        SyncLock::acquire(&db).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_holder_that_is_gone_is_not_running() {
        let _turn = TURNS.lock().unwrap_or_else(|p| p.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("m.db");
        assert!(!SyncLock::may_be_running(&db), "no lock file");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        std::fs::write(
            SyncLock::path_for(&db),
            format!("pid {pid}, started 2026-01-01T00:00:00Z"),
        )
        .unwrap();
        // Reaped, and pids are not reused this quickly.
        assert!(!SyncLock::may_be_running(&db));
        std::fs::write(
            SyncLock::path_for(&db),
            "pid 1, started 2026-01-01T00:00:00Z",
        )
        .unwrap();
        assert!(SyncLock::may_be_running(&db), "pid 1 always exists");
        std::fs::write(SyncLock::path_for(&db), "pid ").unwrap();
        assert!(SyncLock::may_be_running(&db), "a stamp being written");
    }
}
