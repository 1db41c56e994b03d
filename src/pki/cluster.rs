//! The cluster's PKI and secrets as files under `encrypted/<cluster>/`: certificates in the
//! clear (`pki/*.crt`, they are public), every private key, gossip key and token encrypted.

use std::path::PathBuf;

use base64::Engine as _;
use serde::Serialize;

use super::{Authority, Lifetimes};
use crate::error::{Error, Result};
use crate::secrets::SecretStore;

/// What [`ensure`] did to one item (`action` in `certs` output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemAction {
    /// It did not exist and was made.
    Created,
    /// It existed and was left as it was.
    Kept,
    /// It existed and was replaced: `--rotate`, a new signing CA, or a certificate that no longer
    /// names the domain (or lost its key).
    Renewed,
}

/// One certificate or secret handled by [`ensure`].
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    /// Its name in the store: `pki/root-ca`, `pki/server`, `gossip/consul`,
    /// `consul/acl-bootstrap-token`, `consul.d/secrets.json`, ….
    pub name: String,
    /// Created, kept or renewed.
    pub action: ItemAction,
}

/// What [`ensure`] issues certificates for.
pub struct Options {
    /// The cluster's domain: certificates are for `server.<domain>` / `client.<domain>` and cover
    /// `*.<domain>`.
    pub domain: String,
    /// Nomad datacenters, each giving `server.<dc>.consul` / `client.<dc>.consul` names.
    pub datacenters: Vec<String>,
    /// Validity of the CAs and certificates issued now.
    pub lifetimes: Lifetimes,
    /// Renew the leaf certificates (the CAs are kept).
    pub rotate: bool,
}

fn cert_path(store: &SecretStore, name: &str) -> PathBuf {
    store.dir().join("pki").join(format!("{name}.crt"))
}

fn read_cert(store: &SecretStore, name: &str) -> Option<String> {
    std::fs::read_to_string(cert_path(store, name)).ok()
}

fn write_cert(store: &SecretStore, name: &str, pem: &str) -> Result<()> {
    // Public material, yet everything under encrypted/ is 0600 so one rule covers the folder.
    crate::fsutil::write_atomic(&cert_path(store, name), pem.as_bytes(), Some(0o600))?;
    Ok(())
}

/// A CA from disk, or `None` when neither half exists; one half alone is an error.
async fn load_ca(store: &SecretStore, name: &str) -> Result<Option<Authority>> {
    let key_name = format!("pki/{name}.key");
    match (read_cert(store, name), store.exists(&key_name)) {
        (None, false) => Ok(None),
        (Some(cert), true) => {
            let key = String::from_utf8(store.get(&key_name).await?)
                .map_err(|_| Error::failed(format!("secret `{key_name}` is not PEM text")))?;
            Ok(Some(Authority::load(&cert, &key)?))
        }
        _ => Err(Error::invalid(format!(
            "{name}: the certificate and its encrypted key must both exist (found one of pki/{name}.crt and {key_name}.enc); restore the other or remove both to create a new {name}"
        ))),
    }
}

async fn store_issued(store: &SecretStore, name: &str, issued: &super::Issued) -> Result<()> {
    store
        .put(
            &format!("pki/{name}.key"),
            "private-key",
            issued.key_pem.as_bytes(),
        )
        .await?;
    write_cert(store, name, &issued.cert_pem)
}

/// A leaf certificate needs (re)issuing when missing, rotated, signed by a new CA, or when it
/// no longer covers the domain.
fn leaf_needed(
    store: &SecretStore,
    name: &str,
    options: &Options,
    new_ca: bool,
) -> Option<ItemAction> {
    match read_cert(store, name) {
        None => Some(ItemAction::Created),
        Some(_) if options.rotate || new_ca => Some(ItemAction::Renewed),
        Some(pem) => {
            let covers = super::inspect(&pem)
                .map(|info| info.subject.contains(&options.domain))
                .unwrap_or(false);
            (!covers || !store.exists(&format!("pki/{name}.key"))).then_some(ItemAction::Renewed)
        }
    }
}

/// A random secret kept once created (gossip keys, tokens).
async fn ensure_secret(
    store: &SecretStore,
    name: &str,
    kind: &str,
    make: impl FnOnce() -> String,
    items: &mut Vec<Item>,
) -> Result<(String, bool)> {
    if store.exists(name) {
        let value = String::from_utf8(store.get(name).await?)
            .map_err(|_| Error::failed(format!("secret `{name}` is not text")))?;
        items.push(Item {
            name: name.into(),
            action: ItemAction::Kept,
        });
        return Ok((value, false));
    }
    let value = make();
    store.put(name, kind, value.as_bytes()).await?;
    items.push(Item {
        name: name.into(),
        action: ItemAction::Created,
    });
    Ok((value, true))
}

/// A new random gossip encryption key: 32 random bytes, standard base64 (what Consul's and
/// Nomad's `encrypt` take).
pub fn gossip_key() -> String {
    base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>())
}

/// Creates what is missing, renews what `options` asks for, keeps the rest.
pub async fn ensure(store: &SecretStore, cluster: &str, options: &Options) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    let mut note = |name: &str, action| {
        items.push(Item {
            name: name.into(),
            action,
        })
    };
    let (root, new_root) = match load_ca(store, "root-ca").await? {
        Some(root) => {
            note("pki/root-ca", ItemAction::Kept);
            (root, false)
        }
        None => {
            let (root, issued) = Authority::new_root(cluster, &options.lifetimes)?;
            store_issued(store, "root-ca", &issued).await?;
            note("pki/root-ca", ItemAction::Created);
            (root, true)
        }
    };
    let existing = if new_root {
        None
    } else {
        load_ca(store, "intermediate-ca").await?
    };
    let (intermediate, new_intermediate) = match existing {
        Some(ca) => {
            note("pki/intermediate-ca", ItemAction::Kept);
            (ca, false)
        }
        None => {
            let (ca, issued) = root.intermediate(cluster, &options.lifetimes)?;
            store_issued(store, "intermediate-ca", &issued).await?;
            note(
                "pki/intermediate-ca",
                if new_root {
                    ItemAction::Created
                } else {
                    ItemAction::Renewed
                },
            );
            (ca, true)
        }
    };
    write_cert(
        store,
        "ca-chain",
        &format!("{}{}", intermediate.cert_pem, root.cert_pem),
    )?;
    for leaf in ["server", "client"] {
        match leaf_needed(store, leaf, options, new_intermediate) {
            Some(action) => {
                let issued = if leaf == "server" {
                    intermediate.server(
                        &options.domain,
                        &options.datacenters,
                        options.lifetimes.leaf_days,
                    )?
                } else {
                    intermediate.client(
                        &options.domain,
                        &options.datacenters,
                        options.lifetimes.leaf_days,
                    )?
                };
                store_issued(store, leaf, &issued).await?;
                note(&format!("pki/{leaf}"), action);
            }
            None => note(&format!("pki/{leaf}"), ItemAction::Kept),
        }
    }
    let (consul_gossip, a) =
        ensure_secret(store, "gossip/consul", "gossip-key", gossip_key, &mut items).await?;
    let (nomad_gossip, b) =
        ensure_secret(store, "gossip/nomad", "gossip-key", gossip_key, &mut items).await?;
    let (token, c) = ensure_secret(
        store,
        "consul/acl-bootstrap-token",
        "token",
        || uuid::Uuid::new_v4().to_string(),
        &mut items,
    )
    .await?;
    // The files bitte places on core nodes, derived from the secrets above.
    let files = [
        (
            "consul.d/secrets.json",
            serde_json::json!({ "encrypt": consul_gossip }),
        ),
        (
            "consul.d/tokens.json",
            serde_json::json!({ "acl": { "tokens": { "initial_management": token, "agent": token } } }),
        ),
        (
            "nomad.d/consul-token.json",
            serde_json::json!({ "consul": { "token": token } }),
        ),
        (
            "nomad.d/secrets.json",
            serde_json::json!({ "server": { "encrypt": nomad_gossip } }),
        ),
    ];
    for (name, body) in files {
        if store.exists(name) && !(a || b || c) {
            items.push(Item {
                name: name.into(),
                action: ItemAction::Kept,
            });
            continue;
        }
        let action = if store.exists(name) {
            ItemAction::Renewed
        } else {
            ItemAction::Created
        };
        let text = serde_json::to_string_pretty(&body).map_err(anyhow::Error::from)?;
        store.put(name, "json", text.as_bytes()).await?;
        items.push(Item {
            name: name.into(),
            action,
        });
    }
    Ok(items)
}

/// Every certificate on disk with its expiry.
pub fn certificates(store: &SecretStore) -> Result<Vec<(String, super::CertInfo)>> {
    let dir = store.dir().join("pki");
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(out);
    };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "crt"))
    {
        let name = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        if name == "ca-chain" {
            continue;
        }
        let pem = std::fs::read_to_string(path)?;
        let info =
            super::inspect(&pem).map_err(|e| Error::invalid(format!("{}: {e}", path.display())))?;
        out.push((name, info));
    }
    Ok(out)
}
