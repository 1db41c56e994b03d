//! One test per validation rule: a broken copy of the worked example, and the exact problem
//! (file, line, column, field, message) it must produce.

mod support;

use opsctl::render::Renderer;
use opsctl::repo::{Problem, Repo};
use support::ExampleRepo;

/// Every problem of the repository: model rules plus rendering of every environment.
fn problems(repo: &ExampleRepo) -> Vec<Problem> {
    let (model, mut problems) = Repo::check(repo.path(), None).expect("repository loads");
    if let Some(model) = &model {
        Renderer::new(model).check_all(&mut problems);
    }
    problems.into_vec()
}

/// Asserts that exactly one problem concerns `file`+`field` and returns it.
fn only(problems: &[Problem], file: &str, field: Option<&str>) -> Problem {
    let found: Vec<&Problem> = problems
        .iter()
        .filter(|p| p.file == file && p.field.as_deref() == field)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one problem for {file} {field:?}, got {problems:#?}"
    );
    found[0].clone()
}

fn assert_problem(
    problems: &[Problem],
    file: &str,
    field: Option<&str>,
    position: Option<(usize, usize)>,
    message: &str,
) {
    let problem = only(problems, file, field);
    assert_eq!(problem.message, message, "message of {problem}");
    assert_eq!(
        problem.line.zip(problem.column),
        position,
        "position of {problem}"
    );
}

const CLUSTER: &str = "clusters/plutus/cluster.toml";
const STAGING: &str = "clusters/plutus/envs/staging.toml";

#[test]
fn the_worked_example_is_valid() {
    let repo = ExampleRepo::new();
    assert_eq!(problems(&repo), Vec::<Problem>::new());
}

#[test]
fn toml_syntax_error_has_its_position() {
    let repo = ExampleRepo::new();
    repo.edit(CLUSTER, "count = 3", "count = = 3");
    let problems = problems(&repo);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].file, CLUSTER);
    assert_eq!((problems[0].line, problems[0].column), (Some(16), Some(9)));
    assert!(
        problems[0].message.contains("string values must be quoted")
            || problems[0].message.contains("expected"),
        "{}",
        problems[0].message
    );
}

#[test]
fn unknown_key_suggests_the_known_one() {
    let repo = ExampleRepo::new();
    repo.edit(
        CLUSTER,
        "instance_type = \"t3a.medium\"",
        "instance_typ = \"t3a.medium\"\ninstance_type = \"t3a.medium\"",
    );
    let problems = problems(&repo);
    assert_problem(
        &problems,
        CLUSTER,
        Some("core.instance_typ"),
        Some((17, 1)),
        "unknown key `instance_typ` (did you mean `instance_type`?)",
    );
}

#[test]
fn unknown_key_in_an_array_of_tables() {
    let repo = ExampleRepo::new();
    repo.edit(CLUSTER, "desired = 2\n", "desired = 2\nmaxx = 9\n");
    let problems = problems(&repo);
    assert_problem(
        &problems,
        CLUSTER,
        Some("clients[1].maxx"),
        Some((33, 1)),
        "unknown key `maxx` (did you mean `max`?)",
    );
}

#[test]
fn unknown_key_in_an_environment_file() {
    let repo = ExampleRepo::new();
    repo.edit(
        STAGING,
        "port_base = 1035",
        "port_base = 1035\nnamespase = \"x\"",
    );
    assert_problem(
        &problems(&repo),
        STAGING,
        Some("namespase"),
        Some((5, 1)),
        "unknown key `namespase` (did you mean `namespace`?)",
    );
}

#[test]
fn cluster_name_must_be_a_dns_label() {
    let repo = ExampleRepo::new();
    repo.edit(CLUSTER, "name = \"plutus\"", "name = \"Plutus_1\"");
    assert_problem(
        &problems(&repo),
        CLUSTER,
        Some("name"),
        Some((2, 1)),
        "cluster name `Plutus_1` is not a DNS label: use lowercase letters, digits and `-`, not at either end",
    );
}

#[test]
fn environment_file_name_must_be_a_dns_label() {
    let repo = ExampleRepo::new();
    let text = repo
        .read(STAGING)
        .replace("namespace = \"staging\"", "namespace = \"staging2\"")
        .replace("port_base = 1035", "port_base = 2000");
    repo.write("clusters/plutus/envs/Staging_Two.toml", &text);
    let problems = problems(&repo);
    assert_problem(
        &problems,
        "clusters/plutus/envs/Staging_Two.toml",
        None,
        None,
        "environment name (the file name) `Staging_Two` is not a DNS label: use lowercase letters, digits and `-`, not at either end",
    );
}

#[test]
fn namespace_must_be_a_dns_label() {
    let repo = ExampleRepo::new();
    repo.edit(
        STAGING,
        "namespace = \"staging\"",
        &format!("namespace = \"{}\"", "s".repeat(64)),
    );
    let problems = problems(&repo);
    let problem = only(&problems, STAGING, Some("namespace"));
    assert_eq!(problem.line, Some(3));
    assert!(
        problem.message.contains("64 characters long; at most 63"),
        "{problem}"
    );
}

#[test]
fn core_count_is_three_or_five() {
    let repo = ExampleRepo::new();
    repo.edit(CLUSTER, "count = 3", "count = 4");
    assert_problem(
        &problems(&repo),
        CLUSTER,
        Some("core.count"),
        Some((16, 1)),
        "core count must be 3 or 5 for a Raft quorum (got 4)",
    );
}

#[test]
fn a_client_region_without_an_ami_is_left_to_bootstrap() {
    // bootstrap copies the core region's image there; only the core region needs an entry.
    let repo = ExampleRepo::new();
    repo.edit(CLUSTER, ", us-east-2 = \"ami-0f1e2d3c4b5a69788\"", "");
    assert_eq!(problems(&repo), Vec::new());
    repo.edit(CLUSTER, "eu-central-1 = \"ami-0a1b2c3d4e5f60718\"", "");
    assert_problem(
        &problems(&repo),
        CLUSTER,
        Some("aws.amis"),
        Some((11, 1)),
        "no AMI for the core region eu-central-1: add `eu-central-1 = \"ami-…\"`",
    );
}

#[test]
fn autoscaling_sizes_are_ordered() {
    let repo = ExampleRepo::new();
    repo.edit(CLUSTER, "desired = 3\nmin = 1", "desired = 7\nmin = 1");
    assert_problem(
        &problems(&repo),
        CLUSTER,
        Some("clients[0].desired"),
        Some((25, 1)),
        "autoscaling sizes must satisfy min <= desired <= max (min 1, desired 7, max 6)",
    );
}

#[test]
fn port_block_lies_in_the_unprivileged_range() {
    let repo = ExampleRepo::new();
    repo.edit(STAGING, "port_base = 1035", "port_base = 65530");
    assert_problem(
        &problems(&repo),
        STAGING,
        Some("port_base"),
        Some((4, 1)),
        "port block 65530..=65540 must lie within 1024..=65535",
    );
}

#[test]
fn port_block_below_1024_is_refused() {
    let repo = ExampleRepo::new();
    repo.edit(STAGING, "port_base = 1035", "port_base = 80");
    assert_problem(
        &problems(&repo),
        STAGING,
        Some("port_base"),
        Some((4, 1)),
        "port block 80..=90 must lie within 1024..=65535",
    );
}

#[test]
fn a_port_base_near_the_integer_limit_is_a_problem_not_an_overflow() {
    let repo = ExampleRepo::new();
    repo.edit(STAGING, "port_base = 1035", "port_base = 4294967290");
    assert_problem(
        &problems(&repo),
        STAGING,
        Some("port_base"),
        Some((4, 1)),
        "port block 4294967290..=4294967294 must lie within 1024..=65535",
    );
}

#[test]
fn port_blocks_never_overlap() {
    let repo = ExampleRepo::new();
    repo.edit(STAGING, "port_base = 1035", "port_base = 1030");
    let problems = problems(&repo);
    assert_problem(
        &problems,
        STAGING,
        Some("port_base"),
        Some((4, 1)),
        "port block 1030..=1040 overlaps environment `production` (1024..=1034)",
    );
}

#[test]
fn environment_variant_exists() {
    let repo = ExampleRepo::new();
    repo.edit(STAGING, "variant = \"marlowe\"", "variant = \"marlow\"");
    assert_problem(
        &problems(&repo),
        STAGING,
        Some("variant"),
        Some((2, 1)),
        "variant `marlow` is not defined in clusters/plutus/cluster.toml (did you mean `marlowe`?)",
    );
}

#[test]
fn variant_jobs_have_templates() {
    let repo = ExampleRepo::new();
    repo.edit(
        CLUSTER,
        "jobs = [\"plutus-playground\", \"web-ghc\"]",
        "jobs = [\"plutus-playgrond\", \"web-ghc\"]",
    );
    let problems = problems(&repo);
    assert_problem(
        &problems,
        CLUSTER,
        Some("variants.plutus.jobs"),
        Some((47, 1)),
        "job `plutus-playgrond` has no file jobs/plutus-playgrond.json or jobs/plutus-playgrond.json.tmpl (did you mean `plutus-playground`?)",
    );
}

#[test]
fn variant_sources_are_defined() {
    let repo = ExampleRepo::new();
    repo.edit(
        CLUSTER,
        "sources = [\"plutus-apps\"]",
        "sources = [\"plutus-app\"]",
    );
    let problems = problems(&repo);
    assert_problem(
        &problems,
        CLUSTER,
        Some("variants.plutus.sources"),
        Some((48, 1)),
        "source `plutus-app` is not defined under [sources] (did you mean `plutus-apps`?)",
    );
}

#[test]
fn every_source_has_a_revision_file() {
    let repo = ExampleRepo::new();
    std::fs::remove_file(repo.file("revisions/staging/marlowe-website.json")).unwrap();
    let problems = problems(&repo);
    assert_problem(
        &problems,
        "revisions/staging/marlowe-website.json",
        None,
        None,
        "missing: environment `staging` (variant `marlowe`) needs a pinned revision of `marlowe-website`",
    );
}

#[test]
fn rev_is_a_full_commit_id() {
    let repo = ExampleRepo::new();
    let file = "revisions/plutus-staging/plutus-apps.json";
    let text = repo.read(file);
    let rev = serde_json::from_str::<serde_json::Value>(&text).unwrap()["rev"]
        .as_str()
        .unwrap()
        .to_string();
    repo.edit(file, &rev, &rev[..12]);
    assert_problem(
        &problems(&repo),
        file,
        Some("rev"),
        Some((5, 3)),
        &format!(
            "`{}` is not a full commit id (40 lowercase hex digits)",
            &rev[..12]
        ),
    );
}

#[test]
fn revision_json_syntax_error_has_its_position() {
    let repo = ExampleRepo::new();
    let file = "revisions/staging/marlowe-cardano.json";
    repo.edit(file, "\"ref\": \"main\",", "\"ref\": \"main\"");
    let problems = problems(&repo);
    let syntax = problems
        .iter()
        .find(|p| p.file == file && p.line.is_some())
        .expect("syntax problem");
    assert_eq!((syntax.line, syntax.column), (Some(5), Some(3)));
    assert_eq!(syntax.message, "expected `,` or `}`");
    // The unreadable file also leaves staging without that revision.
    assert!(problems
        .iter()
        .any(|p| p.file == file && p.message.starts_with("missing:")));
}

#[test]
fn branch_mappings_name_sources_of_the_variant() {
    let repo = ExampleRepo::new();
    repo.edit(
        STAGING,
        "marlowe-website = \"master\"",
        "plutus-apps = \"master\"",
    );
    assert_problem(
        &problems(&repo),
        STAGING,
        Some("branches.plutus-apps"),
        Some((6, 40)),
        "`plutus-apps` is not a source of variant `marlowe` (marlowe-cardano, marlowe-website)",
    );
}

#[test]
fn namespaces_are_unique() {
    let repo = ExampleRepo::new();
    repo.edit(STAGING, "namespace = \"staging\"", "namespace = \"prod\"");
    assert_problem(
        &problems(&repo),
        STAGING,
        Some("namespace"),
        Some((3, 1)),
        "namespace `prod` is already used by environment `production`",
    );
}

#[test]
fn kms_arn_is_well_formed() {
    let repo = ExampleRepo::new();
    repo.edit(
        CLUSTER,
        "key/2f5c8f5e-6b7a-4c1d-9e3f-0a1b2c3d4e5f",
        "key/not-a-uuid",
    );
    assert_problem(
        &problems(&repo),
        CLUSTER,
        Some("aws.kms_key"),
        Some((8, 1)),
        "`arn:aws:kms:eu-central-1:123456789012:key/not-a-uuid` is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<uuid>)",
    );
}

#[test]
fn kms_key_lives_in_the_cluster_region() {
    let repo = ExampleRepo::new();
    repo.edit(
        CLUSTER,
        "arn:aws:kms:eu-central-1:",
        "arn:aws:kms:us-east-2:",
    );
    assert_problem(
        &problems(&repo),
        CLUSTER,
        Some("aws.kms_key"),
        Some((8, 1)),
        "the KMS key is in us-east-2 but the cluster's region is eu-central-1",
    );
}

#[test]
fn region_names_are_well_formed() {
    let repo = ExampleRepo::new();
    repo.edit(CLUSTER, "region = \"us-east-2\"", "region = \"us-east2\"");
    let problems = problems(&repo);
    assert_problem(
        &problems,
        CLUSTER,
        Some("clients[1].region"),
        Some((30, 1)),
        "`us-east2` is not an AWS region name",
    );
}

#[test]
fn ssh_is_never_open_to_the_world() {
    let repo = ExampleRepo::new();
    repo.edit(CLUSTER, "\"198.51.100.17/32\"", "\"0.0.0.0/0\"");
    assert_problem(
        &problems(&repo),
        CLUSTER,
        Some("aws.admin_cidrs[1]"),
        Some((13, 34)),
        "`0.0.0.0/0` opens SSH to the whole internet; name your admin networks",
    );
}

#[test]
fn followed_environment_exists() {
    let repo = ExampleRepo::new();
    let file = "clusters/plutus/envs/marlowe-ci.toml";
    repo.edit(
        file,
        "revisions_from = \"staging\"",
        "revisions_from = \"stagin\"",
    );
    let problems = problems(&repo);
    let problem = only(&problems, file, Some("revisions_from"));
    assert_eq!(problem.message, "no environment `stagin` to follow");
    assert_eq!(problem.line, Some(4));
}

#[test]
fn hostname_overrides_name_jobs_of_the_variant() {
    let repo = ExampleRepo::new();
    let file = "clusters/plutus/envs/production.toml";
    repo.edit(
        file,
        "marlowe-run = \"run.marlowe-finance.io\"",
        "marlowe-runn = \"run.marlowe-finance.io\"",
    );
    let problems = problems(&repo);
    let problem = only(&problems, file, Some("hostnames.marlowe-runn"));
    assert_eq!(
        problem.message,
        "`marlowe-runn` is not a job of variant `marlowe`"
    );
}

#[test]
fn undefined_template_name_names_file_and_line() {
    let repo = ExampleRepo::new();
    repo.edit(
        "jobs/web-ghc.json.tmpl",
        "\"Namespace\": \"{= env.namespace =}\"",
        "\"Namespace\": \"{= env.namspace =}\"",
    );
    let problems = problems(&repo);
    let found: Vec<_> = problems
        .iter()
        .filter(|p| p.file == "jobs/web-ghc.json.tmpl")
        .collect();
    // web-ghc belongs to every environment: one problem per environment, all at line 6.
    assert_eq!(found.len(), 5, "{problems:#?}");
    for problem in found {
        assert_eq!(problem.line, Some(6));
        assert!(problem.message.contains("undefined value"), "{problem}");
        assert!(problem.message.contains("env.namspace"), "{problem}");
    }
}

#[test]
fn rendered_namespace_must_be_the_environments() {
    let repo = ExampleRepo::new();
    repo.edit(
        "jobs/plutus-playground.json.tmpl",
        "\"Namespace\": \"{= env.namespace =}\"",
        "\"Namespace\": \"default\"",
    );
    let problems = problems(&repo);
    let found: Vec<_> = problems
        .iter()
        .filter(|p| p.field.as_deref() == Some("Namespace"))
        .collect();
    assert_eq!(found.len(), 2, "{problems:#?}");
    assert_eq!(
        found[0].message,
        "for environment `plutus-production`: `Namespace` is `default` but the environment's namespace is `plutus-apps-prod`"
    );
}

#[test]
fn static_ports_stay_inside_the_block() {
    let repo = ExampleRepo::new();
    repo.edit(
        "jobs/plutus-playground.json.tmpl",
        "\"Value\": {= env.port(1) =}",
        "\"Value\": {= env.port(1) + 20 =}",
    );
    let problems = problems(&repo);
    let problem = problems
        .iter()
        .find(|p| p.message.contains("plutus-staging"))
        .expect("a problem for plutus-staging");
    assert_eq!(
        problem.field.as_deref(),
        Some("TaskGroups[0].Networks[0].ReservedPorts[1].Value")
    );
    assert_eq!(
        problem.message,
        "for environment `plutus-staging`: static port 1078 is outside the environment's block 1057..=1067 (allow it with `static_ports = [1078]` in clusters/plutus/envs/plutus-staging.toml)"
    );
}

#[test]
fn port_offsets_beyond_the_block_are_template_errors() {
    let repo = ExampleRepo::new();
    repo.edit(
        "jobs/plutus-playground.json.tmpl",
        "env.port(1)",
        "env.port(11)",
    );
    let problems = problems(&repo);
    let problem = problems
        .iter()
        .find(|p| p.file == "jobs/plutus-playground.json.tmpl")
        .unwrap();
    assert_eq!(problem.line, Some(26));
    assert!(
        problem
            .message
            .contains("port offset 11 is outside the block of 11 ports"),
        "{problem}"
    );
}

#[test]
fn job_ids_are_unique_within_a_namespace() {
    let repo = ExampleRepo::new();
    repo.edit(
        "jobs/web-ghc.json.tmpl",
        "\"ID\": \"web-ghc\"",
        "\"ID\": \"plutus-playground\"",
    );
    let problems = problems(&repo);
    assert!(
        problems.iter().any(|p| p.file == "jobs/web-ghc.json.tmpl"
            && p.message == "job ID `plutus-playground` is also rendered by jobs/plutus-playground.json.tmpl in namespace `plutus-staging`"),
        "{problems:#?}"
    );
}

#[test]
fn rendered_job_needs_datacenters_and_groups() {
    let repo = ExampleRepo::new();
    repo.edit(
        "jobs/web-ghc.json.tmpl",
        "\"Datacenters\": {= cluster.datacenters | tojson =}",
        "\"Datacenters\": []",
    );
    let problems = problems(&repo);
    assert!(problems
        .iter()
        .any(|p| p.field.as_deref() == Some("Datacenters")
            && p.message
                .ends_with("`Datacenters` must be a non-empty list of names")));
}

#[test]
fn all_problems_are_reported_at_once() {
    let repo = ExampleRepo::new();
    repo.edit(CLUSTER, "count = 3", "count = 4");
    repo.edit(STAGING, "port_base = 1035", "port_base = 1030");
    repo.edit(
        "revisions/production/marlowe-website.json",
        "\"updated\": \"2026-10-28T16:40:12Z\"",
        "\"updated\": \"yesterday\"",
    );
    let problems = problems(&repo);
    assert_eq!(problems.len(), 3, "{problems:#?}");
}

const EXPLORER: &str = "clusters/plutus/envs/explorer-staging.toml";

#[test]
fn ecs_environments_need_an_ecs_section_with_a_service_per_job() {
    let repo = ExampleRepo::new();
    repo.edit(
        EXPLORER,
        "services = { marlowe-explorer = \"marlowe-explorer-staging\" }",
        "services = { marlowe-explorre = \"marlowe-explorer-staging\" }",
    );
    let found = problems(&repo);
    let missing = only(&found, EXPLORER, Some("ecs.services"));
    assert_eq!(
        missing.message,
        "job `marlowe-explorer` has no ECS service (add `marlowe-explorer = \"<service>\"`)"
    );
    let unknown = only(&found, EXPLORER, Some("ecs.services.marlowe-explorre"));
    assert_eq!(
        unknown.message,
        "`marlowe-explorre` is not a job of variant `explorer`"
    );

    let repo = ExampleRepo::new();
    let text = repo.read(EXPLORER);
    repo.write(EXPLORER, &text[..text.find("[ecs]").unwrap()]);
    let found = problems(&repo);
    let problem = only(&found, EXPLORER, Some("target"));
    assert!(
        problem.message.contains("needs an `[ecs]` section"),
        "{problem}"
    );
}

#[test]
fn ecs_task_definitions_are_checked_when_rendered() {
    let repo = ExampleRepo::new();
    repo.edit(
        "jobs/marlowe-explorer.json.tmpl",
        "\"essential\": true",
        "\"esential\": true",
    );
    let found = problems(&repo);
    let problem = only(&found, "jobs/marlowe-explorer.json.tmpl", None);
    assert_eq!(
        problem.message,
        "containerDefinitions[0].esential: unknown task definition field (did you mean `essential`?)"
    );
}

#[test]
fn the_command_rebuild_strategy_needs_a_command() {
    let repo = ExampleRepo::new();
    let text = repo.read(CLUSTER);
    repo.write(
        CLUSTER,
        &format!("{text}\n[rebuild]\nstrategy = \"command\"\ndrain_deadline = \"soon\"\n"),
    );
    let found = problems(&repo);
    assert_eq!(
        only(&found, CLUSTER, Some("rebuild.command")).message,
        "the `command` strategy needs `command`, the command to run on each node"
    );
    assert_eq!(
        only(&found, CLUSTER, Some("rebuild.drain_deadline")).message,
        "`soon` is not a duration such as \"10m\""
    );
}

/// A job file (`.json`) is used as written: strings that look like template syntax stay.
#[test]
fn a_job_file_is_not_a_template() {
    let repo = ExampleRepo::new();
    let template = repo.read("jobs/web-ghc.json.tmpl");
    std::fs::remove_file(repo.file("jobs/web-ghc.json.tmpl")).unwrap();
    let model = Repo::open(&support::project_root(), None).unwrap();
    let env = model.env("staging").unwrap();
    let rendered = Renderer::new(&model)
        .render_env(env, &["web-ghc".to_string()])
        .unwrap();
    let mut job = rendered[0].job.clone();
    let pattern =
        "%d [%thread] %-5level [%logger{36}] {= x =} {! y !} [[ .z ]] [% w %] ${NOMAD_PORT_http}";
    job["TaskGroups"][0]["Tasks"][0]["Templates"] = serde_json::json!([
        {"EmbeddedTmpl": pattern, "DestPath": "local/logback.xml"}
    ]);
    job.as_object_mut().unwrap().remove("Namespace");
    // Used as written in every environment of web-ghc: dynamic ports only.
    job["TaskGroups"][0]["Networks"] =
        serde_json::json!([{"Mode": "host", "DynamicPorts": [{"Label": "http"}]}]);
    job["Type"] = serde_json::Value::Null;
    repo.write(
        "jobs/web-ghc.json",
        &serde_json::to_string_pretty(&serde_json::json!({ "Job": job })).unwrap(),
    );
    assert_eq!(problems(&repo), Vec::<Problem>::new());
    let model = Repo::open(repo.path(), None).unwrap();
    let rendered = Renderer::new(&model)
        .render_env(model.env("staging").unwrap(), &["web-ghc".to_string()])
        .unwrap();
    let job = &rendered[0].job;
    assert_eq!(
        job["TaskGroups"][0]["Tasks"][0]["Templates"][0]["EmbeddedTmpl"],
        pattern
    );
    // Namespace absent: the environment's; `"Type": null`: absent, as Nomad decodes it.
    assert_eq!(job["Namespace"], "staging");
    assert!(job.get("Type").is_none());

    // Both files for one job are refused.
    repo.write("jobs/web-ghc.json.tmpl", &template);
    assert!(problems(&repo)
        .iter()
        .any(|p| p.message.contains("job `web-ghc` is also defined by")));
}

#[test]
fn static_ports_policy_per_environment() {
    let repo = ExampleRepo::new();
    // NTP outside the block of staging (1035..=1045).
    repo.edit(
        "jobs/web-ghc.json.tmpl",
        "\"ReservedPorts\": [{ \"Label\": \"http\", \"Value\": {= env.port(5) =} }]",
        "\"ReservedPorts\": [{ \"Label\": \"http\", \"Value\": {= env.port(5) =} }, { \"Label\": \"ntp\", \"Value\": 123 }]",
    );
    let refused = problems(&repo);
    assert!(
        refused.iter().any(|p| p.message
            == "for environment `staging`: static port 123 is outside the environment's block 1035..=1045 (allow it with `static_ports = [123]` in clusters/plutus/envs/staging.toml)"),
        "{refused:#?}"
    );
    // Allowed per environment; every environment with a block binds 123 on the same
    // datacenters, which validate reports as a clash.
    for env in [
        "staging",
        "production",
        "plutus-staging",
        "plutus-production",
    ] {
        let file = format!("clusters/plutus/envs/{env}.toml");
        let text = repo.read(&file);
        repo.write(&file, &format!("{text}static_ports = [123]\n"));
    }
    let found = problems(&repo);
    let clashes: Vec<_> = found
        .iter()
        .filter(|p| {
            p.message
                .contains("static port 123 of job `web-ghc` is also claimed by")
        })
        .collect();
    assert_eq!(clashes.len(), 3, "{found:#?}");
    assert_eq!(
        found.len(),
        clashes.len(),
        "only the clashes remain: {found:#?}"
    );
    assert_eq!(
        clashes[0].field.as_deref(),
        Some("TaskGroups[0].Networks[0].ReservedPorts[1].Value")
    );
    // A word other than "any" is refused with the key's position.
    let text = repo.read(STAGING);
    repo.write(
        STAGING,
        &text.replace("static_ports = [123]", "static_ports = \"all\""),
    );
    assert!(problems(&repo)
        .iter()
        .any(|p| p.file == STAGING && p.message.contains("the only word allowed is \"any\"")));
}

#[test]
fn errors_in_partials_name_the_partial_and_the_importer() {
    let repo = ExampleRepo::new();
    repo.write(
        "jobs/_lib/bitte.tmpl",
        "{!# shared macros #!}\n{! macro tags(name) !}\n[\"{= name =}\", \"{= env.namspace =}\"]\n{! endmacro !}\n",
    );
    let text = repo.read("jobs/web-ghc.json.tmpl");
    repo.write(
        "jobs/web-ghc.json.tmpl",
        &format!(
            "{{! import \"_lib/bitte.tmpl\" as bitte !}}\n{}",
            text.replacen(
                "\"Tags\": [",
                "\"OtherTags\": {= bitte.tags('web-ghc') =},\n            \"Tags\": [",
                1,
            )
        ),
    );
    let found = problems(&repo);
    let partial: Vec<_> = found
        .iter()
        .filter(|p| p.file == "jobs/_lib/bitte.tmpl")
        .collect();
    assert!(!partial.is_empty(), "{found:#?}");
    assert_eq!(partial[0].line, Some(3), "{:#?}", partial[0]);
    assert!(
        partial[0].message.contains("undefined value")
            && partial[0].message.contains("env.namspace"),
        "{}",
        partial[0]
    );
    assert!(
        partial[0].message.contains("(from jobs/web-ghc.json.tmpl"),
        "{}",
        partial[0]
    );
    // The partial folder is not a job.
    assert!(found.iter().all(|p| !p.message.contains("job name")));
}

#[test]
fn cluster_vars_reach_templates_under_variant_and_environment_vars() {
    let repo = ExampleRepo::new();
    let text = repo.read(CLUSTER);
    repo.write(
        CLUSTER,
        &text.replacen(
            "provider = \"aws\"\n",
            "provider = \"aws\"\nvars = { cardano_network = \"mainnet\", run_instances = 9 }\n",
            1,
        ),
    );
    assert_eq!(problems(&repo), Vec::<Problem>::new());
    let model = Repo::open(repo.path(), None).unwrap();
    let rendered = Renderer::new(&model)
        .render_env(model.env("staging").unwrap(), &["marlowe-run".to_string()])
        .unwrap();
    let job = &rendered[0].job;
    // The cluster's network; the variant's instance count wins over the cluster's.
    assert_eq!(
        job["TaskGroups"][0]["Tasks"][0]["Env"]["NETWORK"],
        "mainnet"
    );
    assert_eq!(job["TaskGroups"][0]["Count"], 2);
}

#[test]
fn hostname_patterns_labels_domains_and_aliases() {
    let repo = ExampleRepo::new();
    let text = repo.read(CLUSTER);
    let text = text
        .replacen(
            "provider = \"aws\"\n",
            "provider = \"aws\"\nhostname = \"{label}-{namespace}.{domain}\"\n",
            1,
        )
        .replacen(
            "port_block = 11\nvars = { web_ghc_source = \"marlowe-cardano\", run_instances = 2 }",
            "port_block = 11\nvars = { web_ghc_source = \"marlowe-cardano\", run_instances = 2 }\nlabels = { web-ghc = \"webghc\" }",
            1,
        );
    repo.write(CLUSTER, &text);
    let staging = repo.read(STAGING);
    repo.write(
        STAGING,
        &format!("{staging}domain = \"marlowe.example.org\"\naliases = {{ web-ghc = [\"webghc.marlowe.example.org\"] }}\n"),
    );
    repo.edit(
        "jobs/web-ghc.json.tmpl",
        "\"ingress\",",
        "\"ingress\", {! for host in env.hostnames('web-ghc') !}\"host={= host =}\", {! endfor !}",
    );
    assert_eq!(problems(&repo), Vec::<Problem>::new());
    let model = Repo::open(repo.path(), None).unwrap();
    let rendered = Renderer::new(&model)
        .render_env(model.env("staging").unwrap(), &["web-ghc".to_string()])
        .unwrap();
    let tags = rendered[0].job["TaskGroups"][0]["Services"][0]["Tags"].clone();
    let tags: Vec<&str> = tags
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(
        tags.contains(&"host=webghc-staging.marlowe.example.org"),
        "{tags:?}"
    );
    assert!(
        tags.contains(&"host=webghc.marlowe.example.org"),
        "{tags:?}"
    );
    // Production keeps the cluster's domain; its override of marlowe-run still wins.
    let production = model.env("production").unwrap();
    assert_eq!(
        production.hostname("web-ghc", &model.cluster.domain),
        "webghc-prod.plutus.example.org"
    );
    assert_eq!(
        production.hostname("marlowe-run", &model.cluster.domain),
        "run.marlowe-finance.io"
    );
    // An unknown placeholder and an alias of a job the variant lacks are refused.
    repo.write(
        CLUSTER,
        &text.replace("{label}-{namespace}", "{lable}-{namespace}"),
    );
    repo.write(
        STAGING,
        &format!("{staging}aliases = {{ webghc = [\"webghc.example.org\"] }}\n"),
    );
    let found = problems(&repo);
    assert!(
        found
            .iter()
            .any(|p| p.message.starts_with("unknown placeholder `{lable}`")),
        "{found:#?}"
    );
    assert!(found
        .iter()
        .any(|p| p.file == STAGING && p.message == "`webghc` is not a job of variant `marlowe`"));
}
