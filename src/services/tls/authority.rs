//! A lab's own certificate authority: made at `up`, one per lab, and the
//! certificates it issues to the lab's servers for their names and
//! addresses. Keys are ECDSA P-256 (rcgen's default, which every client
//! in the course speaks). The CA is name-constrained to the lab's own
//! names and addresses, so a CA a student imports into a browser on the
//! host cannot vouch for any other site.

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    NameConstraints, SanType,
};

/// How long the CA and its certificates are valid: far longer than a lab
/// runs, within the 398 days browsers accept for a server certificate.
pub const VALIDITY: Duration = Duration::from_secs(90 * 24 * 3600);
/// Validity starts this long before `up`, so a clock a little behind
/// (another host reading an exported CA) still accepts it.
pub const BACKDATED: Duration = Duration::from_secs(3600);

/// What one server's certificate names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subject {
    /// DNS names, the first one the certificate's common name.
    pub names: Vec<String>,
    pub addresses: Vec<IpAddr>,
}

/// A certificate and its private key, both PEM.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The server's certificate followed by the CA's (the chain a server sends).
    pub chain_pem: String,
    pub key_pem: String,
}

/// The lab's CA: its certificate (what clients trust) and key.
pub struct LabCa {
    pub cert_pem: String,
    pub key_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl LabCa {
    /// A new CA for lab `lab`, allowed to certify only `subjects`' names
    /// and addresses.
    pub fn generate(lab: &str, subjects: &[Subject]) -> Result<LabCa> {
        let key = KeyPair::generate().context("cannot generate the lab CA's key")?;
        let mut params = CertificateParams::default();
        params.distinguished_name = distinguished_name(&format!("labctl lab {lab} CA"));
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.name_constraints = Some(name_constraints(subjects));
        set_validity(&mut params);
        let cert = params
            .self_signed(&key)
            .context("cannot make the lab CA's certificate")?;
        let key_pem = key.serialize_pem();
        Ok(LabCa {
            cert_pem: cert.pem(),
            key_pem,
            issuer: Issuer::new(params, key),
        })
    }

    /// A server certificate for `subject`, signed by this CA.
    pub fn issue(&self, subject: &Subject) -> Result<Issued> {
        let key = KeyPair::generate().context("cannot generate a server key")?;
        let mut params = CertificateParams::default();
        let common_name = subject
            .names
            .first()
            .map(String::as_str)
            .unwrap_or("labctl server");
        params.distinguished_name = distinguished_name(common_name);
        params.subject_alt_names = sans(subject)?;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        set_validity(&mut params);
        let cert = params
            .signed_by(&key, &self.issuer)
            .with_context(|| format!("cannot issue the certificate of {common_name}"))?;
        Ok(Issued {
            chain_pem: format!("{}{}", cert.pem(), self.cert_pem),
            key_pem: key.serialize_pem(),
        })
    }
}

fn distinguished_name(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, "labctl");
    name.push(DnType::CommonName, common_name);
    name
}

fn set_validity(params: &mut CertificateParams) {
    let now = SystemTime::now();
    params.not_before = (now - BACKDATED).into();
    params.not_after = (now + VALIDITY).into();
}

fn sans(subject: &Subject) -> Result<Vec<SanType>> {
    let mut sans = Vec::new();
    for name in &subject.names {
        // rcgen takes any ASCII; clients take host names only.
        let problem = || format!("`{name}` cannot be a certificate's DNS name");
        rustls::pki_types::DnsName::try_from(name.as_str()).with_context(problem)?;
        let dns = name.clone().try_into().with_context(problem)?;
        sans.push(SanType::DnsName(dns));
    }
    sans.extend(subject.addresses.iter().copied().map(SanType::IpAddress));
    Ok(sans)
}

fn name_constraints(subjects: &[Subject]) -> NameConstraints {
    let mut permitted = Vec::new();
    for subject in subjects {
        for name in &subject.names {
            let subtree = GeneralSubtree::DnsName(name.clone());
            if !permitted.contains(&subtree) {
                permitted.push(subtree);
            }
        }
        for address in &subject.addresses {
            let prefix = if address.is_ipv4() { 32 } else { 128 };
            let subtree = GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(*address, prefix));
            if !permitted.contains(&subtree) {
                permitted.push(subtree);
            }
        }
    }
    NameConstraints {
        permitted_subtrees: permitted,
        excluded_subtrees: Vec::new(),
    }
}

#[cfg(test)]
mod tests;
