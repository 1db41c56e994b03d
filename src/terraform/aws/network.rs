//! `network`: a VPC per region in use with public and private subnets in every AZ, an
//! internet gateway, a NAT gateway per AZ, routes, security groups, and peering between the
//! core region's VPC and each client region's VPC.

use serde_json::{json, Map, Value};

use super::{az_suffix, ident, provider_ref, Cx};
use crate::error::{Error, Result};
use crate::repo::subnet_cidrs;
use crate::terraform::Document;

pub(super) fn render(cx: &Cx<'_>, doc: &mut Document) -> Result<()> {
    let regions: Vec<&str> = cx.regions.iter().map(|(r, _)| r.as_str()).collect();
    cx.base(doc, &regions);
    let all_cidrs: Vec<String> = regions.iter().map(|r| cx.vpc_cidr(r)).collect();

    let mut vpc_ids = Map::new();
    let mut vpc_cidrs = Map::new();
    let mut public_ids = Map::new();
    let mut private_ids = Map::new();
    let mut azs_out = Map::new();
    let mut sg_ids = Map::new();
    // Route tables per region, for the peering routes below.
    let mut route_tables: Vec<(String, Vec<String>)> = Vec::new();

    for region in &regions {
        let r = ident(region);
        let provider = provider_ref(region);
        let cidr = cx.vpc_cidr(region);
        let name = format!("{}-{region}", cx.cluster.name);
        doc.resource(
            "aws_vpc",
            &r,
            json!({
                "provider": provider,
                "cidr_block": cidr,
                "enable_dns_support": true,
                "enable_dns_hostnames": true,
                "tags": cx.tags(&[("Name", &name)]),
            }),
        );
        let vpc_id = format!("${{aws_vpc.{r}.id}}");
        doc.resource(
            "aws_internet_gateway",
            &r,
            json!({ "provider": provider, "vpc_id": vpc_id, "tags": cx.tags(&[("Name", &name)]) }),
        );
        doc.resource(
            "aws_route_table",
            &format!("{r}_public"),
            json!({ "provider": provider, "vpc_id": vpc_id, "tags": cx.tags(&[("Name", &format!("{name}-public"))]) }),
        );
        doc.resource(
            "aws_route",
            &format!("{r}_public_default"),
            json!({
                "provider": provider,
                "route_table_id": format!("${{aws_route_table.{r}_public.id}}"),
                "destination_cidr_block": "0.0.0.0/0",
                "gateway_id": format!("${{aws_internet_gateway.{r}.id}}"),
            }),
        );
        let mut tables = vec![format!("{r}_public")];
        let (mut public, mut private) = (Vec::new(), Vec::new());
        for (i, az) in cx.azs(region).iter().enumerate() {
            let s = az_suffix(region, az);
            // Public subnets `a.b.<az>.0/24`, private `a.b.<16·(az+1)>.0/20`.
            let (public_cidr, private_cidr) = subnet_cidrs(&cidr, i).ok_or_else(|| {
                Error::invalid(format!(
                    "VPC CIDR {cidr} of {region} is not a /16 with room for {} availability zones",
                    cx.azs(region).len()
                ))
            })?;
            for (tier, subnet_cidr, is_public) in [
                ("public", &public_cidr, true),
                ("private", &private_cidr, false),
            ] {
                let subnet = format!("{r}_{tier}_{s}");
                doc.resource(
                    "aws_subnet",
                    &subnet,
                    json!({
                        "provider": provider,
                        "vpc_id": vpc_id,
                        "availability_zone": az,
                        "cidr_block": subnet_cidr,
                        "map_public_ip_on_launch": false,
                        "tags": cx.tags(&[("Name", &format!("{name}-{tier}-{s}")), ("Tier", tier)]),
                    }),
                );
                let table = if is_public {
                    format!("{r}_public")
                } else {
                    format!("{r}_private_{s}")
                };
                doc.resource(
                    "aws_route_table_association",
                    &subnet,
                    json!({
                        "provider": provider,
                        "subnet_id": format!("${{aws_subnet.{subnet}.id}}"),
                        "route_table_id": format!("${{aws_route_table.{table}.id}}"),
                    }),
                );
                let id = Value::String(format!("${{aws_subnet.{subnet}.id}}"));
                if is_public {
                    public.push(id);
                } else {
                    private.push(id);
                }
            }
            // One NAT gateway per AZ: an AZ outage never cuts the others off.
            doc.resource(
                "aws_eip",
                &format!("{r}_nat_{s}"),
                json!({ "provider": provider, "domain": "vpc", "tags": cx.tags(&[("Name", &format!("{name}-nat-{s}"))]) }),
            );
            doc.resource(
                "aws_nat_gateway",
                &format!("{r}_{s}"),
                json!({
                    "provider": provider,
                    "allocation_id": format!("${{aws_eip.{r}_nat_{s}.id}}"),
                    "subnet_id": format!("${{aws_subnet.{r}_public_{s}.id}}"),
                    "tags": cx.tags(&[("Name", &format!("{name}-{s}"))]),
                    "depends_on": [format!("aws_internet_gateway.{r}")],
                }),
            );
            let private_table = format!("{r}_private_{s}");
            doc.resource(
                "aws_route_table",
                &private_table,
                json!({ "provider": provider, "vpc_id": vpc_id, "tags": cx.tags(&[("Name", &format!("{name}-private-{s}"))]) }),
            );
            doc.resource(
                "aws_route",
                &format!("{private_table}_default"),
                json!({
                    "provider": provider,
                    "route_table_id": format!("${{aws_route_table.{private_table}.id}}"),
                    "destination_cidr_block": "0.0.0.0/0",
                    "nat_gateway_id": format!("${{aws_nat_gateway.{r}_{s}.id}}"),
                }),
            );
            tables.push(private_table);
        }
        security_groups(cx, doc, region, &all_cidrs, &mut sg_ids);

        vpc_ids.insert(region.to_string(), vpc_id.clone().into());
        vpc_cidrs.insert(region.to_string(), cidr.clone().into());
        public_ids.insert(region.to_string(), Value::Array(public));
        private_ids.insert(region.to_string(), Value::Array(private));
        azs_out.insert(region.to_string(), json!(cx.azs(region)));
        route_tables.push((region.to_string(), tables));
    }

    peering(cx, doc, &route_tables);

    doc.output("region", "The core region", cx.core_region().into());
    doc.output("vpc_ids", "VPC id per region", Value::Object(vpc_ids));
    doc.output(
        "vpc_cidrs",
        "VPC CIDR block per region",
        Value::Object(vpc_cidrs),
    );
    doc.output(
        "azs",
        "Availability zones per region, in subnet order",
        Value::Object(azs_out),
    );
    doc.output(
        "public_subnet_ids",
        "Public subnet ids per region, one per AZ",
        Value::Object(public_ids),
    );
    doc.output(
        "private_subnet_ids",
        "Private subnet ids per region, one per AZ",
        Value::Object(private_ids),
    );
    doc.output(
        "security_group_ids",
        "Security group ids per region: internal (cluster traffic), ssh (admin networks), ingress (HTTP/HTTPS, core region), role_<role> ([[rules]] of each role with nodes there)",
        Value::Object(sg_ids),
    );
    Ok(())
}

/// `internal`: all traffic between the cluster's VPCs; `ssh`: port 22 from the admin networks
/// only; `ingress`: HTTP/HTTPS from anywhere, for the routing node in the core region.
fn security_groups(
    cx: &Cx<'_>,
    doc: &mut Document,
    region: &str,
    all_cidrs: &[String],
    sg_ids: &mut Map<String, Value>,
) {
    let r = ident(region);
    let provider = provider_ref(region);
    let vpc_id = format!("${{aws_vpc.{r}.id}}");
    let mut groups = vec![
        (
            "internal",
            "Cluster-internal traffic between the cluster's VPCs",
        ),
        ("ssh", "SSH from the cluster's admin networks"),
    ];
    if region == cx.core_region() {
        groups.push(("ingress", "HTTP and HTTPS to the routing node"));
    }
    let roles = cx.cluster.roles_in(region);
    let role_groups: Vec<(String, String)> = roles
        .iter()
        .map(|role| {
            (
                format!("role_{role}"),
                format!("Ingress rules of the {role} nodes ([[rules]])"),
            )
        })
        .collect();
    let mut ids = Map::new();
    let groups = groups
        .iter()
        .map(|(g, d)| ((*g).to_string(), (*d).to_string()))
        .chain(role_groups);
    for (group, description) in groups {
        let group = group.as_str();
        let name = format!("{}-{region}-{}", cx.cluster.name, group.replace('_', "-"));
        doc.resource(
            "aws_security_group",
            &format!("{r}_{group}"),
            json!({
                "provider": provider,
                "name": name,
                "description": description,
                "vpc_id": vpc_id,
                "tags": cx.tags(&[("Name", &name)]),
            }),
        );
        ids.insert(
            group.into(),
            format!("${{aws_security_group.{r}_{group}.id}}").into(),
        );
    }
    sg_ids.insert(region.to_string(), Value::Object(ids));

    let rule = |group: &str, description: String, extra: Value| {
        let mut body = json!({
            "provider": provider,
            "security_group_id": format!("${{aws_security_group.{r}_{group}.id}}"),
            "description": description,
        });
        if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
            body.extend(extra);
        }
        body
    };
    for (i, cidr) in all_cidrs.iter().enumerate() {
        doc.resource(
            "aws_vpc_security_group_ingress_rule",
            &format!("{r}_internal_{i}"),
            rule(
                "internal",
                format!("all traffic from {cidr}"),
                json!({ "ip_protocol": "-1", "cidr_ipv4": cidr }),
            ),
        );
    }
    doc.resource(
        "aws_vpc_security_group_egress_rule",
        &format!("{r}_internal_out"),
        rule(
            "internal",
            "all outbound traffic".into(),
            json!({ "ip_protocol": "-1", "cidr_ipv4": "0.0.0.0/0" }),
        ),
    );
    for (i, cidr) in cx.aws.admin_cidrs.iter().enumerate() {
        doc.resource(
            "aws_vpc_security_group_ingress_rule",
            &format!("{r}_ssh_{i}"),
            rule(
                "ssh",
                format!("SSH from {cidr}"),
                json!({ "ip_protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_ipv4": cidr }),
            ),
        );
    }
    role_rules(cx, doc, region, &roles, &rule);
    if region == cx.core_region() {
        for (name, port) in [("http", 80), ("https", 443)] {
            doc.resource(
                "aws_vpc_security_group_ingress_rule",
                &format!("{r}_ingress_{name}"),
                rule("ingress", format!("{} from anywhere", name.to_uppercase()), json!({ "ip_protocol": "tcp", "from_port": port, "to_port": port, "cidr_ipv4": "0.0.0.0/0" })),
            );
        }
    }
}

/// `[[rules]]` of the roles with nodes in `region`: one rule resource per protocol and source
/// (CIDR or role), on the role's group.
fn role_rules(
    cx: &Cx<'_>,
    doc: &mut Document,
    region: &str,
    roles: &[&str],
    rule: &dyn Fn(&str, String, Value) -> Value,
) {
    let r = ident(region);
    for (i, settings) in cx.cluster.rules.iter().enumerate() {
        if !roles.contains(&settings.role.as_str()) {
            continue;
        }
        let group = format!("role_{}", settings.role);
        let (from, to) = settings.ports();
        let ports = if from == to {
            from.to_string()
        } else {
            format!("{from}-{to}")
        };
        let what = settings
            .description
            .clone()
            .unwrap_or_else(|| format!("rule {i} of {}", settings.role));
        for protocol in &settings.protocols {
            let mut body = json!({ "ip_protocol": protocol });
            if protocol != "-1" {
                body["from_port"] = from.into();
                body["to_port"] = to.into();
            }
            let sources = settings
                .cidrs
                .iter()
                .map(|c| ("cidr_ipv4", c.clone(), c.clone()))
                .chain(
                    settings
                        .source_roles
                        .iter()
                        .filter(|s| roles.contains(&s.as_str()))
                        .map(|s| {
                            (
                                "referenced_security_group_id",
                                format!("${{aws_security_group.{r}_role_{s}.id}}"),
                                format!("{s} nodes"),
                            )
                        }),
                );
            for (n, (key, value, from_what)) in sources.enumerate() {
                let mut body = body.clone();
                body[key] = value.into();
                doc.resource(
                    "aws_vpc_security_group_ingress_rule",
                    &format!("{r}_rule_{i}_{}_{n}", ident_protocol(protocol)),
                    rule(
                        &group,
                        format!("{what}: {protocol} {ports} from {from_what}"),
                        body,
                    ),
                );
            }
        }
    }
}

fn ident_protocol(protocol: &str) -> &str {
    if protocol == "-1" {
        "all"
    } else {
        protocol
    }
}

/// Peering between the core region's VPC and each client region's VPC, with routes both ways.
fn peering(cx: &Cx<'_>, doc: &mut Document, route_tables: &[(String, Vec<String>)]) {
    let core = cx.core_region();
    let c = ident(core);
    let core_tables = route_tables
        .iter()
        .find(|(r, _)| r == core)
        .map(|(_, t)| t.clone())
        .unwrap_or_default();
    for (region, tables) in route_tables.iter().filter(|(r, _)| r != core) {
        let r = ident(region);
        let connection = format!("{c}_to_{r}");
        doc.resource(
            "aws_vpc_peering_connection",
            &connection,
            json!({
                "provider": provider_ref(core),
                "vpc_id": format!("${{aws_vpc.{c}.id}}"),
                "peer_vpc_id": format!("${{aws_vpc.{r}.id}}"),
                "peer_region": region,
                "auto_accept": false,
                "tags": cx.tags(&[("Name", &format!("{}-{core}-to-{region}", cx.cluster.name))]),
            }),
        );
        doc.resource(
            "aws_vpc_peering_connection_accepter",
            &connection,
            json!({
                "provider": provider_ref(region),
                "vpc_peering_connection_id": format!("${{aws_vpc_peering_connection.{connection}.id}}"),
                "auto_accept": true,
                "tags": cx.tags(&[("Name", &format!("{}-{core}-to-{region}", cx.cluster.name))]),
            }),
        );
        let pcx = format!("${{aws_vpc_peering_connection_accepter.{connection}.id}}");
        for (from, from_tables, to) in [
            (core, &core_tables, region.as_str()),
            (region.as_str(), tables, core),
        ] {
            for table in from_tables {
                doc.resource(
                    "aws_route",
                    &format!("{table}_to_{}", ident(to)),
                    json!({
                        "provider": provider_ref(from),
                        "route_table_id": format!("${{aws_route_table.{table}.id}}"),
                        "destination_cidr_block": cx.vpc_cidr(to),
                        "vpc_peering_connection_id": pcx,
                    }),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn subnets_do_not_overlap() {
        let (public, private) = super::subnet_cidrs("10.2.0.0/16", 1).unwrap();
        assert_eq!(public, "10.2.1.0/24");
        assert_eq!(private, "10.2.32.0/20");
        let (public, private) = super::subnet_cidrs("172.16.0.0/16", 2).unwrap();
        assert_eq!(public, "172.16.2.0/24");
        assert_eq!(private, "172.16.48.0/20");
        assert!(super::subnet_cidrs("172.16.0.0/12", 0).is_none());
    }
}
