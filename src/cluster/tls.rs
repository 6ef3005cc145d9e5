//! Mutual TLS for inter-node links: both sides present a certificate signed by the
//! operator's CA (`HELLOJOHN_CLUSTER_TLS_CA`), and the dialling side checks that the peer's
//! certificate names the node the database lists at that address. A peer with a
//! certificate from another CA never completes a handshake.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore, ServerConfig};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::ClusterError;
use crate::config::ClusterConfig;

/// Both halves of the node's TLS: accepting peers and dialling them.
#[derive(Clone)]
pub struct ClusterTls {
    pub acceptor: TlsAcceptor,
    pub connector: TlsConnector,
}

fn read_err(path: &Path, e: impl std::fmt::Display) -> ClusterError {
    ClusterError::Tls(format!("{}: {e}", path.display()))
}

impl ClusterTls {
    /// Loads the node's certificate, key and CA, and builds both configurations.
    pub fn load(config: &ClusterConfig) -> Result<Self, ClusterError> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&config.tls_cert)
            .map_err(|e| read_err(&config.tls_cert, e))?
            .collect::<Result<_, _>>()
            .map_err(|e| read_err(&config.tls_cert, e))?;
        if certs.is_empty() {
            return Err(read_err(&config.tls_cert, "no certificate in the file"));
        }
        let key = PrivateKeyDer::from_pem_file(&config.tls_key).map_err(|e| read_err(&config.tls_key, e))?;
        let mut roots = RootCertStore::empty();
        for ca in CertificateDer::pem_file_iter(&config.tls_ca).map_err(|e| read_err(&config.tls_ca, e))? {
            let ca = ca.map_err(|e| read_err(&config.tls_ca, e))?;
            roots.add(ca).map_err(|e| read_err(&config.tls_ca, e))?;
        }
        let roots = Arc::new(roots);
        // One explicit provider: another crate in the tree may enable a second one.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
            .build()
            .map_err(|e| ClusterError::Tls(format!("client verifier: {e}")))?;
        let server = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| ClusterError::Tls(e.to_string()))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs.clone(), key.clone_key())
            .map_err(|e| read_err(&config.tls_key, e))?;
        let client = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| ClusterError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_client_auth_cert(certs, key)
            .map_err(|e| read_err(&config.tls_key, e))?;
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(server)),
            connector: TlsConnector::from(Arc::new(client)),
        })
    }
}

/// The name a peer's certificate must carry: its node name.
pub fn peer_name(node: &str) -> Result<ServerName<'static>, ClusterError> {
    ServerName::try_from(node.to_owned())
        .map_err(|_| ClusterError::Tls(format!("{node:?} is not a valid certificate name")))
}
