//! `opsctl certs [--domain D] [--rotate] [--*-days N]` and `opsctl certs status`

use serde::Serialize;

use crate::context::Context;
use crate::error::{Error, Exit};
use crate::output::{Report, Style};
use crate::pki::cluster::{self, Item, ItemAction, Options};
use crate::pki::{CertInfo, Lifetimes};

/// Certificates closer than this to their expiry are flagged by `certs status`.
const WARN_DAYS: i64 = 30;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Option<Action>,
    /// Domain the server certificates cover (default: the cluster's)
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<String>,
    /// Renew the server and client certificates, keeping the CAs
    #[arg(long)]
    pub rotate: bool,
    #[arg(long, value_name = "DAYS", default_value_t = 3650)]
    pub root_days: i64,
    #[arg(long, value_name = "DAYS", default_value_t = 1825)]
    pub intermediate_days: i64,
    #[arg(long, value_name = "DAYS", default_value_t = 365)]
    pub leaf_days: i64,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Every certificate with its expiry; warns when one expires within 30 days
    Status {
        /// Exit 3 when a certificate expires within 30 days
        #[arg(long)]
        detailed_exitcode: bool,
    },
}

#[derive(Serialize)]
struct CertsReport {
    cluster: String,
    directory: String,
    items: Vec<Item>,
}

impl Report for CertsReport {
    fn human(&self, style: &Style) -> String {
        let mut table = style.table(&["SECRET", "ACTION"]);
        for item in &self.items {
            let action = match item.action {
                ItemAction::Created => style.good("created"),
                ItemAction::Renewed => style.warn("renewed"),
                ItemAction::Kept => style.dim("kept"),
            };
            table.add_row(vec![item.name.clone(), action]);
        }
        format!(
            "{table}\nin {} (private keys and tokens KMS-encrypted)\n",
            self.directory
        )
    }
}

#[derive(Serialize)]
struct StatusReport {
    certificates: Vec<StatusRow>,
    expiring: usize,
}

#[derive(Serialize)]
struct StatusRow {
    name: String,
    #[serde(flatten)]
    info: CertInfo,
    expiring: bool,
}

impl Report for StatusReport {
    fn human(&self, style: &Style) -> String {
        let mut table = style.table(&["CERTIFICATE", "SUBJECT", "EXPIRES", "DAYS LEFT"]);
        for row in &self.certificates {
            let days = row.info.days_left.to_string();
            table.add_row(vec![
                row.name.clone(),
                row.info.subject.clone(),
                row.info.not_after.clone(),
                if row.expiring { style.bad(&days) } else { days },
            ]);
        }
        let mut out = format!("{table}\n");
        if self.certificates.is_empty() {
            out.push_str("no certificates yet: run `opsctl certs`\n");
        }
        if self.expiring > 0 {
            out.push_str(&style.warn(&format!(
                "{} certificate(s) expire within {WARN_DAYS} days: `opsctl certs --rotate`\n",
                self.expiring
            )));
        }
        out
    }
}

pub async fn run(ctx: &Context, args: Args) -> crate::Result<Exit> {
    let repo = ctx.open_repo()?;
    let store = crate::clients::secret_store(&repo).await?;
    if let Some(Action::Status { detailed_exitcode }) = args.action {
        let certificates: Vec<StatusRow> = cluster::certificates(&store)?
            .into_iter()
            .map(|(name, info)| StatusRow {
                expiring: info.days_left < WARN_DAYS,
                name,
                info,
            })
            .collect();
        let expiring = certificates.iter().filter(|c| c.expiring).count();
        ctx.output.emit(&StatusReport {
            certificates,
            expiring,
        })?;
        return Ok(if detailed_exitcode && expiring > 0 {
            Exit::Changes
        } else {
            Exit::Success
        });
    }
    let domain = args.domain.unwrap_or_else(|| repo.cluster.domain.clone());
    if !crate::repo::names::is_domain(&domain) {
        return Err(Error::invalid(format!(
            "--domain `{domain}` is not a DNS name"
        )));
    }
    for (flag, days) in [
        ("--root-days", args.root_days),
        ("--intermediate-days", args.intermediate_days),
        ("--leaf-days", args.leaf_days),
    ] {
        if days < 1 {
            return Err(Error::invalid(format!("{flag} must be at least 1")));
        }
    }
    if args.leaf_days > args.intermediate_days || args.intermediate_days > args.root_days {
        return Err(Error::invalid(
            "lifetimes must nest: --leaf-days <= --intermediate-days <= --root-days",
        ));
    }
    let options = Options {
        domain,
        datacenters: repo.cluster.nomad.datacenters.clone(),
        lifetimes: Lifetimes {
            root_days: args.root_days,
            intermediate_days: args.intermediate_days,
            leaf_days: args.leaf_days,
        },
        rotate: args.rotate,
    };
    let items = cluster::ensure(&store, &repo.cluster.name, &options).await?;
    ctx.output.emit(&CertsReport {
        cluster: repo.cluster.name.clone(),
        directory: store.dir().display().to_string(),
        items,
    })?;
    Ok(Exit::Success)
}
