//! DKIM signing (RFC 6376, Ed25519-SHA256 by RFC 8463) of the mail a
//! server's logged-in users send: the key is chosen by the From domain, so
//! only mail from one of the server's own domains is signed.

use anyhow::{Context, Result};
use mail_auth::AuthenticatedMessage;
use mail_auth::common::crypto::Ed25519Key;
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::{DkimSigner, Done};

use crate::lab::dkim::signing_key;
use crate::lab::topology::DkimKey;

/// The header fields signed, when present (RFC 6376 §5.4.1's list).
const SIGNED: [&str; 10] = [
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "Reply-To",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
];

pub struct Signer {
    /// Domain (lower case) and its signer.
    signers: Vec<(String, DkimSigner<Ed25519Key, Done>)>,
}

impl Signer {
    /// A signer for every key that `up` completed.
    pub fn new(keys: &[DkimKey]) -> Result<Signer> {
        let mut signers = Vec::new();
        for key in keys {
            let private = key
                .private_key
                .as_deref()
                .with_context(|| format!("the DKIM key of {} was never made", key.domain))?;
            let signer = DkimSigner::from_key(signing_key(private)?)
                .domain(key.domain.clone())
                .selector(key.selector.clone())
                .headers(SIGNED);
            signers.push((key.domain.to_ascii_lowercase(), signer));
        }
        Ok(Signer { signers })
    }

    /// The `DKIM-Signature:` header for `message`, or None when its From
    /// domain is not one this server signs for.
    pub fn sign(&self, message: &[u8]) -> Option<String> {
        let parsed = AuthenticatedMessage::parse(message)?;
        let from = parsed.from.first()?;
        let domain = from.rsplit_once('@')?.1.to_ascii_lowercase();
        let (_, signer) = self.signers.iter().find(|(d, _)| *d == domain)?;
        signer.sign(message).ok().map(|s| s.to_header())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::dkim::new_key;

    #[test]
    fn signs_mail_from_its_own_domains_only() {
        let signer = Signer::new(&[DkimKey {
            domain: "uts.edu.au".into(),
            selector: "s1".into(),
            private_key: Some(new_key().unwrap()),
            publish: false,
        }])
        .unwrap();
        let ours = b"From: Dean <dean@UTS.edu.au>\r\nTo: a@b.org\r\nSubject: hi\r\n\r\nbody\r\n";
        let header = signer.sign(ours).expect("signed");
        assert!(header.starts_with("DKIM-Signature: "), "{header}");
        assert!(header.contains("d=uts.edu.au"), "{header}");
        assert!(header.contains("s=s1"), "{header}");
        assert!(header.contains("a=ed25519-sha256"), "{header}");
        let other = b"From: x@elsewhere.org\r\nSubject: hi\r\n\r\nbody\r\n";
        assert_eq!(signer.sign(other), None);
    }

    #[test]
    fn a_key_never_made_is_an_error() {
        let unmade = DkimKey {
            domain: "uts.edu.au".into(),
            selector: "s1".into(),
            private_key: None,
            publish: false,
        };
        let Err(e) = Signer::new(&[unmade]) else {
            panic!("accepted");
        };
        assert!(e.to_string().contains("uts.edu.au"));
    }
}
