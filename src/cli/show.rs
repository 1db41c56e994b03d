//! `opsctl show cluster|envs|env <name>`

use crate::context::Context;
use crate::error::Exit;
use crate::repo::show;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// The cluster: provider, regions, nodes, variants
    Cluster,
    /// Every environment of the cluster
    Envs,
    /// One environment with its revisions and hostnames
    Env {
        /// Environment name
        name: String,
    },
}

pub fn run(ctx: &Context, args: Args) -> crate::Result<Exit> {
    let repo = ctx.open_repo()?;
    match args.what {
        What::Cluster => ctx.output.emit(&show::cluster(&repo))?,
        What::Envs => ctx.output.emit(&show::envs(&repo))?,
        What::Env { name } => ctx.output.emit(&show::env(&repo, &name)?)?,
    }
    Ok(Exit::Success)
}
