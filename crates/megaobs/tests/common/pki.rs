//! Certificates made at test time (rcgen): a private CA, server certificates
//! for `localhost`/`127.0.0.1` (valid, expired, or from another CA) and a
//! client certificate, written as PEM files.

use std::path::PathBuf;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};

use super::receivers::ServerTls;

/// A CA and what it signed, as PEM text and files in a temporary directory.
pub struct Pki {
    pub dir: tempfile::TempDir,
    ca: CertifiedIssuer<'static, KeyPair>,
    pub ca_file: PathBuf,
}

/// A certificate and its key, as PEM text and files.
pub struct Leaf {
    pub cert_pem: String,
    pub key_pem: String,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

impl Pki {
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} test CA"));
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join(format!("{name}-ca.pem"));
        std::fs::write(&ca_file, ca.pem()).unwrap();
        Self { dir, ca, ca_file }
    }

    fn leaf(&self, file: &str, mut params: CertificateParams) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let cert = params_signed(&mut params, &key, &self.ca);
        let cert_file = self.dir.path().join(format!("{file}.pem"));
        let key_file = self.dir.path().join(format!("{file}-key.pem"));
        std::fs::write(&cert_file, &cert).unwrap();
        std::fs::write(&key_file, key.serialize_pem()).unwrap();
        Leaf {
            cert_pem: cert,
            key_pem: key.serialize_pem(),
            cert_file,
            key_file,
        }
    }

    /// A server certificate for `localhost` and `127.0.0.1`.
    pub fn server(&self) -> Leaf {
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.leaf("server", params)
    }

    /// A server certificate that expired in 2020.
    pub fn expired_server(&self) -> Leaf {
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2019, 1, 1);
        params.not_after = rcgen::date_time_ymd(2020, 1, 1);
        self.leaf("expired-server", params)
    }

    /// A client certificate for mTLS.
    pub fn client(&self) -> Leaf {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "megaobs test client");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.leaf("client", params)
    }

    /// Server TLS with `leaf`; with `require_client`, clients must show a
    /// certificate signed by this CA.
    pub fn server_tls(&self, leaf: &Leaf, require_client: bool) -> ServerTls {
        ServerTls {
            cert_pem: leaf.cert_pem.clone(),
            key_pem: leaf.key_pem.clone(),
            client_ca_pem: require_client.then(|| self.ca.pem()),
        }
    }
}

fn params_signed(
    params: &mut CertificateParams,
    key: &KeyPair,
    ca: &CertifiedIssuer<'static, KeyPair>,
) -> String {
    params.signed_by(key, ca).unwrap().pem()
}
