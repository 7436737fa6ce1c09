//! The help that teaches: `macat man`, the examples every `--help` ends with, global options
//! under their own heading.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::util::*;

/// The commands of the contract, and `man`.
const COMMANDS: &[&str] = &[
    "sync",
    "search",
    "list",
    "show",
    "history",
    "diff",
    "runs",
    "export",
    "reindex",
    "serve",
    "simulate",
    "demo",
    "completions",
    "man",
];

fn help(args: &[&str]) -> String {
    let out = macat_cmd().args(args).arg("--help").output().unwrap();
    assert_ok(&out);
    String::from_utf8(out.stdout).unwrap()
}

/// The `$ macat ...` lines of a command's help, which must end with its examples.
fn examples(command: &str) -> Vec<String> {
    let args: &[&str] = if command.is_empty() { &[] } else { &[command] };
    let text = help(args);
    let (_, examples) = text
        .split_once("\nExamples:\n")
        .unwrap_or_else(|| panic!("macat {command} --help has no examples:\n{text}"));
    let lines: Vec<&str> = examples.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("  # ") || l.starts_with("  $ macat ")),
        "macat {command} --help: examples are not its last section:\n{examples}"
    );
    let commands: Vec<String> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("  $ "))
        .map(str::to_owned)
        .collect();
    assert!(
        (2..=4).contains(&commands.len()),
        "macat {command}: {commands:?}"
    );
    commands
}

#[test]
fn every_help_ends_with_examples_and_shows_global_options_apart() {
    examples("");
    for command in COMMANDS {
        examples(command);
        let text = help(&[command]);
        let (own, global) = text
            .split_once("\nGlobal options:\n")
            .unwrap_or_else(|| panic!("macat {command} --help: no global options:\n{text}"));
        let global = global.split("\nExamples:\n").next().unwrap();
        for flag in [
            "--db",
            "--config",
            "--profile",
            "--verbose",
            "--quiet",
            "--color",
        ] {
            assert!(global.contains(flag), "macat {command}: {flag} not global");
            assert!(!own.contains(flag), "macat {command}: {flag} among its own");
        }
    }
}

/// The examples of the commands that read a mirror run as they are written, through a shell,
/// against a mirror of the three fixture days: an example that stops working fails here.
#[test]
fn the_examples_of_read_commands_work_as_written() {
    let (_sim, env) = three_day_mirror();
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let read_commands = [
        "search", "list", "show", "history", "diff", "runs", "export", "reindex",
    ];
    for command in read_commands {
        for example in examples(command) {
            let out = Command::new("sh")
                .arg("-c")
                .arg(&example)
                .current_dir(env.dir.path())
                .env_clear()
                .env("PATH", &path)
                .env("MACAT_DB", &env.db)
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{example}: {:?}\n{}",
                out.status,
                stderr(&out)
            );
            let printed = match example.split_once(" > ") {
                Some((_, file)) => std::fs::read(env.dir.path().join(file.trim())).unwrap(),
                None => [out.stdout, out.stderr].concat(),
            };
            assert!(!printed.is_empty(), "{example}: printed nothing");
        }
    }
}

#[test]
fn man_prints_one_roff_page_of_every_command() {
    let out = macat_cmd().arg("man").output().unwrap();
    assert_ok(&out);
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(
        page.lines().any(|l| l.starts_with(".TH MACAT 1 ")),
        "not a man page:\n{}",
        &page[..page.len().min(300)]
    );
    for command in COMMANDS {
        let section = format!(".SH \"MACAT {}\"", command.to_uppercase());
        assert!(page.contains(&section), "no {section}");
    }
    assert!(page.contains(".SH \"GLOBAL OPTIONS\""));
    assert!(
        page.contains(r"\fB$ macat search pytorch 1.8\fR"),
        "no examples"
    );

    if let Some(rendered) = render(&page) {
        for command in COMMANDS {
            assert!(
                rendered.contains(&format!("MACAT {}", command.to_uppercase())),
                "{command} is not in the rendered page"
            );
        }
        assert!(rendered.contains("--fail-rate"), "{rendered}");
    } else {
        parse_check(&page);
    }
}

/// The page typeset by groff (warnings on) or man, when one is installed; `None` without either.
fn render(page: &str) -> Option<String> {
    let typeset = |program: &str, args: &[&str], envs: &[(&str, &str)]| {
        let mut child = Command::new(program)
            .args(args)
            .envs(envs.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .ok()?;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(page.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert_ok(&out);
        assert!(out.stderr.is_empty(), "{program} warns: {}", stderr(&out));
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    typeset("groff", &["-man", "-Tutf8", "-ww", "-P-cbou"], &[]).or_else(|| {
        typeset(
            "man",
            &["-l", "-"],
            &[
                ("MANPAGER", "cat"),
                ("PAGER", "cat"),
                ("MAN_KEEP_FORMATTING", ""),
            ],
        )
    })
}

/// Without groff or man: every request is one the page means to use, and blocks are closed.
fn parse_check(page: &str) {
    let mut indent = 0i32;
    let mut fill = true;
    for line in page.lines() {
        let Some(request) = line.strip_prefix('.') else {
            continue;
        };
        let name = request.split_whitespace().next().unwrap_or("");
        match name {
            "RS" => indent += 1,
            "RE" => indent -= 1,
            "nf" => fill = false,
            "fi" => fill = true,
            "ie" | "el" | "TH" | "SH" | "SS" | "TP" | "PP" | "IP" | "br" => {}
            _ => panic!("unknown request: {line}"),
        }
        assert!(indent >= 0, "unbalanced .RE: {line}");
    }
    assert_eq!(indent, 0, "unbalanced .RS");
    assert!(fill, "unclosed .nf");
}
