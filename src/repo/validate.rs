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
        for (i, cidr) in aws.admin_cidrs.iter().enumerate() {
            let path = vec![
                Seg::Key("aws".into()),
                Seg::Key("admin_cidrs".into()),
                Seg::Index(i),
            ];
            match names::parse_cidr(cidr) {
                None => problems.push(at.problem(&path, format!("`{cidr}` is not a CIDR block"))),
                Some((_, 0)) => problems.push(at.problem(
                    &path,
                    format!("`{cidr}` opens SSH to the whole internet; name your admin networks"),
                )),
                Some(_) => {}
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
        } else if let Some(aws) = &cluster.aws {
            if !aws.amis.contains_key(&client.region) {
                problems.push(at.problem(
                    &path("region"),
                    format!(
                        "no AMI for client region {}: add it to [aws].amis",
                        client.region
                    ),
                ));
            }
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
        if let Some(class) = &client.node_class {
            if let Some(why) = names::dns_label_error(class) {
                problems.push(at.problem(&path("node_class"), format!("node class {why}")));
            }
        }
    }
    let mut asg_names = BTreeMap::new();
    for (i, client) in cluster.clients.iter().enumerate() {
        if let Some(first) = asg_names.insert(client.asg_name(), i) {
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
        if let Some(created) = &env.created {
            if time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339)
                .is_err()
            {
                problems.push(at.problem(
                    &keys(&["created"]),
                    format!("`{created}` is not an RFC 3339 time"),
                ));
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
        let text = text.split("[variants.marlowe]").next().unwrap().to_string();
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
            format!("{t}\n[terraform]\nbackend = \"local\"\nprovider_timeout = \"soon\"\nlock_table = \"x\"\nbinray = \"tofu\"\n")
        });
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
}
