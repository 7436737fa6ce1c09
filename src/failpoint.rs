//! Crash injection, for the crash-consistency tests.
//!
//! `MACAT_CRASH_AT=POINT` makes the process abort at that point of a sync, the way `kill -9`
//! would stop it there: no destructors run, no transaction is rolled back, nothing is flushed.
//! Points: `page:N` (after the snapshot writer applied its N-th page), `before-commit` (the
//! snapshot written, the transaction not yet committed), `after-commit` (committed, before
//! anything that follows the commit), `index-before-commit` (the search index update after the
//! commit written, not yet committed), `backup-step` (`macat backup` copied its first pages
//! into the temporary file, not yet renamed). Unset, this costs one lookup per run.
//!
//! `MACAT_PANIC_AT=POINT` panics at that point instead, the way a bug would (`command`: before
//! any command runs), to test what a person sees when macat crashes.

use std::sync::OnceLock;

fn configured() -> Option<&'static str> {
    static AT: OnceLock<Option<String>> = OnceLock::new();
    AT.get_or_init(|| {
        std::env::var("MACAT_CRASH_AT")
            .ok()
            .filter(|v| !v.is_empty())
    })
    .as_deref()
}

/// Aborts the process if `MACAT_CRASH_AT` names this point.
pub fn hit(point: &str) {
    if configured() == Some(point) {
        eprintln!("macat: crash injected at {point}");
        std::process::abort();
    }
}

/// Aborts the process if `MACAT_CRASH_AT` is `page:N` and `n` is N.
pub fn hit_page(n: u64) {
    if let Some(want) = configured().and_then(|p| p.strip_prefix("page:")) {
        if want.parse::<u64>().ok() == Some(n) {
            eprintln!("macat: crash injected at page:{n}");
            std::process::abort();
        }
    }
}

/// Panics if `MACAT_PANIC_AT` names this point: a stand-in for a bug, to test how a crash reads.
pub fn panic_at(point: &str) {
    if std::env::var("MACAT_PANIC_AT").ok().as_deref() == Some(point) {
        panic!("panic injected at {point}");
    }
}
