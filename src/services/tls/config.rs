//! rustls settings from PEM text: what a server presents (its chain and
//! key) and what a client trusts (the lab's CA, nothing else). One crypto
//! provider (ring) for all of them, named here rather than left to a
//! process-wide default.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio_rustls::{TlsAcceptor, TlsConnector};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server's TLS settings from its certificate chain and key.
pub fn acceptor(chain_pem: &str, key_pem: &str) -> Result<TlsAcceptor> {
    let chain = certificates(chain_pem)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .context("the server's private key is not a PEM key")?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("no TLS version in common with the crypto provider")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the server's certificate and key do not go together")?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A client's TLS settings that trust the CAs in `ca_pem` only.
pub fn connector(ca_pem: &str) -> Result<TlsConnector> {
    Ok(TlsConnector::from(Arc::new(client_config(ca_pem)?)))
}

/// The settings `connector` uses, for a caller that changes one before
/// wrapping them (the benchmark's load client turns resumption off).
pub fn client_config(ca_pem: &str) -> Result<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(ca_pem)? {
        roots
            .add(cert)
            .context("the lab CA's certificate is not usable as a root")?;
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("no TLS version in common with the crypto provider")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

fn certificates(pem: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .context("cannot read the PEM certificates")?;
    if certs.is_empty() {
        bail!("no certificate in the PEM text");
    }
    Ok(certs)
}
