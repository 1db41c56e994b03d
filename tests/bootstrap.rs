//! `opsctl bootstrap` against moto_server: what it creates, that a second run writes nothing,
//! and that bad input is refused before anything is created.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::moto::Moto;
use support::ExampleRepo;

const CLUSTER: &str = "clusters/plutus/cluster.toml";
const KMS_LINE: &str =
    "kms_key = \"arn:aws:kms:eu-central-1:123456789012:key/2f5c8f5e-6b7a-4c1d-9e3f-0a1b2c3d4e5f\"\n";
const MISSING_AMI: &str = "ami-0f1e2d3c4b5a69788";

/// The worked example without a KMS key, with a real moto AMI in the core region and a
/// missing one in us-east-2; the parent zone `example.org` exists in the account.
async fn prepared_example(moto: &Moto) -> ExampleRepo {
    let repo = ExampleRepo::new();
    repo.edit(CLUSTER, KMS_LINE, "");
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config("eu-central-1").await);
    let images = ec2.describe_images().owners("amazon").send().await.unwrap();
    let ami = images.images()[0].image_id().unwrap().to_string();
    repo.edit(CLUSTER, "ami-0a1b2c3d4e5f60718", &ami);
    let route53 = aws_sdk_route53::Client::new(&moto.sdk_config("us-east-1").await);
    route53
        .create_hosted_zone()
        .name("example.org")
        .caller_reference("parent")
        .send()
        .await
        .unwrap();
    repo
}

fn bootstrap(repo: &ExampleRepo, moto: &Moto, args: &[&str]) -> assert_cmd::assert::Assert {
    let mut cmd = repo.opsctl();
    moto.apply(&mut cmd);
    cmd.args(["--output", "json", "bootstrap"])
        .args(args)
        .timeout(Duration::from_secs(120))
        .assert()
}

fn json(out: &assert_cmd::assert::Assert) -> Value {
    serde_json::from_slice(&out.get_output().stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.get_output().stdout),
            String::from_utf8_lossy(&out.get_output().stderr)
        )
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn bootstrap_prepares_the_account_and_a_second_run_writes_nothing() {
    let moto = Moto::start();
    let repo = prepared_example(&moto).await;
    let config = moto.sdk_config("eu-central-1").await;

    let out = bootstrap(&repo, &moto, &["--yes", "--write"]).success();
    let report = json(&out);
    assert_eq!(report["applied"], true, "{report:#}");

    // KMS: the alias names an enabled key with rotation on.
    let kms = aws_sdk_kms::Client::new(&config);
    let key = kms
        .describe_key()
        .key_id("alias/opsctl-plutus")
        .send()
        .await
        .unwrap();
    let arn = key.key_metadata().unwrap().arn().unwrap().to_string();
    assert_eq!(report["outcome"]["kms_key"], arn.as_str());
    let rotation = kms
        .get_key_rotation_status()
        .key_id(&arn)
        .send()
        .await
        .unwrap();
    assert!(rotation.key_rotation_enabled());

    // The bucket: private, versioned, SSE-KMS with that key, TLS only.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let block = s3
        .get_public_access_block()
        .bucket("plutus-ops-state")
        .send()
        .await
        .unwrap();
    let block = block.public_access_block_configuration().unwrap();
    assert_eq!(
        (
            block.block_public_acls(),
            block.ignore_public_acls(),
            block.block_public_policy(),
            block.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );
    let versioning = s3
        .get_bucket_versioning()
        .bucket("plutus-ops-state")
        .send()
        .await
        .unwrap();
    assert_eq!(versioning.status().map(|s| s.as_str()), Some("Enabled"));
    let encryption = s3
        .get_bucket_encryption()
        .bucket("plutus-ops-state")
        .send()
        .await
        .unwrap();
    let default = encryption
        .server_side_encryption_configuration()
        .unwrap()
        .rules()[0]
        .apply_server_side_encryption_by_default()
        .unwrap()
        .clone();
    assert_eq!(default.sse_algorithm().as_str(), "aws:kms");
    assert_eq!(default.kms_master_key_id(), Some(arn.as_str()));
    let policy = s3
        .get_bucket_policy()
        .bucket("plutus-ops-state")
        .send()
        .await
        .unwrap();
    assert!(policy.policy().unwrap().contains("aws:SecureTransport"));

    // The zone exists and is delegated from its parent.
    let route53 = aws_sdk_route53::Client::new(&moto.sdk_config("us-east-1").await);
    let zones = route53.list_hosted_zones().send().await.unwrap();
    let parent = zones
        .hosted_zones()
        .iter()
        .find(|z| z.name() == "example.org.")
        .unwrap();
    assert!(zones
        .hosted_zones()
        .iter()
        .any(|z| z.name() == "plutus.example.org."));
    let records = route53
        .list_resource_record_sets()
        .hosted_zone_id(parent.id())
        .send()
        .await
        .unwrap();
    assert!(
        records
            .resource_record_sets()
            .iter()
            .any(|r| r.name() == "plutus.example.org." && r.r#type().as_str() == "NS"),
        "no delegation: {records:?}"
    );

    // The missing AMI was copied to us-east-2 and recorded, keeping the file's comments.
    let copies = report["outcome"]["amis"].as_array().unwrap();
    assert_eq!(copies.len(), 1, "{report:#}");
    assert_eq!(copies[0][0], "us-east-2");
    let copied = copies[0][1].as_str().unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config("us-east-2").await);
    let image = ec2
        .describe_images()
        .image_ids(copied)
        .send()
        .await
        .unwrap();
    assert_eq!(image.images().len(), 1);
    let cluster = repo.read(CLUSTER);
    assert!(
        cluster.contains(&format!("kms_key = \"{arn}\"")),
        "{cluster}"
    );
    assert!(
        cluster.contains(copied) && !cluster.contains(MISSING_AMI),
        "{cluster}"
    );
    assert!(
        cluster.contains("# Consul, Vault and Nomad servers"),
        "comments are kept"
    );

    // Second run: nothing to do, and not a single write call.
    moto.start_recording().await;
    let out = bootstrap(&repo, &moto, &["--yes"]).success();
    let report = json(&out);
    assert_eq!(report["applied"], false, "{report:#}");
    for finding in report["findings"].as_array().unwrap() {
        assert!(
            matches!(finding["status"].as_str(), Some("ok") | Some("manual")),
            "{finding:#}"
        );
    }
    assert_eq!(moto.recorded_writes().await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_changes_nothing_and_existing_buckets_are_fixed() {
    let moto = Moto::start();
    let repo = prepared_example(&moto).await;
    let config = moto.sdk_config("eu-central-1").await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    // A bucket someone made by hand, without any of the settings.
    moto.create_bucket("plutus-ops-state").await;
    moto.start_recording().await;
    let out = bootstrap(&repo, &moto, &["--dry-run"]).success();
    assert_eq!(moto.recorded_writes().await, Vec::<String>::new());
    let report = json(&out);
    let bucket = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["resource"] == "state bucket")
        .unwrap()
        .clone();
    assert_eq!(bucket["status"], "fix", "{bucket:#}");
    let details = bucket["details"].to_string();
    for missing in ["public access", "versioning", "SSE-KMS", "non-TLS"] {
        assert!(details.contains(missing), "{details}");
    }
    // Without a terminal, changes need --yes.
    let mut cmd = repo.opsctl();
    moto.apply(&mut cmd);
    cmd.arg("bootstrap")
        .timeout(Duration::from_secs(60))
        .assert()
        .code(2);

    bootstrap(&repo, &moto, &["--yes"]).success();
    let versioning = s3
        .get_bucket_versioning()
        .bucket("plutus-ops-state")
        .send()
        .await
        .unwrap();
    assert_eq!(versioning.status().map(|s| s.as_str()), Some("Enabled"));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_before_anything_is_created() {
    let moto = Moto::start();
    let repo = prepared_example(&moto).await;
    let config = moto.sdk_config("eu-central-1").await;
    let kms = aws_sdk_kms::Client::new(&config);

    // A key in another region.
    let elsewhere = ExampleRepo::new();
    elsewhere.edit(
        CLUSTER,
        "arn:aws:kms:eu-central-1:",
        "arn:aws:kms:us-west-2:",
    );
    let out = bootstrap(&elsewhere, &moto, &["--yes"]).code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("is in us-west-2 but the cluster's region is eu-central-1"),
        "{stderr}"
    );

    // A disabled key.
    let key = kms.create_key().send().await.unwrap();
    let arn = key.key_metadata().unwrap().arn().unwrap().to_string();
    let key_id = key.key_metadata().unwrap().key_id().to_string();
    kms.disable_key().key_id(&key_id).send().await.unwrap();
    let disabled = ExampleRepo::new();
    disabled.edit(
        CLUSTER,
        "arn:aws:kms:eu-central-1:123456789012:key/2f5c8f5e-6b7a-4c1d-9e3f-0a1b2c3d4e5f",
        &arn,
    );
    let out = bootstrap(&disabled, &moto, &["--yes"]).code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("disabled"), "{stderr}");

    // The bucket name is taken (a bucket in another region): refused, and no key was created.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&moto.sdk_config("us-west-2").await)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket("plutus-ops-state")
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::UsWest2)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let out = bootstrap(&repo, &moto, &["--yes"]).code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("already exists in us-west-2"), "{stderr}");
    let aliases = kms.list_aliases().send().await.unwrap();
    assert!(
        !aliases
            .aliases()
            .iter()
            .any(|a| a.alias_name() == Some("alias/opsctl-plutus")),
        "a key was created although the bucket was refused"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ami_copied_without_write_is_found_again_not_copied_twice() {
    let moto = Moto::start();
    let repo = prepared_example(&moto).await;
    let first = json(&bootstrap(&repo, &moto, &["--yes"]).success());
    let copied = first["outcome"]["amis"][0][1].as_str().unwrap().to_string();
    assert!(
        repo.read(CLUSTER).contains(MISSING_AMI),
        "nothing is written without --write"
    );

    // The cluster file still names the missing image: the earlier copy is found, not redone.
    moto.start_recording().await;
    let second = json(&bootstrap(&repo, &moto, &["--yes"]).success());
    assert_eq!(second["applied"], false, "{second:#}");
    let ami = second["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["resource"] == "ami" && f["region"] == "us-east-2")
        .unwrap()
        .clone();
    assert_eq!(ami["status"], "manual", "{ami:#}");
    assert!(
        ami["details"][0].as_str().unwrap().contains(&copied),
        "{ami:#}"
    );
    assert_eq!(moto.recorded_writes().await, Vec::<String>::new());

    // --write records it, still without a write call to AWS.
    let third = json(&bootstrap(&repo, &moto, &["--yes", "--write"]).success());
    assert_eq!(third["written"], true, "{third:#}");
    let cluster = repo.read(CLUSTER);
    assert!(
        cluster.contains(&copied) && !cluster.contains(MISSING_AMI),
        "{cluster}"
    );
    assert_eq!(moto.recorded_writes().await, Vec::<String>::new());
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config("us-east-2").await);
    let own = ec2.describe_images().owners("self").send().await.unwrap();
    assert_eq!(own.images().len(), 1, "one copy in all");
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_without_access_are_a_clear_error_and_nothing_is_created() {
    // Three unchecked calls create a user whose policy allows everything but EC2.
    let moto = Moto::start_with_iam(3);
    let iam = aws_sdk_iam::Client::new(&moto.sdk_config("us-east-1").await);
    iam.create_user().user_name("ci").send().await.unwrap();
    let key = iam
        .create_access_key()
        .user_name("ci")
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap();
    iam.put_user_policy()
        .user_name("ci")
        .policy_name("no-ec2")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"ec2:*","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();

    let repo = ExampleRepo::new();
    repo.edit(CLUSTER, KMS_LINE, "");
    let mut cmd = repo.opsctl();
    moto.apply(&mut cmd);
    let out = cmd
        .env("AWS_ACCESS_KEY_ID", key.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", key.secret_access_key())
        .env_remove("AWS_SESSION_TOKEN")
        .args(["bootstrap", "--yes"])
        .timeout(Duration::from_secs(120))
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    // Every failed check is listed (moto's Route53 also refuses IAM-checked calls); EC2's
    // line names the region and says what to check.
    let ec2 = stderr
        .lines()
        .find(|l| l.contains("reading AMI"))
        .unwrap_or_else(|| panic!("no EC2 line: {stderr}"));
    assert!(
        ec2.contains(" in eu-central-1")
            && ec2.contains("AccessDenied")
            && ec2.ends_with(
                "(no access: the credentials' IAM policy does not allow this call here)"
            ),
        "{ec2}"
    );

    // Inspection failed, so nothing was created: no key alias, no bucket.
    let kms = aws_sdk_kms::Client::new(&moto.sdk_config_with(&key, "eu-central-1").await);
    let aliases = kms.list_aliases().send().await.unwrap();
    assert!(!aliases
        .aliases()
        .iter()
        .any(|a| a.alias_name() == Some("alias/opsctl-plutus")));
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&moto.sdk_config_with(&key, "eu-central-1").await)
            .force_path_style(true)
            .build(),
    );
    assert!(s3.list_buckets().send().await.unwrap().buckets().is_empty());
    // (moto checks no Route53 signature under IAM auth, so zones are not read back here;
    // the zone, like everything else, is only created after every inspection succeeded.)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_domain_is_refused_before_any_call() {
    let moto = Moto::start();
    let repo = ExampleRepo::new();
    repo.edit(
        CLUSTER,
        "domain = \"plutus.example.org\"",
        "domain = \"plutus..example_org\"",
    );
    moto.start_recording().await;
    let out = bootstrap(&repo, &moto, &["--yes"]).code(2);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains("domain"), "{stdout}");
    assert_eq!(moto.recorded_writes().await, Vec::<String>::new());
}
