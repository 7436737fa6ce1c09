//! `macat man`: the manual page, in roff, generated from the clap definitions (`clap_mangen`);
//! and the examples each command's `--help` ends with, which the manual shows too.
//!
//! One page holds every command: the synopsis and global options of `macat`, then a section per
//! command with its synopsis, options and examples, so `man <(macat man)` reads as one manual.

use std::io::Write;

use clap::builder::StyledStr;
use clap::{Args, CommandFactory};
use clap_mangen::roff::{bold, roman, Roff};
use clap_mangen::Man;

use super::{Cli, GlobalArgs};
use crate::error::Result;

/// The heading of the examples at the end of a command's help.
pub const EXAMPLES: &str = "Examples:";

#[derive(Debug, Args)]
#[command(after_help = examples(&[
    ("read it now", "macat man | man -l -"),
    ("install it for man macat", "macat man > ~/.local/share/man/man1/macat.1"),
]))]
pub struct ManArgs {}

pub fn run(_g: &GlobalArgs, _args: ManArgs) -> Result<()> {
    let mut out = Vec::new();
    render(Cli::command(), &mut out)?;
    std::io::stdout().lock().write_all(&out)?;
    Ok(())
}

/// The examples section of a command's help: each example is (what it does, the command line),
/// shown as a `# comment` over a `$ macat ...` line, as gh does.
pub fn examples(list: &[(&str, &str)]) -> StyledStr {
    let header = clap::builder::Styles::default().get_header().to_owned();
    let mut text = format!("{header}{EXAMPLES}{header:#}");
    for (what, line) in list {
        text.push_str(&format!("\n  # {what}\n  $ {line}"));
    }
    StyledStr::from(text)
}

/// One line of a command's examples: a comment, or a command line (without its `$ `).
#[derive(Debug, PartialEq, Eq)]
pub enum ExampleLine {
    Comment(String),
    Command(String),
}

/// The examples of a command, read back from its help (empty when it has none).
pub fn examples_of(cmd: &clap::Command) -> Vec<ExampleLine> {
    let Some(text) = cmd.get_after_help().map(|t| t.to_string()) else {
        return Vec::new();
    };
    let mut lines = text.lines();
    if lines.next() != Some(EXAMPLES) {
        return Vec::new();
    }
    lines
        .filter_map(|l| {
            let l = l.trim();
            if let Some(c) = l.strip_prefix("$ ") {
                Some(ExampleLine::Command(c.to_owned()))
            } else {
                l.strip_prefix("# ")
                    .map(|c| ExampleLine::Comment(c.to_owned()))
            }
        })
        .collect()
}

/// Renders the whole manual of `cmd` (the `macat` command) as roff.
pub fn render(cmd: clap::Command, w: &mut dyn Write) -> std::io::Result<()> {
    let mut page = Vec::new();
    render_parts(cmd, &mut page)?;
    // Each part comes with roff's preamble (how to typeset an apostrophe): keep the first only.
    let preamble = Roff::new().render();
    let page = String::from_utf8_lossy(&page).replace(&preamble, "");
    w.write_all(preamble.as_bytes())?;
    w.write_all(page.as_bytes())
}

fn render_parts(cmd: clap::Command, w: &mut dyn Write) -> std::io::Result<()> {
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let page = Man::new(cmd.clone()).title(cmd.get_name().to_uppercase());
    page.render_title(w)?;
    page.render_name_section(w)?;
    page.render_synopsis_section(w)?;
    page.render_description_section(w)?;
    page.render_options_section(w)?;

    let mut roff = Roff::default();
    roff.control("SH", ["COMMANDS"]);
    let subcommands: Vec<_> = cmd.get_subcommands().filter(|s| !s.is_hide_set()).collect();
    for sub in &subcommands {
        roff.control("TP", []);
        roff.text([bold(full_name(sub))]);
        roff.text([roman(about(sub))]);
    }
    roff.to_writer(w)?;
    render_examples(&cmd, "SH", w)?;

    // Every command below the top, depth first (`macat watch`, then `macat watch add`...).
    fn descendants<'c>(cmd: &'c clap::Command, out: &mut Vec<&'c clap::Command>) {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            out.push(sub);
            descendants(sub, out);
        }
    }
    let mut all = Vec::new();
    descendants(&cmd, &mut all);
    for sub in all {
        let mut roff = Roff::default();
        roff.control("SH", [full_name(sub).to_uppercase().as_str()]);
        roff.text([roman(about(sub))]);
        roff.to_writer(w)?;
        // The global options are described once, above; each command shows only its own.
        let own = sub
            .clone()
            .mut_args(|a| match a.is_global_set() || is_help_or_version(&a) {
                true => a.hide(true),
                false => a,
            });
        let man = Man::new(own);
        let mut sections = Vec::new();
        man.render_synopsis_section(&mut sections)?;
        man.render_options_section(&mut sections)?;
        // Sections of the command become subsections of its section of the page.
        for line in String::from_utf8_lossy(&sections).lines() {
            match line.strip_prefix(".SH ") {
                Some(heading) => writeln!(w, ".SS {heading}")?,
                None => writeln!(w, "{line}")?,
            }
        }
        render_examples(sub, "SS", w)?;
    }
    page.render_version_section(w)
}

/// `macat sync` for the `sync` subcommand of a built command.
fn full_name(sub: &clap::Command) -> String {
    sub.get_bin_name().unwrap_or(sub.get_name()).to_owned()
}

fn about(cmd: &clap::Command) -> String {
    cmd.get_about()
        .or(cmd.get_long_about())
        .map(|a| a.to_string())
        .unwrap_or_default()
}

fn is_help_or_version(a: &clap::Arg) -> bool {
    matches!(a.get_id().as_str(), "help" | "version")
}

/// The command's examples under a heading (`SH` or `SS`), each line kept as it is.
fn render_examples(cmd: &clap::Command, level: &str, w: &mut dyn Write) -> std::io::Result<()> {
    let examples = examples_of(cmd);
    if examples.is_empty() {
        return Ok(());
    }
    let mut roff = Roff::default();
    roff.control(level, ["EXAMPLES"]);
    roff.control("nf", []);
    roff.control("RS", ["4"]);
    for line in examples {
        match line {
            ExampleLine::Comment(c) => roff.text([roman(format!("# {c}"))]),
            ExampleLine::Command(c) => roff.text([bold(format!("$ {c}"))]),
        };
    }
    roff.control("RE", []);
    roff.control("fi", []);
    roff.to_writer(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// Every command, the root included, depth first.
    fn commands() -> Vec<clap::Command> {
        fn walk(cmd: &clap::Command, out: &mut Vec<clap::Command>) {
            out.push(cmd.clone());
            for sub in cmd.get_subcommands() {
                walk(sub, out);
            }
        }
        let mut cmd = Cli::command().disable_help_subcommand(true);
        cmd.build();
        let mut out = Vec::new();
        walk(&cmd, &mut out);
        out
    }

    #[test]
    fn every_command_and_argument_says_what_it_is_for() {
        let mut missing = Vec::new();
        for cmd in commands() {
            let name = full_name(&cmd);
            if about(&cmd).trim().is_empty() {
                missing.push(name.clone());
            }
            for arg in cmd.get_arguments() {
                let help = arg.get_help().or(arg.get_long_help());
                if help.is_none_or(|h| h.to_string().trim().is_empty()) {
                    missing.push(format!("{name} {}", arg.get_id()));
                }
            }
        }
        assert!(missing.is_empty(), "without help text: {missing:?}");
    }

    #[test]
    fn global_options_have_their_own_heading() {
        for cmd in commands() {
            for arg in cmd.get_arguments() {
                let global = arg.is_global_set();
                assert_eq!(
                    arg.get_help_heading() == Some(super::super::GLOBAL),
                    global,
                    "{} --{}",
                    full_name(&cmd),
                    arg.get_id()
                );
            }
        }
    }

    #[test]
    fn every_command_ends_its_help_with_examples_that_parse() {
        for cmd in commands() {
            let name = full_name(&cmd);
            let examples = examples_of(&cmd);
            // Not wrapped on an 80-column terminal: an example is copied as one line.
            let text = cmd
                .get_after_help()
                .map(|t| t.to_string())
                .unwrap_or_default();
            for line in text.lines() {
                assert!(line.chars().count() < 80, "{name}: too wide: {line}");
            }
            let lines: Vec<_> = examples
                .iter()
                .filter_map(|e| match e {
                    ExampleLine::Command(c) => Some(c),
                    ExampleLine::Comment(_) => None,
                })
                .collect();
            assert!(
                (2..=4).contains(&lines.len()),
                "{name}: {} examples",
                lines.len()
            );
            assert_eq!(examples.len(), 2 * lines.len(), "{name}: one comment each");
            for line in lines {
                assert!(
                    line.starts_with(&format!("{name} ")) || line == &name,
                    "{name}: an example of another command: {line}"
                );
                let words = shlex::split(line).unwrap_or_else(|| panic!("unquoted: {line}"));
                // What a shell does with the output is not macat's to parse.
                let end = words
                    .iter()
                    .position(|w| w == "|" || w == ">")
                    .unwrap_or(words.len());
                if let Err(e) = Cli::try_parse_from(&words[..end]) {
                    panic!("{line}: {e}");
                }
            }
        }
    }

    #[test]
    fn the_page_has_every_command_with_its_options_and_examples() {
        let mut out = Vec::new();
        render(Cli::command(), &mut out).unwrap();
        let page = String::from_utf8(out).unwrap();
        assert_eq!(page.matches(".TH MACAT 1").count(), 1);
        assert_eq!(
            page.matches(&Roff::new().render()).count(),
            1,
            "one preamble"
        );
        for cmd in commands().iter().skip(1) {
            let section = format!(".SH \"{}\"", full_name(cmd).to_uppercase());
            assert!(page.contains(&section), "no {section}");
        }
        assert!(page.contains(".SH \"GLOBAL OPTIONS\""));
        assert_eq!(
            page.matches(r"\-\-profile").count(),
            2,
            "globals once (and the synopsis)"
        );
        assert!(page.contains(r"\fB$ macat search pytorch 1.8\fR"));
        assert!(page.contains(r"\fB\-\-fail\-rate\fR"));
    }
}
