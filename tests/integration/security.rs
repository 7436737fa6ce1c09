//! Hostile catalog data: escape sequences in names and descriptions never reach a terminal raw,
//! while scripts still get the data exactly.

use crate::util::*;

const HOSTILE: &str = "evil\u{1b}[2J\u{1b}]0;owned\u{7}\r\u{9b}31m";

fn hostile_catalog(env: &Env) -> std::path::PathBuf {
    let text = std::fs::read_to_string(fixture_day_path(1)).unwrap();
    let mut day: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    day[0]["name"] = HOSTILE.into();
    day[0]["description"] = format!("desc {HOSTILE}").into();
    let path = env.dir.path().join("hostile.json");
    std::fs::write(&path, serde_json::to_string(&day).unwrap()).unwrap();
    path
}

/// Runs a command under a pseudo-terminal (`script`), returning what the terminal received.
fn on_terminal(env: &Env, args: &str) -> Vec<u8> {
    let cmd = format!("{BIN} --db {} {args}", env.db.display());
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn hostile_text_is_escaped_on_terminals_and_exact_for_scripts() {
    let env = Env::new();
    let catalog = hostile_catalog(&env);
    let sim = Sim::start(&["--catalog", catalog.to_str().unwrap()], &[]);
    assert_ok(&env.sync(&sim, &[]));
    // Scripts: export gives the object back exactly.
    let got = env.export("latest");
    assert!(got.values().any(|v| v["name"] == HOSTILE));
    // Terminals: no ESC, BEL, CR or 8-bit CSI from the data.
    for args in ["export --format csv", "runs"] {
        let screen = on_terminal(&env, args);
        let text = String::from_utf8_lossy(&screen);
        for bad in ['\u{1b}', '\u{7}', '\u{9b}'] {
            assert!(
                !text.contains(bad),
                "{args}: raw {bad:?} reached the terminal"
            );
        }
        if args.starts_with("export") {
            assert!(text.contains("evil\\x{1b}[2J"), "{text}");
        }
    }
}

#[test]
fn the_progress_bar_is_drawn_on_a_terminal_only() {
    let env = Env::new();
    let sim = Sim::days(&["--latency-ms", "150"]);
    let args = format!("sync --endpoint {} --project-id p1 --page-size 20", sim.url);
    let screen = String::from_utf8_lossy(&on_terminal(&env, &args)).into_owned();
    assert!(
        screen.contains("p1 BUILD_IN"),
        "no progress bar on a terminal: {screen}"
    );
    let quiet = String::from_utf8_lossy(&on_terminal(&env, &format!("{args} -q"))).into_owned();
    assert!(
        !quiet.contains("p1 BUILD_IN"),
        "-q must leave only errors: {quiet}"
    );
    assert!(quiet.trim().is_empty(), "{quiet}");
    // Redirected stderr (every other test) never gets one.
    let out = env.sync(&sim, &["--page-size", "20"]);
    assert!(!stderr(&out).contains("p1 BUILD_IN"));
}

#[test]
fn hostile_text_is_escaped_by_every_read_command_on_a_terminal() {
    let env = Env::new();
    let catalog = hostile_catalog(&env);
    let day2 = fixture_day_path(2);
    let sim = Sim::start(
        &[
            "--catalog",
            catalog.to_str().unwrap(),
            "--catalog",
            day2.to_str().unwrap(),
        ],
        &[],
    );
    assert_ok(&env.sync(&sim, &[]));
    sim.advance();
    assert_ok(&env.sync(&sim, &[]));
    let text = std::fs::read_to_string(&catalog).unwrap();
    let day: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let id = day[0]["id"].as_str().unwrap().to_string();
    for args in [
        "list --as-of run:1 --limit 500".to_string(),
        "list --as-of run:1 --format csv".to_string(),
        format!("show {id} --as-of run:1"),
        format!("show {id} --as-of run:1 --format csv"),
        format!("history {id}"),
        format!("history {id} --format csv"),
        "diff".to_string(),
        "diff --format csv".to_string(),
    ] {
        let screen = on_terminal(&env, &args);
        let text = String::from_utf8_lossy(&screen);
        for bad in ['\u{1b}', '\u{7}', '\u{9b}'] {
            assert!(
                !text.contains(bad),
                "{args}: raw {bad:?} reached the terminal"
            );
        }
        assert!(text.contains("evil\\x{1b}[2J"), "{args}: {text}");
    }
}
