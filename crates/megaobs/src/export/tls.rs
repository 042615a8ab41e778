//! [`ExportTls`]: which servers an export trusts and which client certificate
//! it shows, from PEM files (`OTEL_EXPORTER_OTLP_CERTIFICATE`,
//! `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`, `OTEL_EXPORTER_OTLP_CLIENT_KEY`).
//!
//! One loaded form serves both transports: a rustls `ClientConfig` (ring
//! provider) for the HTTP clients, and tonic's `ClientTlsConfig` (also rustls
//! with ring) for gRPC.

use std::path::{Path, PathBuf};

/// TLS settings of an exporter: a private CA and a client certificate, as PEM
/// file paths. Without a CA file, the bundled public web roots (Mozilla's, via
/// `webpki-roots`) are trusted, so a scratch container needs no CA store.
/// TLS is used for `https://` endpoints only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportTls {
    /// PEM file of the CA certificate(s) that sign the server's certificate;
    /// when set, only these are trusted (`OTEL_EXPORTER_OTLP_CERTIFICATE`).
    pub ca_certificate: Option<PathBuf>,
    /// PEM file of the client certificate chain for mTLS
    /// (`OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`).
    pub client_certificate: Option<PathBuf>,
    /// PEM file of the client certificate's private key (PKCS#8, PKCS#1 or
    /// SEC1; `OTEL_EXPORTER_OTLP_CLIENT_KEY`).
    pub client_key: Option<PathBuf>,
}

/// Which of the three files a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TlsFile {
    Ca,
    ClientCertificate,
    ClientKey,
}

impl TlsFile {
    fn what(self) -> &'static str {
        match self {
            Self::Ca => "a CA certificate",
            Self::ClientCertificate => "a client certificate",
            Self::ClientKey => "a client private key",
        }
    }
}

/// A file that cannot serve: which, where, why.
#[derive(Debug)]
pub(crate) struct TlsProblem {
    pub(crate) file: TlsFile,
    pub(crate) path: PathBuf,
    pub(crate) reason: String,
}

impl TlsProblem {
    /// The crate error, naming `setting` (a variable or a field).
    pub(crate) fn into_error(self, setting: &'static str) -> crate::Error {
        crate::Error::TlsFile {
            setting,
            path: self.path,
            what: self.file.what(),
            reason: self.reason,
        }
    }
}

/// The files read and checked: PEM text (what tonic takes) and DER (what
/// rustls takes).
#[derive(Clone)]
pub(crate) struct LoadedTls {
    ca_pem: Option<Vec<u8>>,
    ca: Vec<rustls_pki_types::CertificateDer<'static>>,
    identity: Option<Identity>,
}

#[derive(Clone)]
struct Identity {
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
    chain: Vec<rustls_pki_types::CertificateDer<'static>>,
    key: std::sync::Arc<rustls_pki_types::PrivateKeyDer<'static>>,
}

impl ExportTls {
    /// Whether anything differs from the default (public roots, no client certificate).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// Reads and checks the files: each must exist, be readable and hold what
    /// it should; a client certificate needs its key and the reverse.
    pub(crate) fn load(&self) -> Result<LoadedTls, TlsProblem> {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer};
        let read = |file: TlsFile, path: &Path| {
            std::fs::read(path).map_err(|e| TlsProblem {
                file,
                path: path.to_path_buf(),
                reason: format!("{e}"),
            })
        };
        let certs = |file: TlsFile, path: &Path, pem: &[u8]| {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
                .collect::<Result<_, _>>()
                .map_err(|e| TlsProblem {
                    file,
                    path: path.to_path_buf(),
                    reason: format!("not valid PEM ({e:?})"),
                })?;
            if certs.is_empty() {
                return Err(TlsProblem {
                    file,
                    path: path.to_path_buf(),
                    reason: "no PEM certificate (-----BEGIN CERTIFICATE-----) in it".into(),
                });
            }
            Ok(certs)
        };
        let mut loaded = LoadedTls {
            ca_pem: None,
            ca: Vec::new(),
            identity: None,
        };
        if let Some(path) = &self.ca_certificate {
            let pem = read(TlsFile::Ca, path)?;
            loaded.ca = certs(TlsFile::Ca, path, &pem)?;
            loaded.ca_pem = Some(pem);
        }
        match (&self.client_certificate, &self.client_key) {
            (None, None) => {}
            (Some(cert_path), Some(key_path)) => {
                let cert_pem = read(TlsFile::ClientCertificate, cert_path)?;
                let chain = certs(TlsFile::ClientCertificate, cert_path, &cert_pem)?;
                let key_pem = read(TlsFile::ClientKey, key_path)?;
                let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsProblem {
                    file: TlsFile::ClientKey,
                    path: key_path.clone(),
                    reason: match e {
                        rustls_pki_types::pem::Error::NoItemsFound => {
                            "no PEM private key (-----BEGIN PRIVATE KEY-----) in it".into()
                        }
                        other => format!("not a valid PEM private key ({other:?})"),
                    },
                })?;
                loaded.identity = Some(Identity {
                    cert_pem,
                    key_pem,
                    chain,
                    key: std::sync::Arc::new(key),
                });
            }
            (Some(cert_path), None) => {
                return Err(TlsProblem {
                    file: TlsFile::ClientKey,
                    path: cert_path.clone(),
                    reason: "a client certificate needs its private key: set OTEL_EXPORTER_OTLP_CLIENT_KEY too".into(),
                })
            }
            (None, Some(key_path)) => {
                return Err(TlsProblem {
                    file: TlsFile::ClientCertificate,
                    path: key_path.clone(),
                    reason: "a client key needs its certificate: set OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE too".into(),
                })
            }
        }
        // Let rustls itself accept the material now, so a certificate that
        // does not match its key fails at start-up, not at the first export.
        loaded.rustls_config().map_err(|e| TlsProblem {
            file: TlsFile::ClientKey,
            path: self.client_key.clone().unwrap_or_default(),
            reason: e,
        })?;
        Ok(loaded)
    }
}

/// The ring provider, named once (no process-wide default is relied on).
fn provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    std::sync::Arc::new(rustls::crypto::ring::default_provider())
}

/// Installs ring as the process's rustls provider when none is: HTTP clients
/// built with default settings (reqwest's, in this process) then find one.
/// Harmless when the application installed its own first.
pub(crate) fn ensure_process_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

impl LoadedTls {
    /// The client configuration for the HTTP exporters.
    pub(crate) fn rustls_config(&self) -> Result<rustls::ClientConfig, String> {
        let mut roots = rustls::RootCertStore::empty();
        if self.ca.is_empty() {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        } else {
            for cert in &self.ca {
                roots
                    .add(cert.clone())
                    .map_err(|e| format!("the CA certificate is not usable: {e}"))?;
            }
        }
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots);
        match &self.identity {
            Some(id) => builder
                .with_client_auth_cert(id.chain.clone(), id.key.clone_key())
                .map_err(|e| format!("the client certificate and key do not fit together: {e}")),
            None => Ok(builder.with_no_client_auth()),
        }
    }

    /// The same trust and identity for tonic's gRPC channel.
    #[cfg(feature = "otlp")]
    pub(crate) fn tonic_config(
        &self,
    ) -> opentelemetry_otlp::tonic_types::transport::ClientTlsConfig {
        use opentelemetry_otlp::tonic_types::transport::{Certificate, ClientTlsConfig, Identity};
        let mut config = ClientTlsConfig::new();
        config = match &self.ca_pem {
            Some(pem) => config.ca_certificate(Certificate::from_pem(pem)),
            None => config.with_webpki_roots(),
        };
        if let Some(id) = &self.identity {
            config = config.identity(Identity::from_pem(&id.cert_pem, &id.key_pem));
        }
        config
    }
}
