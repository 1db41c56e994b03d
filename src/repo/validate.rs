//! Rules over the loaded model. Each rule reports with the file, position and field it concerns.

use std::collections::BTreeMap;

use super::names;
use super::source::{keys, Seg};
use super::{Problem, Problems, Repo, Target};

/// Ports an environment block may use: unprivileged, below the top of the range.
pub const PORT_RANGE: std::ops::RangeInclusive<u32> = 1024..=65535;

pub(super) fn validate(repo: &Repo, problems: &mut Problems) {
    cluster_rules(repo, problems);
    environment_rules(repo, problems);
    revision_rules(repo, problems);
    for template in repo.jobs.values() {
        if let Some(why) = names::dns_label_error(&template.name) {
            problems.push(Problem::new(&template.file, format!("job name {why}")));
        }
    }
}

struct At<'a> {
    repo: &'a Repo,
    file: &'a str,
}

impl At<'_> {
    fn problem(&self, path: &[Seg], message: impl Into<String>) -> Problem {
        Problem::new(self.file, message)
            .field(super::source::field_name(path))
            .at(self.repo.locate(self.file, path))
    }
}

/// Regions fewer than this many availability zones are refused: quorum and HA need three.
pub const MIN_AZS: usize = 3;

/// `[rebuild]`: each strategy has what it needs.
fn rebuild_rules(at: &At<'_>, cluster: &super::Cluster, problems: &mut Problems) {
    let Some(rebuild) = &cluster.rebuild else {
        return;
    };
    if rebuild.strategy == super::RebuildStrategy::Command && rebuild.command.is_none() {
        problems.push(at.problem(
            &keys(&["rebuild", "command"]),
            "the `command` strategy needs `command`, the command to run on each node",
        ));
    }
    if let Some(deadline) = &rebuild.drain_deadline {
        if humantime::parse_duration(deadline).map_or(true, |d| d.is_zero()) {
            problems.push(at.problem(
                &keys(&["rebuild", "drain_deadline"]),
                format!("`{deadline}` is not a duration such as \"10m\""),
            ));
        }
    }
}

/// `[terraform]` and the availability zones the AWS provider spreads over.
fn terraform_rules(at: &At<'_>, cluster: &super::Cluster, problems: &mut Problems) {
    let settings = &cluster.terraform;
    if cluster.backend_kind() == super::BackendKind::S3 && cluster.aws.is_none() {
        problems.push(at.problem(
            &keys(&["terraform", "backend"]),
            "the s3 backend keeps state in [aws].state_bucket: add an [aws] section or set `backend = \"local\"`",
        ));
    }
    if let Some(timeout) = &settings.provider_timeout {
        if humantime::parse_duration(timeout).map_or(true, |d| d.is_zero()) {
            problems.push(at.problem(
                &keys(&["terraform", "provider_timeout"]),
                format!("`{timeout}` is not a duration such as \"30s\" or \"2m\""),
            ));
        }
    }
    if let Some(table) = &settings.lock_table {
        let ok = (3..=255).contains(&table.len())
            && table
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !ok {
            problems.push(at.problem(
                &keys(&["terraform", "lock_table"]),
                format!("`{table}` is not a DynamoDB table name (3-255 of A-Z a-z 0-9 _ - .)"),
            ));
        }
    }
    if let Some(version) = &settings.version {
        if crate::terraform::Version::parse(version).is_none() {
            problems.push(at.problem(
                &keys(&["terraform", "version"]),
                format!("`{version}` is not a terraform version such as \"1.11.4\""),
            ));
        }
    }
    if settings
        .binary
        .as_deref()
        .is_some_and(|b| b.trim().is_empty())
    {
        problems.push(at.problem(
            &keys(&["terraform", "binary"]),
            "binary must name a program (terraform or tofu)",
        ));
    }
    let Some(aws) = &cluster.aws else { return };
    let in_use = cluster.regions();
    for (region, azs) in &aws.azs {
        let path = keys(&["aws", "azs", region]);
        if !in_use.contains(region) {
            problems.push(at.problem(
                &path,
                format!(
                    "region {region} is not used by the cluster (regions: {})",
                    in_use.join(", ")
                ),
            ));
        }
        let mut unique: Vec<&String> = azs.iter().collect();
        unique.sort();
        unique.dedup();
        if unique.len() < MIN_AZS {
            problems.push(at.problem(
                &path,
                format!(
                    "region {region} lists {} distinct availability zone{}; opsctl spreads nodes over at least {MIN_AZS} and refuses regions with fewer",
                    unique.len(),
                    if unique.len() == 1 { "" } else { "s" }
                ),
            ));
        }
        for az in azs {
            let suffix = az.strip_prefix(region.as_str()).unwrap_or_default();
            if suffix.len() != 1 || !suffix.chars().all(|c| c.is_ascii_lowercase()) {
                problems.push(at.problem(
                    &path,
                    format!("`{az}` is not an availability zone of {region} (like {region}a)"),
                ));
            }
        }
    }
}

fn cluster_rules(repo: &Repo, problems: &mut Problems) {
    let cluster = &repo.cluster;
    let at = At {
        repo,
        file: &repo.cluster_file,
    };
    let dir_name = repo
        .cluster_file
        .split('/')
        .nth(1)
        .unwrap_or_default()
        .to_string();
    if let Some(pattern) = &cluster.hostname {
        for unknown in super::environment::unknown_placeholders(pattern) {
            problems.push(at.problem(
                &keys(&["hostname"]),
                format!(
                    "unknown placeholder `{unknown}` (placeholders: {})",
                    super::environment::HOSTNAME_PLACEHOLDERS.join(", ")
                ),
            ));
        }
    }

    rebuild_rules(&at, cluster, problems);
    if let Some(why) = names::dns_label_error(&cluster.name) {
        problems.push(at.problem(&keys(&["name"]), format!("cluster name {why}")));
    } else if cluster.name != dir_name {
        problems.push(at.problem(
            &keys(&["name"]),
            format!(
                "cluster name `{}` differs from its folder clusters/{dir_name}/",
                cluster.name
            ),
        ));
    }
    if !names::is_domain(&cluster.domain) {
        problems.push(at.problem(
            &keys(&["domain"]),
            format!("`{}` is not a DNS domain name", cluster.domain),
        ));
    }
    if !matches!(cluster.core.count, 3 | 5) {
        problems.push(at.problem(
            &keys(&["core", "count"]),
            format!(
                "core count must be 3 or 5 for a Raft quorum (got {})",
                cluster.core.count
            ),
        ));
    }
    if cluster.provider == "aws" && cluster.aws.is_none() {
        problems.push(at.problem(&[], "provider `aws` needs an [aws] section"));
    }
    if let Some(why) = names::dns_label_error(&cluster.provider) {
        problems.push(at.problem(&keys(&["provider"]), format!("provider name {why}")));
    }

    if let Some(aws) = &cluster.aws {
        if !names::is_region(&aws.region) {
            problems.push(at.problem(
                &keys(&["aws", "region"]),
                format!("`{}` is not an AWS region name", aws.region),
            ));
        }
        if let Some(arn) = &aws.kms_key {
            match names::kms_arn_region(arn) {
                None => problems.push(at.problem(
                    &keys(&["aws", "kms_key"]),
                    format!(
                        "`{arn}` is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<uuid>)"
                    ),
                )),
                Some(region) if region != aws.region => problems.push(at.problem(
                    &keys(&["aws", "kms_key"]),
                    format!(
                        "the KMS key is in {region} but the cluster's region is {}",
                        aws.region
                    ),
                )),
                Some(_) => {}
            }
        }
        if !names::is_bucket_name(&aws.state_bucket) {
            problems.push(at.problem(
                &keys(&["aws", "state_bucket"]),
                format!("`{}` is not a valid S3 bucket name", aws.state_bucket),
            ));
        }
        if let Some(zone) = &aws.hosted_zone {
            if !names::is_domain(zone) {
                problems.push(at.problem(
                    &keys(&["aws", "hosted_zone"]),
                    format!("`{zone}` is not a DNS domain name"),
                ));
            }
        }
        for (region, ami) in &aws.amis {
            let path = keys(&["aws", "amis", region]);
            if !names::is_region(region) {
                problems.push(at.problem(&path, format!("`{region}` is not an AWS region name")));
            }
            if !names::is_ami(ami) {
                problems.push(at.problem(&path, format!("`{ami}` is not an AMI id (ami-…)")));
            }
        }
        if !aws.amis.contains_key(&aws.region) {
            problems.push(at.problem(
                &keys(&["aws", "amis"]),
                format!(
                    "no AMI for the core region {}: add `{} = \"ami-…\"`",
                    aws.region, aws.region
                ),
            ));
        }
        let admin_cidrs: Vec<(Vec<Seg>, &str)> = aws
            .admin_cidrs
            .iter()
            .enumerate()
            .map(|(i, cidr)| {
                (
                    vec![
                        Seg::Key("aws".into()),
                        Seg::Key("admin_cidrs".into()),
                        Seg::Index(i),
                    ],
                    cidr.as_str(),
                )
            })
            .collect();
        ssh_exposure_rules(&at, &admin_cidrs, "SSH", problems);
        for (i, admin) in aws.admins.iter().enumerate() {
            let ok = (1..=64).contains(&admin.len())
                && admin
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
            if !ok {
                problems.push(at.problem(
                    &[
                        Seg::Key("aws".into()),
                        Seg::Key("admins".into()),
                        Seg::Index(i),
                    ],
                    format!(
                        "`{admin}` is not an IAM user name (1-64 of A-Z a-z 0-9 + = , . @ _ -)"
                    ),
                ));
            }
        }
        let in_use = cluster.regions();
        for region in aws.amis.keys() {
            if names::is_region(region) && !in_use.contains(region) {
                problems.push(at.problem(
                    &keys(&["aws", "amis", region]),
                    format!(
                        "has no effect: region {region} is not used by the cluster (regions: {})",
                        in_use.join(", ")
                    ),
                ));
            }
        }
    }

    for (i, client) in cluster.clients.iter().enumerate() {
        let path = |key: &str| {
            vec![
                Seg::Key("clients".into()),
                Seg::Index(i),
                Seg::Key(key.into()),
            ]
        };
        if !names::is_region(&client.region) {
            problems.push(at.problem(
                &path("region"),
                format!("`{}` is not an AWS region name", client.region),
            ));
        }
        if !(client.min <= client.desired && client.desired <= client.max) {
            problems.push(at.problem(
                &path("desired"),
                format!(
                    "autoscaling sizes must satisfy min <= desired <= max (min {}, desired {}, max {})",
                    client.min, client.desired, client.max
                ),
            ));
        }
        for (key, value) in [
            ("node_class", &client.node_class),
            ("node_pool", &client.node_pool),
        ] {
            if let Some(name) = value {
                if !is_nomad_name(name) {
                    problems.push(at.problem(
                        &path(key),
                        format!(
                            "`{name}` is not a Nomad {} name (1-128 of A-Z a-z 0-9 - _)",
                            key.replace('_', " ")
                        ),
                    ));
                }
            }
        }
        client_group_rules(&at, i, client, problems);
    }
    let mut asg_names = BTreeMap::new();
    for (i, client) in cluster.clients.iter().enumerate() {
        // Resource identifiers turn `-` into `_`: `a-b` and `a_b` would collide.
        if let Some(first) = asg_names.insert(client.asg_name().replace('-', "_"), i) {
            problems.push(at.problem(
                &[Seg::Key("clients".into()), Seg::Index(i)],
                format!(
                    "clients[{first}] and clients[{i}] would both be the autoscaling group {}: give one a `name`",
                    client.asg_name()
                ),
            ));
        }
    }

    terraform_rules(&at, cluster, problems);
    shape_rules(&at, cluster, problems);

    if cluster.nomad.datacenters.is_empty() {
        problems.push(at.problem(
            &keys(&["nomad", "datacenters"]),
            "at least one Nomad datacenter is needed",
        ));
    }
    if !(cluster.nomad.address.starts_with("http://")
        || cluster.nomad.address.starts_with("https://"))
    {
        problems.push(at.problem(
            &keys(&["nomad", "address"]),
            format!("`{}` is not an http(s) URL", cluster.nomad.address),
        ));
    }

    for (name, variant) in &cluster.variants {
        let base = |key: &str| keys(&["variants", name, key]);
        if let Some(why) = names::dns_label_error(name) {
            problems.push(at.problem(&keys(&["variants", name]), format!("variant name {why}")));
        }
        if variant.port_block == 0 {
            problems.push(at.problem(&base("port_block"), "port_block must be at least 1"));
        }
        if let Some(pattern) = &variant.hostname {
            for unknown in super::environment::unknown_placeholders(pattern) {
                problems.push(at.problem(
                    &base("hostname"),
                    format!(
                        "unknown placeholder `{unknown}` (placeholders: {})",
                        super::environment::HOSTNAME_PLACEHOLDERS.join(", ")
                    ),
                ));
            }
        }
        for job in variant.labels.keys().filter(|j| !variant.jobs.contains(j)) {
            problems.push(at.problem(
                &keys(&["variants", name, "labels", job]),
                format!("`{job}` is not a job of variant `{name}`"),
            ));
        }
        for job in &variant.jobs {
            if !repo.jobs.contains_key(job) {
                let hint = super::suggest(job, repo.jobs.keys().map(String::as_str))
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                problems.push(at.problem(
                    &base("jobs"),
                    format!(
                        "job `{job}` has no file jobs/{job}.json or jobs/{job}{}{hint}",
                        super::TEMPLATE_SUFFIX
                    ),
                ));
            }
        }
        for source in &variant.sources {
            if !cluster.sources.contains_key(source) {
                let hint = super::suggest(source, cluster.sources.keys().map(String::as_str))
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                problems.push(at.problem(
                    &base("sources"),
                    format!("source `{source}` is not defined under [sources]{hint}"),
                ));
            }
        }
    }
}

/// Nomad's rule for node pool names, also applied to node classes (which name the ASG).
fn is_nomad_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Refuses sets of CIDRs that open `what` to the internet: any entry shorter than /8 (all
/// such ranges hold public space), IPv6 (opsctl's SSH rules are IPv4), and a set whose union
/// is the whole IPv4 space, naming the entries.
fn ssh_exposure_rules(
    at: &At<'_>,
    cidrs: &[(Vec<Seg>, &str)],
    what: &str,
    problems: &mut Problems,
) {
    let mut ranges: Vec<(u64, u64, usize)> = Vec::new();
    for (i, (path, cidr)) in cidrs.iter().enumerate() {
        match names::parse_cidr(cidr) {
            None => problems.push(at.problem(path, format!("`{cidr}` is not a CIDR block"))),
            Some((_, 0)) => problems.push(at.problem(
                path,
                format!("`{cidr}` opens {what} to the whole internet; name your admin networks"),
            )),
            Some((std::net::IpAddr::V6(_), _)) => problems
                .push(at.problem(path, format!("`{cidr}`: {what} sources are IPv4 networks"))),
            Some((std::net::IpAddr::V4(addr), len)) => {
                if len < 8 {
                    problems.push(at.problem(
                        path,
                        format!("`{cidr}` opens {what} to a /{len} of the public internet; ranges shorter than /8 are refused"),
                    ));
                }
                let size = 1u64 << (32 - u32::from(len));
                let start = u64::from(u32::from(addr)) & !(size - 1);
                ranges.push((start, start + size, i));
            }
        }
    }
    ranges.sort();
    let mut covered = 0u64;
    for (start, end, _) in &ranges {
        if *start > covered {
            return;
        }
        covered = covered.max(*end);
    }
    if covered >= 1u64 << 32 && !ranges.is_empty() {
        const NAMED: usize = 8;
        let mut entries: Vec<&str> = ranges
            .iter()
            .take(NAMED)
            .map(|(_, _, i)| cidrs[*i].1)
            .collect();
        let more = format!("… ({} entries)", ranges.len());
        if ranges.len() > NAMED {
            entries.push(&more);
        }
        let (first, _) = &cidrs[ranges[0].2];
        problems.push(at.problem(
            first,
            format!(
                "together {} open {what} to the whole IPv4 internet; name your admin networks",
                entries.join(" + ")
            ),
        ));
    }
}

/// Root volume settings of a node or a client group.
fn volume_rules(at: &At<'_>, base: &[Seg], volume: &super::Volume, problems: &mut Problems) {
    let path = |key: &str| {
        let mut path = base.to_vec();
        path.push(Seg::Key(key.into()));
        path
    };
    const TYPES: &[&str] = &["gp3", "gp2", "io1", "io2", "st1", "sc1", "standard"];
    if !TYPES.contains(&volume.kind.as_str()) {
        problems.push(at.problem(
            &path("volume_type"),
            format!(
                "`{}` is not an EBS volume type ({})",
                volume.kind,
                TYPES.join(", ")
            ),
        ));
    }
    if !(8..=16384).contains(&volume.size) {
        problems.push(at.problem(
            &path("volume_size"),
            format!("{} GiB: a root volume is 8 to 16384 GiB", volume.size),
        ));
    }
    match (volume.kind.as_str(), volume.iops) {
        ("gp3", Some(iops)) if !(3000..=80000).contains(&iops) => problems.push(at.problem(
            &path("volume_iops"),
            format!("gp3 volumes take 3000 to 80000 IOPS (got {iops})"),
        )),
        ("io1" | "io2", None) => problems.push(at.problem(
            &path("volume_type"),
            format!("{} volumes need `volume_iops`", volume.kind),
        )),
        ("gp3" | "io1" | "io2", _) | (_, None) => {}
        (kind, Some(_)) => problems.push(at.problem(
            &path("volume_iops"),
            format!("has no effect: {kind} volumes have no provisioned IOPS (gp3, io1, io2 do)"),
        )),
    }
    match (volume.kind.as_str(), volume.throughput) {
        ("gp3", Some(t)) if !(125..=2000).contains(&t) => problems.push(at.problem(
            &path("volume_throughput"),
            format!("gp3 volumes take 125 to 2000 MiB/s (got {t})"),
        )),
        ("gp3", _) | (_, None) => {}
        (kind, Some(_)) => problems.push(at.problem(
            &path("volume_throughput"),
            format!("has no effect: only gp3 volumes take a throughput ({kind} given)"),
        )),
    }
}

fn client_group_rules(at: &At<'_>, i: usize, client: &super::ClientGroup, problems: &mut Problems) {
    let base = vec![Seg::Key("clients".into()), Seg::Index(i)];
    let path = |keys: &[&str]| {
        let mut path = base.clone();
        path.extend(keys.iter().map(|k| Seg::Key((*k).into())));
        path
    };
    volume_rules(at, &base, &client.volume(), problems);
    if let Some(lifetime) = client.max_instance_lifetime {
        if lifetime != 0 && !(604_800..=31_536_000).contains(&lifetime) {
            problems.push(at.problem(
                &path(&["max_instance_lifetime"]),
                format!("{lifetime} s: 0 (never) or 604800 (7 days) to 31536000 (365 days)"),
            ));
        }
    }
    for key in client.meta.keys() {
        let ok = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !ok {
            problems.push(at.problem(
                &path(&["meta", key]),
                format!(
                    "`{key}` is not a meta key usable as `${{meta.{key}}}` (A-Z a-z 0-9 _ - .)"
                ),
            ));
        }
    }
    for (name, dir) in &client.host_volumes {
        if !is_nomad_name(name) {
            problems.push(at.problem(
                &path(&["host_volumes", name]),
                format!("`{name}` is not a host volume name (1-128 of A-Z a-z 0-9 - _)"),
            ));
        }
        let ok = dir.starts_with('/')
            && !dir.contains("/../")
            && !dir.ends_with("/..")
            && dir.chars().all(|c| !c.is_control() && c != '\'');
        if !ok || dir == "/" {
            problems.push(at.problem(
                &path(&["host_volumes", name]),
                format!("`{dir}` is not an absolute folder path (no `..`, quotes or control characters)"),
            ));
        }
    }
}

/// `[network]`, `[nodes.*]`, `[routing]`, `[[rules]]`, and keys that would have no effect.
fn shape_rules(at: &At<'_>, cluster: &super::Cluster, problems: &mut Problems) {
    let in_use = cluster.regions();
    let mut cidrs: Vec<(String, u32, u32)> = Vec::new();
    for (region, cidr) in &cluster.network.vpc_cidrs {
        let path = keys(&["network", "vpc_cidrs", region]);
        if !in_use.contains(region) {
            problems.push(at.problem(
                &path,
                format!(
                    "has no effect: region {region} is not used by the cluster (regions: {})",
                    in_use.join(", ")
                ),
            ));
        }
        if super::subnet_cidrs(cidr, 0).is_none() {
            problems.push(at.problem(
                &path,
                format!("`{cidr}` is not a /16 network such as 172.16.0.0/16 (subnets are derived from it)"),
            ));
            continue;
        }
        let private = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];
        if !private.iter().any(|p| cidr_within(cidr, p)) {
            problems.push(at.problem(
                &path,
                format!(
                    "`{cidr}` is not a private network (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)"
                ),
            ));
        }
    }
    for region in &in_use {
        let cidr = cluster.vpc_cidr(region);
        if let Some((std::net::IpAddr::V4(addr), 16)) = names::parse_cidr(&cidr) {
            let start = u32::from(addr);
            cidrs.push((region.clone(), start, start + 0xFFFF));
        }
    }
    for (i, (a, a_start, a_end)) in cidrs.iter().enumerate() {
        for (b, b_start, b_end) in &cidrs[i + 1..] {
            if a_start <= b_end && b_start <= a_end {
                problems.push(at.problem(
                    &keys(&["network", "vpc_cidrs"]),
                    format!(
                        "the VPCs of {a} ({}) and {b} ({}) overlap: peered VPCs need distinct CIDRs",
                        cluster.vpc_cidr(a),
                        cluster.vpc_cidr(b)
                    ),
                ));
            }
        }
    }

    let named = cluster.named_nodes();
    let core_region = cluster.aws.as_ref().map(|a| a.region.clone());
    let az_count = cluster
        .aws
        .as_ref()
        .and_then(|a| a.azs_of(&a.region).ok())
        .map_or(3, |azs| azs.len());
    let mut ips: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, settings) in &cluster.nodes {
        let base = keys(&["nodes", name]);
        let Some(node) = named.iter().find(|n| &n.name == name) else {
            let names: Vec<&str> = named.iter().map(|n| n.name.as_str()).collect();
            problems.push(at.problem(
                &base,
                format!(
                    "has no effect: the cluster has no node `{name}` (nodes: {})",
                    names.join(", ")
                ),
            ));
            continue;
        };
        volume_rules(at, &base, &node.volume(), problems);
        if let (Some(ip), Some(region)) = (&settings.private_ip, &core_region) {
            let path = keys(&["nodes", name, "private_ip"]);
            let vpc = cluster.vpc_cidr(region);
            if super::public_subnet_of(&vpc, az_count, ip).is_none() {
                let prefix = vpc.split('.').take(2).collect::<Vec<_>>().join(".");
                problems.push(at.problem(
                    &path,
                    format!(
                        "`{ip}` is in none of the public subnets of {vpc} ({prefix}.0.4 … {prefix}.{}.254; AWS reserves .0-.3 and .255)",
                        az_count - 1
                    ),
                ));
            }
            if let Some(other) = ips.insert(ip, name) {
                problems
                    .push(at.problem(&path, format!("`{ip}` is also the IP of node `{other}`")));
            }
        }
    }

    if let Some(routing) = &cluster.routing {
        let cluster_zone = cluster
            .aws
            .as_ref()
            .and_then(|a| a.hosted_zone.clone())
            .unwrap_or_else(|| cluster.domain.clone());
        let within = |name: &str, zone: &str| {
            let bare = name.strip_prefix("*.").unwrap_or(name);
            bare == zone || bare.ends_with(&format!(".{zone}"))
        };
        for (i, zone) in routing.extra_zones.iter().enumerate() {
            let path = [
                Seg::Key("routing".into()),
                Seg::Key("extra_zones".into()),
                Seg::Index(i),
            ];
            if !names::is_domain(zone) {
                problems.push(at.problem(&path, format!("`{zone}` is not a DNS domain name")));
            } else if !routing.extra_sans.iter().any(|s| within(s, zone)) {
                problems.push(at.problem(
                    &path,
                    format!("has no effect: no name of extra_sans lies in `{zone}`"),
                ));
            }
        }
        for (i, san) in routing.extra_sans.iter().enumerate() {
            let path = [
                Seg::Key("routing".into()),
                Seg::Key("extra_sans".into()),
                Seg::Index(i),
            ];
            let bare = san.strip_prefix("*.").unwrap_or(san);
            if !names::is_domain(bare) {
                problems.push(at.problem(
                    &path,
                    format!("`{san}` is not a DNS name (a leading `*.` is allowed)"),
                ));
            } else if !within(san, &cluster_zone)
                && !routing.extra_zones.iter().any(|z| within(san, z))
            {
                problems.push(at.problem(
                    &path,
                    format!("`{san}` lies in neither {cluster_zone} nor routing.extra_zones: add its hosted zone there"),
                ));
            }
        }
    }

    let mut rule_cidrs: Vec<(Vec<Seg>, &str)> = Vec::new();
    for (i, rule) in cluster.rules.iter().enumerate() {
        let path = |key: &str| {
            vec![
                Seg::Key("rules".into()),
                Seg::Index(i),
                Seg::Key(key.into()),
            ]
        };
        let role_regions: Vec<&String> = in_use
            .iter()
            .filter(|r| cluster.roles_in(r).contains(&rule.role.as_str()))
            .collect();
        if !super::RULE_ROLES.contains(&rule.role.as_str()) {
            problems.push(at.problem(
                &path("role"),
                format!(
                    "`{}` is not a role ({})",
                    rule.role,
                    super::RULE_ROLES.join(", ")
                ),
            ));
        } else if role_regions.is_empty() {
            problems.push(at.problem(
                &path("role"),
                format!("has no effect: the cluster has no {} nodes", rule.role),
            ));
        }
        match (rule.port, rule.from_port, rule.to_port) {
            (Some(_), None, None) => {}
            (None, Some(from), Some(to)) if from <= to => {}
            (None, Some(from), Some(to)) => problems.push(at.problem(
                &path("to_port"),
                format!("to_port {to} is below from_port {from}"),
            )),
            _ if rule.protocols.iter().all(|p| p == "-1") => {}
            _ => problems
                .push(at.problem(&path("port"), "give `port`, or `from_port` and `to_port`")),
        }
        for protocol in &rule.protocols {
            if !["tcp", "udp", "icmp", "-1"].contains(&protocol.as_str()) {
                problems.push(at.problem(
                    &path("protocols"),
                    format!("`{protocol}` is not a protocol (tcp, udp, icmp, -1 for all)"),
                ));
            }
        }
        if rule.cidrs.is_empty() && rule.source_roles.is_empty() {
            problems.push(at.problem(&path("cidrs"), "a rule needs `cidrs` or `source_roles`"));
        }
        for source in &rule.source_roles {
            let shares_region = role_regions
                .iter()
                .all(|r| cluster.roles_in(r).contains(&source.as_str()));
            if !super::RULE_ROLES.contains(&source.as_str()) {
                problems.push(at.problem(
                    &path("source_roles"),
                    format!(
                        "`{source}` is not a role ({})",
                        super::RULE_ROLES.join(", ")
                    ),
                ));
            } else if !shares_region {
                problems.push(at.problem(
                    &path("source_roles"),
                    format!("{source} nodes are not in every region of the {} nodes: security groups are referenced within a region; use `cidrs`", rule.role),
                ));
            }
        }
        if let Some(description) = &rule.description {
            let ok = description.len() <= 200
                && description
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || " ._-:/()#,@[]+=&;{}!$*".contains(c));
            if !ok {
                problems.push(at.problem(
                    &path("description"),
                    "a rule description is up to 200 of A-Z a-z 0-9 and . _-:/()#,@[]+=&;{}!$* and space",
                ));
            }
        }
        let (from, to) = rule.ports();
        let opens_admin_port = rule.protocols.iter().any(|p| p == "-1")
            || (rule.protocols.iter().any(|p| p == "tcp") && from <= 22 && 22 <= to);
        for (n, cidr) in rule.cidrs.iter().enumerate() {
            let entry = vec![
                Seg::Key("rules".into()),
                Seg::Index(i),
                Seg::Key("cidrs".into()),
                Seg::Index(n),
            ];
            match names::parse_cidr(cidr) {
                Some((std::net::IpAddr::V4(_), _)) => {
                    if opens_admin_port {
                        rule_cidrs.push((entry, cidr.as_str()));
                    }
                }
                _ => {
                    problems.push(at.problem(&entry, format!("`{cidr}` is not an IPv4 CIDR block")))
                }
            }
        }
    }
    ssh_exposure_rules(
        at,
        &rule_cidrs,
        "SSH (port 22 or all traffic in [[rules]])",
        problems,
    );

    dead_key_rules(at, cluster, problems);
}

/// Keys that parse but would change nothing.
fn dead_key_rules(at: &At<'_>, cluster: &super::Cluster, problems: &mut Problems) {
    if let Some(rebuild) = &cluster.rebuild {
        let (strategy, unused): (&str, Vec<(&str, bool)>) = match rebuild.strategy {
            super::RebuildStrategy::Nixos => (
                "nixos",
                vec![
                    ("files", !rebuild.files.is_empty()),
                    ("remote_dir", rebuild.remote_dir.is_some()),
                    ("command", rebuild.command.is_some()),
                ],
            ),
            super::RebuildStrategy::Command => {
                ("command", vec![("flake", rebuild.flake.is_some())])
            }
        };
        for (key, set) in unused {
            if set {
                problems.push(at.problem(
                    &keys(&["rebuild", key]),
                    format!("has no effect with the {strategy} strategy"),
                ));
            }
        }
    }
    if cluster.backend_kind() == super::BackendKind::Local && cluster.terraform.lock_table.is_some()
    {
        problems.push(at.problem(
            &keys(&["terraform", "lock_table"]),
            "has no effect: the local backend takes no lock table",
        ));
    }
}

/// Whether `inner` lies within `outer` (both IPv4 CIDRs).
fn cidr_within(inner: &str, outer: &str) -> bool {
    let (Some((std::net::IpAddr::V4(a), al)), Some((std::net::IpAddr::V4(b), bl))) =
        (names::parse_cidr(inner), names::parse_cidr(outer))
    else {
        return false;
    };
    let mask = |len: u8| {
        if len == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(len))
        }
    };
    al >= bl && (u32::from(a) & mask(bl)) == (u32::from(b) & mask(bl))
}

fn environment_rules(repo: &Repo, problems: &mut Problems) {
    let cluster = &repo.cluster;
    let mut namespaces: BTreeMap<&str, &str> = BTreeMap::new();
    let mut blocks: Vec<(&str, std::ops::Range<u32>)> = Vec::new();

    for env in repo.envs.values() {
        let at = At {
            repo,
            file: &env.file,
        };
        if let Some(why) = names::dns_label_error(&env.name) {
            problems.push(Problem::new(
                &env.file,
                format!("environment name (the file name) {why}"),
            ));
        }
        if let Some(why) = names::dns_label_error(&env.namespace) {
            problems.push(at.problem(&keys(&["namespace"]), format!("namespace {why}")));
        }
        if let Some(other) = namespaces.insert(&env.namespace, &env.name) {
            problems.push(at.problem(
                &keys(&["namespace"]),
                format!(
                    "namespace `{}` is already used by environment `{other}`",
                    env.namespace
                ),
            ));
        }

        let Some(variant) = cluster.variants.get(&env.variant) else {
            let hint = super::suggest(&env.variant, cluster.variants.keys().map(String::as_str))
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            problems.push(at.problem(
                &keys(&["variant"]),
                format!(
                    "variant `{}` is not defined in {}{hint}",
                    env.variant, repo.cluster_file
                ),
            ));
            continue;
        };

        if let Some(range) = env.port_range() {
            let last = range.end.saturating_sub(1);
            if !PORT_RANGE.contains(&range.start) || !PORT_RANGE.contains(&last) {
                problems.push(at.problem(
                    &keys(&["port_base"]),
                    format!(
                        "port block {}..={last} must lie within {}..={}",
                        range.start,
                        PORT_RANGE.start(),
                        PORT_RANGE.end()
                    ),
                ));
            }
            for (other, other_range) in &blocks {
                if range.start < other_range.end && other_range.start < range.end {
                    problems.push(at.problem(
                        &keys(&["port_base"]),
                        format!(
                            "port block {}..={last} overlaps environment `{other}` ({}..={})",
                            range.start,
                            other_range.start,
                            other_range.end.saturating_sub(1)
                        ),
                    ));
                }
            }
            blocks.push((&env.name, range));
        }

        for source in env.branches.keys() {
            if !variant.sources.contains(source) {
                problems.push(at.problem(
                    &keys(&["branches", source]),
                    format!(
                        "`{source}` is not a source of variant `{}` ({})",
                        env.variant,
                        variant.sources.join(", ")
                    ),
                ));
            }
        }
        for job in env.hostnames.keys() {
            if !variant.jobs.contains(job) {
                problems.push(at.problem(
                    &keys(&["hostnames", job]),
                    format!("`{job}` is not a job of variant `{}`", env.variant),
                ));
            }
        }
        for (job, hosts) in &env.aliases {
            if !variant.jobs.contains(job) {
                problems.push(at.problem(
                    &keys(&["aliases", job]),
                    format!("`{job}` is not a job of variant `{}`", env.variant),
                ));
            }
            for host in hosts.iter().filter(|h| !names::is_domain(h)) {
                problems.push(at.problem(
                    &keys(&["aliases", job]),
                    format!("`{host}` is not a DNS name"),
                ));
            }
        }
        if let Some(domain) = env.domain.as_deref().filter(|d| !names::is_domain(d)) {
            problems.push(at.problem(&keys(&["domain"]), format!("`{domain}` is not a DNS name")));
        }
        for job in &variant.jobs {
            let host = env.hostname(job, &repo.cluster.domain);
            if !env.hostnames.contains_key(job) && !names::is_domain(&host) {
                problems.push(at.problem(
                    &keys(&["variant"]),
                    format!("the hostname pattern gives `{host}` for job `{job}`, not a DNS name"),
                ));
            }
        }
        for (job, host) in &env.hostnames {
            if !names::is_domain(host) {
                problems.push(at.problem(
                    &keys(&["hostnames", job]),
                    format!("`{host}` is not a DNS name"),
                ));
            }
        }
        match (env.target, &env.ecs) {
            (Target::Ecs, None) => problems.push(at.problem(
                &keys(&["target"]),
                "`target = \"ecs\"` needs an `[ecs]` section with `cluster` and `services`",
            )),
            (Target::Nomad, Some(_)) => problems.push(at.problem(
                &keys(&["ecs"]),
                "an `[ecs]` section only applies to `target = \"ecs\"`",
            )),
            (Target::Ecs, Some(ecs)) => {
                for job in &variant.jobs {
                    if !ecs.services.contains_key(job) {
                        problems.push(at.problem(
                            &keys(&["ecs", "services"]),
                            format!("job `{job}` has no ECS service (add `{job} = \"<service>\"`)"),
                        ));
                    }
                }
                for job in ecs.services.keys() {
                    if !variant.jobs.contains(job) {
                        problems.push(at.problem(
                            &keys(&["ecs", "services", job]),
                            format!("`{job}` is not a job of variant `{}`", env.variant),
                        ));
                    }
                }
                if let Some(region) = &ecs.region {
                    if !names::is_region(region) {
                        problems.push(at.problem(
                            &keys(&["ecs", "region"]),
                            format!("`{region}` is not an AWS region name"),
                        ));
                    }
                }
            }
            (Target::Nomad, None) => {}
        }
        if env.target == Target::Ecs && env.port_base.is_some() {
            problems.push(at.problem(
                &keys(&["port_base"]),
                "ECS environments have no Nomad port block",
            ));
        }
        if let Some(ttl) = &env.ttl {
            if humantime::parse_duration(ttl).is_err() {
                problems.push(at.problem(
                    &keys(&["ttl"]),
                    format!("`{ttl}` is not a duration such as `72h` or `7days`"),
                ));
            }
        }
        for (key, value) in [("created", &env.created), ("expires", &env.expires)] {
            let Some(value) = value else { continue };
            if time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
                .is_err()
            {
                problems
                    .push(at.problem(&keys(&[key]), format!("`{value}` is not an RFC 3339 time")));
            }
        }

        // Revisions: its own folder, or the one of the environment it follows.
        match &env.revisions_from {
            Some(from) if from == &env.name => problems.push(at.problem(
                &keys(&["revisions_from"]),
                "an environment cannot follow its own revisions",
            )),
            Some(from) => match repo.envs.get(from) {
                None => problems.push(at.problem(
                    &keys(&["revisions_from"]),
                    format!("no environment `{from}` to follow"),
                )),
                Some(leader) if leader.revisions_from.is_some() => problems.push(at.problem(
                    &keys(&["revisions_from"]),
                    format!(
                        "`{from}` itself follows another environment; follow the leader directly"
                    ),
                )),
                Some(leader) => {
                    let leader_sources = cluster
                        .variants
                        .get(&leader.variant)
                        .map(|v| v.sources.clone())
                        .unwrap_or_default();
                    for source in &variant.sources {
                        if !leader_sources.contains(source) {
                            problems.push(at.problem(
                                &keys(&["revisions_from"]),
                                format!("`{from}` does not pin source `{source}`"),
                            ));
                        }
                    }
                }
            },
            None => {
                let pinned = repo.revisions.get(&env.name);
                for source in &variant.sources {
                    if !pinned.is_some_and(|p| p.contains_key(source)) {
                        problems.push(Problem::new(
                            format!("revisions/{}/{source}.json", env.name),
                            format!(
                                "missing: environment `{}` (variant `{}`) needs a pinned revision of `{source}`",
                                env.name, env.variant
                            ),
                        ));
                    }
                }
                if let Some(pinned) = pinned {
                    for source in pinned.keys() {
                        if !variant.sources.contains(source) {
                            problems.push(Problem::new(
                                format!("revisions/{}/{source}.json", env.name),
                                format!(
                                    "`{source}` is not a source of variant `{}` ({})",
                                    env.variant,
                                    variant.sources.join(", ")
                                ),
                            ));
                        }
                    }
                }
            }
        }
        if env.revisions_from.is_some() && repo.revisions.contains_key(&env.name) {
            problems.push(Problem::new(
                format!("revisions/{}/", env.name),
                format!(
                    "environment `{}` follows `{}`'s revisions; its own folder would be ignored",
                    env.name,
                    env.revisions_from.as_deref().unwrap_or_default()
                ),
            ));
        }
    }
}

fn revision_rules(repo: &Repo, problems: &mut Problems) {
    for (env, pinned) in &repo.revisions {
        for (stem, revision) in pinned {
            let file = format!("revisions/{env}/{stem}.json");
            let at = |key: &str, message: String| {
                Problem::new(&file, message)
                    .field(key)
                    .at(repo.locate_json_key(&file, key))
            };
            if &revision.source != stem {
                problems.push(at(
                    "source",
                    format!(
                        "`source` is `{}` but the file is named for `{stem}`",
                        revision.source
                    ),
                ));
            }
            if !names::is_commit(&revision.rev) {
                problems.push(at(
                    "rev",
                    format!(
                        "`{}` is not a full commit id (40 lowercase hex digits)",
                        revision.rev
                    ),
                ));
            }
            if time::OffsetDateTime::parse(
                &revision.updated,
                &time::format_description::well_known::Rfc3339,
            )
            .is_err()
            {
                problems.push(at(
                    "updated",
                    format!("`{}` is not an RFC 3339 time", revision.updated),
                ));
            }
            if revision.git_ref.trim().is_empty() {
                problems.push(at("ref", "`ref` must not be empty".into()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::repo::Repo;

    fn problems_with(edit: impl Fn(String) -> String) -> Vec<String> {
        let root = env!("CARGO_MANIFEST_DIR");
        let dir = tempfile::tempdir().unwrap();
        for folder in ["clusters/plutus/envs", "jobs", "revisions"] {
            std::fs::create_dir_all(dir.path().join(folder)).unwrap();
        }
        let text = std::fs::read_to_string(format!("{root}/clusters/plutus/cluster.toml")).unwrap();
        // Variants name job templates and sources; keep only what this test needs.
        let shape = text
            .split_once("# ---- the cluster's shape")
            .map(|(_, shape)| format!("# ---- the cluster's shape{shape}"))
            .unwrap_or_default();
        let text = format!(
            "{}\n{shape}",
            text.split("[variants.marlowe]").next().unwrap()
        );
        std::fs::write(dir.path().join("clusters/plutus/cluster.toml"), edit(text)).unwrap();
        let (_, problems) = Repo::check(dir.path(), Some("plutus")).unwrap();
        problems.into_vec().iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn the_example_cluster_has_no_terraform_problems() {
        assert_eq!(problems_with(|t| t), Vec::<String>::new());
    }

    #[test]
    fn regions_with_fewer_than_three_azs_are_refused() {
        let problems = problems_with(|t| {
            t.replace(
                "admin_cidrs = [",
                "azs = { us-east-2 = [\"us-east-2a\", \"us-east-2b\"] }\nadmin_cidrs = [",
            )
        });
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("region us-east-2 lists 2 distinct availability zones"));
        assert!(problems[0].contains("aws.azs.us-east-2"), "{problems:?}");
    }

    #[test]
    fn azs_of_unused_regions_and_foreign_zones_are_reported() {
        let problems = problems_with(|t| {
            t.replace(
                "admin_cidrs = [",
                "azs = { ap-south-1 = [\"ap-south-1a\", \"ap-south-1b\", \"eu-west-1c\"] }\nadmin_cidrs = [",
            )
        });
        assert!(problems
            .iter()
            .any(|p| p.contains("region ap-south-1 is not used")));
        assert!(problems
            .iter()
            .any(|p| p.contains("`eu-west-1c` is not an availability zone of ap-south-1")));
    }

    #[test]
    fn terraform_section_is_checked() {
        let problems = problems_with(|t| {
            format!("{t}\n[terraform]\nbackend = \"local\"\nprovider_timeout = \"soon\"\nlock_table = \"x\"\nbinray = \"tofu\"\nversion = \"latest\"\n")
        });
        assert!(problems
            .iter()
            .any(|p| p.contains("`latest` is not a terraform version")));
        assert!(
            problems
                .iter()
                .any(|p| p.contains("`soon` is not a duration")),
            "{problems:?}"
        );
        assert!(problems
            .iter()
            .any(|p| p.contains("`x` is not a DynamoDB table name")));
        assert!(problems
            .iter()
            .any(|p| p.contains("unknown key `binray` (did you mean `binary`?)")));
    }

    fn only(problems: &[String], needle: &str) {
        assert!(
            problems.len() == 1 && problems[0].contains(needle),
            "expected one problem with {needle:?}: {problems:?}"
        );
    }

    #[test]
    fn admin_cidrs_that_together_cover_the_internet_are_refused() {
        let problems = problems_with(|t| {
            t.replace(
                "admin_cidrs = [\"203.0.113.0/24\", \"198.51.100.17/32\"]",
                "admin_cidrs = [\"203.0.113.0/24\", \"128.0.0.0/1\", \"0.0.0.0/1\"]",
            )
        });
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("aws.admin_cidrs[2]: together 0.0.0.0/1 + 128.0.0.0/1 + 203.0.113.0/24 open SSH to the whole IPv4 internet")), "{problems:?}");
        assert!(problems
            .iter()
            .any(|p| p.contains("`128.0.0.0/1` opens SSH to a /1")));
        // /8s are each acceptable, but all 256 of them are the internet.
        let eights: Vec<String> = (0..=255).map(|a| format!("\"{a}.0.0.0/8\"")).collect();
        let problems = problems_with(|t| {
            t.replace("\"198.51.100.17/32\"]", &format!("{}]", eights.join(", ")))
        });
        only(&problems, "together 0.0.0.0/8 + 1.0.0.0/8 + 2.0.0.0/8 + 3.0.0.0/8 + 4.0.0.0/8 + 5.0.0.0/8 + 6.0.0.0/8 + 7.0.0.0/8 + … (257 entries) open SSH to the whole IPv4 internet");
        let problems = problems_with(|t| t.replace("\"198.51.100.17/32\"]", "\"8.0.0.0/7\"]"));
        only(
            &problems,
            "`8.0.0.0/7` opens SSH to a /7 of the public internet",
        );
        // /8s that leave a gap are fine: a /8 is the widest single range.
        let problems = problems_with(|t| {
            t.replace(
                "\"198.51.100.17/32\"]",
                &format!("{}]", eights[..255].join(", ")),
            )
        });
        assert_eq!(problems, Vec::<String>::new());
    }

    #[test]
    fn rules_opening_ssh_are_held_to_the_same_bar() {
        let problems = problems_with(|t| {
            format!("{t}\n[[rules]]\nrole = \"core\"\nfrom_port = 20\nto_port = 30\ncidrs = [\"0.0.0.0/0\"]\n")
        });
        only(
            &problems,
            "`0.0.0.0/0` opens SSH (port 22 or all traffic in [[rules]])",
        );
        assert!(problems[0].contains("rules[4].cidrs[0]"), "{problems:?}");
    }

    #[test]
    fn nomad_names_allow_underscores() {
        let problems =
            problems_with(|t| t.replace("node_class = \"client\"", "node_class = \"high mem\""));
        only(&problems, "`high mem` is not a Nomad node class name");
        let problems = problems_with(|t| {
            t.replace(
                "node_class = \"client\"",
                "node_class = \"client_2\"\nnode_pool = \"pool.x\"",
            )
        });
        only(&problems, "`pool.x` is not a Nomad node pool name");
    }

    #[test]
    fn named_nodes_and_network_are_checked() {
        let problems = problems_with(|t| t.replace("[nodes.core-3]", "[nodes.core-4]"));
        only(&problems, "has no effect: the cluster has no node `core-4`");
        let problems = problems_with(|t| t.replace("172.16.2.10", "172.16.3.10"));
        only(
            &problems,
            "`172.16.3.10` is in none of the public subnets of 172.16.0.0/16",
        );
        let problems = problems_with(|t| t.replace("172.16.1.40", "172.16.0.20"));
        only(
            &problems,
            "`172.16.0.20` is also the IP of node `monitoring`",
        );
        let problems = problems_with(|t| {
            t.replace(
                "\"172.16.0.0/16\" }",
                "\"172.16.0.0/16\", us-east-2 = \"172.16.0.0/16\" }",
            )
        });
        only(
            &problems,
            "the VPCs of eu-central-1 (172.16.0.0/16) and us-east-2 (172.16.0.0/16) overlap",
        );
        let problems = problems_with(|t| {
            t.replace("\"172.16.0.0/16\" }", "\"8.8.0.0/16\" }")
                .replace("172.16.", "8.8.")
        });
        only(&problems, "`8.8.0.0/16` is not a private network");
        let problems = problems_with(|t| {
            t.replace(
                "\"172.16.0.0/16\" }",
                "\"172.16.0.0/16\", ap-south-1 = \"10.9.0.0/16\" }",
            )
        });
        only(&problems, "has no effect: region ap-south-1 is not used");
    }

    #[test]
    fn volumes_and_lifetimes_are_checked() {
        let problems =
            problems_with(|t| t.replace("volume_type = \"gp3\"", "volume_type = \"gp2\""));
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems
            .iter()
            .any(|p| p.contains("has no effect: gp2 volumes have no provisioned IOPS")));
        assert!(problems
            .iter()
            .any(|p| p.contains("has no effect: only gp3 volumes take a throughput")));
        let problems = problems_with(|t| {
            t.replace(
                "max_instance_lifetime = 604800",
                "max_instance_lifetime = 3600",
            )
        });
        only(
            &problems,
            "3600 s: 0 (never) or 604800 (7 days) to 31536000 (365 days)",
        );
        let problems = problems_with(|t| t.replace("/var/lib/nomad-volumes/pab", "relative/pab"));
        only(&problems, "`relative/pab` is not an absolute folder path");
    }

    #[test]
    fn extra_names_need_their_zone() {
        let problems = problems_with(|t| t.replace("extra_zones = [\"marlowe-finance.io\"]", ""));
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("lies in neither plutus.example.org nor routing.extra_zones"));
        let problems = problems_with(|t| {
            t.replace(
                "extra_zones = [\"marlowe-finance.io\"]",
                "extra_zones = [\"marlowe-finance.io\", \"example.com\"]",
            )
        });
        only(
            &problems,
            "has no effect: no name of extra_sans lies in `example.com`",
        );
    }

    #[test]
    fn a_client_region_without_an_ami_is_left_to_bootstrap() {
        let problems = problems_with(|t| t.replace(", us-east-2 = \"ami-0f1e2d3c4b5a69788\"", ""));
        assert_eq!(problems, Vec::<String>::new());
        let problems = problems_with(|t| {
            t.replace(
                " }\nadmins",
                ", ap-south-1 = \"ami-0f1e2d3c4b5a69788\" }\nadmins",
            )
        });
        only(&problems, "has no effect: region ap-south-1 is not used");
    }

    #[test]
    fn rules_name_roles_with_nodes() {
        let problems = problems_with(|t| {
            format!("{t}\n[[rules]]\nrole = \"client\"\nport = 80\nsource_roles = [\"routing\"]\n")
        });
        only(
            &problems,
            "routing nodes are not in every region of the client nodes",
        );
        let problems = problems_with(|t| t.replace("[routing]", "[routingx]"));
        assert!(
            problems
                .iter()
                .any(|p| p.contains("has no effect: the cluster has no node `routing`")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("has no effect: the cluster has no routing nodes")),
            "{problems:?}"
        );
    }

    #[test]
    fn keys_of_the_other_strategy_or_backend_have_no_effect() {
        let problems = problems_with(|t| {
            format!("{t}\n[rebuild]\nstrategy = \"nixos\"\ncommand = \"true\"\n\n[terraform]\nbackend = \"local\"\nlock_table = \"plutus-lock\"\n")
        });
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].contains("rebuild.command: has no effect with the nixos strategy"),
            "{problems:?}"
        );
        assert!(
            problems[1].contains(
                "terraform.lock_table: has no effect: the local backend takes no lock table"
            ),
            "{problems:?}"
        );
    }
}
