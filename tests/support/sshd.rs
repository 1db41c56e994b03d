//! Debian's `openssh-server` on an ephemeral loopback port, with throwaway host and user keys,
//! running as the current user; killed by PID on drop. It logs at VERBOSE to `sshd.log` in its
//! directory, one `Connection from` line per TCP connection it accepts.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Sshd {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub user: String,
}

fn keygen(path: &Path) {
    let keygen = super::require_tool("ssh-keygen", "apt-get install openssh-client");
    let status = Command::new(keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "opsctl-test", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success(), "ssh-keygen failed");
}

#[allow(dead_code)]
impl Sshd {
    pub fn start() -> Sshd {
        let sshd = ["/usr/sbin/sshd", "/usr/local/sbin/sshd"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .or_else(|| super::which("sshd"))
            .unwrap_or_else(|| {
                panic!(
                    "sshd is not installed: apt-get install openssh-server (scripts/test does it)"
                )
            });
        super::require_tool("ssh", "apt-get install openssh-client");
        // Privilege separation needs this directory when sshd runs as root.
        let _ = std::fs::create_dir_all("/run/sshd");
        let dir = tempfile::tempdir().unwrap();
        keygen(&dir.path().join("host_key"));
        keygen(&dir.path().join("client_key"));
        std::fs::copy(
            dir.path().join("client_key.pub"),
            dir.path().join("authorized_keys"),
        )
        .unwrap();
        let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_string();
        for _ in 0..3 {
            let port = super::free_port();
            let config = dir.path().join("sshd_config");
            std::fs::write(
                &config,
                format!(
                    "Port {port}\nListenAddress 127.0.0.1\nHostKey {dir}/host_key\nPidFile {dir}/sshd.pid\n\
                     AuthorizedKeysFile {dir}/authorized_keys\nStrictModes no\nUsePAM no\n\
                     PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n\
                     PermitRootLogin yes\nAcceptEnv OPSCTL_TEST_NODE\nSubsystem sftp internal-sftp\n\
                     MaxStartups 200\nMaxSessions 200\nLogLevel VERBOSE\n",
                    dir = dir.path().display()
                ),
            )
            .unwrap();
            let mut child = Command::new(&sshd)
                .arg("-D")
                .arg("-E")
                .arg(dir.path().join("sshd.log"))
                .arg("-f")
                .arg(&config)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start sshd");
            if super::wait_for_port(port, Duration::from_secs(20)) {
                return Sshd {
                    child,
                    port,
                    dir,
                    user,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("sshd did not start listening");
    }

    /// TCP connections this sshd has accepted so far (from its log).
    pub fn connections(&self) -> usize {
        std::fs::read_to_string(self.dir.path().join("sshd.log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("Connection from "))
            .count()
    }

    pub fn client_key(&self) -> PathBuf {
        self.dir.path().join("client_key")
    }

    /// An ssh_config mapping each (address, node name) to this sshd; the node's name reaches
    /// the remote side as `$OPSCTL_TEST_NODE`.
    pub fn write_config(&self, hosts: &[(String, String)]) -> PathBuf {
        let mut text = String::new();
        for (address, name) in hosts {
            text.push_str(&format!(
                "Host {address}\n  HostName 127.0.0.1\n  Port {}\n  IdentityFile {}\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n  SetEnv OPSCTL_TEST_NODE={name}\n",
                self.port,
                self.client_key().display()
            ));
        }
        // Whatever else a test reaches also lands on this sshd: no test ever connects to an
        // address outside loopback (ssh takes the first value it finds for each option).
        text.push_str(&format!(
            "Host *\n  HostName 127.0.0.1\n  Port {}\n  IdentityFile {}\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n  SetEnv OPSCTL_TEST_NODE=unmapped\n",
            self.port,
            self.client_key().display()
        ));
        let path = self.dir.path().join("ssh_config");
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
