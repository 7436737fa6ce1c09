//! Prometheus metrics of a sync, for cron monitoring: the text format, written atomically (a
//! temporary file in the same directory, then a rename) for node_exporter's textfile collector.
//!
//! Written after every run, committed or failed. The last success time is read from the mirror,
//! so a failed run keeps the time of the last one that committed; alerts compute staleness
//! from it.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use crate::error::{Error, Result};

/// What one sync run came to.
#[derive(Debug, Clone, Default)]
pub struct SyncMetrics {
    /// When the run ended (Unix seconds).
    pub run_timestamp: f64,
    /// When the last committed run ended (Unix seconds), this one or an earlier one.
    pub last_success_timestamp: Option<f64>,
    pub success: bool,
    pub duration_seconds: f64,
    /// Images in the catalog by type, at the latest committed run.
    pub images: Vec<(String, u64)>,
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
    /// HTTP requests sent to the API, and how many of them were retries.
    pub requests: u64,
    pub retries: u64,
    pub events_pending: u64,
}

/// A label value escaped per the text format (`\`, `"` and newlines).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl SyncMetrics {
    /// The Prometheus text exposition format, HELP and TYPE for every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut one = |name: &str, kind: &str, help: &str, samples: &[(String, f64)]| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (labels, v) in samples {
                let _ = writeln!(out, "{name}{labels} {v}");
            }
        };
        let plain = |v: f64| vec![(String::new(), v)];
        one(
            "macat_sync_last_run_timestamp_seconds",
            "gauge",
            "When the last sync run ended, committed or failed (Unix time).",
            &plain(self.run_timestamp),
        );
        one(
            "macat_sync_last_success_timestamp_seconds",
            "gauge",
            "When the last committed sync run ended (Unix time).",
            &self.last_success_timestamp.map(plain).unwrap_or_default(),
        );
        one(
            "macat_sync_last_run_success",
            "gauge",
            "1 when the last sync run committed, 0 when it failed.",
            &plain(if self.success { 1.0 } else { 0.0 }),
        );
        one(
            "macat_sync_duration_seconds",
            "gauge",
            "How long the last sync run took.",
            &plain(self.duration_seconds),
        );
        let images: Vec<(String, f64)> = self
            .images
            .iter()
            .map(|(t, n)| (format!("{{type=\"{}\"}}", label(t)), *n as f64))
            .collect();
        one(
            "macat_sync_images",
            "gauge",
            "Images in the mirrored catalog at the latest committed run, by image type.",
            &images,
        );
        let changes: Vec<(String, f64)> = [
            ("added", self.added),
            ("changed", self.changed),
            ("removed", self.removed),
        ]
        .iter()
        .map(|(k, n)| (format!("{{kind=\"{k}\"}}"), *n as f64))
        .collect();
        one(
            "macat_sync_changes",
            "gauge",
            "Images the last sync run added, changed and removed.",
            &changes,
        );
        one(
            "macat_sync_requests",
            "gauge",
            "HTTP requests the last sync run sent to the API, retries included.",
            &plain(self.requests as f64),
        );
        one(
            "macat_sync_retries",
            "gauge",
            "Requests of the last sync run that were retries.",
            &plain(self.retries as f64),
        );
        one(
            "macat_watch_events_pending",
            "gauge",
            "Watch events waiting for their webhook.",
            &plain(self.events_pending as f64),
        );
        out
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, synced, then
/// renamed over `path` (a reader sees the old file or the new one, never a part).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let fail = |e: std::io::Error| Error::usage(format!("cannot write {}: {e}", path.display()));
    let mut tmp = tempfile::Builder::new()
        .prefix(".macat-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(fail)?;
    tmp.write_all(bytes).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644));
    }
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_has_help_and_type() {
        let m = SyncMetrics {
            images: vec![("BUILD_IN".into(), 3)],
            ..Default::default()
        };
        let text = m.render();
        for name in [
            "macat_sync_last_run_timestamp_seconds",
            "macat_sync_last_run_success",
            "macat_sync_images",
            "macat_watch_events_pending",
        ] {
            assert!(text.contains(&format!("# HELP {name} ")), "{name}");
            assert!(text.contains(&format!("# TYPE {name} gauge")), "{name}");
        }
        assert!(text.contains("macat_sync_images{type=\"BUILD_IN\"} 3\n"));
        assert!(text.contains("macat_sync_changes{kind=\"removed\"} 0\n"));
    }
}
