//! `opsctl deploy` against the Nomad simulator (tests/nomad-sim): the real binary, real HTTP.

mod support;

use std::time::Duration;

use nomad_sim::{Sim, SimConfig};
use serde_json::Value;
use support::ExampleRepo;

const STAGING_JOBS: [&str; 4] = [
    "marlowe-playground",
    "marlowe-run",
    "marlowe-website",
    "web-ghc",
];

fn sim() -> Sim {
    example_sim(SimConfig {
        deploy_time: Duration::from_millis(60),
        ..SimConfig::default()
    })
}

/// A simulator with a client in the example's first datacenter (its own client-0 is in
/// `dc1`, where the example's jobs cannot be placed).
fn example_sim(config: SimConfig) -> Sim {
    let sim = Sim::start_with(config);
    sim.add_node("client-eu", "127.0.0.1", "eu-central-1");
    sim
}

fn deploy(repo: &ExampleRepo, sim: &Sim, args: &[&str]) -> assert_cmd::assert::Assert {
    repo.opsctl()
        .env("NOMAD_ADDR", sim.address())
        .args(["--output", "json", "deploy", "--yes", "--timeout", "30s"])
        .args(args)
        .timeout(Duration::from_secs(90))
        .assert()
}

fn report(assert: &assert_cmd::assert::Assert) -> Value {
    let stdout = &assert.get_output().stdout;
    serde_json::from_slice(stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(stdout),
            String::from_utf8_lossy(&assert.get_output().stderr)
        )
    })
}

/// Pins staging's marlowe-website source to `rev` (only the marlowe-website job uses it).
fn pin_website(repo: &ExampleRepo, rev: &str) {
    repo.edit(
        "revisions/staging/marlowe-website.json",
        "d26683f2eba93d64e54491bc8ae72e283a5b8516",
        rev,
    );
}

fn job<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == id)
        .unwrap_or_else(|| panic!("no job {id} in {report:#}"))
}

fn statuses(report: &Value) -> Vec<(String, String, String)> {
    let mut rows: Vec<_> = report["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["id"].as_str().unwrap().to_string(),
                j["action"].as_str().unwrap().to_string(),
                j["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn first_deploy_creates_the_namespace_and_every_job() {
    let repo = ExampleRepo::new();
    let sim = sim();
    let out = deploy(&repo, &sim, &["staging"]).success();
    let report = report(&out);
    assert_eq!(report["environments"][0]["namespace_created"], true);
    for id in STAGING_JOBS {
        let row = job(&report, id);
        assert_eq!(row["action"], "new", "{row:#}");
        assert_eq!(row["status"], "healthy", "{row:#}");
        assert_eq!(row["version_after"], 0);
        assert!(row["deployment_id"].is_string(), "{row:#}");
        assert_eq!(row["deployment_status"], "successful");
    }
    assert_eq!(sim.register_calls(), 4);
    let mut ids = sim.job_ids("staging");
    ids.sort();
    assert_eq!(ids, STAGING_JOBS);
    // The stored job is the rendered one, marked as managed.
    let stored = sim.job("staging", "marlowe-run").unwrap();
    assert_eq!(stored["Meta"]["opsctl_environment"], "staging");
    assert_eq!(stored["Meta"]["opsctl_cluster"], "plutus");
    assert_eq!(stored["Namespace"], "staging");
}

#[test]
fn redeploying_without_changes_submits_nothing() {
    let repo = ExampleRepo::new();
    let sim = sim();
    deploy(&repo, &sim, &["staging"]).success();
    let before = sim.register_calls();
    let out = deploy(&repo, &sim, &["staging"]).success();
    assert_eq!(
        sim.register_calls(),
        before,
        "a no-op deploy must not register"
    );
    let report = report(&out);
    assert_eq!(report["changes"], 0);
    for (id, action, status) in statuses(&report) {
        assert_eq!(
            (action.as_str(), status.as_str()),
            ("unchanged", "unchanged"),
            "{id}"
        );
    }
    assert_eq!(job(&report, "web-ghc")["version_after"], 0);
}

#[test]
fn a_revision_bump_edits_exactly_the_jobs_that_use_it() {
    let repo = ExampleRepo::new();
    let sim = sim();
    deploy(&repo, &sim, &["staging"]).success();
    let before = sim.register_calls();
    pin_website(&repo, "1111111111111111111111111111111111111111");
    let out = deploy(&repo, &sim, &["staging"]).success();
    let report = report(&out);
    assert_eq!(sim.register_calls(), before + 1);
    let website = job(&report, "marlowe-website");
    assert_eq!(website["action"], "edited");
    assert_eq!(website["status"], "healthy");
    assert_eq!(website["version_before"], 0);
    assert_eq!(website["version_after"], 1);
    let diff = website["diff"].to_string();
    assert!(
        diff.contains("1111111111111111111111111111111111111111"),
        "{diff}"
    );
    for id in ["marlowe-playground", "marlowe-run", "web-ghc"] {
        assert_eq!(job(&report, id)["action"], "unchanged");
    }
    let stored = sim.job("staging", "marlowe-website").unwrap();
    assert_eq!(stored["Version"], 1);
    assert!(stored
        .to_string()
        .contains("marlowe-website:1111111111111111111111111111111111111111"));
}

#[test]
fn plan_changes_nothing_and_detailed_exitcode_reports_changes() {
    let repo = ExampleRepo::new();
    let sim = sim();
    let out = deploy(&repo, &sim, &["staging", "--plan", "--detailed-exitcode"]).code(3);
    let report = report(&out);
    assert_eq!(report["plan_only"], true);
    assert_eq!(report["changes"], 5, "namespace + 4 jobs");
    assert_eq!(sim.register_calls(), 0);
    assert!(sim.job_ids("staging").is_empty());
    assert!(
        sim.requests()
            .iter()
            .all(|r| r.method == "GET" || r.path.ends_with("/plan")),
        "--plan must not write: {:?}",
        sim.requests()
    );
    deploy(&repo, &sim, &["staging"]).success();
    deploy(&repo, &sim, &["staging", "--plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn text_plan_shows_a_field_diff_like_nomad_job_plan() {
    let repo = ExampleRepo::new();
    let sim = sim();
    deploy(&repo, &sim, &["staging"]).success();
    pin_website(&repo, "2222222222222222222222222222222222222222");
    let out = repo
        .opsctl()
        .env("NOMAD_ADDR", sim.address())
        .args(["deploy", "staging", "--plan"])
        .timeout(Duration::from_secs(60))
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(text.contains("+/- Job: \"marlowe-website\""), "{text}");
    assert!(
        text.contains("d26683f2eba93d64e54491bc8ae72e283a5b8516\" => \"2222222222222222222222222222222222222222"),
        "{text}"
    );
    assert!(
        !text.contains("Job: \"web-ghc\""),
        "unchanged jobs have no diff:\n{text}"
    );
    assert!(text.contains("nothing was submitted"), "{text}");
}

#[test]
fn a_job_changed_between_plan_and_submit_is_replanned_once() {
    let repo = ExampleRepo::new();
    let sim = sim();
    deploy(&repo, &sim, &["staging"]).success();
    pin_website(&repo, "3333333333333333333333333333333333333333");
    // Another writer changes the job right after opsctl planned it.
    sim.after_next_plan("staging", "marlowe-website", |job| {
        job["Meta"]["changed-by"] = Value::from("someone else");
    });
    let before = sim.register_calls();
    let out = deploy(&repo, &sim, &["staging"]).success();
    let report = report(&out);
    let website = job(&report, "marlowe-website");
    assert_eq!(website["replanned"], true, "{website:#}");
    assert_eq!(website["status"], "healthy");
    // One rejected check-and-set and one accepted submit.
    assert_eq!(sim.register_calls(), before + 2);
    let stored = sim.job("staging", "marlowe-website").unwrap();
    assert!(stored
        .to_string()
        .contains("3333333333333333333333333333333333333333"));
    assert!(
        stored["Meta"].get("changed-by").is_none(),
        "opsctl's spec wins after re-planning"
    );
}

#[test]
fn a_job_that_keeps_changing_fails_after_one_replan_and_is_not_overwritten() {
    let repo = ExampleRepo::new();
    let sim = sim();
    deploy(&repo, &sim, &["staging"]).success();
    pin_website(&repo, "3333333333333333333333333333333333333333");
    // Another writer changes the job after the plan and again after the re-plan.
    for writer in ["first", "second"] {
        sim.after_next_plan("staging", "marlowe-website", move |job| {
            job["Meta"]["changed-by"] = Value::from(writer);
        });
    }
    let before = sim.register_calls();
    let out = deploy(&repo, &sim, &["staging"]).code(1);
    let report = report(&out);
    let website = job(&report, "marlowe-website");
    assert_eq!(website["status"], "failed", "{website:#}");
    let reason = website["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("check-and-set failed again: the job keeps changing under opsctl"),
        "{reason}"
    );
    // Two rejected check-and-set submits; the other writer's job stands.
    assert_eq!(sim.register_calls(), before + 2);
    let stored = sim.job("staging", "marlowe-website").unwrap();
    assert_eq!(stored["Meta"]["changed-by"], "second");
    assert!(!stored
        .to_string()
        .contains("3333333333333333333333333333333333333333"));
    // The other jobs were unchanged and are reported so.
    assert_eq!(job(&report, "web-ghc")["action"], "unchanged");
}

#[test]
fn a_template_change_edits_exactly_the_jobs_rendered_from_it() {
    let repo = ExampleRepo::new();
    let sim = sim();
    deploy(&repo, &sim, &["staging", "plutus-staging"]).success();
    let before = sim.register_calls();
    // web-ghc runs in both environments; nothing else uses its template.
    let text = repo.read("jobs/web-ghc.json.tmpl");
    let edited = text.replace("\"CPU\": 4000", "\"CPU\": 4100");
    assert_ne!(text, edited, "web-ghc's template has a CPU resource");
    repo.write("jobs/web-ghc.json.tmpl", &edited);
    let out = deploy(&repo, &sim, &["staging", "plutus-staging"]).success();
    let report = report(&out);
    assert_eq!(
        sim.register_calls(),
        before + 2,
        "one register per edited job"
    );
    for entry in report["jobs"].as_array().unwrap() {
        let expected = if entry["id"] == "web-ghc" {
            "edited"
        } else {
            "unchanged"
        };
        assert_eq!(entry["action"], expected, "{entry:#}");
    }
    for namespace in ["staging", "plutus-staging"] {
        assert_eq!(sim.job(namespace, "web-ghc").unwrap()["Version"], 1);
    }
}

#[test]
fn a_failed_deployment_exits_1_with_nomads_reason() {
    let repo = ExampleRepo::new();
    let sim = sim();
    repo.edit(
        "jobs/marlowe-website.json.tmpl",
        "\"AutoRevert\": true",
        "\"AutoRevert\": false",
    );
    deploy(&repo, &sim, &["staging"]).success();
    sim.fail_job("staging", "marlowe-website");
    pin_website(&repo, "4444444444444444444444444444444444444444");
    let out = deploy(&repo, &sim, &["staging"]).code(1);
    let report = report(&out);
    let website = job(&report, "marlowe-website");
    assert_eq!(website["status"], "failed");
    assert_eq!(website["deployment_status"], "failed");
    assert!(website["reverted_to"].is_null());
    let reason = website["reason"].as_str().unwrap();
    assert!(
        reason.contains("Failed due to unhealthy allocations"),
        "{reason}"
    );
    assert_eq!(report["failed"], 1);
    // The other jobs were unchanged and are reported as such.
    assert_eq!(job(&report, "marlowe-run")["status"], "unchanged");
    // The error line names the job and Nomad's reason, for a CI log read by a person.
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("marlowe-website")
                && l.contains("Failed due to unhealthy allocations")),
        "{stderr}"
    );
}

#[test]
fn an_auto_reverted_deployment_names_the_version_running_now() {
    let repo = ExampleRepo::new();
    let sim = sim();
    deploy(&repo, &sim, &["staging"]).success();
    sim.fail_job("staging", "marlowe-website");
    pin_website(&repo, "5555555555555555555555555555555555555555");
    let out = deploy(&repo, &sim, &["staging"]).code(1);
    let report = report(&out);
    let website = job(&report, "marlowe-website");
    assert_eq!(website["status"], "failed", "{website:#}");
    assert_eq!(website["reverted_to"], 0, "{website:#}");
    // Nomad re-registers version 0's spec as version 2.
    assert_eq!(website["version_after"], 2, "{website:#}");
    let stored = sim.job("staging", "marlowe-website").unwrap();
    assert!(stored
        .to_string()
        .contains("d26683f2eba93d64e54491bc8ae72e283a5b8516"));
    let reason = website["reason"].as_str().unwrap();
    assert!(reason.contains("rolling back to job version 0"), "{reason}");
}

#[test]
fn canaries_wait_for_promotion_unless_promote_is_given() {
    let repo = ExampleRepo::new();
    let sim = sim();
    deploy(&repo, &sim, &["staging"]).success();
    repo.edit(
        "jobs/marlowe-run.json.tmpl",
        "\"Canary\": 0",
        "\"Canary\": 1",
    );
    let out = deploy(&repo, &sim, &["staging", "--job", "marlowe-run"]).success();
    let run = job(&report(&out), "marlowe-run").clone();
    assert_eq!(run["status"], "awaiting_promotion", "{run:#}");
    assert!(run["reason"].as_str().unwrap().contains("--promote"));

    let pinned = repo.read("revisions/staging/marlowe-cardano.json");
    let rev_line = pinned.lines().find(|l| l.contains("\"rev\"")).unwrap();
    repo.edit(
        "revisions/staging/marlowe-cardano.json",
        rev_line,
        "  \"rev\": \"6666666666666666666666666666666666666666\",",
    );
    let out = deploy(
        &repo,
        &sim,
        &["staging", "--job", "marlowe-run", "--promote"],
    )
    .success();
    let run = job(&report(&out), "marlowe-run").clone();
    assert_eq!(run["status"], "healthy", "{run:#}");
    assert_eq!(run["deployment_status"], "successful");
    let deployments = sim.deployments("staging", "marlowe-run");
    let last = deployments.last().unwrap();
    assert_eq!(
        last["TaskGroups"]["marlowe-run"]["Promoted"], true,
        "{last:#}"
    );
}

#[test]
fn permission_denied_names_the_token_variable() {
    let repo = ExampleRepo::new();
    let sim = sim();
    let management = sim.enable_acl();
    let out = repo
        .opsctl()
        .env("NOMAD_ADDR", sim.address())
        .args(["deploy", "staging", "--yes"])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("NOMAD_TOKEN"), "{stderr}");
    assert!(
        stderr.to_lowercase().contains("permission denied"),
        "{stderr}"
    );
    assert_eq!(sim.register_calls(), 0);
    // With the management token it goes through, and the token is never printed.
    let out = repo
        .opsctl()
        .env("NOMAD_ADDR", sim.address())
        .env("NOMAD_TOKEN", &management)
        .args(["-vvv", "deploy", "staging", "--yes"])
        .timeout(Duration::from_secs(60))
        .assert()
        .success();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.get_output().stdout),
        String::from_utf8_lossy(&out.get_output().stderr)
    );
    assert!(
        !all.contains(&management),
        "the token leaked into the output"
    );
}

#[test]
fn injected_server_errors_do_not_stop_convergence_or_duplicate_submits() {
    let repo = ExampleRepo::new();
    let sim = example_sim(SimConfig {
        deploy_time: Duration::from_millis(60),
        fault_rate: 0.2,
        seed: 7,
        ..SimConfig::default()
    });
    let out = deploy(&repo, &sim, &["staging", "plutus-staging"]).success();
    let report = report(&out);
    assert_eq!(report["failed"], 0, "{report:#}");
    // 4 marlowe jobs + 2 plutus jobs, each registered exactly once.
    assert_eq!(sim.register_calls(), 6);
    assert!(
        sim.requests().iter().any(|r| r.status >= 500),
        "the simulator injected no fault"
    );
    sim.set_fault_rate(0.0);
    deploy(&repo, &sim, &["staging", "plutus-staging"]).success();
    assert_eq!(
        sim.register_calls(),
        6,
        "converged: the redeploy is a no-op"
    );
}

#[test]
fn a_register_whose_answer_is_lost_is_not_submitted_again() {
    let repo = ExampleRepo::new();
    let sim = sim();
    // Every registration is committed, and its answer lost on the way back.
    sim.set_lost_register_rate(1.0);
    let out = deploy(&repo, &sim, &["staging", "plutus-staging"]).success();
    let report = report(&out);
    assert_eq!(report["failed"], 0, "{report:#}");
    // The re-plan after the error saw each job already in place: one register per job.
    assert_eq!(sim.register_calls(), 6);
    for (namespace, id) in [("staging", "marlowe-run"), ("plutus-staging", "web-ghc")] {
        assert_eq!(sim.job(namespace, id).unwrap()["Version"], 0, "{id}");
    }
    assert!(sim
        .requests()
        .iter()
        .any(|r| r.status == 500 && r.method != "GET"));
}

#[test]
fn prune_stops_managed_jobs_the_environment_no_longer_has() {
    let repo = ExampleRepo::new();
    let sim = sim();
    deploy(&repo, &sim, &["staging"]).success();
    // A job someone started by hand in the namespace is never pruned.
    sim.put_job(
        "staging",
        serde_json::json!({
            "ID": "hand-made", "Name": "hand-made", "Namespace": "staging", "Type": "service",
            "Datacenters": ["eu-central-1"],
            "TaskGroups": [{"Name": "g", "Count": 1, "Tasks": [{"Name": "t", "Driver": "docker",
                "Config": {"image": "busybox"}}]}]
        }),
    );
    repo.edit(
        "clusters/plutus/cluster.toml",
        "jobs = [\"marlowe-website\", \"marlowe-run\", \"marlowe-playground\", \"web-ghc\"]",
        "jobs = [\"marlowe-website\", \"marlowe-run\", \"web-ghc\"]",
    );
    repo.edit(
        "clusters/plutus/envs/production.toml",
        ", marlowe-playground = \"play.marlowe-finance.io\"",
        "",
    );
    // Without --prune the orphan is left alone.
    deploy(&repo, &sim, &["staging"]).success();
    assert_eq!(
        sim.job("staging", "marlowe-playground").unwrap()["Stop"],
        false
    );
    let out = deploy(&repo, &sim, &["staging", "--prune"]).success();
    let pruned_report = report(&out);
    let pruned = job(&pruned_report, "marlowe-playground");
    assert_eq!(pruned["action"], "stop");
    assert_eq!(pruned["status"], "stopped");
    assert_eq!(
        sim.job("staging", "marlowe-playground").unwrap()["Stop"],
        true
    );
    assert_eq!(sim.job("staging", "hand-made").unwrap()["Stop"], false);
    // Pruning is idempotent.
    let out = deploy(&repo, &sim, &["staging", "--prune"]).success();
    assert_eq!(report(&out)["changes"], 0);
}

#[test]
fn json_report_has_a_stable_shape() {
    let repo = ExampleRepo::new();
    let sim = sim();
    let out = deploy(&repo, &sim, &["staging"]).success();
    let report = report(&out);
    for key in [
        "nomad",
        "plan_only",
        "environments",
        "jobs",
        "changes",
        "failed",
    ] {
        assert!(report.get(key).is_some(), "missing {key}");
    }
    assert_eq!(report["nomad"], sim.address());
    let row = job(&report, "web-ghc");
    for key in [
        "environment",
        "namespace",
        "job",
        "id",
        "type",
        "action",
        "status",
        "version_before",
        "version_after",
        "deployment_id",
        "deployment_status",
        "reverted_to",
        "reason",
        "replanned",
    ] {
        assert!(row.get(key).is_some(), "job row lacks {key}: {row:#}");
    }
    assert_eq!(row["environment"], "staging");
    assert_eq!(row["type"], "service");

    // Types and closed vocabularies, for every row: what CI scripts may rely on.
    assert!(report["plan_only"].is_boolean());
    assert!(report["changes"].is_u64() && report["failed"].is_u64());
    let optional = |v: &Value, ok: fn(&Value) -> bool| v.is_null() || ok(v);
    for row in report["jobs"].as_array().unwrap() {
        for key in ["environment", "namespace", "job", "id", "type"] {
            assert!(row[key].is_string(), "{key}: {row:#}");
        }
        assert!(
            ["unchanged", "new", "edited", "stop"].contains(&row["action"].as_str().unwrap()),
            "{row:#}"
        );
        assert!(
            [
                "unchanged",
                "planned",
                "submitted",
                "healthy",
                "awaiting_promotion",
                "stopped",
                "failed",
                "timed_out"
            ]
            .contains(&row["status"].as_str().unwrap()),
            "{row:#}"
        );
        for key in ["version_before", "version_after", "reverted_to"] {
            assert!(optional(&row[key], Value::is_u64), "{key}: {row:#}");
        }
        for key in ["deployment_id", "deployment_status", "reason"] {
            assert!(optional(&row[key], Value::is_string), "{key}: {row:#}");
        }
        assert!(row["replanned"].is_boolean());
    }
    // A first deploy: every service job is new, healthy, at version 0 with a deployment.
    assert_eq!(row["action"], "new");
    assert_eq!(row["status"], "healthy");
    assert_eq!(row["version_after"], 0);
    assert!(row["deployment_id"]
        .as_str()
        .is_some_and(|id| id.len() == 36));
}

#[test]
fn wrapped_bare_and_inspect_forms_submit_the_same_job() {
    let repo = ExampleRepo::new();
    let sim = sim();
    deploy(&repo, &sim, &["staging", "--job", "web-ghc"]).success();
    let registered = sim.register_calls();
    let wrapped = repo.read("jobs/web-ghc.json.tmpl");
    let key = wrapped.find("\"Job\":").unwrap();
    let outer_open = wrapped[..key].rfind('{').unwrap();
    let inner_open = key + wrapped[key..].find('{').unwrap();
    let outer_close = wrapped.rfind('}').unwrap();
    let inner_close = wrapped[..outer_close].rfind('}').unwrap();
    let bare = format!(
        "{}{}{}",
        &wrapped[..outer_open],
        &wrapped[inner_open..=inner_close],
        &wrapped[outer_close + 1..]
    );
    repo.write("jobs/web-ghc.json.tmpl", &bare);
    deploy(&repo, &sim, &["staging", "--job", "web-ghc"]).success();
    assert_eq!(
        sim.register_calls(),
        registered,
        "bare form differs:\n{bare}"
    );
    // What `nomad job inspect` prints: wrapped, with server-managed fields.
    let inspect = wrapped.replacen(
        "\"ID\": \"web-ghc\",",
        "\"ID\": \"web-ghc\", \"Version\": 7, \"Stable\": true, \"Status\": \"running\", \
         \"SubmitTime\": 1732000000000000000, \"CreateIndex\": 11, \"ModifyIndex\": 42, \"JobModifyIndex\": 40,",
        1,
    );
    assert_ne!(inspect, wrapped);
    repo.write("jobs/web-ghc.json.tmpl", &inspect);
    deploy(&repo, &sim, &["staging", "--job", "web-ghc"]).success();
    assert_eq!(sim.register_calls(), registered, "inspect form differs");
}

#[test]
fn an_invalid_job_is_refused_before_anything_is_sent() {
    let repo = ExampleRepo::new();
    let sim = sim();
    repo.edit("jobs/web-ghc.json.tmpl", "\"TaskGroups\"", "\"TaskGroupz\"");
    let out = deploy(&repo, &sim, &["staging"]).code(2);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout);
    assert!(stdout.contains("jobs/web-ghc.json.tmpl"), "{stdout}");
    assert!(
        sim.requests().is_empty(),
        "requests were sent: {:?}",
        sim.requests()
    );
}

#[test]
fn malformed_json_and_a_bad_job_id_are_refused_locally() {
    let repo = ExampleRepo::new();
    let sim = sim();
    let text = repo.read("jobs/marlowe-run.json.tmpl");
    repo.write("jobs/marlowe-run.json.tmpl", &text[..text.len() / 2]);
    let out = deploy(&repo, &sim, &["staging"]).code(2);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout);
    assert!(stdout.contains("jobs/marlowe-run.json.tmpl"), "{stdout}");

    let repo = ExampleRepo::new();
    let text = repo.read("jobs/web-ghc.json.tmpl");
    let id = text.find("\"ID\"").expect("web-ghc's template has an ID");
    let value_start = id + text[id..].find(": \"").unwrap() + 3;
    let value_end = value_start + text[value_start..].find('"').unwrap();
    let mut broken = text.clone();
    broken.replace_range(value_start..value_end, "web ghc/bad id");
    repo.write("jobs/web-ghc.json.tmpl", &broken);
    let out = deploy(&repo, &sim, &["staging"]).code(2);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout);
    assert!(
        stdout.contains("jobs/web-ghc.json.tmpl") && stdout.contains("ID"),
        "{stdout}"
    );
    assert!(
        sim.requests().is_empty(),
        "requests were sent: {:?}",
        sim.requests()
    );
}

#[test]
fn without_a_terminal_changes_need_yes() {
    let repo = ExampleRepo::new();
    let sim = sim();
    let out = repo
        .opsctl()
        .env("NOMAD_ADDR", sim.address())
        .args(["deploy", "staging"])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(stderr.contains("--yes"), "{stderr}");
    assert_eq!(sim.register_calls(), 0);
}

#[test]
fn no_wait_returns_after_submitting() {
    let repo = ExampleRepo::new();
    let sim = example_sim(SimConfig {
        deploy_time: Duration::from_secs(30),
        ..SimConfig::default()
    });
    let started = std::time::Instant::now();
    let out = deploy(&repo, &sim, &["staging", "--no-wait"]).success();
    assert!(started.elapsed() < Duration::from_secs(20));
    for (_, _, status) in statuses(&report(&out)) {
        assert_eq!(status, "submitted");
    }
}

#[test]
fn a_rollout_slower_than_the_timeout_fails_with_timed_out() {
    let repo = ExampleRepo::new();
    let sim = example_sim(SimConfig {
        deploy_time: Duration::from_secs(60),
        ..SimConfig::default()
    });
    let out = repo
        .opsctl()
        .env("NOMAD_ADDR", sim.address())
        .args([
            "--output",
            "json",
            "deploy",
            "staging",
            "--yes",
            "--job",
            "web-ghc",
            "--timeout",
            "1s",
        ])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(1);
    let report = report(&out);
    let row = job(&report, "web-ghc");
    assert_eq!(row["status"], "timed_out");
    assert!(row["reason"].as_str().unwrap().contains("1s"));
}

/// Runs only against a real Nomad (`NOMAD_ADDR` set, with `NOMAD_TOKEN` when ACLs are on):
/// plans the worked example's staging environment without changing anything.
#[test]
fn real_nomad_plan_when_nomad_addr_is_set() {
    let Ok(address) = std::env::var("NOMAD_ADDR") else {
        eprintln!("NOMAD_ADDR is not set: skipping the real-Nomad test");
        return;
    };
    let repo = ExampleRepo::new();
    let mut cmd = repo.opsctl();
    cmd.env("NOMAD_ADDR", &address);
    if let Ok(token) = std::env::var("NOMAD_TOKEN") {
        cmd.env("NOMAD_TOKEN", token);
    }
    let out = cmd
        .args([
            "--output",
            "json",
            "deploy",
            "staging",
            "--plan",
            "--detailed-exitcode",
        ])
        .timeout(Duration::from_secs(120))
        .assert();
    let code = out.get_output().status.code();
    assert!(matches!(code, Some(0) | Some(3)), "{:?}", out.get_output());
    assert_eq!(report(&out)["plan_only"], true);
}

#[test]
fn batch_jobs_are_followed_through_their_allocations() {
    let repo = ExampleRepo::new();
    let sim = sim();
    repo.write(
        "jobs/db-migrate.json.tmpl",
        r#"{
  "Job": {
    "ID": "db-migrate",
    "Namespace": "{= env.namespace =}",
    "Type": "batch",
    "Datacenters": {= cluster.datacenters | tojson =},
    "TaskGroups": [{
      "Name": "migrate",
      "Count": 1,
      "Tasks": [{
        "Name": "migrate",
        "Driver": "docker",
        "Config": { "image": "ghcr.io/input-output-hk/marlowe-migrate:{= rev('marlowe-cardano') =}" }
      }]
    }]
  }
}
"#,
    );
    repo.edit(
        "clusters/plutus/cluster.toml",
        "jobs = [\"marlowe-website\",",
        "jobs = [\"db-migrate\", \"marlowe-website\",",
    );
    let out = deploy(&repo, &sim, &["staging", "--job", "db-migrate"]).success();
    let row = job(&report(&out), "db-migrate").clone();
    assert_eq!(row["type"], "batch");
    assert_eq!(row["status"], "healthy", "{row:#}");
    assert!(row["deployment_id"].is_null());
    let allocations = sim.allocations("staging", "db-migrate");
    assert_eq!(allocations.len(), 1);
    assert_eq!(allocations[0]["ClientStatus"], "complete");

    // A failing batch run is reported with the allocation that failed.
    sim.fail_job("staging", "db-migrate");
    repo.edit("jobs/db-migrate.json.tmpl", "\"Count\": 1", "\"Count\": 2");
    let out = deploy(&repo, &sim, &["staging", "--job", "db-migrate"]).code(1);
    let row = job(&report(&out), "db-migrate").clone();
    assert_eq!(row["status"], "failed");
    assert!(
        row["reason"]
            .as_str()
            .unwrap()
            .contains("allocations failed"),
        "{row:#}"
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files in `dir`
/// plus the simulator's TLS identity (requiring client certificates from that CA).
fn tls_material(dir: &std::path::Path) -> nomad_sim::TlsIdentity {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "nomad test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf = |names: Vec<String>, usage: ExtendedKeyUsagePurpose| {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(names).unwrap();
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
        (cert, key)
    };
    let (server, server_key) = leaf(
        vec!["127.0.0.1".into(), "server.global.nomad".into()],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let (client, client_key) = leaf(
        vec!["cli.global.nomad".into()],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("cli.pem"), client.pem()).unwrap();
    std::fs::write(dir.join("cli-key.pem"), client_key.serialize_pem()).unwrap();
    nomad_sim::TlsIdentity {
        cert_der: server.der().to_vec(),
        key_der: server_key.serialize_der(),
        client_ca_der: Some(ca.der().to_vec()),
    }
}

#[test]
fn tls_follows_the_nomad_cli_variables() {
    let dir = tempfile::tempdir().unwrap();
    let identity = tls_material(dir.path());
    let sim = Sim::start_tls(
        SimConfig {
            deploy_time: Duration::from_millis(60),
            ..SimConfig::default()
        },
        identity,
    );
    assert!(sim.address().starts_with("https://127.0.0.1:"));
    let repo = ExampleRepo::new();
    let file = |name: &str| dir.path().join(name).display().to_string();
    let plan = |vars: &[(&str, String)]| {
        let mut cmd = repo.opsctl();
        cmd.env("NOMAD_ADDR", sim.address())
            .args(["--output", "json", "deploy", "staging", "--plan"])
            .timeout(Duration::from_secs(60));
        for (key, value) in vars {
            cmd.env(key, value);
        }
        cmd.assert()
    };
    let ca = ("NOMAD_CACERT", file("ca.pem"));
    let cert = ("NOMAD_CLIENT_CERT", file("cli.pem"));
    let key = ("NOMAD_CLIENT_KEY", file("cli-key.pem"));

    // The CA and a client certificate: the plan goes through over mutual TLS.
    let out = plan(&[ca.clone(), cert.clone(), key.clone()]).success();
    assert_eq!(report(&out)["changes"], 5, "a namespace and four jobs");

    // Without the CA the server is not trusted; NOMAD_SKIP_VERIFY=true accepts it anyway.
    let out = plan(&[cert.clone(), key.clone()]).code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains(&sim.address()) && stderr.contains("certificate"),
        "{stderr}"
    );
    plan(&[
        cert.clone(),
        key.clone(),
        ("NOMAD_SKIP_VERIFY", "true".into()),
    ])
    .success();

    // Without a client certificate the server refuses the handshake.
    plan(std::slice::from_ref(&ca)).code(1);
    // Half a client identity is a usage error, before any request.
    let out = plan(&[ca, cert]).code(2);
    assert!(String::from_utf8_lossy(&out.get_output().stderr)
        .contains("NOMAD_CLIENT_CERT and NOMAD_CLIENT_KEY must be set together"));
    assert_eq!(sim.register_calls(), 0, "--plan submits nothing");
}

#[test]
fn placement_failures_are_explained_at_once_and_warned_by_the_plan() {
    let repo = ExampleRepo::new();
    let sim = sim();
    // One node in web-ghc's datacenters (client-eu); web-ghc asks for a class none has.
    // Nomad plans only in a namespace that exists.
    sim.create_namespace("staging");
    repo.edit(
        "jobs/web-ghc.json.tmpl",
        "\"Constraints\": [",
        "\"Constraints\": [\n          { \"LTarget\": \"${node.class}\", \"RTarget\": \"gpu\", \"Operand\": \"=\" },",
    );
    let plan = deploy(&repo, &sim, &["staging", "--job", "web-ghc", "--plan"]).success();
    let planned = job(&report(&plan), "web-ghc").clone();
    assert_eq!(
        planned["placement_failures"]["web-ghc"]["ConstraintFiltered"]["${node.class} = gpu"], 1,
        "{planned:#}"
    );
    let started = std::time::Instant::now();
    let out = deploy(&repo, &sim, &["staging", "--job", "web-ghc"]).code(1);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "no time-out wait"
    );
    let row = job(&report(&out), "web-ghc").clone();
    assert_eq!(row["status"], "failed");
    let reason = row["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("Nomad could not place the job: task group `web-ghc`: 1 nodes evaluated, 1 filtered, 0 exhausted: ")
            && reason.contains("no nodes are available in datacenter \"us-east-2\"")
            && reason.contains("constraint \"${node.class} = gpu\": 1 nodes excluded by filter"),
        "{reason}"
    );
    assert_eq!(row["placement_failures"]["web-ghc"]["NodesEvaluated"], 1);
    assert!(sim.allocations("staging", "web-ghc").is_empty());
}
