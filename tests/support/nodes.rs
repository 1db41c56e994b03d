//! A cluster of EC2 instances in moto, tagged like the aws provider tags them, all reachable
//! over a real sshd through an ssh_config the test writes.

use std::time::Duration;

use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};

use super::moto::Moto;
use super::sshd::Sshd;
use super::ExampleRepo;

pub struct Cluster {
    pub moto: Moto,
    pub sshd: Sshd,
    pub repo: ExampleRepo,
    pub config: std::path::PathBuf,
    /// (name, private ip) of every instance.
    pub nodes: Vec<(String, String)>,
}

fn tags(name: &str, role: &str) -> TagSpecification {
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
    TagSpecification::builder()
        .resource_type(ResourceType::Instance)
        .tags(tag("Cluster", "plutus"))
        .tags(tag("Name", name))
        .tags(tag("Role", role))
        .tags(tag("NomadDatacenter", "eu-central-1"))
        .build()
}

/// `core` core nodes and `clients` client nodes (`node-NN`) in moto, all reachable over ssh.
pub async fn cluster(core: usize, clients: usize) -> Cluster {
    let moto = Moto::start();
    let sshd = Sshd::start();
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config("eu-central-1").await);
    let images = ec2.describe_images().owners("amazon").send().await.unwrap();
    let ami = images.images()[0].image_id().unwrap().to_string();
    let mut specs: Vec<(String, &str)> =
        (1..=core).map(|i| (format!("core-{i}"), "core")).collect();
    specs.extend((1..=clients).map(|i| (format!("node-{i:02}"), "client")));
    for (name, role) in &specs {
        ec2.run_instances()
            .image_id(&ami)
            .min_count(1)
            .max_count(1)
            .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
            .tag_specifications(tags(name, role))
            .send()
            .await
            .unwrap();
    }
    // An instance of another cluster is never part of the inventory.
    ec2.run_instances()
        .image_id(&ami)
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .unwrap();
    let described = ec2.describe_instances().send().await.unwrap();
    let mut hosts = Vec::new();
    let mut nodes = Vec::new();
    for instance in described.reservations().iter().flat_map(|r| r.instances()) {
        let Some(name) = instance
            .tags()
            .iter()
            .find(|t| t.key() == Some("Name"))
            .and_then(|t| t.value())
        else {
            continue;
        };
        for ip in [instance.private_ip_address(), instance.public_ip_address()]
            .into_iter()
            .flatten()
        {
            hosts.push((ip.to_string(), name.to_string()));
        }
        nodes.push((
            name.to_string(),
            instance.private_ip_address().unwrap().to_string(),
        ));
    }
    let config = sshd.write_config(&hosts);
    let repo = ExampleRepo::new();
    let text = repo.read("clusters/plutus/cluster.toml");
    repo.write(
        "clusters/plutus/cluster.toml",
        &format!(
            "{text}\n[ssh]\nuser = \"{}\"\nkey_file = \"{}\"\n",
            sshd.user,
            sshd.client_key().display()
        ),
    );
    nodes.sort();
    Cluster {
        moto,
        sshd,
        repo,
        config,
        nodes,
    }
}

impl Cluster {
    /// The private IP of the instance named `name`.
    #[allow(dead_code)]
    pub fn ip(&self, name: &str) -> String {
        self.nodes
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no instance {name}"))
            .1
            .clone()
    }

    pub fn opsctl(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = self.repo.opsctl();
        self.moto.apply(&mut cmd);
        cmd.env("OPSCTL_SSH_CONFIG", &self.config)
            .env_remove("CONSUL_HTTP_ADDR")
            .env_remove("CONSUL_HTTP_TOKEN")
            // No Nomad unless a test gives one: a closed port answers at once.
            .env(
                "NOMAD_ADDR",
                format!("http://127.0.0.1:{}", super::free_port()),
            )
            .args(args)
            .timeout(Duration::from_secs(120));
        cmd
    }
}
