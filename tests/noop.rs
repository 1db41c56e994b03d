//! No-op detection: an unchanged deploy is one round trip of three list calls (namespaces,
//! jobs with meta, deploy records) and no write; changes cost requests in proportion to the
//! changed jobs; hand edits in Nomad are found as drift. Counted in the simulator's request log.

mod support;

use std::time::Duration;

use nomad_sim::{Request, Sim};
use serde_json::{json, Value};
use support::ExampleRepo;

/// The example's Nomad environments, their namespaces and job counts (16 jobs).
const NOMAD_ENVS: [(&str, &str, usize); 5] = [
    ("marlowe-ci", "marlowe-ci", 4),
    ("plutus-production", "plutus-apps-prod", 2),
    ("plutus-staging", "plutus-staging", 2),
    ("production", "prod", 4),
    ("staging", "staging", 4),
];

fn sim() -> Sim {
    support::example_sim()
}

fn deploy(repo: &ExampleRepo, sim: &Sim, args: &[&str]) -> Value {
    let out = repo
        .opsctl()
        .env("NOMAD_ADDR", sim.address())
        .args(["--output", "json", "deploy", "--yes", "--timeout", "30s"])
        .args(args)
        .timeout(Duration::from_secs(90))
        .assert()
        .success();
    let stdout = &out.get_output().stdout;
    serde_json::from_slice(stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(stdout),
            String::from_utf8_lossy(&out.get_output().stderr)
        )
    })
}

/// Runs `step` and returns the requests the simulator received meanwhile.
/// The requests `step` made. A request arriving late on a connection of an earlier command
/// (a blocking query that command left in flight when it exited) is not `step`'s.
fn requests_of<T>(sim: &Sim, step: impl FnOnce() -> T) -> (T, Vec<Request>) {
    let earlier = sim.requests();
    let result = step();
    let mut requests = sim.requests().split_off(earlier.len());
    let earlier_peers: std::collections::HashSet<_> = earlier.iter().map(|r| r.peer).collect();
    requests.retain(|r| !earlier_peers.contains(&r.peer));
    (result, requests)
}

fn job<'a>(report: &'a Value, env: &str, id: &str) -> &'a Value {
    report["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["environment"] == env && j["id"] == id)
        .unwrap_or_else(|| panic!("no job {env}/{id} in {report:#}"))
}

/// How many plans the requests hold.
fn plans(requests: &[Request]) -> usize {
    requests
        .iter()
        .filter(|r| r.path.ends_with("/plan"))
        .count()
}

fn describe(requests: &[Request]) -> Vec<String> {
    requests
        .iter()
        .map(|r| format!("{} {} ns={:?}", r.method, r.path, r.namespace))
        .collect()
}

fn all_nomad(repo: &ExampleRepo, sim: &Sim, extra: &[&str]) -> Value {
    let mut args = vec!["--all", "--target", "nomad"];
    args.extend(extra);
    deploy(repo, sim, &args)
}

#[test]
fn an_unchanged_deploy_is_three_list_requests_and_no_write() {
    let repo = ExampleRepo::new();
    let sim = sim();
    let first = all_nomad(&repo, &sim, &[]);
    let jobs: usize = NOMAD_ENVS.iter().map(|(_, _, n)| n).sum();
    assert_eq!(first["jobs"].as_array().unwrap().len(), jobs);
    // Every job carries its fingerprint, every environment its deploy record.
    for (env, namespace, count) in NOMAD_ENVS {
        let ids = sim.job_ids(namespace);
        assert_eq!(ids.len(), count, "{namespace}: {ids:?}");
        for id in ids {
            let stored = sim.job(namespace, &id).unwrap();
            let print = stored["Meta"]["opsctl_fingerprint"].as_str().unwrap_or("");
            assert_eq!(print.len(), 64, "{namespace}/{id}: {:#}", stored["Meta"]);
            assert_eq!(stored["Meta"]["opsctl_version"], "0", "{namespace}/{id}");
        }
        assert!(
            sim.variable_paths(namespace)
                .contains(&format!("opsctl/deploys/{env}")),
            "{namespace}: {:?}",
            sim.variable_paths(namespace)
        );
    }
    let registers = sim.register_calls();
    let (report, requests) = requests_of(&sim, || all_nomad(&repo, &sim, &[]));
    assert_eq!(report["changes"], 0, "{report:#}");
    assert_eq!(sim.register_calls(), registers);
    assert!(
        requests.len() <= 3,
        "a no-op deploy made {} requests: {:#?}",
        requests.len(),
        describe(&requests)
    );
    assert!(
        requests.iter().all(|r| r.method == "GET"),
        "a no-op deploy wrote: {:#?}",
        describe(&requests)
    );
    for row in report["jobs"].as_array().unwrap() {
        assert_eq!(row["action"], "unchanged", "{row:#}");
        assert_eq!(row["drift"], false, "{row:#}");
    }
    // `--plan` of the same is the same three reads.
    let (_, requests) = requests_of(&sim, || all_nomad(&repo, &sim, &["--plan"]));
    assert!(requests.len() <= 3, "{:#?}", describe(&requests));
}

#[test]
fn a_job_edited_by_hand_is_drift_and_is_redeployed() {
    let repo = ExampleRepo::new();
    let sim = sim();
    deploy(&repo, &sim, &["staging"]);
    // Someone edits web-ghc through Nomad's API, keeping opsctl's meta (fingerprint too).
    let mut edited = sim.job("staging", "web-ghc").unwrap();
    let priority = edited["Priority"].as_u64().unwrap();
    edited["Priority"] = json!(priority + 7);
    sim.put_job("staging", edited);

    let plan = deploy(&repo, &sim, &["staging", "--plan"]);
    let row = job(&plan, "staging", "web-ghc");
    assert_eq!(row["drift"], true, "{row:#}");
    assert_eq!(row["action"], "edited", "{row:#}");
    for id in ["marlowe-playground", "marlowe-run", "marlowe-website"] {
        let row = job(&plan, "staging", id);
        assert_eq!(
            (row["action"].as_str(), row["drift"].as_bool()),
            (Some("unchanged"), Some(false)),
            "{row:#}"
        );
    }

    let report = deploy(&repo, &sim, &["staging"]);
    let row = job(&report, "staging", "web-ghc");
    assert_eq!(row["drift"], true, "{row:#}");
    assert_eq!(row["status"], "healthy", "{row:#}");
    let stored = sim.job("staging", "web-ghc").unwrap();
    assert_eq!(stored["Priority"], json!(priority), "opsctl's spec is back");

    // The record now vouches for the redeployed job: the next deploy is a no-op again.
    let (report, requests) = requests_of(&sim, || deploy(&repo, &sim, &["staging"]));
    assert_eq!(report["changes"], 0, "{report:#}");
    assert!(requests.len() <= 3, "{:#?}", describe(&requests));
}

#[test]
fn refresh_plans_every_job_with_nomad() {
    let repo = ExampleRepo::new();
    let sim = sim();
    deploy(&repo, &sim, &["staging"]);
    let (report, requests) = requests_of(&sim, || deploy(&repo, &sim, &["staging", "--refresh"]));
    assert_eq!(report["changes"], 0, "{report:#}");
    assert_eq!(plans(&requests), 4, "{:#?}", describe(&requests));
    // Planned jobs carry their version, read from Nomad.
    assert_eq!(job(&report, "staging", "web-ghc")["version_before"], 0);
    assert!(
        requests.iter().all(|r| r.method == "GET"
            || r.path.ends_with("/plan")
            || r.path.starts_with("/v1/var/")),
        "--refresh of an unchanged environment registers nothing: {:#?}",
        describe(&requests)
    );
}

#[test]
fn changed_jobs_cost_requests_in_proportion_to_their_number() {
    let repo = ExampleRepo::new();
    let sim = sim();
    all_nomad(&repo, &sim, &[]);
    // Per changed job: plan, version read, register, version read back; per environment
    // touched, one record write; plus the three list calls. Unchanged jobs cost nothing.
    let bound = |k: usize| 5 * k + 3;
    let cases = [
        ("revisions/production/marlowe-website.json", 1),
        // staging's revisions are marlowe-ci's too: two jobs in two namespaces.
        ("revisions/staging/marlowe-website.json", 2),
    ];
    for (round, (file, k)) in cases.into_iter().enumerate() {
        let text = repo.read(file);
        let start = text.find("\"rev\": \"").unwrap() + 8;
        let rev = format!("{:040x}", round + 1);
        repo.write(
            file,
            &format!("{}{rev}{}", &text[..start], &text[start + 40..]),
        );
        let (report, requests) = requests_of(&sim, || all_nomad(&repo, &sim, &["--no-wait"]));
        assert_eq!(report["changes"], k, "{report:#}");
        let plans = requests
            .iter()
            .filter(|r| r.path.ends_with("/plan"))
            .count();
        assert_eq!(
            plans,
            k,
            "only changed jobs are planned: {:#?}",
            describe(&requests)
        );
        assert!(
            requests.len() <= bound(k),
            "{k} changed job(s) took {} requests (bound {}): {:#?}",
            requests.len(),
            bound(k),
            describe(&requests)
        );
    }
}

#[test]
fn a_stopped_job_is_planned_and_started_even_when_its_fingerprint_matches() {
    let repo = ExampleRepo::new();
    let sim = sim();
    deploy(&repo, &sim, &["staging"]);
    let mut stopped = sim.job("staging", "marlowe-run").unwrap();
    stopped["Stop"] = json!(true);
    sim.put_job("staging", stopped);
    // A record written after the stop: the job is not drift, only stopped.
    sim.put_variable("staging", "opsctl/deploys/staging");
    let (report, requests) = requests_of(&sim, || deploy(&repo, &sim, &["staging"]));
    let row = job(&report, "staging", "marlowe-run");
    assert_eq!(row["drift"], false, "{row:#}");
    assert_eq!(row["action"], "edited", "{row:#}");
    assert_eq!(row["status"], "healthy", "{row:#}");
    assert_eq!(sim.job("staging", "marlowe-run").unwrap()["Stop"], false);
    let plans: Vec<_> = requests
        .iter()
        .filter(|r| r.path.ends_with("/plan"))
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(plans, ["/v1/job/marlowe-run/plan"]);
}

#[path = "../benches/common/deployer.rs"]
mod deployer;
#[path = "../benches/common/synthetic.rs"]
mod synthetic;

/// Whether a request is part of the rollout watch (the namespace feeds or per-job reads).
fn watches(r: &Request) -> bool {
    r.method == "GET"
        && (matches!(
            r.path.as_str(),
            "/v1/deployments" | "/v1/allocations" | "/v1/evaluations"
        ) || r.path.starts_with("/v1/deployment/")
            || r.path.starts_with("/v1/evaluation/")
            || (r.path.starts_with("/v1/job/")
                && (r.path.ends_with("/deployment") || r.path.ends_with("/allocations"))))
}

/// Deploys one synthetic environment of `jobs` new service jobs in one namespace, through
/// the library, and returns the watch requests it made.
fn watch_requests_of_new_jobs(jobs: usize) -> Vec<Request> {
    use opsctl::deploy;

    let dir = tempfile::tempdir().unwrap();
    synthetic::write_repo(dir.path(), 1, jobs);
    let sim = nomad_sim::Sim::start_with(nomad_sim::SimConfig {
        deploy_time: Duration::from_millis(1000),
        ..nomad_sim::SimConfig::default()
    });
    sim.add_node("client-eu", "127.0.0.1", "eu-central-1");
    // Latency as on a real network: changes that land together are seen together.
    sim.set_latency(Duration::from_millis(20));
    let deployer = deployer::deployer(sim.address(), 16);
    let repo = opsctl::repo::Repo::open(dir.path(), None).unwrap();
    let envs: Vec<String> = repo.envs.keys().cloned().collect();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let outcomes = runtime.block_on(async {
        let plans = deploy::plan_environments(&deployer, &repo, &envs)
            .await
            .unwrap();
        deployer.apply(&plans).await
    });
    assert_eq!(outcomes.len(), jobs);
    for outcome in &outcomes {
        assert_eq!(
            outcome.status,
            deploy::JobStatus::Healthy,
            "{}: {:?}",
            outcome.id(),
            outcome.final_line()
        );
    }
    sim.requests().into_iter().filter(watches).collect()
}

#[test]
fn the_watch_of_many_jobs_in_one_namespace_shares_its_blocking_queries() {
    let few = watch_requests_of_new_jobs(2);
    let many = watch_requests_of_new_jobs(24);
    // One feed per list and namespace: no per-job deployment, allocation or evaluation read.
    let per_job: Vec<_> = many
        .iter()
        .filter(|r| !r.path.ends_with('s') || r.path.starts_with("/v1/job/"))
        .collect();
    assert!(per_job.is_empty(), "{:#?}", describe(&many));
    // Watching 24 jobs costs about what watching 2 does (a per-job watch needs at least three
    // reads per job: 72 here), whatever the order the rollouts finish in.
    assert!(
        many.len() < 24 * 3 && many.len() <= 2 * few.len() + 9,
        "24 jobs: {} watch requests, 2 jobs: {}: {:#?}",
        many.len(),
        few.len(),
        describe(&many)
    );
}
