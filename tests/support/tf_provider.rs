//! External test providers written into a temporary PATH directory: a `demo` provider that
//! emits provider-free Terraform JSON (locals, outputs, `terraform_remote_state`,
//! `terraform_data` where the binary has it; its `env` workspace needs terraform >= 1.4), and
//! providers that fail in each way.

use std::path::{Path, PathBuf};

const DEMO: &str = r#"#!/usr/bin/env python3
import json, sys
request = json.load(sys.stdin)
assert request["protocol"] == 1, request
cluster, workspace = request["cluster"], request["workspace"]
version = request.get("terraform_version") or "0.0"
has_terraform_data = tuple(int(x) for x in version.split(".")[:2]) >= (1, 4)
doc = {"locals": {"cluster": cluster["name"]}, "output": {}}
if workspace == "network":
    doc["output"]["vpc_id"] = {"value": "vpc-${local.cluster}-" + cluster["domain"]}
    if has_terraform_data:
        doc["resource"] = {"terraform_data": {"vpc": {"input": cluster["domain"]}}}
        doc["output"]["vpc_marker"] = {"value": "${terraform_data.vpc.output}"}
elif workspace == "core":
    doc["data"] = {"terraform_remote_state": {"network": request["upstream"]["network"]}}
    doc["output"]["network_vpc"] = {"value": "${data.terraform_remote_state.network.outputs.vpc_id}"}
    doc["output"]["core_count"] = {"value": cluster["core"]["count"]}
elif workspace == "env":
    # An environment's own workspace: one terraform_data named after it.
    doc["resource"] = {"terraform_data": {"env": {"input": request["environment"]}}}
    doc["output"]["env_marker"] = {"value": "${terraform_data.env.output}"}
elif workspace == "clients" and sys.argv[0].endswith("-demoall"):
    doc["data"] = {"terraform_remote_state": {"core": request["upstream"]["core"]}}
    doc["output"]["clients_of"] = {"value": "${data.terraform_remote_state.core.outputs.network_vpc}"}
else:
    sys.stderr.write("the demo provider has no %s workspace\n" % workspace)
    sys.exit(3)
json.dump(doc, sys.stdout)
"#;

/// A directory holding `opsctl-provider-{demo,demoall,broken,garbage,slow}`.
pub struct ProviderDir {
    pub dir: tempfile::TempDir,
}

impl ProviderDir {
    pub fn new() -> ProviderDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let scripts = [
            ("demo", DEMO.to_string()),
            // The demo provider with a clients workspace too.
            ("demoall", DEMO.to_string()),
            ("broken", "#!/bin/sh\ncat >/dev/null\necho 'boom: the cloud API refused the token' >&2\nexit 1\n".into()),
            ("garbage", "#!/bin/sh\ncat >/dev/null\necho 'resource \"x\" {}'\n".into()),
            ("slow", "#!/bin/sh\nexec sleep 30\n".into()),
        ];
        for (name, text) in scripts {
            write_executable(&dir.path().join(format!("opsctl-provider-{name}")), &text);
        }
        ProviderDir { dir }
    }

    /// PATH with this directory first.
    pub fn path_env(&self) -> std::ffi::OsString {
        let mut paths: Vec<PathBuf> = vec![self.dir.path().to_path_buf()];
        paths.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        std::env::join_paths(paths).expect("PATH")
    }
}

fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("write provider");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}
