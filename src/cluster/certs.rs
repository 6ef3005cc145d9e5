//! `hellojohn cluster gen-certs`: a development CA and one certificate per node, for the
//! mutual TLS of inter-node links. Production clusters use certificates from their own CA
//! (cert-manager, Vault); the layout is the same.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};

/// Why certificates could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("node name {0:?}: letters, digits, '-', '_' and '.' only")]
    Name(String),
}

/// Writes `ca.pem`, `ca.key` and, for each node, `<node>.pem` and `<node>.key` into `out`.
/// A node's certificate names the node (peers check it against the name the database
/// lists), `localhost` and 127.0.0.1, and serves both sides of a link.
pub fn gen_certs(out: &Path, nodes: &[String]) -> Result<Vec<PathBuf>, CertError> {
    for node in nodes {
        if node.is_empty()
            || !node
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(CertError::Name(node.clone()));
        }
    }
    std::fs::create_dir_all(out).map_err(|source| CertError::Write {
        path: out.to_owned(),
        source,
    })?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "hellojohn cluster CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate()?;
    let ca = ca_params.self_signed(&ca_key)?;
    let mut written = vec![
        write(out, "ca.pem", &ca.pem(), false)?,
        write(out, "ca.key", &ca_key.serialize_pem(), true)?,
    ];
    for node in nodes {
        let mut params = CertificateParams::new(vec![node.clone(), "localhost".to_owned(), "127.0.0.1".to_owned()])?;
        params.distinguished_name.push(DnType::CommonName, node.as_str());
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &ca, &ca_key)?;
        written.push(write(out, &format!("{node}.pem"), &cert.pem(), false)?);
        written.push(write(out, &format!("{node}.key"), &key.serialize_pem(), true)?);
    }
    Ok(written)
}

fn write(dir: &Path, name: &str, text: &str, secret: bool) -> Result<PathBuf, CertError> {
    let path = dir.join(name);
    let fail = |source| CertError::Write {
        path: path.clone(),
        source,
    };
    std::fs::write(&path, text).map_err(fail)?;
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(fail)?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    Ok(path)
}
