//! `opsctl completions <shell>`

use clap::CommandFactory;

use crate::error::Exit;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Shell to generate completions for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

pub fn run(args: Args) -> crate::Result<Exit> {
    let mut command = super::Cli::command();
    clap_complete::generate(args.shell, &mut command, "opsctl", &mut std::io::stdout());
    Ok(Exit::Success)
}
