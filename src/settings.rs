//! Settings resolved once per command: flag > environment variable > cluster file > default.
//! The environment is read here only ([`Env::capture`]); everything else is handed the
//! resolved [`Settings`] (child processes still inherit the environment as it is).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::GlobalArgs;
use crate::nomad::{NomadConfig, Secret};
use crate::repo::Cluster;
use crate::terraform::backend::Endpoints;

/// The variables opsctl's own decisions read, captured once at start.
#[derive(Debug, Clone, Default)]
pub struct Env(HashMap<String, String>);

/// Every variable [`Settings::resolve`] consults.
pub const VARIABLES: &[&str] = &[
    "NO_COLOR",
    "NOMAD_ADDR",
    "NOMAD_TOKEN",
    "NOMAD_NAMESPACE",
    "NOMAD_REGION",
    "NOMAD_CACERT",
    "NOMAD_CLIENT_CERT",
    "NOMAD_CLIENT_KEY",
    "NOMAD_SKIP_VERIFY",
    "CONSUL_HTTP_ADDR",
    "CONSUL_HTTP_TOKEN",
    "OPSCTL_SSH_CONFIG",
    "OPSCTL_TERRAFORM",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_IAM",
    "USER",
    "GITHUB_WORKSPACE",
    "CI_PROJECT_DIR",
];

impl Env {
    /// The process environment's values of [`VARIABLES`] (empty values count as unset).
    pub fn capture() -> Env {
        Env::from_lookup(|name| std::env::var(name).ok())
    }

    /// The same from any lookup (tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Env {
        Env(VARIABLES
            .iter()
            .filter_map(|name| {
                let value = lookup(name).filter(|v| !v.is_empty())?;
                Some((name.to_string(), value))
            })
            .collect())
    }

    /// A variable's value, if set and not empty.
    pub fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

/// What opsctl's commands decide from flags, the environment, the cluster file and defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `--no-color`, else `NO_COLOR`.
    pub no_color: bool,
    /// `NOMAD_*` over `[nomad]`, else `http://127.0.0.1:4646`.
    pub nomad: NomadConfig,
    /// `CONSUL_HTTP_ADDR`, else `[rebuild].consul`.
    pub consul_address: Option<String>,
    /// `CONSUL_HTTP_TOKEN`.
    pub consul_token: Option<Secret>,
    /// `OPSCTL_SSH_CONFIG` (relative to the working directory), else `[ssh].config_file`
    /// (relative to the repository: [`crate::remote::Ssh::from_repo`] joins it).
    pub ssh_config: Option<PathBuf>,
    /// `[ssh].nomad_data_dir`, else `/var/lib/nomad`.
    pub nomad_data_dir: String,
    /// `[rebuild].drain_deadline`, else 10 minutes.
    pub drain_deadline: Duration,
    /// `OPSCTL_TERRAFORM` (the program to run; `[terraform].binary` is read after it).
    pub terraform_binary: Option<String>,
    /// `AWS_ENDPOINT_URL_<SERVICE>` / `AWS_ENDPOINT_URL` overrides.
    pub endpoints: Endpoints,
    /// `USER`: the default owner of ad hoc environments.
    pub user: Option<String>,
    /// CI checkout directories (`GITHUB_WORKSPACE`, `CI_PROJECT_DIR`) for commit ordering.
    pub checkouts: Vec<(&'static str, String)>,
}

/// A cluster-file value that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SettingError {
    /// The file's key, e.g. `[rebuild].drain_deadline`.
    pub field: &'static str,
    /// Why it does not parse.
    pub message: String,
}

impl Settings {
    /// `--no-color`, else a non-empty `NO_COLOR` (decided before anything else is resolved:
    /// logging follows it).
    pub fn no_color(global: &GlobalArgs, env: &Env) -> bool {
        global.no_color || env.get("NO_COLOR").is_some()
    }

    /// Resolves every setting once: `global` (flags), then `env`, then the cluster file
    /// (when a command has one), then the default.
    pub fn resolve(
        global: &GlobalArgs,
        env: &Env,
        cluster: Option<&Cluster>,
    ) -> Result<Settings, SettingError> {
        let rebuild = cluster.and_then(|c| c.rebuild.as_ref());
        let drain_deadline = rebuild
            .and_then(|r| r.drain_deadline.as_deref())
            .map(humantime::parse_duration)
            .transpose()
            .map_err(|e| SettingError {
                field: "[rebuild].drain_deadline",
                message: e.to_string(),
            })?
            .unwrap_or(Duration::from_secs(600));
        Ok(Settings {
            no_color: Settings::no_color(global, env),
            nomad: NomadConfig::resolve_with(cluster.map(|c| &c.nomad), |key| env.get(key)),
            consul_address: env
                .get("CONSUL_HTTP_ADDR")
                .or_else(|| rebuild.and_then(|r| r.consul.clone())),
            consul_token: env.get("CONSUL_HTTP_TOKEN").map(Secret::new),
            ssh_config: env
                .get("OPSCTL_SSH_CONFIG")
                .map(|path| {
                    let path = PathBuf::from(path);
                    match std::env::current_dir() {
                        Ok(cwd) if path.is_relative() => cwd.join(path),
                        _ => path,
                    }
                })
                .or_else(|| cluster?.ssh.config_file.as_ref().map(PathBuf::from)),
            nomad_data_dir: cluster
                .and_then(|c| c.ssh.nomad_data_dir.clone())
                .unwrap_or_else(|| "/var/lib/nomad".into()),
            drain_deadline,
            terraform_binary: env.get("OPSCTL_TERRAFORM"),
            endpoints: Endpoints::from_lookup(|name| env.get(name)),
            user: env.get("USER"),
            checkouts: crate::revisions::order::CHECKOUT_VARIABLES
                .iter()
                .filter_map(|var| Some((*var, env.get(var)?)))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::OutputFormat;

    fn global(no_color: bool) -> GlobalArgs {
        GlobalArgs {
            repo: None,
            cluster: None,
            output: OutputFormat::Text,
            verbose: 0,
            quiet: false,
            no_color,
            yes: false,
        }
    }

    /// A cluster file that sets every setting this table reads.
    fn cluster() -> Cluster {
        toml::from_str(
            "name = \"plutus\"\ndomain = \"plutus.example.org\"\n\
             [nomad]\naddress = \"https://nomad.file:4646\"\ndatacenters = [\"dc1\"]\n\
             [ssh]\nconfig_file = \"file_ssh_config\"\nnomad_data_dir = \"/file/nomad\"\n\
             [rebuild]\nstrategy = \"command\"\ncommand = \"true\"\nconsul = \"http://consul.file:8500\"\ndrain_deadline = \"5m\"\n\
             [core]\ncount = 3\ninstance_type = \"t3a.medium\"\n",
        )
        .unwrap()
    }

    #[test]
    fn flag_over_environment_over_cluster_file_over_default() {
        let with_file = cluster();
        type Read = fn(&Settings) -> String;
        // (setting, flag, environment, file: expected with each layer present in turn)
        type Row = (
            &'static str,
            Read,
            Option<bool>,
            (&'static str, &'static str),
            Option<&'static str>,
            &'static str,
        );
        let table: &[Row] = &[
            (
                "no_color",
                |s| s.no_color.to_string(),
                Some(true),
                ("NO_COLOR", "1"),
                None,
                "false",
            ),
            (
                "nomad address",
                |s| s.nomad.address.clone(),
                None,
                ("NOMAD_ADDR", "http://env:4646"),
                Some("https://nomad.file:4646"),
                "http://127.0.0.1:4646",
            ),
            (
                "consul",
                |s| s.consul_address.clone().unwrap_or_default(),
                None,
                ("CONSUL_HTTP_ADDR", "http://env:8500"),
                Some("http://consul.file:8500"),
                "",
            ),
            (
                "ssh config",
                |s| {
                    s.ssh_config
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                },
                None,
                ("OPSCTL_SSH_CONFIG", "/env/ssh_config"),
                Some("file_ssh_config"),
                "",
            ),
            (
                "terraform",
                |s| s.terraform_binary.clone().unwrap_or_default(),
                None,
                ("OPSCTL_TERRAFORM", "tofu"),
                None,
                "",
            ),
            (
                "nomad data dir",
                |s| s.nomad_data_dir.clone(),
                None,
                ("", ""),
                Some("/file/nomad"),
                "/var/lib/nomad",
            ),
            (
                "drain deadline",
                |s| humantime::format_duration(s.drain_deadline).to_string(),
                None,
                ("", ""),
                Some("5m"),
                "10m",
            ),
        ];
        for (name, read, flag, (var, value), file, default) in table {
            let env = Env::from_lookup(|key| (key == *var).then(|| value.to_string()));
            let none = Env::default();
            // Default: nothing set anywhere.
            let resolved = Settings::resolve(&global(false), &none, None).unwrap();
            assert_eq!(read(&resolved), *default, "{name}: default");
            // The cluster file over the default.
            if let Some(file) = file {
                let resolved = Settings::resolve(&global(false), &none, Some(&with_file)).unwrap();
                assert!(
                    read(&resolved).ends_with(file),
                    "{name}: file gives {}",
                    read(&resolved)
                );
            }
            // The environment over the cluster file.
            if !var.is_empty() {
                let resolved = Settings::resolve(&global(false), &env, Some(&with_file)).unwrap();
                let expected = if *name == "no_color" { "true" } else { value };
                assert_eq!(read(&resolved), expected, "{name}: environment");
            }
            // The flag over everything.
            if let Some(flag) = flag {
                let resolved = Settings::resolve(&global(*flag), &none, Some(&with_file)).unwrap();
                assert_eq!(read(&resolved), flag.to_string(), "{name}: flag");
            }
        }
    }

    #[test]
    fn a_bad_duration_in_the_cluster_file_names_its_key() {
        let mut cluster = cluster();
        if let Some(rebuild) = cluster.rebuild.as_mut() {
            rebuild.drain_deadline = Some("soon".into());
        }
        let error = Settings::resolve(&global(false), &Env::default(), Some(&cluster)).unwrap_err();
        assert!(
            error.to_string().starts_with("[rebuild].drain_deadline: "),
            "{error}"
        );
    }
}
