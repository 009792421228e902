//! `yail completions` and `yail man`: generated from the command-line
//! definition, so they never fall behind it.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::exit::Outcome;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  yail completions bash > ~/.local/share/bash-completion/completions/yail
  yail completions zsh > ~/.zfunc/_yail
  yail completions fish > ~/.config/fish/completions/yail.fish")]
pub struct CompletionsArgs {
    /// The shell to complete for.
    shell: Shell,
}

pub fn completions<C: CommandFactory>(args: &CompletionsArgs) -> anyhow::Result<Outcome> {
    let mut command = C::command();
    clap_complete::generate(args.shell, &mut command, "yail", &mut std::io::stdout());
    Ok(Outcome::Success)
}

pub fn man<C: CommandFactory>() -> anyhow::Result<Outcome> {
    let man = clap_mangen::Man::new(C::command());
    man.render(&mut std::io::stdout())?;
    Ok(Outcome::Success)
}
