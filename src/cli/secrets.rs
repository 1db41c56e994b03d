//! `opsctl secrets list | show NAME | decrypt NAME [--out FILE]`

use std::path::PathBuf;

use serde::Serialize;

use crate::context::Context;
use crate::error::Exit;
use crate::output::{Report, Style};
use crate::secrets::Metadata;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Every secret with its kind, key and creation time (no values)
    List,
    /// One secret's metadata (no value)
    Show { name: String },
    /// Decrypt one secret: to FILE (mode 0600) with --out, else to stdout
    Decrypt {
        name: String,
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Serialize)]
struct ListReport {
    secrets: Vec<Metadata>,
}

impl Report for ListReport {
    fn human(&self, style: &Style) -> String {
        let mut table = style.table(&["NAME", "KIND", "CREATED", "KMS KEY"]);
        for s in &self.secrets {
            table.add_row(vec![
                s.name.clone(),
                s.kind.clone(),
                s.created.clone(),
                s.kms_key.clone(),
            ]);
        }
        format!("{table}\n")
    }
}

#[derive(Serialize)]
struct ShowReport {
    #[serde(flatten)]
    metadata: Metadata,
}

impl Report for ShowReport {
    fn human(&self, _: &Style) -> String {
        let m = &self.metadata;
        format!(
            "name: {}\nkind: {}\ncluster: {}\ncreated: {}\nkms key: {}\nformat: {}\n",
            m.name, m.kind, m.cluster, m.created, m.kms_key, m.format
        )
    }
}

#[derive(Serialize)]
struct Written {
    name: String,
    file: String,
}

impl Report for Written {
    fn human(&self, _: &Style) -> String {
        format!("decrypted {} to {} (mode 0600)\n", self.name, self.file)
    }
}

pub async fn run(ctx: &Context, args: Args) -> crate::Result<Exit> {
    let repo = ctx.open_repo()?;
    let store = crate::clients::secret_store(&repo).await?;
    match args.action {
        Action::List => ctx.output.emit(&ListReport {
            secrets: store.list()?,
        })?,
        Action::Show { name } => ctx.output.emit(&ShowReport {
            metadata: store.metadata(&name)?,
        })?,
        Action::Decrypt { name, out } => {
            let plaintext = store.get(&name).await?;
            match out {
                Some(path) => {
                    crate::fsutil::write_atomic(&path, &plaintext, Some(0o600))?;
                    ctx.output.emit(&Written {
                        name,
                        file: path.display().to_string(),
                    })?;
                }
                // Asked for explicitly: the value, and nothing else, on stdout.
                None => ctx.output.raw(&plaintext)?,
            }
        }
    }
    Ok(Exit::Success)
}
