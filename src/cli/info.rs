//! `opsctl info`: the cluster's instances, autoscaling groups and Nomad nodes.

use crate::context::Context;
use crate::error::Exit;
use crate::inventory::Inventory;
use crate::output::{Report, Style};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Do not ask Nomad (EC2 only)
    #[arg(long)]
    pub no_nomad: bool,
}

impl Report for Inventory {
    fn human(&self, style: &Style) -> String {
        let mut nodes = style.table(&[
            "NAME",
            "ROLE",
            "INSTANCE",
            "PRIVATE IP",
            "PUBLIC IP",
            "TYPE",
            "AZ",
            "ASG",
            "STATE",
            "NOMAD",
        ]);
        for n in &self.nodes {
            let nomad = n.nomad.as_ref().map_or_else(
                || "-".to_string(),
                |m| {
                    let mut s = format!("{} {}", m.status, m.eligibility);
                    if m.drain {
                        s.push_str(" draining");
                    }
                    s
                },
            );
            nodes.add_row(vec![
                n.name.clone(),
                n.role.to_string(),
                n.instance_id.clone(),
                n.private_ip.clone().unwrap_or_default(),
                n.public_ip.clone().unwrap_or_default(),
                n.instance_type.clone(),
                n.az.clone(),
                n.asg.clone().unwrap_or_default(),
                n.state.to_string(),
                nomad,
            ]);
        }
        let mut out = format!("{nodes}\n");
        if !self.asgs.is_empty() {
            let mut asgs = style.table(&["ASG", "REGION", "MIN", "DESIRED", "MAX", "IN SERVICE"]);
            for a in &self.asgs {
                asgs.add_row(vec![
                    a.name.clone(),
                    a.region.clone(),
                    a.min.to_string(),
                    a.desired.to_string(),
                    a.max.to_string(),
                    a.in_service.to_string(),
                ]);
            }
            out.push_str(&format!("\n{asgs}\n"));
        }
        if let Some(error) = &self.nomad_error {
            out.push_str(&style.warn(&format!("Nomad not reachable: {error}\n")));
        }
        out
    }
}

pub async fn run(ctx: &Context, args: Args) -> crate::Result<Exit> {
    let repo = ctx.open_repo()?;
    let settings = ctx.settings(&repo)?;
    let nomad = crate::clients::nomad_for_inventory(&settings, args.no_nomad)?;
    let inventory = Inventory::load(&repo, nomad.as_ref()).await?;
    ctx.output.emit(&inventory)?;
    Ok(Exit::Success)
}
