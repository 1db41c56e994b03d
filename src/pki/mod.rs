//! The cluster PKI: a root CA, an intermediate CA that signs everything else, server
//! certificates for the core nodes (Consul, Vault, Nomad) and client certificates.

pub mod cluster;

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result};

/// Lifetimes in days, like a production CA profile.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Lifetimes {
    /// Root CA validity, days (default 3650).
    pub root_days: i64,
    /// Intermediate CA validity, days (default 1825).
    pub intermediate_days: i64,
    /// Server and client certificate validity, days (default 365).
    pub leaf_days: i64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Lifetimes {
            root_days: 3650,
            intermediate_days: 1825,
            leaf_days: 365,
        }
    }
}

/// A certificate and its private key, both PEM.
pub struct Issued {
    /// The certificate, PEM (public).
    pub cert_pem: String,
    /// The private key, PEM (PKCS#8); store it encrypted only.
    pub key_pem: String,
}

/// A CA able to sign: its parameters re-read from PEM, and its key.
pub struct Authority {
    cert: Certificate,
    key: KeyPair,
    /// This CA's own certificate, PEM (what chains and trust stores need).
    pub cert_pem: String,
}

fn pki_error(what: &str) -> impl Fn(rcgen::Error) -> Error + '_ {
    move |e| Error::failed(format!("{what}: {e}"))
}

fn validity(params: &mut CertificateParams, days: i64) {
    let now = OffsetDateTime::now_utc();
    // A little back-dating tolerates clock skew between nodes.
    params.not_before = now - Duration::minutes(5);
    params.not_after = now + Duration::days(days);
}

fn ca_params(common_name: &str, days: i64, path_len: Option<u8>) -> Result<CertificateParams> {
    let mut params =
        CertificateParams::new(Vec::<String>::new()).map_err(pki_error("CA params"))?;
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "opsctl");
    params.is_ca = IsCa::Ca(match path_len {
        Some(n) => BasicConstraints::Constrained(n),
        None => BasicConstraints::Unconstrained,
    });
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.use_authority_key_identifier_extension = true;
    validity(&mut params, days);
    Ok(params)
}

impl Authority {
    /// A new self-signed root CA.
    pub fn new_root(cluster: &str, lifetimes: &Lifetimes) -> Result<(Authority, Issued)> {
        let key = KeyPair::generate().map_err(pki_error("root key"))?;
        let params = ca_params(&format!("{cluster} root CA"), lifetimes.root_days, None)?;
        let cert = params.self_signed(&key).map_err(pki_error("root CA"))?;
        let issued = Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        };
        Ok((
            Authority {
                cert_pem: issued.cert_pem.clone(),
                cert,
                key,
            },
            issued,
        ))
    }

    /// An existing CA, from its certificate and key.
    pub fn load(cert_pem: &str, key_pem: &str) -> Result<Authority> {
        let key = KeyPair::from_pem(key_pem).map_err(pki_error("CA key"))?;
        let params =
            CertificateParams::from_ca_cert_pem(cert_pem).map_err(pki_error("CA certificate"))?;
        // Re-created only as the issuer handle: its subject and key are what signing uses.
        let cert = params
            .self_signed(&key)
            .map_err(pki_error("CA certificate"))?;
        Ok(Authority {
            cert,
            key,
            cert_pem: cert_pem.to_string(),
        })
    }

    /// An intermediate CA signed by this one (which then signs every leaf).
    pub fn intermediate(
        &self,
        cluster: &str,
        lifetimes: &Lifetimes,
    ) -> Result<(Authority, Issued)> {
        let key = KeyPair::generate().map_err(pki_error("intermediate key"))?;
        let params = ca_params(
            &format!("{cluster} intermediate CA"),
            lifetimes.intermediate_days,
            Some(0),
        )?;
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .map_err(pki_error("intermediate CA"))?;
        let issued = Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        };
        Ok((
            Authority {
                cert_pem: issued.cert_pem.clone(),
                cert,
                key,
            },
            issued,
        ))
    }

    fn leaf(
        &self,
        common_name: &str,
        sans: Vec<String>,
        usages: Vec<ExtendedKeyUsagePurpose>,
        days: i64,
    ) -> Result<Issued> {
        let key = KeyPair::generate().map_err(pki_error("leaf key"))?;
        let mut params =
            CertificateParams::new(sans).map_err(pki_error("subject alternative names"))?;
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "opsctl");
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = usages;
        params.use_authority_key_identifier_extension = true;
        validity(&mut params, days);
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .map_err(pki_error(common_name))?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// The core nodes' certificate: servers and clients of each other (Consul RPC needs both).
    pub fn server(&self, domain: &str, datacenters: &[String], days: i64) -> Result<Issued> {
        self.leaf(
            &format!("server.{domain}"),
            server_sans(domain, datacenters),
            vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
            days,
        )
    }

    /// Nomad clients and operators.
    pub fn client(&self, domain: &str, datacenters: &[String], days: i64) -> Result<Issued> {
        let mut sans = vec![
            "client.global.nomad".to_string(),
            "localhost".into(),
            "127.0.0.1".into(),
        ];
        sans.extend(datacenters.iter().map(|dc| format!("client.{dc}.consul")));
        self.leaf(
            &format!("client.{domain}"),
            sans,
            vec![
                ExtendedKeyUsagePurpose::ClientAuth,
                ExtendedKeyUsagePurpose::ServerAuth,
            ],
            days,
        )
    }
}

/// Every name the core services are reached by.
pub fn server_sans(domain: &str, datacenters: &[String]) -> Vec<String> {
    let mut sans = vec![
        format!("*.{domain}"),
        format!("vault.{domain}"),
        format!("nomad.{domain}"),
        format!("consul.{domain}"),
    ];
    sans.extend(datacenters.iter().map(|dc| format!("server.{dc}.consul")));
    sans.extend([
        "server.global.nomad".to_string(),
        "vault.service.consul".into(),
        "localhost".into(),
        "127.0.0.1".into(),
    ]);
    sans
}

/// Subject and validity of a PEM certificate, for `certs status`.
#[derive(Debug, Clone, Serialize)]
pub struct CertInfo {
    /// The subject's distinguished name (`CN=server.<domain>, O=opsctl`).
    pub subject: String,
    /// End of validity, RFC 3339 UTC.
    pub not_after: String,
    /// Whole days until `not_after` (negative once expired).
    pub days_left: i64,
    /// Subject alternative names: DNS names and IPv4 addresses as text.
    pub sans: Vec<String>,
}

/// Reads a PEM certificate's subject, expiry and names; a text that is not a PEM X.509
/// certificate is an input error.
pub fn inspect(pem: &str) -> Result<CertInfo> {
    let (_, parsed) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .map_err(|e| Error::invalid(format!("not a PEM certificate: {e}")))?;
    let cert = parsed
        .parse_x509()
        .map_err(|e| Error::invalid(format!("not an X.509 certificate: {e}")))?;
    let not_after = cert.validity().not_after.to_datetime();
    let sans = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .map(|name| match name {
                    x509_parser::extensions::GeneralName::DNSName(d) => d.to_string(),
                    x509_parser::extensions::GeneralName::IPAddress(ip) => match ip.len() {
                        4 => std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]).to_string(),
                        _ => format!("{ip:?}"),
                    },
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(CertInfo {
        subject: cert.subject().to_string(),
        not_after: not_after
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        days_left: (not_after - OffsetDateTime::now_utc()).whole_days(),
        sans,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_carries_the_names_and_lifetimes() {
        let lifetimes = Lifetimes::default();
        let (root, root_issued) = Authority::new_root("plutus", &lifetimes).unwrap();
        let (intermediate, _) = root.intermediate("plutus", &lifetimes).unwrap();
        let server = intermediate
            .server(
                "plutus.example.org",
                &["eu-central-1".into()],
                lifetimes.leaf_days,
            )
            .unwrap();
        let info = inspect(&server.cert_pem).unwrap();
        for san in [
            "*.plutus.example.org",
            "vault.plutus.example.org",
            "server.eu-central-1.consul",
            "server.global.nomad",
            "vault.service.consul",
            "localhost",
            "127.0.0.1",
        ] {
            assert!(
                info.sans.iter().any(|s| s == san),
                "{san} missing from {:?}",
                info.sans
            );
        }
        assert!((364..=365).contains(&info.days_left));
        assert!((3649..=3650).contains(&inspect(&root_issued.cert_pem).unwrap().days_left));
        // A CA re-loaded from PEM still signs.
        let reloaded = Authority::load(&root_issued.cert_pem, &root_issued.key_pem).unwrap();
        reloaded.intermediate("plutus", &lifetimes).unwrap();
    }
}
