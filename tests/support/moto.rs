//! A real `moto_server` (PyPI `moto[server]`) on an ephemeral loopback port.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Moto {
    child: Child,
    pub port: u16,
    /// moto's working folder: its request recording lands here, one per instance, so
    /// parallel tests never read each other's calls.
    _dir: tempfile::TempDir,
}

impl Moto {
    pub fn start() -> Moto {
        Moto::start_with(&[])
    }

    /// With IAM authentication: the first `free_calls` requests pass unchecked (to create
    /// users and policies), every later one is checked against IAM, as AWS does.
    #[allow(dead_code)]
    pub fn start_with_iam(free_calls: u32) -> Moto {
        Moto::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", free_calls.to_string())])
    }

    fn start_with(env: &[(&str, String)]) -> Moto {
        let bin = super::require_tool("moto_server", "pip install 'moto[server]'");
        let dir = tempfile::tempdir().expect("moto's folder");
        // A few tries: the free port can be taken between probing and binding.
        for _ in 0..3 {
            let port = super::free_port();
            let mut child = Command::new(&bin)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .current_dir(dir.path())
                .env("MOTO_RECORDER_FILEPATH", dir.path().join("recording"))
                .envs(env.iter().map(|(k, v)| (k, v)))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start moto_server");
            if super::wait_for_port(port, Duration::from_secs(30)) {
                return Moto {
                    child,
                    port,
                    _dir: dir,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("moto_server did not start listening within 30 s");
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Environment for an SDK or CLI process talking to this moto.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_SESSION_TOKEN", "testing".into()),
            ("AWS_DEFAULT_REGION", "eu-central-1".into()),
            ("AWS_REGION", "eu-central-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            // Keep a developer's real profile and credentials out of the tests.
            ("AWS_CONFIG_FILE", "/dev/null".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
        ]
    }

    /// Sets this moto's environment on a command.
    pub fn apply(&self, cmd: &mut assert_cmd::Command) {
        cmd.env_remove("AWS_PROFILE");
        for (key, value) in self.env() {
            cmd.env(key, value);
        }
    }
}

#[allow(dead_code)]
impl Moto {
    /// SDK configuration for `region` pointed at this moto, with test credentials.
    pub async fn sdk_config(&self, region: &str) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_string()))
            .endpoint_url(self.endpoint())
            .credentials_provider(aws_sdk_kms::config::Credentials::new(
                "testing", "testing", None, None, "moto",
            ))
            .load()
            .await
    }

    /// SDK configuration for `region` with the IAM user's `key` (with [`Moto::start_with_iam`]).
    pub async fn sdk_config_with(
        &self,
        key: &aws_sdk_iam::types::AccessKey,
        region: &str,
    ) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_string()))
            .endpoint_url(self.endpoint())
            .credentials_provider(aws_sdk_kms::config::Credentials::new(
                key.access_key_id(),
                key.secret_access_key(),
                None,
                None,
                "moto-iam",
            ))
            .load()
            .await
    }

    /// Starts (or restarts, cleared) moto's request recorder.
    pub async fn start_recording(&self) {
        let http = reqwest::Client::new();
        for action in ["reset-recording", "start-recording"] {
            http.post(format!("{}/moto-api/recorder/{action}", self.endpoint()))
                .send()
                .await
                .expect("moto recorder");
        }
    }

    /// Write calls moto recorded since `start_recording`: anything but GET/HEAD and the
    /// Describe/List/Get actions of the JSON and query protocols.
    pub async fn recorded_writes(&self) -> Vec<String> {
        let text = reqwest::Client::new()
            .get(format!(
                "{}/moto-api/recorder/download-recording",
                self.endpoint()
            ))
            .send()
            .await
            .expect("moto recorder")
            .text()
            .await
            .unwrap();
        let mut writes = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let entry: serde_json::Value = serde_json::from_str(line).expect("recording line");
            let method = entry["method"].as_str().unwrap_or_default();
            let target = entry["headers"]["X-Amz-Target"]
                .as_str()
                .unwrap_or_default();
            let raw = entry["body"].as_str().unwrap_or_default();
            let body = if entry["body_encoded"] == true {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD
                    .decode(raw)
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default()
            } else {
                raw.to_string()
            };
            let action = target
                .rsplit('.')
                .next()
                .filter(|a| !a.is_empty())
                .or_else(|| body.split('&').find_map(|p| p.strip_prefix("Action=")))
                .unwrap_or_default();
            let read = matches!(method, "GET" | "HEAD")
                || ["Describe", "List", "Get"]
                    .iter()
                    .any(|p| action.starts_with(p));
            if !read {
                writes.push(format!(
                    "{method} {} {action}",
                    entry["url"].as_str().unwrap_or_default()
                ));
            }
        }
        writes
    }
}

impl Moto {
    /// An S3 client for this moto in eu-central-1, path-style (as the S3 backend talks to it).
    pub fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::new()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("eu-central-1"))
            .endpoint_url(self.endpoint())
            .force_path_style(true)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// Creates `bucket` in eu-central-1 (where the example cluster keeps its state).
    pub async fn create_bucket(&self, bucket: &str) {
        self.s3()
            .create_bucket()
            .bucket(bucket)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuCentral1)
                    .build(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("create bucket {bucket}: {e:?}"));
    }

    /// Creates a KMS key in eu-central-1; returns its ARN.
    pub async fn create_kms_key(&self) -> String {
        let kms = aws_sdk_kms::Client::new(&self.sdk_config("eu-central-1").await);
        let key = kms.create_key().send().await.expect("create KMS key");
        key.key_metadata().unwrap().arn().unwrap().to_string()
    }
}

/// Every key in `bucket` (one listing page: tests hold few objects).
pub async fn bucket_keys(client: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    let listed = client
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .expect("list bucket");
    listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(String::from))
        .collect()
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
