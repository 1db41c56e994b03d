//! The ECS target against moto_server: task definition revisions only on change, the service
//! moved to them, `--force-new-deployment`, and the wait's time-out.

mod support;

use std::time::Duration;

use aws_sdk_ecs::types::ContainerDefinition;
use serde_json::Value;
use support::moto::Moto;
use support::ExampleRepo;

const CLUSTER: &str = "plutus-ecs";
const SERVICE: &str = "marlowe-explorer-staging";
const FAMILY: &str = "explorer-staging-marlowe-explorer";

fn ecs(moto: &Moto) -> aws_sdk_ecs::Client {
    let config = aws_sdk_ecs::config::Builder::new()
        .behavior_version(aws_sdk_ecs::config::BehaviorVersion::latest())
        .region(aws_sdk_ecs::config::Region::new("eu-central-1"))
        .endpoint_url(moto.endpoint())
        .credentials_provider(aws_sdk_ecs::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .build();
    aws_sdk_ecs::Client::from_conf(config)
}

/// The cluster and service as terraform would have created them, on a hand-made revision.
async fn create_service(client: &aws_sdk_ecs::Client) {
    client
        .create_cluster()
        .cluster_name(CLUSTER)
        .send()
        .await
        .unwrap();
    let initial = client
        .register_task_definition()
        .family(FAMILY)
        .container_definitions(
            ContainerDefinition::builder()
                .name("marlowe-explorer")
                .image("ghcr.io/input-output-hk/marlowe-explorer:bootstrap")
                .memory(512)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let arn = initial
        .task_definition()
        .unwrap()
        .task_definition_arn()
        .unwrap();
    client
        .create_service()
        .cluster(CLUSTER)
        .service_name(SERVICE)
        .task_definition(arn)
        .desired_count(2)
        .send()
        .await
        .unwrap();
}

async fn service_state(client: &aws_sdk_ecs::Client) -> (String, Vec<String>) {
    let described = client
        .describe_services()
        .cluster(CLUSTER)
        .services(SERVICE)
        .send()
        .await
        .unwrap();
    let service = &described.services()[0];
    (
        service.task_definition().unwrap().to_string(),
        service
            .deployments()
            .iter()
            .filter_map(|d| d.id().map(str::to_string))
            .collect(),
    )
}

async fn revisions(client: &aws_sdk_ecs::Client) -> usize {
    client
        .list_task_definitions()
        .family_prefix(FAMILY)
        .send()
        .await
        .unwrap()
        .task_definition_arns()
        .len()
}

fn deploy(repo: &ExampleRepo, moto: &Moto, args: &[&str]) -> assert_cmd::assert::Assert {
    let mut cmd = repo.opsctl();
    moto.apply(&mut cmd);
    cmd.args(["--output", "json", "deploy", "explorer-staging", "--yes"])
        .args(args)
        .timeout(Duration::from_secs(120))
        .assert()
}

fn row(out: &assert_cmd::assert::Assert) -> Value {
    let report: Value = serde_json::from_slice(&out.get_output().stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&out.get_output().stdout)
        )
    });
    report["jobs"][0].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_image_registers_a_revision_and_moves_the_service() {
    let moto = Moto::start();
    let client = ecs(&moto);
    create_service(&client).await;
    let repo = ExampleRepo::new();
    let rev = "952c79c51c919a129de3b6adfad768012004fcb4";

    let out = deploy(&repo, &moto, &["--no-wait"]).success();
    let first = row(&out);
    assert_eq!(first["action"], "edited", "{first:#}");
    assert_eq!(first["status"], "submitted");
    assert_eq!(first["version_before"], 1);
    assert_eq!(first["version_after"], 2);
    let (task_definition, _) = service_state(&client).await;
    assert!(
        task_definition.ends_with(&format!("{FAMILY}:2")),
        "{task_definition}"
    );
    let registered = client
        .describe_task_definition()
        .task_definition(&task_definition)
        .send()
        .await
        .unwrap();
    let container = &registered
        .task_definition()
        .unwrap()
        .container_definitions()[0];
    assert_eq!(
        container.image(),
        Some(format!("ghcr.io/input-output-hk/marlowe-explorer:{rev}").as_str())
    );

    // Nothing changed: nothing registered, the service untouched.
    let (_, deployments_before) = service_state(&client).await;
    let out = deploy(&repo, &moto, &["--no-wait"]).success();
    let again = row(&out);
    assert_eq!(
        (again["action"].as_str(), again["status"].as_str()),
        (Some("unchanged"), Some("unchanged"))
    );
    assert_eq!(revisions(&client).await, 2);
    assert_eq!(service_state(&client).await.1, deployments_before);

    // --force-new-deployment rolls the service without a new revision.
    let out = deploy(&repo, &moto, &["--no-wait", "--force-new-deployment"]).success();
    let forced = row(&out);
    assert_eq!(forced["status"], "submitted", "{forced:#}");
    assert_eq!(revisions(&client).await, 2);
    let (task_definition, deployments_after) = service_state(&client).await;
    assert!(task_definition.ends_with(":2"));
    assert_ne!(
        deployments_after, deployments_before,
        "a new deployment was started"
    );

    // A revision bump changes the image.
    repo.edit(
        "revisions/explorer-staging/marlowe-cardano.json",
        rev,
        "cccccccccccccccccccccccccccccccccccccccc",
    );
    let out = deploy(&repo, &moto, &["--no-wait"]).success();
    assert_eq!(row(&out)["version_after"], 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollout_that_never_completes_times_out_and_a_missing_service_fails() {
    let moto = Moto::start();
    let client = ecs(&moto);
    create_service(&client).await;
    let repo = ExampleRepo::new();
    // moto never runs tasks, so its deployments stay IN_PROGRESS: the wait must give up.
    let out = deploy(&repo, &moto, &["--timeout", "3s"]).code(1);
    let timed_out = row(&out);
    assert_eq!(timed_out["status"], "timed_out", "{timed_out:#}");
    assert!(timed_out["reason"]
        .as_str()
        .unwrap()
        .contains("did not complete"));

    repo.edit(
        "clusters/plutus/envs/explorer-staging.toml",
        SERVICE,
        "no-such-service",
    );
    let out = deploy(&repo, &moto, &["--no-wait"]).code(1);
    let missing = row(&out);
    assert_eq!(missing["status"], "failed");
    assert!(
        missing["reason"]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{missing:#}"
    );
}

#[test]
fn plan_shows_the_change_and_registers_nothing() {
    let moto = Moto::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = ecs(&moto);
    runtime.block_on(create_service(&client));
    let repo = ExampleRepo::new();
    let out = deploy(&repo, &moto, &["--plan", "--detailed-exitcode"]).code(3);
    assert_eq!(row(&out)["action"], "edited");
    assert_eq!(runtime.block_on(revisions(&client)), 1);

    // The text plan names the service that would change, as the confirmation shows it.
    let mut cmd = repo.opsctl();
    moto.apply(&mut cmd);
    let out = cmd
        .args(["deploy", "explorer-staging", "--plan"])
        .timeout(Duration::from_secs(120))
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("ECS service: \"marlowe-explorer-staging\" in plutus-ecs")
            && text.contains("new task definition revision after 1"),
        "{text}"
    );
    assert_eq!(runtime.block_on(revisions(&client)), 1);
}

/// `opsctl --output json --yes env ARGS` against this moto and a Nomad simulator.
fn env_cmd(repo: &ExampleRepo, moto: &Moto, nomad: &str, args: &[&str]) -> (i32, Value) {
    let mut cmd = repo.opsctl();
    moto.apply(&mut cmd);
    let out = cmd
        .env("NOMAD_ADDR", nomad)
        .env_remove("CONSUL_HTTP_ADDR")
        .args(["--output", "json", "--yes", "env"])
        .args(args)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "env {args:?}: not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

async fn service_status(client: &aws_sdk_ecs::Client, service: &str) -> (String, Vec<String>) {
    let described = client
        .describe_services()
        .cluster(CLUSTER)
        .services(service)
        .include(aws_sdk_ecs::types::ServiceField::Tags)
        .send()
        .await
        .unwrap();
    let service = &described.services()[0];
    (
        service.status().unwrap().to_string(),
        service
            .tags()
            .iter()
            .map(|t| format!("{}={}", t.key().unwrap(), t.value().unwrap_or_default()))
            .collect(),
    )
}

async fn active_revisions(client: &aws_sdk_ecs::Client, family: &str) -> Vec<String> {
    client
        .list_task_definitions()
        .family_prefix(family)
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send()
        .await
        .unwrap()
        .task_definition_arns()
        .to_vec()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ad_hoc_ecs_environment_gets_its_own_service_and_destroy_leaves_nothing() {
    let moto = Moto::start();
    let client = ecs(&moto);
    create_service(&client).await;
    let sim = nomad_sim::Sim::start();
    let nomad = sim.address();
    let repo = ExampleRepo::new();
    let service = "marlowe-explorer-feature-x";
    let family = "feature-x-marlowe-explorer";

    let (code, plan) = env_cmd(
        &repo,
        &moto,
        &nomad,
        &["apply", "feature-x", "--from", "explorer-staging", "--plan"],
    );
    assert_eq!(code, 0, "{plan:#}");
    assert_eq!(plan["target"], "ecs");
    assert_eq!(plan["jobs"][0]["id"], service);
    assert_eq!(plan["jobs"][0]["action"], "new");
    assert!(
        active_revisions(&client, family).await.is_empty(),
        "--plan registers nothing"
    );

    let (code, applied) = env_cmd(
        &repo,
        &moto,
        &nomad,
        &[
            "apply",
            "feature-x",
            "--from",
            "explorer-staging",
            "--no-wait",
        ],
    );
    assert_eq!(code, 0, "{applied:#}");
    let job = &applied["deploy"]["jobs"][0];
    assert_eq!(
        (job["action"].as_str(), job["status"].as_str()),
        (Some("new"), Some("submitted")),
        "{job:#}"
    );
    let file = repo.read("clusters/plutus/envs/feature-x.toml");
    assert!(
        file.contains("target = \"ecs\"")
            && file.contains(&format!("marlowe-explorer = \"{service}\"")),
        "{file}"
    );
    let (status, tags) = service_status(&client, service).await;
    assert_eq!(status, "ACTIVE");
    assert!(
        tags.contains(&"opsctl:environment=feature-x".to_string()),
        "{tags:?}"
    );
    let revisions = active_revisions(&client, family).await;
    assert_eq!(revisions.len(), 1, "{revisions:?}");
    assert!(
        applied["urls"].as_array().unwrap().is_empty(),
        "no load balancer, no URL"
    );
    // The environment it was made from is untouched.
    assert!(service_state(&client)
        .await
        .0
        .ends_with(&format!("{FAMILY}:1")));

    // Applied again: nothing registered, nothing updated.
    let (code, again) = env_cmd(
        &repo,
        &moto,
        &nomad,
        &[
            "apply",
            "feature-x",
            "--from",
            "explorer-staging",
            "--no-wait",
        ],
    );
    assert_eq!(code, 0, "{again:#}");
    assert_eq!(
        again["deploy"]["jobs"][0]["status"], "unchanged",
        "{again:#}"
    );
    assert_eq!(again["deploy"]["changes"], 0);
    assert_eq!(active_revisions(&client, family).await, revisions);

    let (code, listed) = env_cmd(&repo, &moto, &nomad, &["list"]);
    assert_eq!(code, 0);
    let row = listed["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "feature-x")
        .unwrap_or_else(|| panic!("{listed:#}"));
    assert_eq!(
        (row["target"].as_str(), row["jobs"].as_u64()),
        (Some("ecs"), Some(1)),
        "{row:#}"
    );
    assert_eq!(row["services"][0]["service"], service);
    assert_eq!(row["services"][0]["status"], "ACTIVE");
    assert!(row["orphan"].is_null(), "{row:#}");
    let (code, shown) = env_cmd(&repo, &moto, &nomad, &["show", "feature-x"]);
    assert_eq!(code, 0);
    assert_eq!(
        shown["services"][0]["task_definition"],
        format!("{family}:1")
    );

    let (code, destroyed) = env_cmd(&repo, &moto, &nomad, &["destroy", "feature-x"]);
    assert_eq!(code, 0, "{destroyed:#}");
    assert_eq!(
        destroyed["deleted_services"],
        serde_json::json!([format!("{CLUSTER}/{service}")])
    );
    assert_eq!(
        destroyed["deregistered_task_definitions"],
        serde_json::json!([format!("{family}:1")])
    );
    assert_eq!(destroyed["left"], serde_json::json!([]));
    assert_eq!(service_status(&client, service).await.0, "INACTIVE");
    assert!(active_revisions(&client, family).await.is_empty());
    assert!(!repo.file("clusters/plutus/envs/feature-x.toml").exists());
    // The staging service and its revision are still there.
    assert_eq!(service_status(&client, SERVICE).await.0, "ACTIVE");
    assert_eq!(active_revisions(&client, FAMILY).await.len(), 1);

    let (code, twice) = env_cmd(&repo, &moto, &nomad, &["destroy", "feature-x"]);
    assert_eq!(code, 0, "{twice:#}");
    assert_eq!(twice["nothing_to_do"], true, "{twice:#}");
    assert_eq!(twice["left"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ecs_environment_whose_family_is_not_its_own_is_refused_before_anything_is_created() {
    let moto = Moto::start();
    let client = ecs(&moto);
    create_service(&client).await;
    let sim = nomad_sim::Sim::start();
    let repo = ExampleRepo::new();
    // A template whose family ignores the environment: the ad hoc environment would share
    // staging's family, and its destroy would deregister staging's revisions.
    repo.edit(
        "jobs/marlowe-explorer.json.tmpl",
        "{= env.name =}-marlowe-explorer",
        "explorer-staging-marlowe-explorer",
    );
    let (code, refused) = env_cmd(
        &repo,
        &moto,
        &sim.address(),
        &[
            "apply",
            "feature-y",
            "--from",
            "explorer-staging",
            "--no-wait",
        ],
    );
    assert_ne!(code, 0, "{refused:#}");
    let text = refused.to_string();
    assert!(
        text.contains("also environment `explorer-staging`'s"),
        "{text}"
    );
    assert!(!repo.file("clusters/plutus/envs/feature-y.toml").exists());
    let described = client
        .describe_services()
        .cluster(CLUSTER)
        .services("marlowe-explorer-feature-y")
        .send()
        .await
        .unwrap();
    assert!(described.services().is_empty(), "no service was created");
    assert_eq!(revisions(&client).await, 1);
}
