//! Jobs as operators bring them (tests/fixtures/jobs/: `nomad job inspect` dumps, `nomad job
//! run -output` files, bitte-style renders with nulls and non-API keys, jobs in the shapes of
//! Nomad's docs), each dropped unchanged into a one-environment repository: it validates,
//! deploys against the simulator to its real end, and a redeploy registers nothing. The
//! invalid ones are refused before any request.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use nomad_sim::{Sim, SimConfig};
use serde_json::Value;
use support::ExampleRepo;

fn corpus() -> PathBuf {
    support::project_root().join("tests/fixtures/jobs")
}

/// A copy of the worked example plus environment `corpus` whose variant runs only `job`.
fn repo_with(file: &Path, namespace: &str) -> (ExampleRepo, String) {
    let repo = ExampleRepo::new();
    let name = file.file_stem().unwrap().to_str().unwrap().to_string();
    repo.write(
        &format!("jobs/{name}.json"),
        &std::fs::read_to_string(file).unwrap(),
    );
    let cluster = repo.read("clusters/plutus/cluster.toml");
    repo.write(
        "clusters/plutus/cluster.toml",
        &format!("{cluster}\n[variants.corpus]\njobs = [\"{name}\"]\nsources = []\n"),
    );
    repo.write(
        "clusters/plutus/envs/corpus.toml",
        &format!("variant = \"corpus\"\nnamespace = \"{namespace}\"\nstatic_ports = \"any\"\n"),
    );
    (repo, name)
}

fn sim() -> Sim {
    let sim = Sim::start_with(SimConfig {
        deploy_time: Duration::from_millis(60),
        ..SimConfig::default()
    });
    sim.add_node("client-1", "127.0.0.1", "dc1");
    sim.add_node("client-2", "127.0.0.1", "dc1");
    sim.add_node("client-3", "127.0.0.1", "eu-central-1");
    sim.add_node("client-4", "127.0.0.1", "us-east-2");
    sim
}

fn deploy(repo: &ExampleRepo, sim: &Sim) -> assert_cmd::assert::Assert {
    repo.opsctl()
        .env("NOMAD_ADDR", sim.address())
        .args([
            "--output",
            "json",
            "deploy",
            "--yes",
            "--timeout",
            "20s",
            "corpus",
        ])
        .timeout(Duration::from_secs(60))
        .assert()
}

fn job_of(text: &str) -> Value {
    let value: Value = serde_json::from_str(text).unwrap();
    match value.get("Job") {
        Some(job) => job.clone(),
        None => value,
    }
}

/// Keys of the corpus that are not Nomad API fields (Nomad ignores them): the simulator's
/// schema check names exactly these, and nothing else.
fn non_api_keys(name: &str) -> Vec<&'static str> {
    match name {
        "bitte-cue-render" => vec!["Job.TaskGroups[0].Restart: unknown field"],
        "typo-keys" => vec![
            "Job.TaskGroups[0].Contraints: unknown field",
            "Job.Datacenter: unknown field",
        ],
        _ => vec![],
    }
}

#[test]
fn every_corpus_job_validates_deploys_and_redeploys_unchanged() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 25, "corpus has {} jobs", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let job = job_of(&text);
        let namespace = job
            .get("Namespace")
            .and_then(Value::as_str)
            .unwrap_or("apps")
            .to_string();
        let (repo, name) = repo_with(file, &namespace);
        let validated = repo
            .opsctl()
            .args(["--output", "json", "validate"])
            .assert();
        if !validated.get_output().status.success() {
            failures.push(format!(
                "{name}: validate failed:\n{}",
                String::from_utf8_lossy(&validated.get_output().stdout)
            ));
            continue;
        }
        // Keys Nomad ignores are warnings with their path (errors with --strict).
        let report: Value =
            serde_json::from_slice(&validated.get_output().stdout).unwrap_or(Value::Null);
        let warned: Vec<String> = report["warnings"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|w| {
                format!(
                    "{}: {}",
                    w["field"].as_str().unwrap_or(""),
                    w["message"].as_str().unwrap_or("")
                )
            })
            .collect();
        let expected_warnings: Vec<String> = non_api_keys(&name)
            .iter()
            .map(|v| {
                v.trim_start_matches("Job.")
                    .trim_end_matches(": unknown field")
                    .to_string()
            })
            .collect();
        if warned.len() != expected_warnings.len()
            || !expected_warnings.iter().all(|w| {
                warned
                    .iter()
                    .any(|x| x.starts_with(&format!("{w}: not a Nomad field")))
            })
        {
            failures.push(format!(
                "{name}: warnings {warned:?}, expected {expected_warnings:?}"
            ));
        }
        if !expected_warnings.is_empty() {
            let strict = repo.opsctl().args(["validate", "--strict"]).assert();
            if strict.get_output().status.code() != Some(2) {
                failures.push(format!("{name}: validate --strict did not refuse"));
            }
        }
        let sim = sim();
        let out = deploy(&repo, &sim);
        let output = out.get_output();
        let report: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
        let row = report["jobs"]
            .as_array()
            .and_then(|jobs| jobs.first())
            .cloned()
            .unwrap_or(Value::Null);
        let expected = if job.get("Periodic").is_some_and(Value::is_object)
            || job.get("ParameterizedJob").is_some_and(Value::is_object)
        {
            "registered"
        } else if job.get("Stop") == Some(&Value::Bool(true)) {
            "stopped"
        } else {
            "healthy"
        };
        if !output.status.success() || row["status"] != expected {
            failures.push(format!(
                "{name}: deploy ended {} (expected {expected}):\n{}\n{}",
                row["status"],
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let registered = sim.register_calls();
        let again = deploy(&repo, &sim);
        if !again.get_output().status.success() || sim.register_calls() != registered {
            failures.push(format!(
                "{name}: the redeploy registered {} more time(s):\n{}",
                sim.register_calls() - registered,
                String::from_utf8_lossy(&again.get_output().stdout)
            ));
        }
        let mut violations = sim.take_schema_violations();
        violations.sort();
        violations.dedup();
        let mut expected_violations: Vec<String> =
            non_api_keys(&name).into_iter().map(String::from).collect();
        expected_violations.sort();
        if violations != expected_violations {
            failures.push(format!("{name}: schema violations {violations:?}"));
        }
        let stored = sim.job(&namespace, job["ID"].as_str().unwrap());
        if stored.is_none() {
            failures.push(format!("{name}: not registered in namespace {namespace}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn invalid_corpus_jobs_are_refused_before_any_request() {
    for (file, expect) in [
        (
            "bad-id.json",
            "job ID `web api` must be non-empty without spaces",
        ),
        (
            "no-task-groups.json",
            "the job needs at least one task group",
        ),
        ("malformed.json", "line 5"),
    ] {
        let (repo, name) = repo_with(&corpus().join("invalid").join(file), "apps");
        let validated = repo
            .opsctl()
            .args(["--output", "json", "validate"])
            .assert()
            .code(2);
        let stdout = String::from_utf8_lossy(&validated.get_output().stdout).to_string();
        assert!(
            stdout.contains(expect) && stdout.contains(&format!("jobs/{name}.json")),
            "{file}: {stdout}"
        );
        let sim = sim();
        let out = deploy(&repo, &sim).code(2);
        assert!(
            sim.requests().is_empty(),
            "{file}: requests were sent: {:?}\n{}",
            sim.requests(),
            String::from_utf8_lossy(&out.get_output().stdout)
        );
    }
}

#[test]
fn inspect_run_output_bare_and_wrapped_shapes_submit_identical_bodies() {
    // One job in four shapes: bare; wrapped; `nomad job run -output` (nulls for everything
    // unset); `nomad job inspect` (server-managed fields, `Stop: false`).
    let bare = serde_json::json!({
        "ID": "shapes", "Name": "shapes", "Datacenters": ["dc1"],
        "TaskGroups": [{"Name": "g", "Count": 1, "Tasks": [{"Name": "t", "Driver": "docker",
            "Config": {"image": "nginx:1.25", "args": null}}]}]
    });
    let wrapped = serde_json::json!({ "Job": bare });
    let mut output = bare.clone();
    for key in [
        "Type",
        "Priority",
        "Region",
        "Namespace",
        "Periodic",
        "Update",
        "Meta",
        "Stop",
    ] {
        output[key] = Value::Null;
    }
    output["TaskGroups"][0]["Networks"] = Value::Null;
    output["TaskGroups"][0]["Tasks"][0]["Resources"] = Value::Null;
    let output = serde_json::json!({ "Job": output });
    let mut inspect = bare.clone();
    for (key, value) in [
        ("Stop", serde_json::json!(false)),
        ("Status", serde_json::json!("running")),
        ("Version", serde_json::json!(4)),
        ("Stable", serde_json::json!(true)),
        ("SubmitTime", serde_json::json!(1700000000000000000u64)),
        ("CreateIndex", serde_json::json!(10)),
        ("ModifyIndex", serde_json::json!(20)),
        ("JobModifyIndex", serde_json::json!(20)),
    ] {
        inspect[key] = value;
    }
    let inspect = serde_json::json!({ "Job": inspect });
    let mut bodies = Vec::new();
    for shape in [&bare, &wrapped, &output, &inspect] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("shapes.json");
        std::fs::write(&file, serde_json::to_string_pretty(shape).unwrap()).unwrap();
        let (repo, _) = repo_with(&file, "apps");
        let sim = sim();
        deploy(&repo, &sim).success();
        let body = sim
            .requests()
            .into_iter()
            .find(|r| r.method == "POST" && r.path == "/v1/job/shapes")
            .map(|r| r.body)
            .expect("a register call");
        bodies.push(body);
    }
    for body in &bodies[1..] {
        assert_eq!(body, &bodies[0]);
    }
    let sent: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(sent["Job"]["Namespace"], "apps", "{sent:#}");
    assert!(sent["Job"].get("Type").is_none(), "{sent:#}");
    // Free-form driver config is kept as written, nulls included.
    assert!(sent["Job"]["TaskGroups"][0]["Tasks"][0]["Config"]
        .as_object()
        .unwrap()
        .contains_key("args"));
}

/// Deploys one corpus job (its JSON changed by `edit`) to `sim`; the job's report row.
fn deploy_one(file: &str, sim: &Sim, edit: impl FnOnce(&mut Value)) -> Value {
    let path = corpus().join(file);
    let mut whole: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(whole.get_mut("Job").unwrap_or(&mut Value::Null));
    let namespace = whole["Job"]["Namespace"]
        .as_str()
        .unwrap_or("apps")
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join(file);
    std::fs::write(&copy, serde_json::to_string_pretty(&whole).unwrap()).unwrap();
    let (repo, _) = repo_with(&copy, &namespace);
    let out = deploy(&repo, sim);
    let output = out.get_output();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    assert!(
        output.status.success(),
        "{file}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    report["jobs"][0].clone()
}

#[test]
fn system_jobs_get_one_allocation_per_eligible_node_and_say_why_other_nodes_have_none() {
    let sim = sim();
    sim.set_node_field(
        "client-2",
        "SchedulingEligibility",
        serde_json::json!("ineligible"),
    );
    sim.set_node_field("client-4", "NodePool", serde_json::json!("gpu"));
    let row = deploy_one("chrony-system.json", &sim, |job| {
        job["Constraints"] = serde_json::json!([
            {"LTarget": "${node.unique.name}", "RTarget": "client-3", "Operand": "!="}
        ]);
    });
    assert_eq!(row["status"], "healthy", "{row:#}");
    let coverage = &row["coverage"];
    // client-0 and client-1; client-3 is ready and eligible but excluded by the constraint
    // (Nomad's system scheduler filters it without a placement failure).
    assert_eq!(coverage["placed"], 2, "{row:#}");
    assert_eq!(coverage["eligible"], 3, "{row:#}");
    let reasons: Vec<(String, String)> = coverage["uncovered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["node"].as_str().unwrap().to_string(),
                u["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            (
                "client-2".to_string(),
                "ineligible for scheduling".to_string()
            ),
            (
                "client-3".to_string(),
                "filtered by the job's constraints".to_string()
            ),
            (
                "client-4".to_string(),
                "in node pool `gpu`, not `default`".to_string()
            ),
        ]
    );
    assert!(
        row["reason"]
            .as_str()
            .unwrap()
            .contains("on 2 of 3 eligible nodes"),
        "{row:#}"
    );
    // The simulator placed one allocation on each feasible node, as Nomad's system scheduler.
    let allocs = sim.allocations("apps", "chrony");
    let mut nodes: Vec<&str> = allocs
        .iter()
        .filter_map(|a| a["NodeName"].as_str())
        .collect();
    nodes.sort();
    assert_eq!(nodes, ["client-0", "client-1"], "{allocs:#?}");
}

#[test]
fn a_sysbatch_job_completes_on_every_node_of_its_datacenters() {
    let sim = sim();
    let row = deploy_one("node-cleanup-sysbatch.json", &sim, |_| {});
    assert_eq!(row["status"], "healthy", "{row:#}");
    let placed = row["coverage"]["placed"].as_u64().unwrap();
    assert!(placed >= 1, "{row:#}");
    assert_eq!(
        row["coverage"]["eligible"].as_u64(),
        Some(placed),
        "{row:#}"
    );
    let allocs = sim.allocations("ops", "docker-prune");
    let mut nodes: Vec<&str> = allocs
        .iter()
        .filter_map(|a| a["NodeName"].as_str())
        .collect();
    let count = nodes.len();
    nodes.sort();
    nodes.dedup();
    assert_eq!(
        (count, nodes.len() as u64),
        (placed as usize, placed),
        "one per node: {allocs:#?}"
    );
}

#[test]
fn a_periodic_job_is_registered_with_its_next_launch() {
    let sim = sim();
    let row = deploy_one("backup-periodic.json", &sim, |_| {});
    assert_eq!(row["status"], "registered", "{row:#}");
    let next = row["next_launch"]
        .as_str()
        .unwrap_or_else(|| panic!("{row:#}"));
    let at =
        time::OffsetDateTime::parse(next, &time::format_description::well_known::Rfc3339).unwrap();
    let now = time::OffsetDateTime::now_utc();
    // "30 3 * * *" in Europe/Berlin: within a day, at minute 30 in UTC too.
    assert!(at > now && at - now <= time::Duration::hours(24), "{next}");
    assert_eq!((at.minute(), at.second()), (30, 0), "{next}");
    assert!(
        row["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("next launch {next}")),
        "{row:#}"
    );
}
