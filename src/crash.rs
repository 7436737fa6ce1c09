//! What a panic looks like: one line on stderr saying it is a bug and where the report is, not a
//! backtrace. The report (message, location, backtrace, version, command) goes to a file in the
//! temporary directory, in the convention of the `human-panic` crate. Exit code 101 stays.

use std::io::Write;
use std::path::PathBuf;

thread_local! {
    /// Set while [`caught`] runs `f`: a panic then is expected and handled by the caller.
    static CATCHING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, turning a panic on this thread into `Err(its message)`, with no report and nothing
/// on stderr: for code that reads data which may be damaged (the search index), whose caller
/// recovers (rebuilds it). A panic anywhere else is still a bug and reported as one.
pub fn caught<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    let was = CATCHING.with(|c| c.replace(true));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(was));
    outcome.map_err(|payload| panic_message(&*payload))
}

/// What a panic said, when it said it with a string.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// Installs the panic hook; call once, first thing in `main`.
pub fn install() {
    std::panic::set_hook(Box::new(|info| {
        if CATCHING.with(|c| c.get()) {
            tracing::debug!("caught a panic: {info}");
            return;
        }
        let message = panic_message(info.payload());
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_else(|| "(unknown)".into());
        let thread = std::thread::current()
            .name()
            .unwrap_or("(unnamed)")
            .to_string();
        let backtrace = std::backtrace::Backtrace::force_capture();
        let report = format!(
            "macat {version} crashed (a bug: please report it with this file)\n\
             os: {os}-{arch}\ncommand: {command}\nthread: {thread}\nmessage: {message}\n\
             location: {location}\n\nbacktrace:\n{backtrace}\n",
            version = env!("CARGO_PKG_VERSION"),
            os = std::env::consts::OS,
            arch = std::env::consts::ARCH,
            command = command_name(),
        );
        match write_report(&report) {
            Ok(path) => eprintln!(
                "macat: internal error (a bug in macat, not in what you asked); \
                 details are in {}: please attach it to a bug report",
                path.display()
            ),
            Err(_) => eprintln!(
                "macat: internal error (a bug in macat, not in what you asked) at {location}: {}",
                crate::output::one_line(&message, 300)
            ),
        }
    }));
}

/// The subcommand's name only: arguments may hold paths or queries a person would not share.
fn command_name() -> String {
    use clap::CommandFactory;
    let cli = crate::cli::Cli::command();
    let names: Vec<String> = cli
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    std::env::args()
        .skip(1)
        .find(|a| names.contains(a))
        .unwrap_or_default()
}

fn write_report(report: &str) -> std::io::Result<PathBuf> {
    let mut file = tempfile::Builder::new()
        .prefix(&format!("macat-crash-{}-", std::process::id()))
        .suffix(".txt")
        .tempfile()?;
    file.write_all(report.as_bytes())?;
    let (_, path) = file.keep().map_err(|e| e.error)?;
    Ok(path)
}
