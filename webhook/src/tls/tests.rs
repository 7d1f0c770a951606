//! Certificate rotation through a real TLS handshake (kubert's `server/tests.rs` style).

use super::*;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::{ClientConfig, RootCertStore, pki_types::ServerName};
use std::net::SocketAddr;
use tokio_rustls::TlsConnector;

struct Ca {
    cert: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

fn ca() -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    Ca {
        cert: cert.der().clone(),
        issuer: Issuer::new(params, key),
    }
}

/// A leaf for `localhost` signed by `ca`: (cert PEM, key PEM, cert DER).
fn leaf(ca: &Ca) -> (String, String, Vec<u8>) {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca.issuer)
        .unwrap();
    (cert.pem(), key.serialize_pem(), cert.der().to_vec())
}

fn write(dir: &Path, (cert, key, _): &(String, String, Vec<u8>)) -> CertFiles {
    // Like a Secret volume: the files are symlinks into a directory that gets replaced.
    let data = dir.join(format!("..data-{}", rand_suffix()));
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("tls.crt"), cert).unwrap();
    std::fs::write(data.join("tls.key"), key).unwrap();
    let link = dir.join("..data");
    let tmp = dir.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&data, &tmp).unwrap();
    std::fs::rename(&tmp, &link).unwrap();
    for f in ["tls.crt", "tls.key"] {
        if std::fs::symlink_metadata(dir.join(f)).is_err() {
            std::os::unix::fs::symlink(Path::new("..data").join(f), dir.join(f)).unwrap();
        }
    }
    CertFiles {
        cert: dir.join("tls.crt"),
        key: dir.join("tls.key"),
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// The certificate the server at `addr` presents.
async fn served_cert(addr: SocketAddr, ca: &Ca) -> Vec<u8> {
    let mut roots = RootCertStore::empty();
    roots.add(ca.cert.clone()).unwrap();
    let mut config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let (_, conn) = tls.get_ref();
    assert_eq!(conn.alpn_protocol(), Some(&b"h2"[..]));
    conn.peer_certificates().unwrap()[0].to_vec()
}

#[tokio::test]
async fn a_rotated_certificate_is_served_after_the_next_poll() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca();
    let (a, b) = (leaf(&ca), leaf(&ca));
    let files = write(dir.path(), &a);
    let (config, mut reloader) = files.load().unwrap();

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = axum_server::Handle::new();
    let server = axum_server::from_tcp_rustls(listener, config)
        .unwrap()
        .handle(handle.clone());
    tokio::spawn(server.serve(axum::Router::new().into_make_service()));

    assert_eq!(served_cert(addr, &ca).await, a.2);
    assert!(!reloader.poll().unwrap(), "unchanged files are not reloaded");

    write(dir.path(), &b);
    assert!(reloader.poll().unwrap());
    assert_eq!(served_cert(addr, &ca).await, b.2);
    handle.shutdown();
}

#[tokio::test]
async fn a_bad_new_certificate_keeps_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca();
    let good = leaf(&ca);
    let files = write(dir.path(), &good);
    let (config, mut reloader) = files.load().unwrap();
    let before = config.get_inner();

    let other = leaf(&ca);
    // A key that does not belong to the certificate.
    write(dir.path(), &(good.0.clone(), other.1.clone(), vec![]));
    assert!(reloader.poll().is_err());
    assert!(Arc::ptr_eq(&before, &config.get_inner()));
    assert!(!reloader.poll().unwrap(), "the same bad pair is reported once");
}

#[test]
fn start_up_errors_name_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let missing = CertFiles {
        cert: dir.path().join("nope.crt"),
        key: dir.path().join("nope.key"),
    };
    let e = missing.load().err().unwrap().to_string();
    assert!(e.starts_with("--tls-cert "), "{e}");

    std::fs::write(dir.path().join("c"), "not pem").unwrap();
    std::fs::write(dir.path().join("k"), "not pem").unwrap();
    let garbage = CertFiles {
        cert: dir.path().join("c"),
        key: dir.path().join("k"),
    };
    let e = garbage.load().err().unwrap().to_string();
    assert!(
        e.contains("--tls-cert") && e.contains("no PEM certificate"),
        "{e}"
    );
}

#[test]
fn alpn_offers_h2_then_http_1_1() {
    let dir = tempfile::tempdir().unwrap();
    let files = write(dir.path(), &leaf(&ca()));
    let (config, _) = files.load().unwrap();
    let inner = config.get_inner();
    assert_eq!(inner.alpn_protocols, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
}
