//! A large synthetic cluster: 5 core nodes and 30 client autoscaling groups across 6 regions
//! (one of them with 4 declared availability zones).

pub const REGIONS: [&str; 6] = [
    "eu-central-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "ap-southeast-1",
    "ap-northeast-1",
];

pub fn large_cluster_toml() -> String {
    let amis: Vec<String> = REGIONS
        .iter()
        .enumerate()
        .map(|(i, r)| format!("{r} = \"ami-0{i}1b2c3d4e5f60718\""))
        .collect();
    let mut text = format!(
        r#"name = "large"
domain = "large.example.org"
provider = "aws"

[aws]
region = "eu-central-1"
kms_key = "arn:aws:kms:eu-central-1:123456789012:key/2f5c8f5e-6b7a-4c1d-9e3f-0a1b2c3d4e5f"
state_bucket = "large-ops-state"
hosted_zone = "large.example.org"
amis = {{ {} }}
admin_cidrs = ["203.0.113.0/24", "198.51.100.17/32", "192.0.2.0/28"]
azs = {{ us-east-2 = ["us-east-2a", "us-east-2b", "us-east-2c", "us-east-2d"] }}

[core]
count = 5
instance_type = "m5.large"

[monitoring]
instance_type = "m5.xlarge"

[nomad]
address = "https://nomad.large.example.org"
datacenters = [{}]
"#,
        amis.join(", "),
        REGIONS.map(|r| format!("\"{r}\"")).join(", ")
    );
    for region in REGIONS {
        for class in ["general", "compute", "memory", "gpu", "batch"] {
            text.push_str(&format!(
                "\n[[clients]]\nregion = \"{region}\"\ninstance_type = \"m5.xlarge\"\nnode_class = \"{class}\"\nmin = 1\ndesired = 2\nmax = 10\n"
            ));
        }
    }
    text
}

pub fn large_cluster() -> opsctl::repo::Cluster {
    toml::from_str(&large_cluster_toml()).expect("large cluster parses")
}
