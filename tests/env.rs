//! `opsctl env` against the Nomad simulator and temp git repositories: the real binary.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use nomad_sim::Sim;
use serde_json::Value;
use support::git::{git, IDENTITY};
use support::{opsctl, require_tool, ExampleRepo};

const STAGING_JOBS: [&str; 4] = [
    "marlowe-playground",
    "marlowe-run",
    "marlowe-website",
    "web-ghc",
];

fn sim() -> Sim {
    support::example_sim()
}

fn env_cmd(repo: &Path, sim: &Sim, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = opsctl();
    cmd.arg("--repo")
        .arg(repo)
        .env("NOMAD_ADDR", sim.address())
        .env_remove("CONSUL_HTTP_ADDR")
        .envs(IDENTITY)
        .args(["--output", "json", "--yes", "env"])
        .args(args)
        .timeout(Duration::from_secs(120));
    cmd
}

fn run(repo: &Path, sim: &Sim, args: &[&str]) -> (i32, Value, String) {
    let out = env_cmd(repo, sim, args).output().expect("opsctl runs");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (out.status.code().unwrap_or(-1), json, stderr)
}

fn ok(repo: &Path, sim: &Sim, args: &[&str]) -> Value {
    let (code, json, stderr) = run(repo, sim, args);
    assert_eq!(code, 0, "env {args:?} failed:\n{json:#}\n{stderr}");
    json
}

/// The worked example in a git repository on `branch`, with a bare remote it tracks.
struct GitRepo {
    dir: tempfile::TempDir,
}

impl GitRepo {
    fn new(branch: &str) -> Self {
        require_tool("git", "apt-get install git");
        let dir = tempfile::tempdir().unwrap();
        support::example_remote(dir.path(), "work", branch, git);
        GitRepo { dir }
    }

    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    fn bare(&self) -> PathBuf {
        self.dir.path().join("ops.git")
    }
}

fn validate(repo: &Path) {
    opsctl()
        .arg("--repo")
        .arg(repo)
        .arg("validate")
        .assert()
        .success();
}

fn port_blocks(repo: &Path) -> Vec<(String, u64)> {
    let dir = repo.join("clusters/plutus/envs");
    let mut blocks = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let value: toml::Value = toml::from_str(&text).unwrap();
        if let Some(base) = value.get("port_base").and_then(toml::Value::as_integer) {
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            blocks.push((name, base as u64));
        }
    }
    blocks
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn apply_from_staging_then_again_changes_nothing() {
    let repo = ExampleRepo::new();
    let sim = sim();
    let report = ok(
        repo.path(),
        &sim,
        &[
            "apply", "review-1", "--from", "staging", "--owner", "ana", "--ttl", "48h",
        ],
    );
    assert_eq!(report["name"]["name"], "review-1");
    assert_eq!(report["failed"], 0, "{report:#}");
    assert_eq!(sorted(sim.job_ids("review-1")), STAGING_JOBS.to_vec());
    for job in report["deploy"]["jobs"].as_array().unwrap() {
        assert_eq!(job["status"], "healthy", "{job:#}");
    }
    // The namespace is marked as the environment's.
    let ns = sim.namespace("review-1").expect("namespace created");
    assert_eq!(ns["Meta"]["opsctl-env"], "review-1");
    assert_eq!(ns["Meta"]["owner"], "ana");
    assert_eq!(ns["Meta"]["expires"], report["fields"]["expires"]);
    // The file is ad hoc, valid, and its port block overlaps no other environment's.
    let text = repo.read("clusters/plutus/envs/review-1.toml");
    for key in [
        "ttl = \"48h\"",
        "owner = \"ana\"",
        "from = \"staging\"",
        "expires = ",
    ] {
        assert!(text.contains(key), "{key} missing in:\n{text}");
    }
    validate(repo.path());
    let blocks = port_blocks(repo.path());
    let mine = blocks.iter().find(|(n, _)| n == "review-1").unwrap().1;
    assert_eq!(mine, 1068, "the lowest free block after 1024..=1067");
    for (other, base) in blocks.iter().filter(|(n, _)| n != "review-1") {
        assert!(mine + 11 <= *base || base + 11 <= mine, "overlaps {other}");
    }
    // A snapshot of staging's revisions.
    assert_eq!(
        repo.read("revisions/review-1/marlowe-cardano.json"),
        repo.read("revisions/staging/marlowe-cardano.json")
    );
    for url in report["urls"].as_array().unwrap() {
        assert!(url.as_str().unwrap().contains("-review-1."), "{url}");
    }

    let registers = sim.register_calls();
    assert_eq!(registers, 4);
    let again = ok(repo.path(), &sim, &["apply", "review-1", "--owner", "ana"]);
    assert_eq!(
        sim.register_calls(),
        registers,
        "a second apply registers nothing"
    );
    assert!(
        again["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|j| j["action"] == "unchanged"),
        "{again:#}"
    );
    assert_eq!(again["new"], false);
    assert!(again["fields"]["expires"].as_str() >= report["fields"]["expires"].as_str());
    assert_eq!(again["fields"]["created"], report["fields"]["created"]);
    validate(repo.path());

    // --plan shows and does nothing.
    let before = sim.requests().iter().filter(|r| r.method != "GET").count();
    let plan = ok(
        repo.path(),
        &sim,
        &[
            "apply", "review-2", "--from", "staging", "--owner", "ana", "--plan",
        ],
    );
    assert_eq!(plan["new"], true);
    assert_eq!(plan["fields"]["port_base"], 1079);
    assert!(!repo.file("clusters/plutus/envs/review-2.toml").exists());
    assert!(sim.namespace("review-2").is_none());
    let writes: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .skip(before)
        .filter(|r| !r.path.ends_with("/plan"))
        .collect();
    assert!(writes.is_empty(), "--plan wrote: {writes:?}");
}

#[test]
fn two_racing_applies_of_one_name_one_wins() {
    let repo = ExampleRepo::new();
    let sim = sim();
    let spawn = |owner: &str| {
        Command::new(assert_cmd::cargo::cargo_bin("opsctl"))
            .arg("--repo")
            .arg(repo.path())
            .env("NOMAD_ADDR", sim.address())
            .env("NO_COLOR", "1")
            .args(["--output", "json", "--yes", "env", "apply", "race"])
            .args(["--from", "staging", "--owner", owner])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn("ana"), spawn("bob"));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let codes = [a.status.success(), b.status.success()];
    assert_eq!(
        codes.iter().filter(|s| **s).count(),
        1,
        "exactly one apply wins:\nA: {}\nB: {}",
        String::from_utf8_lossy(&a.stderr),
        String::from_utf8_lossy(&b.stderr)
    );
    let loser = if codes[0] { &b } else { &a };
    let message = String::from_utf8_lossy(&loser.stderr);
    assert!(
        message.contains("belongs to") || message.contains("another apply"),
        "{message}"
    );
    let winner = if codes[0] { "ana" } else { "bob" };
    assert!(repo
        .read("clusters/plutus/envs/race.toml")
        .contains(&format!("owner = \"{winner}\"")));
    assert_eq!(sim.namespace("race").unwrap()["Meta"]["owner"], winner);
    validate(repo.path());
}

#[test]
fn a_long_branch_name_becomes_a_short_valid_environment() {
    let branch = "feature/ABC_123-very-long-branch-name-for-the-new-marlowe-run-checkout-flow";
    assert!(branch.len() >= 70);
    let repo = GitRepo::new(branch);
    let sim = sim();
    let report = ok(&repo.work(), &sim, &["apply", "--owner", "ana", "--push"]);
    let name = report["name"]["name"].as_str().unwrap().to_string();
    assert_eq!(report["name"]["requested"], branch);
    assert_eq!(report["name"]["shortened"], true);
    assert!(name.starts_with("feature-abc-123-very-long"), "{name}");
    for job in STAGING_JOBS {
        let label = format!("{job}-{name}");
        assert!(label.len() <= 63, "{label} is {} long", label.len());
    }
    for url in report["urls"].as_array().unwrap() {
        let host = url.as_str().unwrap().trim_start_matches("https://");
        assert!(host.split('.').all(|l| l.len() <= 63), "{host}");
    }
    assert_eq!(sorted(sim.job_ids(&name)), STAGING_JOBS.to_vec());
    validate(&repo.work());
    // --push committed the file and the revision snapshot.
    let files = git(&repo.work(), &["show", "--name-only", "--format=", "HEAD"]);
    assert!(
        files.contains(&format!("clusters/plutus/envs/{name}.toml")),
        "{files}"
    );
    assert!(
        files.contains(&format!("revisions/{name}/marlowe-cardano.json")),
        "{files}"
    );

    // Destroy with --push records the removal on the remote.
    let destroyed = ok(&repo.work(), &sim, &["destroy", &name, "--push"]);
    assert_eq!(destroyed["left"], serde_json::json!([]), "{destroyed:#}");
    let remote_files = git(&repo.bare(), &["ls-tree", "-r", "--name-only", branch]);
    assert!(!remote_files.contains(&name), "{remote_files}");
    assert!(remote_files.contains("clusters/plutus/envs/staging.toml"));
}

#[test]
fn apply_push_records_the_environment_on_the_remote() {
    let repo = GitRepo::new("main");
    let sim = sim();
    let report = ok(
        &repo.work(),
        &sim,
        &["apply", "pushed", "--owner", "ana", "--push"],
    );
    assert_eq!(report["git"]["pushed"], true, "{report:#}");
    let remote = git(
        &repo.bare(),
        &["show", "main:clusters/plutus/envs/pushed.toml"],
    );
    assert!(remote.contains("owner = \"ana\""), "{remote}");
}

#[test]
fn a_stale_checkout_pushing_second_gets_another_port_block() {
    let repo = GitRepo::new("main");
    let sim = sim();
    // A second checkout, cloned before the first one's environment exists.
    let other = repo.dir.path().join("other");
    git(
        repo.dir.path(),
        &[
            "clone",
            "--quiet",
            repo.bare().to_str().unwrap(),
            other.to_str().unwrap(),
        ],
    );
    let first = ok(
        &repo.work(),
        &sim,
        &["apply", "first", "--owner", "ana", "--push"],
    );
    assert_eq!(first["fields"]["port_base"], 1068);
    // The stale checkout also sees 1068 free; --push prepares on the remote's newest tip
    // (the revision flow's loop: fetch, reset, apply, push) and gets the next block.
    let plan = ok(
        &other,
        &sim,
        &["apply", "second", "--owner", "bob", "--plan"],
    );
    assert_eq!(plan["fields"]["port_base"], 1068, "stale view");
    let second = ok(
        &other,
        &sim,
        &["apply", "second", "--owner", "bob", "--push"],
    );
    assert_eq!(second["push_attempts"], 1, "{second:#}");
    assert_eq!(second["fields"]["port_base"], 1079);
    assert_eq!(second["git"]["pushed"], true);
    let remote = git(
        &repo.bare(),
        &["show", "main:clusters/plutus/envs/second.toml"],
    );
    assert!(remote.contains("port_base = 1079"), "{remote}");
    git(&repo.work(), &["pull", "--quiet"]);
    validate(&repo.work());
    let running = sim.job("second", "marlowe-run");
    assert!(running.is_some());

    // A destroy from a checkout that is behind again lands on the remote's newest tip: the
    // removal is made there and nothing pushed meanwhile is lost.
    ok(
        &other,
        &sim,
        &["apply", "third", "--owner", "bob", "--push"],
    );
    let destroyed = ok(&repo.work(), &sim, &["destroy", "first", "--push"]);
    assert_eq!(destroyed["git"]["pushed"], true, "{destroyed:#}");
    let remote_files = git(&repo.bare(), &["ls-tree", "-r", "--name-only", "main"]);
    assert!(!remote_files.contains("envs/first.toml"), "{remote_files}");
    assert!(remote_files.contains("envs/second.toml"), "{remote_files}");
    assert!(remote_files.contains("envs/third.toml"), "{remote_files}");
}

#[test]
fn destroy_leaves_nothing_and_twice_is_a_no_op() {
    let repo = ExampleRepo::new();
    let sim = sim();
    ok(repo.path(), &sim, &["apply", "gone", "--owner", "ana"]);
    sim.put_variable("gone", "nomad/jobs/marlowe-run");
    let report = ok(repo.path(), &sim, &["destroy", "gone"]);
    assert_eq!(report["left"], serde_json::json!([]), "{report:#}");
    assert_eq!(
        sorted(
            report["purged_jobs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|j| j.as_str().unwrap().to_string())
                .collect()
        ),
        STAGING_JOBS.to_vec()
    );
    // The deploy flow's record of the environment goes with it.
    assert_eq!(
        report["deleted_variables"],
        serde_json::json!(["nomad/jobs/marlowe-run", "opsctl/deploys/gone"])
    );
    assert!(!sim.namespaces().contains(&"gone".to_string()));
    assert!(sim.job_ids("gone").is_empty());
    assert!(sim.variable_paths("gone").is_empty());
    assert!(!repo.file("clusters/plutus/envs/gone.toml").exists());
    assert!(!repo.file("revisions/gone").exists());
    validate(repo.path());

    let twice = ok(repo.path(), &sim, &["destroy", "gone"]);
    assert_eq!(twice["nothing_to_do"], true, "{twice:#}");
    assert_eq!(twice["left"], serde_json::json!([]));
}

#[test]
fn an_interrupted_destroy_finishes_when_run_again() {
    let repo = ExampleRepo::new();
    let sim = sim();
    ok(repo.path(), &sim, &["apply", "half", "--owner", "ana"]);
    // As if a destroy stopped after purging the jobs: namespace and files remain.
    for job in STAGING_JOBS {
        let out = reqwest_delete(&sim, &format!("/v1/job/{job}?namespace=half&purge=true"));
        assert!(out < 300, "purge {job}: {out}");
    }
    let report = ok(repo.path(), &sim, &["destroy", "half"]);
    assert_eq!(report["left"], serde_json::json!([]), "{report:#}");
    assert_eq!(report["namespace_deleted"], true);
    assert!(!sim.namespaces().contains(&"half".to_string()));
}

/// A DELETE to the simulator, as another client would send it; returns the status.
fn reqwest_delete(sim: &Sim, path: &str) -> u16 {
    let address = sim.address();
    let hostport = address.trim_start_matches("http://");
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(hostport).unwrap();
    write!(
        stream,
        "DELETE {path} HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[test]
fn destroying_a_permanent_environment_is_refused_and_touches_nothing() {
    let repo = ExampleRepo::new();
    let sim = sim();
    // Staging deployed as usual.
    deploy(&repo, &sim, "staging");
    let before = sim.requests().len();
    let (code, json, stderr) = run(repo.path(), &sim, &["destroy", "staging"]);
    assert_eq!(code, 2, "{json:#}\n{stderr}");
    assert!(stderr.contains("permanent environment"), "{stderr}");
    let after: Vec<_> = sim.requests().into_iter().skip(before).collect();
    assert!(after.iter().all(|r| r.method == "GET"), "{after:?}");
    assert!(after.is_empty(), "not even Nomad was asked: {after:?}");
    assert_eq!(sorted(sim.job_ids("staging")), STAGING_JOBS.to_vec());
    assert!(repo.file("clusters/plutus/envs/staging.toml").exists());
    assert!(repo.file("revisions/staging").is_dir());
}

#[test]
fn a_job_opsctl_did_not_deploy_blocks_the_destroy() {
    let repo = ExampleRepo::new();
    let sim = sim();
    ok(repo.path(), &sim, &["apply", "shared", "--owner", "ana"]);
    let mut foreign = sim.job("shared", "web-ghc").unwrap();
    foreign["ID"] = "someone-elses".into();
    foreign["Name"] = "someone-elses".into();
    foreign["Meta"] = serde_json::json!({});
    sim.put_job("shared", foreign);
    let (code, _, stderr) = run(repo.path(), &sim, &["destroy", "shared"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("someone-elses"), "{stderr}");
    assert_eq!(sim.job_ids("shared").len(), 5, "nothing purged");
    let forced = ok(repo.path(), &sim, &["destroy", "shared", "--force"]);
    assert_eq!(forced["left"], serde_json::json!([]));
}

#[test]
fn gc_destroys_expired_environments_and_orphans_are_flagged() {
    let repo = ExampleRepo::new();
    let sim = sim();
    ok(
        repo.path(),
        &sim,
        &["apply", "short", "--owner", "ana", "--ttl", "1s"],
    );
    ok(
        repo.path(),
        &sim,
        &["apply", "long", "--owner", "ana", "--ttl", "72h"],
    );
    ok(
        repo.path(),
        &sim,
        &["apply", "lost", "--owner", "ana", "--ttl", "72h"],
    );
    // An orphaned namespace: its file is gone. An orphaned file: its namespace is gone.
    std::fs::remove_file(repo.file("clusters/plutus/envs/lost.toml")).unwrap();
    std::fs::remove_dir_all(repo.file("revisions/lost")).unwrap();
    repo.write(
        "clusters/plutus/envs/handmade.toml",
        "variant = \"marlowe\"\nrevisions_from = \"staging\"\nttl = \"72h\"\ncreated = \"2026-12-01T10:00:00Z\"\nowner = \"bob\"\n",
    );
    std::thread::sleep(Duration::from_millis(1500));

    let list = ok(repo.path(), &sim, &["list"]);
    let row = |name: &str| -> Value {
        list["environments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {list:#}"))
    };
    assert_eq!(row("staging")["ad_hoc"], false);
    assert_eq!(row("staging")["expires"], Value::Null);
    assert_eq!(row("short")["expired"], true);
    assert_eq!(row("long")["expired"], false);
    assert_eq!(row("long")["jobs_running"], 4, "{:#}", row("long"));
    assert!(row("lost")["orphan"]
        .as_str()
        .unwrap()
        .contains("without an environment file"));
    assert!(row("handmade")["orphan"]
        .as_str()
        .unwrap()
        .contains("without a Nomad namespace"));
    assert_eq!(row("long")["orphan"], Value::Null);
    assert_eq!(list["orphans"], 2);

    let expired = ok(repo.path(), &sim, &["list", "--expired"]);
    let names: Vec<&str> = expired["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["short"]);

    let dry = ok(repo.path(), &sim, &["gc", "--dry-run"]);
    assert_eq!(dry["candidates"].as_array().unwrap().len(), 1);
    assert!(sim.namespace("short").is_some(), "dry run destroys nothing");

    let gc = ok(repo.path(), &sim, &["gc"]);
    assert_eq!(gc["destroyed"].as_array().unwrap().len(), 1, "{gc:#}");
    assert_eq!(gc["destroyed"][0]["name"], "short");
    assert!(sim.namespace("short").is_none());
    assert!(sim.namespace("long").is_some());
    assert!(!repo.file("clusters/plutus/envs/short.toml").exists());

    let orphans = ok(repo.path(), &sim, &["gc", "--orphans"]);
    assert_eq!(orphans["destroyed"][0]["name"], "lost", "{orphans:#}");
    assert!(sim.namespace("lost").is_none());
    assert!(sim.job_ids("lost").is_empty());

    let show = ok(repo.path(), &sim, &["show", "long"]);
    assert!(!show["allocations"].as_array().unwrap().is_empty());
    assert_eq!(show["namespace"], "long");
}

#[test]
fn list_without_nomad_shows_the_files_and_says_why() {
    let repo = ExampleRepo::new();
    let closed = format!("http://127.0.0.1:{}", support::free_port());
    let out = stdout_of(repo.path(), &closed, &["--output", "json", "env", "list"]);
    let list: Value = serde_json::from_str(&out).unwrap();
    assert!(
        list["nomad_error"]
            .as_str()
            .unwrap()
            .contains("cannot reach Nomad"),
        "{list:#}"
    );
    assert_eq!(list["environments"].as_array().unwrap().len(), 6);
    assert!(list["environments"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["namespace_exists"].is_null() && r["orphan"].is_null()));
}

#[test]
fn text_output_names_the_environment_first_and_ends_with_urls() {
    let repo = ExampleRepo::new();
    let sim = sim();
    let requested = "Feature/ABC_123-very-long-branch-name-for-the-new-marlowe-run-checkout";
    let text = |args: &[&str]| {
        let mut all = vec!["--yes", "env"];
        all.extend_from_slice(args);
        stdout_of(repo.path(), &sim.address(), &all)
    };
    let out = text(&["apply", requested, "--owner", "ana"]);
    let first = out.lines().next().unwrap();
    assert!(
        first.starts_with("create ad hoc environment feature-abc-123-very-long"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "from `{requested}` (shortened to fit 44 characters)"
        )),
        "{out}"
    );
    assert!(out.contains("ports:     1068..=1078"), "{out}");
    assert!(out.contains("job:       marlowe-run new"), "{out}");
    assert!(
        out.contains("https://marlowe-run-feature-abc-123-very-long"),
        "{out}"
    );
    let name = first.split_whitespace().nth(4).unwrap().to_string();
    let out = text(&["destroy", &name]);
    assert!(out.contains("nothing is left"), "{out}");
}

/// The stdout of a successful `opsctl --repo REPO ARGS` against Nomad at `nomad`.
fn stdout_of(repo: &Path, nomad: &str, args: &[&str]) -> String {
    let out = opsctl()
        .arg("--repo")
        .arg(repo)
        .env("NOMAD_ADDR", nomad)
        .args(args)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn gc_orphans_also_removes_a_namespace_the_deploy_flow_made() {
    let repo = ExampleRepo::new();
    let sim = sim();
    deploy(&repo, &sim, "production");
    // The environment file is gone; its namespace `prod` still runs its jobs.
    std::fs::remove_file(repo.file("clusters/plutus/envs/production.toml")).unwrap();
    std::fs::remove_dir_all(repo.file("revisions/production")).unwrap();
    let list = ok(repo.path(), &sim, &["list"]);
    let orphan = list["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "prod")
        .unwrap_or_else(|| panic!("{list:#}"));
    assert_eq!(orphan["jobs_running"], 4);
    assert!(ok(repo.path(), &sim, &["gc"])["candidates"]
        .as_array()
        .unwrap()
        .is_empty());
    let gc = ok(repo.path(), &sim, &["gc", "--orphans"]);
    assert_eq!(gc["destroyed"][0]["name"], "prod", "{gc:#}");
    assert_eq!(gc["destroyed"][0]["left"], serde_json::json!([]));
    assert!(sim.namespace("prod").is_none());
    assert!(sim.job_ids("prod").is_empty());
}

/// `opsctl deploy ENV`, as the permanent environments are deployed.
fn deploy(repo: &ExampleRepo, sim: &Sim, env: &str) {
    repo.opsctl()
        .env("NOMAD_ADDR", sim.address())
        .args(["--yes", "deploy", env, "--timeout", "30s"])
        .timeout(Duration::from_secs(90))
        .assert()
        .success();
}
