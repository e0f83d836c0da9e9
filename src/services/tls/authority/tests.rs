//! The lab CA's certificates checked the way a client checks them
//! (rustls' webpki verifier): the names and addresses they are for, the
//! ones they are not, their validity window, and one lab's CA not
//! vouching for another lab's servers.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use super::*;

fn mail_server() -> Subject {
    Subject {
        names: vec!["mail.mt.com".into(), "mt.com".into(), "server0".into()],
        addresses: vec![IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10))],
    }
}

fn web_server() -> Subject {
    Subject {
        names: vec!["www.mt.com".into(), "web".into()],
        addresses: vec![IpAddr::V4(Ipv4Addr::new(192, 168, 1, 20))],
    }
}

fn verifier(ca_pem: &str) -> Arc<WebPkiServerVerifier> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::new(rustls::crypto::ring::default_provider()),
    )
    .build()
    .unwrap()
}

/// Whether a client trusting `ca_pem` accepts `issued` for `name` at `at`.
fn accepts(ca_pem: &str, issued: &Issued, name: &str, at: SystemTime) -> Result<(), String> {
    let chain: Vec<CertificateDer> = CertificateDer::pem_slice_iter(issued.chain_pem.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    let name = ServerName::try_from(name.to_string()).unwrap();
    let now = UnixTime::since_unix_epoch(at.duration_since(UNIX_EPOCH).unwrap());
    verifier(ca_pem)
        .verify_server_cert(&chain[0], &chain[1..], &name, &[], now)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[test]
fn a_certificate_is_for_its_names_and_addresses_only() {
    let ca = LabCa::generate("t1", &[mail_server(), web_server()]).unwrap();
    let mail = ca.issue(&mail_server()).unwrap();
    let now = SystemTime::now();
    for name in [
        "mail.mt.com",
        "mt.com",
        "server0",
        "192.168.1.10",
        "MAIL.MT.COM",
    ] {
        assert_eq!(accepts(&ca.cert_pem, &mail, name, now), Ok(()), "{name}");
    }
    for name in ["www.mt.com", "other.mt.com", "192.168.1.20", "example.com"] {
        let refused = accepts(&ca.cert_pem, &mail, name, now).unwrap_err();
        assert!(refused.contains("not valid for name"), "{name}: {refused}");
    }
    let web = ca.issue(&web_server()).unwrap();
    assert_eq!(accepts(&ca.cert_pem, &web, "www.mt.com", now), Ok(()));
}

#[test]
fn certificates_are_valid_from_just_before_up_for_the_validity_period() {
    let ca = LabCa::generate("t2", &[mail_server()]).unwrap();
    let mail = ca.issue(&mail_server()).unwrap();
    let now = SystemTime::now();
    let day = Duration::from_secs(24 * 3600);
    assert_eq!(
        accepts(&ca.cert_pem, &mail, "mt.com", now + VALIDITY - day),
        Ok(())
    );
    assert_eq!(
        accepts(&ca.cert_pem, &mail, "mt.com", now - BACKDATED / 2),
        Ok(()),
        "a clock a little behind still accepts it"
    );
    let expired = accepts(&ca.cert_pem, &mail, "mt.com", now + VALIDITY + day).unwrap_err();
    assert!(expired.contains("expired"), "{expired}");
    let early = accepts(&ca.cert_pem, &mail, "mt.com", now - 2 * BACKDATED).unwrap_err();
    assert!(early.contains("not valid yet"), "{early}");
}

#[test]
fn each_lab_has_its_own_ca() {
    let first = LabCa::generate("a", &[mail_server()]).unwrap();
    let second = LabCa::generate("b", &[mail_server()]).unwrap();
    assert_ne!(first.cert_pem, second.cert_pem);
    assert_ne!(first.key_pem, second.key_pem);
    let from_second = second.issue(&mail_server()).unwrap();
    let refused = accepts(&first.cert_pem, &from_second, "mt.com", SystemTime::now()).unwrap_err();
    assert!(refused.contains("UnknownIssuer"), "{refused}");
}

#[test]
fn the_ca_cannot_vouch_for_names_outside_the_lab() {
    let ca = LabCa::generate("t3", &[mail_server()]).unwrap();
    // A certificate the CA key signs for a name no server of the lab has
    // (as someone holding the key could): clients refuse it.
    let outside = Subject {
        names: vec!["bank.example".into()],
        addresses: vec![IpAddr::V4(Ipv4Addr::new(10, 9, 9, 9))],
    };
    let forged = ca.issue(&outside).unwrap();
    let refused = accepts(&ca.cert_pem, &forged, "bank.example", SystemTime::now()).unwrap_err();
    assert!(refused.to_lowercase().contains("name"), "{refused}");
    let refused = accepts(&ca.cert_pem, &forged, "10.9.9.9", SystemTime::now()).unwrap_err();
    assert!(refused.to_lowercase().contains("name"), "{refused}");
}

#[test]
fn a_name_that_cannot_be_in_a_certificate_is_an_error() {
    let ca = LabCa::generate("t4", &[]).unwrap();
    let bad = Subject {
        names: vec!["not a name".into()],
        addresses: vec![],
    };
    let error = format!("{:#}", ca.issue(&bad).unwrap_err());
    assert!(error.contains("`not a name`"), "{error}");
}
