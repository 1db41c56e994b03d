//! Secrets at rest under `encrypted/<cluster>/`, with KMS envelope encryption.
//!
//! Each secret is one JSON file `<name>.enc` (mode 0600, written atomically):
//!
//! ```json
//! {"format": "opsctl-envelope-1", "name": "pki/server.key", "cluster": "plutus",
//!  "kind": "private-key", "created": "2026-11-22T19:30:00Z", "kms_key": "arn:aws:kms:…",
//!  "data_key": "<KMS CiphertextBlob, base64>", "nonce": "<12 bytes, base64>",
//!  "ciphertext": "<AES-256-GCM, base64>"}
//! ```
//!
//! The data key comes from `GenerateDataKey` with the encryption context
//! `{"opsctl:cluster": …, "opsctl:secret": name}`, and every metadata field is authenticated
//! data of the AES-GCM encryption: a flipped byte anywhere, or a file copied under another
//! name, fails to decrypt. The plaintext data key only lives in memory.

use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::aws::error_text;
use crate::error::{Error, Result};

/// The `format` of every secret file this version writes and reads; another value is refused.
pub const FORMAT: &str = "opsctl-envelope-1";
const EXTENSION: &str = "enc";

/// What a secret file says about itself (everything but the encrypted parts).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Metadata {
    /// Always [`FORMAT`].
    pub format: String,
    /// The secret's name (`pki/server.key`); must match the file's path, or decryption fails.
    pub name: String,
    /// The cluster the secret belongs to; must match the store's, or decryption fails.
    pub cluster: String,
    /// What the value is: `private-key`, `gossip-key`, `token` or `json`.
    pub kind: String,
    /// When the secret was written, RFC 3339 UTC (seconds).
    pub created: String,
    /// ARN of the KMS key that wrapped the data key.
    pub kms_key: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct EnvelopeFile {
    #[serde(flatten)]
    metadata: Metadata,
    data_key: String,
    nonce: String,
    ciphertext: String,
}

/// The encrypted secrets of one cluster: `<repo>/encrypted/<cluster>/<name>.enc`, each
/// envelope-encrypted with a data key from the cluster's KMS key.
pub struct SecretStore {
    dir: PathBuf,
    cluster: String,
    kms_key: String,
    kms: aws_sdk_kms::Client,
}

/// Secret names are relative paths of lowercase words: `pki/server.key`, `consul.d/tokens.json`.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
        });
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "`{name}` is not a secret name (lowercase path segments of a-z 0-9 - _ .)"
        )))
    }
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

impl SecretStore {
    /// The store of `cluster` in `repo_root`, encrypting with `kms_key` (an ARN).
    pub async fn open(repo_root: &Path, cluster: &str, kms_key: &str, region: &str) -> Self {
        let config = crate::aws::config(region).await;
        SecretStore {
            dir: repo_root.join("encrypted").join(cluster),
            cluster: cluster.to_string(),
            kms_key: kms_key.to_string(),
            kms: aws_sdk_kms::Client::new(&config),
        }
    }

    /// The store's folder, `<repo>/encrypted/<cluster>/` (certificates sit beside the secrets in
    /// `pki/`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.{EXTENSION}"))
    }

    /// Whether secret `name` has a file (nothing is decrypted or checked).
    pub fn exists(&self, name: &str) -> bool {
        self.path(name).is_file()
    }

    fn context(&self, name: &str) -> [(&'static str, String); 2] {
        [
            ("opsctl:cluster", self.cluster.clone()),
            ("opsctl:secret", name.to_string()),
        ]
    }

    fn aad(metadata: &Metadata) -> Vec<u8> {
        // Field order is fixed by the struct, so this is canonical.
        serde_json::to_vec(metadata).unwrap_or_default()
    }

    /// Encrypts `plaintext` as secret `name`, replacing it atomically.
    pub async fn put(&self, name: &str, kind: &str, plaintext: &[u8]) -> Result<()> {
        check_name(name)?;
        let mut request = self
            .kms
            .generate_data_key()
            .key_id(&self.kms_key)
            .key_spec(DataKeySpec::Aes256);
        for (k, v) in self.context(name) {
            request = request.encryption_context(k, v);
        }
        let data_key = request.send().await.map_err(|e| {
            Error::failed(format!(
                "KMS GenerateDataKey for secret `{name}`: {}",
                error_text(&e)
            ))
        })?;
        let (Some(plain_key), Some(wrapped)) = (data_key.plaintext(), data_key.ciphertext_blob())
        else {
            return Err(Error::failed("KMS returned no data key"));
        };
        let metadata = Metadata {
            format: FORMAT.into(),
            name: name.into(),
            cluster: self.cluster.clone(),
            kind: kind.into(),
            created: now(),
            kms_key: self.kms_key.clone(),
        };
        let cipher = Aes256Gcm::new_from_slice(plain_key.as_ref())
            .map_err(|_| Error::failed("KMS returned a data key of the wrong size"))?;
        let nonce: [u8; 12] = rand::random();
        let ciphertext = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &Self::aad(&metadata),
                },
            )
            .map_err(|_| Error::failed(format!("encrypting secret `{name}`")))?;
        let file = EnvelopeFile {
            metadata,
            data_key: B64.encode(wrapped.as_ref()),
            nonce: B64.encode(nonce),
            ciphertext: B64.encode(ciphertext),
        };
        let mut body = serde_json::to_vec_pretty(&file).map_err(anyhow::Error::from)?;
        body.push(b'\n');
        crate::fsutil::write_atomic(&self.path(name), &body, Some(0o600))?;
        Ok(())
    }

    fn read_file(&self, name: &str) -> Result<EnvelopeFile> {
        check_name(name)?;
        let path = self.path(name);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::invalid(format!("secret `{name}` ({}): {e}", path.display())))?;
        let file: EnvelopeFile = serde_json::from_str(&text).map_err(|e| {
            Error::invalid(format!(
                "{}: not an opsctl secret file: {e}",
                path.display()
            ))
        })?;
        if file.metadata.format != FORMAT {
            return Err(Error::invalid(format!(
                "{}: unknown format `{}`",
                path.display(),
                file.metadata.format
            )));
        }
        Ok(file)
    }

    /// The metadata of secret `name`, read without KMS or decryption; a missing or unreadable file,
    /// or another format, is an input error.
    pub fn metadata(&self, name: &str) -> Result<Metadata> {
        self.read_file(name).map(|f| f.metadata)
    }

    /// Decrypts secret `name`; any tampering is an error.
    pub async fn get(&self, name: &str) -> Result<Vec<u8>> {
        let file = self.read_file(name)?;
        let tampered = || {
            Error::failed(format!(
                "secret `{name}` does not authenticate: the file was modified, or it was copied from another name or cluster"
            ))
        };
        if file.metadata.name != name || file.metadata.cluster != self.cluster {
            return Err(tampered());
        }
        let decode = |field: &str, text: &str| {
            B64.decode(text)
                .map_err(|_| Error::failed(format!("secret `{name}`: `{field}` is not base64")))
        };
        let wrapped = decode("data_key", &file.data_key)?;
        let nonce = decode("nonce", &file.nonce)?;
        let ciphertext = decode("ciphertext", &file.ciphertext)?;
        if nonce.len() != 12 {
            return Err(tampered());
        }
        let mut request = self.kms.decrypt().ciphertext_blob(Blob::new(wrapped));
        for (k, v) in self.context(name) {
            request = request.encryption_context(k, v);
        }
        let data_key = request.send().await.map_err(|e| {
            let text = error_text(&e);
            if text.contains("InvalidCiphertext") {
                tampered()
            } else {
                Error::failed(format!("KMS Decrypt for secret `{name}`: {text}"))
            }
        })?;
        let plain_key = data_key
            .plaintext()
            .ok_or_else(|| Error::failed("KMS returned no plaintext key"))?;
        let cipher = Aes256Gcm::new_from_slice(plain_key.as_ref()).map_err(|_| tampered())?;
        cipher
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &ciphertext,
                    aad: &Self::aad(&file.metadata),
                },
            )
            .map_err(|_| tampered())
    }

    /// Every secret's metadata, sorted by name.
    pub fn list(&self) -> Result<Vec<Metadata>> {
        let mut names = Vec::new();
        collect(&self.dir, &self.dir, &mut names)?;
        names.sort();
        names.iter().map(|n| self.metadata(n)).collect()
    }
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else if path.extension().and_then(|e| e.to_str()) == Some(EXTENSION) {
            if let Ok(rel) = path.with_extension("").strip_prefix(root) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_safe_relative_paths() {
        for good in ["pki/server.key", "consul.d/tokens.json", "gossip-consul"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "../x", "a//b", "/abs", "Upper", "a/./b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
