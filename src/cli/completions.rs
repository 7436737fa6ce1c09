//! `macat completions SHELL`: shell completion scripts, generated from the clap definition.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::{Cli, GlobalArgs};
use crate::error::Result;

#[derive(Debug, Args)]
#[command(after_help = super::man::examples(&[
    ("bash", "macat completions bash > ~/.local/share/bash-completion/completions/macat"),
    ("zsh (with ~/.zfunc in $fpath)", "macat completions zsh > ~/.zfunc/_macat"),
    ("fish", "macat completions fish > ~/.config/fish/completions/macat.fish"),
]))]
pub struct CompletionsArgs {
    /// The shell to generate completions for
    pub shell: Shell,
}

pub fn run(_g: &GlobalArgs, args: CompletionsArgs) -> Result<()> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "macat", &mut out);
    use std::io::Write;
    std::io::stdout().lock().write_all(&out)?;
    Ok(())
}
