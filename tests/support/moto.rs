//! A real `moto_server` (PyPI `moto[server]`) on an ephemeral loopback port.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Moto {
    child: Child,
    pub port: u16,
}

impl Moto {
    pub fn start() -> Moto {
        let bin = super::require_tool("moto_server", "pip install 'moto[server]'");
        // A few tries: the free port can be taken between probing and binding.
        for _ in 0..3 {
            let port = super::free_port();
            let mut child = Command::new(&bin)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start moto_server");
            if super::wait_for_port(port, Duration::from_secs(30)) {
                return Moto { child, port };
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

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
