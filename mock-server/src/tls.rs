//! HTTPS for the mock: a generated CA and a certificate for `localhost` and
//! `127.0.0.1`, or the user's own certificate and key.

use std::path::Path;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Certificate generation failed.
    #[error("cannot generate a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the certificate or key.
    #[error("invalid certificate or key: {0}")]
    Rustls(#[from] rustls::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The PEM file held no usable item.
    #[error("{0}: no PEM certificate or private key found")]
    EmptyPem(String),
}

/// A generated CA and a leaf certificate it signed.
pub struct Generated {
    /// The CA certificate (PEM), to give to clients.
    pub ca_pem: String,
    /// The leaf certificate chain (DER).
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key (DER).
    pub key: PrivateKeyDer<'static>,
}

/// Makes a CA and a certificate for `names` (DNS names or IP addresses), valid
/// from `not_before` to `not_after`.
pub fn generate(
    names: &[&str],
    not_before: time::OffsetDateTime,
    not_after: time::OffsetDateTime,
) -> Result<Generated, TlsError> {
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name
        .push(DnType::CommonName, "dt-mock local CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = not_before;
    ca.not_after = not_after;
    let ca_cert = ca.self_signed(&ca_key)?;

    let leaf_key = KeyPair::generate()?;
    let mut leaf = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())?;
    leaf.distinguished_name.push(
        DnType::CommonName,
        names.first().copied().unwrap_or("localhost"),
    );
    leaf.not_before = not_before;
    leaf.not_after = not_after;
    let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key)?;

    Ok(Generated {
        ca_pem: ca_cert.pem(),
        chain: vec![leaf_cert.der().clone()],
        key: PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
    })
}

/// The default certificate: `localhost` and `127.0.0.1`, valid for a year around now.
pub fn generate_localhost() -> Result<Generated, TlsError> {
    let now = time::OffsetDateTime::now_utc();
    generate(
        &["localhost", "127.0.0.1"],
        now - time::Duration::days(1),
        now + time::Duration::days(365),
    )
}

/// Reads a certificate chain and a private key from PEM files.
pub fn load(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|source| TlsError::Io {
            path: p.display().to_string(),
            source,
        })
    };
    let cert_pem = read(cert)?;
    let chain: Vec<_> = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|source| TlsError::Io {
            path: cert.display().to_string(),
            source,
        })?;
    if chain.is_empty() {
        return Err(TlsError::EmptyPem(cert.display().to_string()));
    }
    let key_pem = read(key)?;
    let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|source| TlsError::Io {
            path: key.display().to_string(),
            source,
        })?
        .ok_or_else(|| TlsError::EmptyPem(key.display().to_string()))?;
    Ok((chain, key))
}

/// A rustls server configuration for a chain and key (HTTP/1.1 only).
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}
