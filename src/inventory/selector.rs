//! Node selection, colmena-style: `--on core-*,@role:client,@alloc:web/web[0]`.

use globset::{Glob, GlobMatcher};

use super::{Inventory, Node};
use crate::error::{Error, Result};
use crate::nomad::status::AllocClientStatus;

/// One term of `--on` (comma-separated; a node matches the list when it matches any term).
#[derive(Debug, Clone)]
pub enum Selector {
    /// A glob over node names (`core-*`), or an exact name.
    Name(String, GlobMatcher),
    /// `i-<hex>`: the instance with this id.
    InstanceId(String),
    /// An IPv4 or IPv6 address: the node with this private or public address.
    Ip(String),
    /// `@role:<role>`: nodes whose `Role` tag is `core`, `monitoring`, `routing` or `client`.
    Role(String),
    /// `@asg:<glob>`: instances of the autoscaling groups matching the glob.
    Asg(String, GlobMatcher),
    /// `@class:<class>`: nodes whose Nomad node class is this (needs Nomad).
    Class(String),
    /// `@az:<zone>`: instances in this availability zone.
    Az(String),
    /// The node running allocation `job.group[index]` (Nomad).
    Alloc {
        /// Job id.
        job: String,
        /// Task group name.
        group: String,
        /// Allocation index within the group.
        index: u32,
    },
}

fn glob(pattern: &str) -> Result<GlobMatcher> {
    Glob::new(pattern)
        .map(|g| g.compile_matcher())
        .map_err(|e| Error::invalid(format!("`{pattern}` is not a valid pattern: {e}")))
}

/// `JOB/GROUP[INDEX]`.
pub fn parse_alloc(spec: &str) -> Result<(String, String, u32)> {
    let bad = || {
        Error::invalid(format!(
            "`{spec}` is not JOB/GROUP[INDEX] (e.g. marlowe-run/marlowe-run[0])"
        ))
    };
    let (job, rest) = spec.split_once('/').ok_or_else(bad)?;
    let (group, index) = rest
        .strip_suffix(']')
        .and_then(|r| r.split_once('['))
        .ok_or_else(bad)?;
    let index = index.parse().map_err(|_| bad())?;
    if job.is_empty() || group.is_empty() {
        return Err(bad());
    }
    Ok((job.to_string(), group.to_string(), index))
}

impl Selector {
    /// Parses a comma-separated `--on` list; empty terms are skipped, a bad term is an error.
    pub fn parse_list(spec: &str) -> Result<Vec<Selector>> {
        spec.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Selector::parse)
            .collect()
    }

    /// Parses one term: `@key:value`, an instance id (`i-` + hex), an IP address, else a name glob;
    /// an unknown `@key`, a bad glob or a bad `JOB/GROUP[INDEX]` is an error.
    pub fn parse(spec: &str) -> Result<Selector> {
        if let Some(tag) = spec.strip_prefix('@') {
            let (key, value) = tag.split_once(':').ok_or_else(|| {
                Error::invalid(format!(
                    "`{spec}`: tag selectors are @KEY:VALUE (@role:client)"
                ))
            })?;
            return Ok(match key {
                "role" => Selector::Role(value.into()),
                "asg" => Selector::Asg(value.into(), glob(value)?),
                "class" => Selector::Class(value.into()),
                "az" => Selector::Az(value.into()),
                "alloc" => {
                    let (job, group, index) = parse_alloc(value)?;
                    Selector::Alloc { job, group, index }
                }
                other => {
                    return Err(Error::invalid(format!(
                        "`@{other}` is not a selector (use @role, @asg, @class, @az or @alloc)"
                    )))
                }
            });
        }
        if spec.starts_with("i-") && spec[2..].bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Selector::InstanceId(spec.into()));
        }
        if spec.parse::<std::net::IpAddr>().is_ok() {
            return Ok(Selector::Ip(spec.into()));
        }
        Ok(Selector::Name(spec.into(), glob(spec)?))
    }

    fn describe(&self) -> String {
        match self {
            Selector::Name(s, _) | Selector::InstanceId(s) | Selector::Ip(s) => s.clone(),
            Selector::Role(r) => format!("@role:{r}"),
            Selector::Asg(a, _) => format!("@asg:{a}"),
            Selector::Class(c) => format!("@class:{c}"),
            Selector::Az(z) => format!("@az:{z}"),
            Selector::Alloc { job, group, index } => format!("@alloc:{job}/{group}[{index}]"),
        }
    }

    fn matches(&self, node: &Node, inventory: &Inventory) -> bool {
        match self {
            Selector::Name(_, glob) => glob.is_match(&node.name),
            Selector::InstanceId(id) => node.instance_id == *id,
            Selector::Ip(ip) => {
                node.private_ip.as_deref() == Some(ip) || node.public_ip.as_deref() == Some(ip)
            }
            Selector::Role(role) => node.role == role.as_str(),
            Selector::Asg(_, glob) => node.asg.as_deref().is_some_and(|a| glob.is_match(a)),
            Selector::Class(class) => node.nomad.as_ref().is_some_and(|n| n.class == *class),
            Selector::Az(az) => node.az == *az,
            Selector::Alloc { job, group, index } => {
                let name = format!("{job}.{group}[{index}]");
                inventory
                    .allocations
                    .iter()
                    .filter(|a| a.name == name && a.client_status == AllocClientStatus::Running)
                    .any(|a| node.nomad.as_ref().is_some_and(|n| n.id == a.node_id))
            }
        }
    }
}

/// The running allocation `job.group[index]` (in `namespace`, else in any namespace holding
/// it) and the node it runs on: `opsctl ssh --job`. Errors name what is missing or ambiguous.
pub fn allocation_node<'a>(
    inventory: &'a Inventory,
    job: &str,
    group: &str,
    index: &str,
    namespace: Option<&str>,
) -> Result<(&'a Node, String)> {
    if let Some(error) = &inventory.nomad_error {
        return Err(Error::failed(format!("--job needs Nomad: {error}")));
    }
    let name = format!("{job}.{group}[{index}]");
    let found: Vec<_> = inventory
        .allocations
        .iter()
        .filter(|a| a.name == name && a.client_status == AllocClientStatus::Running)
        .filter(|a| namespace.is_none_or(|ns| a.namespace == ns))
        .collect();
    let allocation = match found.as_slice() {
        [one] => *one,
        [] => {
            return Err(Error::invalid(format!(
                "no running allocation {name}{}",
                namespace
                    .map(|n| format!(" in namespace {n}"))
                    .unwrap_or_default()
            )))
        }
        many => {
            return Err(Error::invalid(format!(
                "allocation {name} runs in several namespaces ({}): pass --namespace",
                many.iter()
                    .map(|a| a.namespace.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    };
    let node = inventory.node_of_allocation(allocation).ok_or_else(|| {
        Error::failed(format!(
            "allocation {name} runs on Nomad node {} ({}), which is not an instance of this cluster",
            allocation.node_name, allocation.node_id
        ))
    })?;
    Ok((node, allocation.id.clone()))
}

fn known(inventory: &Inventory) -> String {
    let names: Vec<&str> = inventory.nodes.iter().map(|n| n.name.as_str()).collect();
    if names.is_empty() {
        "no nodes are tagged with this cluster".into()
    } else {
        format!("nodes: {}", names.join(", "))
    }
}

/// The nodes matching any of `selectors`, in inventory order; a selector matching nothing is
/// an error listing what exists.
pub fn select<'a>(inventory: &'a Inventory, selectors: &[Selector]) -> Result<Vec<&'a Node>> {
    for selector in selectors {
        if !inventory
            .nodes
            .iter()
            .any(|n| selector.matches(n, inventory))
        {
            let hint = match selector {
                Selector::Alloc { .. } | Selector::Class(_) if inventory.nomad_error.is_some() => {
                    format!(
                        " (Nomad: {})",
                        inventory.nomad_error.as_deref().unwrap_or_default()
                    )
                }
                _ => String::new(),
            };
            return Err(Error::invalid(format!(
                "`{}` matches no node{hint}; {}",
                selector.describe(),
                known(inventory)
            )));
        }
    }
    Ok(inventory
        .nodes
        .iter()
        .filter(|n| selectors.iter().any(|s| s.matches(n, inventory)))
        .collect())
}

/// One node by name, instance id, IP or unique name prefix.
pub fn resolve_target<'a>(inventory: &'a Inventory, target: &str) -> Result<&'a Node> {
    let exact: Vec<&Node> = inventory
        .nodes
        .iter()
        .filter(|n| {
            n.name == target
                || n.instance_id == target
                || n.private_ip.as_deref() == Some(target)
                || n.public_ip.as_deref() == Some(target)
        })
        .collect();
    let candidates = if exact.is_empty() {
        inventory
            .nodes
            .iter()
            .filter(|n| n.name.starts_with(target))
            .collect()
    } else {
        exact
    };
    match candidates.as_slice() {
        [one] => Ok(one),
        [] => Err(Error::invalid(format!(
            "no node `{target}`; {}",
            known(inventory)
        ))),
        many => Err(Error::invalid(format!(
            "`{target}` is ambiguous: {}",
            many.iter()
                .map(|n| format!("{} ({})", n.name, n.instance_id))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, role: &str, az: &str) -> Node {
        Node {
            name: name.into(),
            instance_id: format!("i-{:0>8}", name.len()),
            role: role.into(),
            asg: (role == "client").then(|| "client-eu-central-1-default".into()),
            private_ip: Some(format!("10.0.0.{}", name.len())),
            public_ip: None,
            region: "eu-central-1".into(),
            az: az.into(),
            instance_type: "t3a.medium".into(),
            state: "running".into(),
            nomad: None,
        }
    }

    fn inventory() -> Inventory {
        Inventory {
            nodes: vec![
                node("core-1", "core", "eu-central-1a"),
                node("core-2", "core", "eu-central-1b"),
                node("client-a", "client", "eu-central-1a"),
                node("monitoring", "monitoring", "eu-central-1c"),
            ],
            asgs: Vec::new(),
            nomad_error: None,
            allocations: Vec::new(),
        }
    }

    fn names(nodes: Vec<&Node>) -> Vec<&str> {
        nodes.into_iter().map(|n| n.name.as_str()).collect()
    }

    #[test]
    fn selectors_combine_globs_and_tags() {
        let inv = inventory();
        let picked = select(
            &inv,
            &Selector::parse_list("core-*,@role:monitoring").unwrap(),
        )
        .unwrap();
        assert_eq!(names(picked), ["core-1", "core-2", "monitoring"]);
        let picked = select(&inv, &Selector::parse_list("@az:eu-central-1a").unwrap()).unwrap();
        assert_eq!(names(picked), ["core-1", "client-a"]);
        let picked = select(&inv, &Selector::parse_list("@asg:client-*").unwrap()).unwrap();
        assert_eq!(names(picked), ["client-a"]);
        let err = select(&inv, &Selector::parse_list("@role:nope").unwrap()).unwrap_err();
        assert!(
            err.to_string()
                .contains("nodes: core-1, core-2, client-a, monitoring"),
            "{err}"
        );
        assert!(Selector::parse("@colour:red").is_err());
        assert!(Selector::parse("@alloc:web").is_err());
        assert!(matches!(
            Selector::parse("@alloc:web/g[2]").unwrap(),
            Selector::Alloc { index: 2, .. }
        ));
    }

    #[test]
    fn targets_resolve_by_name_prefix_or_address() {
        let inv = inventory();
        assert_eq!(resolve_target(&inv, "mon").unwrap().name, "monitoring");
        assert_eq!(resolve_target(&inv, "10.0.0.8").unwrap().name, "client-a");
        let err = resolve_target(&inv, "core").unwrap_err().to_string();
        assert!(
            err.contains("ambiguous") && err.contains("core-1") && err.contains("core-2"),
            "{err}"
        );
        assert!(resolve_target(&inv, "db").is_err());
    }
}
