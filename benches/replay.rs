//! Replays 1,000 CI revision bumps over the worked example, each followed by a deploy of the
//! affected Nomad environments against the simulator, and checks that opsctl registered
//! exactly the jobs whose rendering changed. Run: `cargo bench --bench replay`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use nomad_sim::{Sim, SimConfig};
use opsctl::deploy::{self, DeployOptions, Deployer, Progress};
use opsctl::nomad::{NomadClient, NomadConfig};
use opsctl::render::Renderer;
use opsctl::repo::{Repo, Target};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

const BUMPS: usize = 1_000;

/// Every Nomad job's rendering, by (environment, job).
fn renderings(root: &Path) -> BTreeMap<(String, String), Value> {
    let repo = Repo::open(root, None).unwrap();
    let renderer = Renderer::new(&repo);
    let mut out = BTreeMap::new();
    for env in repo.envs.values().filter(|e| e.target == Target::Nomad) {
        for job in renderer.render_env(env, &[]).unwrap() {
            out.insert((env.name.clone(), job.name), job.job);
        }
    }
    out
}

fn copy_example(to: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for folder in ["clusters", "jobs", "revisions"] {
        let status = std::process::Command::new("cp")
            .arg("-r")
            .arg(root.join(folder))
            .arg(to)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

/// A plausible CI event: mostly branch pushes, sometimes a release tag, sometimes a ref no
/// environment tracks.
fn event(rng: &mut StdRng, n: usize) -> (&'static str, String, String) {
    let rev = format!("{:040x}", rng.gen::<u128>() ^ n as u128);
    let (source, git_ref) = match rng.gen_range(0..10) {
        0..=3 => ("marlowe-cardano", "main".to_string()),
        4 => ("marlowe-cardano", "production".to_string()),
        5 => ("marlowe-website", "master".to_string()),
        6 => ("plutus-apps", "main".to_string()),
        7 => {
            // Release tags, occasionally an older one re-run.
            let day =
                1 + (n / 40) as u32 % 28 - u32::from(rng.gen_bool(0.2)).min((n / 40) as u32 % 28);
            ("plutus-apps", format!("v2027-01-{day:02}"))
        }
        8 => ("marlowe-website", "production".to_string()),
        _ => ("marlowe-cardano", format!("feature/{n}")),
    };
    (source, git_ref, rev)
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    copy_example(dir.path());
    let sim = Sim::start_with(SimConfig {
        deploy_time: Duration::from_millis(10),
        ..SimConfig::default()
    });
    // The example's jobs are placed in eu-central-1 (the simulator's own client is in dc1).
    sim.add_node("client-eu", "127.0.0.1", "eu-central-1");
    let config =
        NomadConfig::resolve_with(None, |key| (key == "NOMAD_ADDR").then(|| sim.address()));
    let deployer = Deployer::new(
        NomadClient::new(config).unwrap(),
        DeployOptions {
            timeout: Duration::from_secs(60),
            ..DeployOptions::default()
        },
        Progress::silent(),
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // Start from everything deployed.
    let repo = Repo::open(dir.path(), None).unwrap();
    let all: Vec<String> = repo
        .envs
        .values()
        .filter(|e| e.target == Target::Nomad)
        .map(|e| e.name.clone())
        .collect();
    runtime.block_on(async {
        let plans = deploy::plan_environments(&deployer, &repo, &all)
            .await
            .unwrap();
        deployer.apply(&plans).await;
    });
    let registers_at_start = sim.register_calls();
    let mut rng = StdRng::seed_from_u64(2026);
    let mut changed_renderings = 0;
    let mut deploys = 0;
    let mut before = renderings(dir.path());
    let started = Instant::now();
    for n in 0..BUMPS {
        let (source, git_ref, rev) = event(&mut rng, n);
        let (repo, applied) = runtime
            .block_on(opsctl::revisions::apply(
                dir.path(),
                None,
                (source, &git_ref, &rev),
                &opsctl::revisions::ApplyOptions::default(),
            ))
            .unwrap();
        // The same environments `deploy --source` deploys; the Nomad ones are replayed here.
        let affected: Vec<String> = applied
            .affected_envs(&repo)
            .into_iter()
            .filter(|e| repo.envs[e].target == Target::Nomad)
            .collect();
        let after = renderings(dir.path());
        changed_renderings += after
            .iter()
            .filter(|(k, v)| before.get(*k) != Some(v))
            .count();
        before = after;
        if affected.is_empty() {
            continue;
        }
        deploys += 1;
        runtime.block_on(async {
            let plans = deploy::plan_environments(&deployer, &repo, &affected)
                .await
                .unwrap();
            let outcomes = deployer.apply(&plans).await;
            assert!(
                outcomes.iter().all(|o| !o.status.is_failure()),
                "{outcomes:#?}"
            );
        });
    }
    let elapsed = started.elapsed();
    let registers = sim.register_calls() - registers_at_start;
    println!("replay: {BUMPS} revision bumps, {deploys} deploys, {elapsed:.2?} in total ({:.2?} per bump)", elapsed / BUMPS as u32);
    println!("replay: {registers} register calls for {changed_renderings} changed job renderings");
    assert_eq!(
        registers, changed_renderings,
        "opsctl must submit exactly the jobs that changed"
    );
}
