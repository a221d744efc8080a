//! HTTPS: the certificate and key of `--tls-cert` / `--tls-key`, read and checked at start-up
//! so that a wrong file stops the server with a message instead of failing every handshake.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use rustls::ServerConfig;
use rustls::crypto::ring;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The TLS settings the listener serves with. actix-web adds the ALPN protocols itself
/// (`h2`, then `http/1.1`), so browsers choose HTTP/2.
pub fn server_config(cert_path: &Path, key_path: &Path) -> Result<ServerConfig> {
    let chain = certificate_chain(cert_path)?;
    let key = private_key(key_path)?;
    // ring explicitly: the process-wide default provider is only chosen when exactly one is
    // compiled in, and a dependency could add another.
    ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .context("the TLS library offers no protocol version")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .with_context(|| {
            format!(
                "--tls-key {} does not fit --tls-cert {}, or the certificate is not usable",
                key_path.display(),
                cert_path.display()
            )
        })
}

fn certificate_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let chain = CertificateDer::pem_file_iter(path)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .with_context(|| format!("could not read --tls-cert {}", path.display()))?;
    if chain.is_empty() {
        bail!(
            "--tls-cert {} holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)",
            path.display()
        );
    }
    Ok(chain)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_file(path).with_context(|| {
        format!(
            "could not read a private key from --tls-key {} (expected PEM: PKCS#8, PKCS#1 or SEC1)",
            path.display()
        )
    })
}
