//! `opsctl completions <shell>`

use clap::CommandFactory;

use crate::context::Context;
use crate::error::Exit;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Shell to generate completions for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

pub fn run(ctx: &Context, args: Args) -> crate::Result<Exit> {
    let mut command = super::Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "opsctl", &mut script);
    ctx.output.raw(&script)?;
    Ok(Exit::Success)
}
