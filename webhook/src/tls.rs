//! TLS for the admission port: the only module that touches rustls.
//!
//! Certificates are loaded once before binding (a bad path or PEM fails start-up with a
//! message naming the flag), then re-read every poll interval. Kubernetes updates a
//! mounted Secret by swapping a `..data` symlink, so the files are read through their
//! symlinks and compared by content, never by modification time. A new pair that does not
//! load is logged and the old one keeps serving.

use axum_server::tls_rustls::RustlsConfig;
use rustls::{
    ServerConfig,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    version::{TLS12, TLS13},
};
use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

/// Why a certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read.
    #[error("{flag} {}: {source}", path.display())]
    Read {
        /// `--tls-cert` or `--tls-key`.
        flag: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The certificate file holds no PEM certificate.
    #[error("--tls-cert {}: no PEM certificate found ({reason})", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
        /// What the PEM reader said.
        reason: String,
    },
    /// The key file holds no usable PEM private key.
    #[error("--tls-key {}: no PEM private key found ({reason})", path.display())]
    NoKey {
        /// The file.
        path: PathBuf,
        /// What the PEM reader said.
        reason: String,
    },
    /// rustls rejected the pair (e.g. the key does not match the certificate).
    #[error("--tls-cert/--tls-key: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The cert and key files as last read.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pem {
    cert: Vec<u8>,
    key: Vec<u8>,
}

/// A certificate pair on disk.
#[derive(Debug, Clone)]
pub struct CertFiles {
    /// `--tls-cert`.
    pub cert: PathBuf,
    /// `--tls-key`.
    pub key: PathBuf,
}

// === impl CertFiles ===

impl CertFiles {
    fn read(&self) -> Result<Pem, TlsError> {
        let read = |flag, path: &Path| {
            std::fs::read(path).map_err(|source| TlsError::Read {
                flag,
                path: path.to_path_buf(),
                source,
            })
        };
        Ok(Pem {
            cert: read("--tls-cert", &self.cert)?,
            key: read("--tls-key", &self.key)?,
        })
    }

    fn config(&self, pem: &Pem) -> Result<Arc<ServerConfig>, TlsError> {
        let certs = CertificateDer::pem_slice_iter(&pem.cert)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::NoCertificate {
                path: self.cert.clone(),
                reason: e.to_string(),
            })?;
        if certs.is_empty() {
            return Err(TlsError::NoCertificate {
                path: self.cert.clone(),
                reason: "the file is empty".into(),
            });
        }
        let key = PrivateKeyDer::from_pem_slice(&pem.key).map_err(|e| TlsError::NoKey {
            path: self.key.clone(),
            reason: e.to_string(),
        })?;
        // NB: an explicit provider, so this never depends on (or panics for lack of) a
        // process-wide default.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&TLS13, &TLS12])?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// Loads the pair once (start-up: errors are fatal) and returns a reloader for it.
    pub fn load(self) -> Result<(RustlsConfig, Reloader), TlsError> {
        let pem = self.read()?;
        let config = RustlsConfig::from_config(self.config(&pem)?);
        let reloader = Reloader {
            files: self,
            config: config.clone(),
            seen: pem,
        };
        Ok((config, reloader))
    }
}

/// Re-reads the pair and swaps it into the running server when it changes.
pub struct Reloader {
    files: CertFiles,
    config: RustlsConfig,
    /// What the files held at the last poll (loaded or not: a bad pair is reported once).
    seen: Pem,
}

// === impl Reloader ===

impl Reloader {
    /// Checks the files once; `Ok(true)` when a new pair now serves.
    pub fn poll(&mut self) -> Result<bool, TlsError> {
        let pem = self.files.read()?;
        if pem == self.seen {
            return Ok(false);
        }
        self.seen = pem.clone();
        let config = self.files.config(&pem)?;
        self.config.reload_from_config(config);
        Ok(true)
    }

    /// Polls every `interval` forever.
    pub async fn run(mut self, interval: Duration) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match self.poll() {
                Ok(true) => tracing::info!(cert = %self.files.cert.display(), "serving certificate reloaded"),
                Ok(false) => {}
                Err(error) => {
                    tracing::error!(%error, "new serving certificate not loaded; the old one stays")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
