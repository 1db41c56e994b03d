//! `opsctl certs` and `opsctl secrets` against moto's KMS, checked with the real openssl.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::moto::Moto;
use support::{require_tool, ExampleRepo};

const CLUSTER: &str = "clusters/plutus/cluster.toml";
const EXAMPLE_KEY: &str =
    "arn:aws:kms:eu-central-1:123456789012:key/2f5c8f5e-6b7a-4c1d-9e3f-0a1b2c3d4e5f";

struct Setup {
    moto: Moto,
    repo: ExampleRepo,
}

impl Setup {
    async fn new() -> Setup {
        let moto = Moto::start();
        let kms = aws_sdk_kms::Client::new(&moto.sdk_config("eu-central-1").await);
        let key = kms.create_key().description("test").send().await.unwrap();
        let arn = key.key_metadata().unwrap().arn().unwrap().to_string();
        let repo = ExampleRepo::new();
        repo.edit(CLUSTER, EXAMPLE_KEY, &arn);
        Setup { moto, repo }
    }

    fn opsctl(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        let mut cmd = self.repo.opsctl();
        self.moto.apply(&mut cmd);
        cmd.args(args).timeout(Duration::from_secs(120)).assert()
    }

    fn dir(&self) -> PathBuf {
        self.repo.path().join("encrypted/plutus")
    }

    fn pki(&self, name: &str) -> PathBuf {
        self.dir().join("pki").join(format!("{name}.crt"))
    }

    fn decrypt(&self, name: &str) -> String {
        let out = self.opsctl(&["secrets", "decrypt", name]).success();
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    }
}

fn openssl(args: &[&str]) -> (bool, String) {
    let bin = require_tool("openssl", "apt-get install openssl");
    let out = Command::new(bin).args(args).output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn items(out: &assert_cmd::assert::Assert) -> Vec<(String, String)> {
    let report: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().to_string(),
                i["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pki_verifies_with_openssl_and_nothing_is_in_the_clear() {
    let setup = Setup::new().await;
    let out = setup.opsctl(&["-o", "json", "certs"]).success();
    assert!(
        items(&out).iter().all(|(_, action)| action == "created"),
        "{:?}",
        items(&out)
    );

    // The chain verifies with the real openssl, and the server certificate has its names.
    let (root, intermediate, server) = (
        setup.pki("root-ca"),
        setup.pki("intermediate-ca"),
        setup.pki("server"),
    );
    let (ok, text) = openssl(&[
        "verify",
        "-CAfile",
        root.to_str().unwrap(),
        "-untrusted",
        intermediate.to_str().unwrap(),
        server.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    let (ok, text) = openssl(&["x509", "-noout", "-text", "-in", server.to_str().unwrap()]);
    assert!(ok, "{text}");
    for san in [
        "DNS:*.plutus.example.org",
        "DNS:vault.plutus.example.org",
        "DNS:nomad.plutus.example.org",
        "DNS:consul.plutus.example.org",
        "DNS:server.eu-central-1.consul",
        "DNS:server.global.nomad",
        "DNS:vault.service.consul",
        "DNS:localhost",
        "IP Address:127.0.0.1",
    ] {
        assert!(text.contains(san), "{san} missing:\n{text}");
    }
    let (ok, text) = openssl(&[
        "verify",
        "-CAfile",
        root.to_str().unwrap(),
        "-untrusted",
        intermediate.to_str().unwrap(),
        setup.pki("client").to_str().unwrap(),
    ]);
    assert!(ok, "{text}");

    // The decrypted key belongs to the certificate.
    let key = setup.decrypt("pki/server.key");
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"));
    let key_file = setup.repo.path().join("server.key");
    std::fs::write(&key_file, &key).unwrap();
    let (_, cert_pub) = openssl(&["x509", "-noout", "-pubkey", "-in", server.to_str().unwrap()]);
    let (_, key_pub) = openssl(&["pkey", "-pubout", "-in", key_file.to_str().unwrap()]);
    assert_eq!(cert_pub, key_pub);

    // Secrets in the shapes bitte places on core nodes.
    let consul: Value = serde_json::from_str(&setup.decrypt("consul.d/secrets.json")).unwrap();
    let gossip = consul["encrypt"].as_str().unwrap();
    use base64::Engine as _;
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(gossip)
            .unwrap()
            .len(),
        32
    );
    let token = setup.decrypt("consul/acl-bootstrap-token");
    assert!(
        uuid::Uuid::parse_str(&token).is_ok_and(|u| u.get_version_num() == 4),
        "{token}"
    );
    let nomad: Value = serde_json::from_str(&setup.decrypt("nomad.d/consul-token.json")).unwrap();
    assert_eq!(nomad["consul"]["token"], token.as_str());

    // Nothing secret in the clear; encrypted files are 0600.
    for file in files(&setup.dir()) {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            !text.contains("PRIVATE KEY"),
            "{} holds a plaintext key",
            file.display()
        );
        assert!(
            !text.contains(&token) && !text.contains(gossip),
            "{} holds a secret",
            file.display()
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }

    // `secrets list` shows names and kinds, never values.
    let out = setup.opsctl(&["secrets", "list"]).success();
    let listing = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        listing.contains("pki/root-ca.key") && listing.contains("private-key"),
        "{listing}"
    );
    assert!(!listing.contains(&token));

    // `secrets show` gives metadata only; `decrypt --out` writes a 0600 file, nothing on stdout.
    let out = setup
        .opsctl(&[
            "-o",
            "json",
            "secrets",
            "show",
            "consul/acl-bootstrap-token",
        ])
        .success();
    let shown = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let metadata: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(
        metadata["name"], "consul/acl-bootstrap-token",
        "{metadata:#}"
    );
    assert!(!shown.contains(&token), "show printed the value");
    let target = setup.repo.path().join("token.out");
    let out = setup
        .opsctl(&[
            "secrets",
            "decrypt",
            "consul/acl-bootstrap-token",
            "--out",
            target.to_str().unwrap(),
        ])
        .success();
    assert!(!String::from_utf8_lossy(&out.get_output().stdout).contains(&token));
    assert_eq!(std::fs::read_to_string(&target).unwrap().trim(), token);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tampered_or_renamed_secrets_are_refused() {
    let setup = Setup::new().await;
    setup.opsctl(&["certs"]).success();
    let file = setup.dir().join("gossip/consul.enc");
    let original = std::fs::read_to_string(&file).unwrap();
    let mut envelope: Value = serde_json::from_str(&original).unwrap();

    // A flipped byte in the ciphertext.
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut ciphertext = b64
        .decode(envelope["ciphertext"].as_str().unwrap())
        .unwrap();
    ciphertext[0] ^= 1;
    envelope["ciphertext"] = Value::from(b64.encode(&ciphertext));
    std::fs::write(&file, envelope.to_string()).unwrap();
    let out = setup
        .opsctl(&["secrets", "decrypt", "gossip/consul"])
        .code(1);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("does not authenticate"));
    assert!(out.get_output().stdout.is_empty());

    // Changed metadata.
    let mut envelope: Value = serde_json::from_str(&original).unwrap();
    envelope["created"] = Value::from("2020-01-01T00:00:00Z");
    std::fs::write(&file, envelope.to_string()).unwrap();
    let out = setup
        .opsctl(&["secrets", "decrypt", "gossip/consul"])
        .code(1);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("does not authenticate"));
    assert!(out.get_output().stdout.is_empty());

    // A file copied under another name.
    std::fs::write(&file, &original).unwrap();
    std::fs::copy(&file, setup.dir().join("gossip/nomad.enc")).unwrap();
    let out = setup
        .opsctl(&["secrets", "decrypt", "gossip/nomad"])
        .code(1);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("does not authenticate"));
    // The untouched original still decrypts.
    setup
        .opsctl(&["secrets", "decrypt", "gossip/consul"])
        .success();
    setup
        .opsctl(&["secrets", "decrypt", "../etc/passwd"])
        .code(2);
}

#[tokio::test(flavor = "multi_thread")]
async fn reruns_keep_everything_and_rotation_keeps_the_cas() {
    let setup = Setup::new().await;
    setup.opsctl(&["certs"]).success();
    let root = std::fs::read_to_string(setup.pki("root-ca")).unwrap();
    let intermediate = std::fs::read_to_string(setup.pki("intermediate-ca")).unwrap();
    let server = std::fs::read_to_string(setup.pki("server")).unwrap();
    let token = setup.decrypt("consul/acl-bootstrap-token");

    let out = setup.opsctl(&["-o", "json", "certs"]).success();
    assert!(
        items(&out).iter().all(|(_, action)| action == "kept"),
        "{:?}",
        items(&out)
    );
    assert_eq!(
        std::fs::read_to_string(setup.pki("server")).unwrap(),
        server
    );

    let out = setup
        .opsctl(&["-o", "json", "certs", "--rotate", "--leaf-days", "10"])
        .success();
    let actions = items(&out);
    assert!(
        actions.contains(&("pki/server".into(), "renewed".into())),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("pki/root-ca".into(), "kept".into())),
        "{actions:?}"
    );
    assert_eq!(std::fs::read_to_string(setup.pki("root-ca")).unwrap(), root);
    assert_eq!(
        std::fs::read_to_string(setup.pki("intermediate-ca")).unwrap(),
        intermediate
    );
    assert_ne!(
        std::fs::read_to_string(setup.pki("server")).unwrap(),
        server
    );
    assert_eq!(setup.decrypt("consul/acl-bootstrap-token"), token);
    // The renewed leaves are signed by the kept intermediate (reloaded from disk + KMS).
    for leaf in ["server", "client"] {
        let (ok, text) = openssl(&[
            "verify",
            "-CAfile",
            setup.pki("root-ca").to_str().unwrap(),
            "-untrusted",
            setup.pki("intermediate-ca").to_str().unwrap(),
            setup.pki(leaf).to_str().unwrap(),
        ]);
        assert!(ok, "{leaf}: {text}");
    }

    // The renewed leaves expire in 10 days: status warns, exit 3 with --detailed-exitcode.
    let out = setup
        .opsctl(&["-o", "json", "certs", "status", "--detailed-exitcode"])
        .code(3);
    let report: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(report["expiring"], 2, "{report:#}");
    let server_row = report["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "server")
        .unwrap();
    assert!((9..=10).contains(&server_row["days_left"].as_i64().unwrap()));
    setup.opsctl(&["certs", "status"]).success();

    // Bad input.
    setup.opsctl(&["certs", "--domain", "not a domain"]).code(2);
    setup.opsctl(&["certs", "--leaf-days", "4000"]).code(2);
}
