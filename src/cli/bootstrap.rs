//! `opsctl bootstrap [--dry-run] [--write] [--yes]`

use serde::Serialize;

use crate::bootstrap::{self, Finding, Outcome, Status};
use crate::context::Context;
use crate::error::Exit;
use crate::output::{Report, Style};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only show what exists and what would be created or fixed
    #[arg(long)]
    pub dry_run: bool,
    /// Record the KMS key ARN and copied AMI IDs in the cluster file (comments and layout kept)
    #[arg(long)]
    pub write: bool,
}

#[derive(Serialize)]
struct BootstrapReport {
    cluster: String,
    dry_run: bool,
    findings: Vec<Finding>,
    /// Actions were applied.
    applied: bool,
    outcome: Option<Outcome>,
    /// The cluster file was updated (`--write`).
    written: bool,
}

impl Report for BootstrapReport {
    fn human(&self, style: &Style) -> String {
        let mut table = style.table(&["RESOURCE", "NAME", "REGION", "STATUS"]);
        for f in &self.findings {
            let status = match f.status {
                Status::Ok => style.good("ok"),
                Status::Create => style.warn("create"),
                Status::Fix => style.warn("fix"),
                Status::Manual => style.bad("manual step"),
            };
            table.add_row(vec![
                f.resource.to_string(),
                f.name.clone(),
                f.region.clone(),
                status,
            ]);
        }
        let mut out = format!("{table}\n");
        for f in self.findings.iter().filter(|f| !f.details.is_empty()) {
            for detail in &f.details {
                out.push_str(&format!("  {} {}: {detail}\n", f.resource, f.name));
            }
        }
        let pending = self
            .findings
            .iter()
            .any(|f| matches!(f.status, Status::Create | Status::Fix));
        if !pending {
            out.push_str("nothing to do: the account is prepared\n");
        } else if self.dry_run {
            out.push_str("dry run: nothing was changed\n");
        } else if self.applied {
            out.push_str(&style.good("done\n"));
        }
        if let Some(outcome) = &self.outcome {
            if let Some(arn) = &outcome.kms_key {
                out.push_str(&format!("KMS key: {arn}\n"));
            }
            for (region, ami) in &outcome.amis {
                out.push_str(&format!("AMI in {region}: {ami}\n"));
            }
            if let Some(ns) = &outcome.delegation {
                out.push_str(&format!(
                    "add these NS records for the zone at its parent: {}\n",
                    ns.join(" ")
                ));
            }
        }
        if self.written {
            out.push_str("cluster file updated\n");
        }
        out
    }
}

pub async fn run(ctx: &Context, args: Args) -> crate::Result<Exit> {
    let repo = ctx.open_repo()?;
    let settings = ctx.settings(&repo)?;
    let plan = bootstrap::inspect(&repo, settings.terraform_binary.as_deref()).await?;
    let mut report = BootstrapReport {
        cluster: repo.cluster.name.clone(),
        dry_run: args.dry_run,
        findings: plan.findings(),
        applied: false,
        outcome: None,
        written: false,
    };
    if args.dry_run || !plan.has_actions() {
        if args.write && !args.dry_run {
            let outcome = plan.unrecorded(&repo);
            if outcome.kms_key.is_some() || !outcome.amis.is_empty() {
                report.written = bootstrap::write_back(&repo, &outcome)?;
                report.outcome = Some(outcome);
            }
        }
        ctx.output.emit(&report)?;
        return Ok(Exit::Success);
    }
    if ctx.output.format == crate::output::OutputFormat::Text {
        let preview = BootstrapReport {
            dry_run: true,
            findings: report.findings.clone(),
            cluster: report.cluster.clone(),
            applied: false,
            outcome: None,
            written: false,
        };
        ctx.output.note(&preview.human(&ctx.output.style))?;
    }
    ctx.output
        .confirm("Create and fix the resources above?", ctx.yes)?;
    let mut outcome = bootstrap::apply(&repo, &plan).await?;
    let unrecorded = plan.unrecorded(&repo);
    if outcome.kms_key.is_none() {
        outcome.kms_key = unrecorded.kms_key;
    }
    outcome.amis.extend(unrecorded.amis);
    report.applied = true;
    if args.write {
        report.written = bootstrap::write_back(&repo, &outcome)?;
    }
    report.outcome = Some(outcome);
    ctx.output.emit(&report)?;
    Ok(Exit::Success)
}
