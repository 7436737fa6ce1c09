//! The `macat` binary: parse, set up logging, run, map the outcome to an exit code.

use clap::Parser;
use tracing_subscriber::EnvFilter;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    macat::crash::install();
    let cli = macat::cli::Cli::parse();
    init_logging(&cli.global);
    let code = match macat::cli::run(cli) {
        Ok(()) => 0,
        Err(macat::error::Error::BrokenPipe) => 0,
        Err(e) => {
            eprintln!(
                "macat: error: {}",
                macat::output::one_line(&e.to_string(), 2000)
            );
            e.exit_code()
        }
    };
    std::process::exit(code);
}

/// Logs go to stderr: warnings by default, errors only with -q, more with -v/-vv; `RUST_LOG`
/// overrides.
fn init_logging(g: &macat::cli::GlobalArgs) {
    let level = match (g.quiet, g.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "macat=info,warn",
        (false, _) => "macat=debug,info",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let fmt = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(g.color_stderr());
    // Timestamps help only when following requests one by one (-vv).
    if g.verbose >= 2 {
        fmt.init();
    } else {
        fmt.without_time().init();
    }
}
