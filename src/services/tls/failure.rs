//! Why a client's TLS handshake failed, in words a check can build on: the
//! certificate names someone else (with the names it has), it does not
//! come from the lab's CA, or something else went wrong. rustls says all
//! of this inside an `io::Error`; this is where it is taken out.

use std::io;
use std::time::Duration;

use rustls::CertificateError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeFailure {
    /// The certificate is not for the name the client asked for.
    #[error("the server's certificate is for {}, not for {expected}", names_text(.presented))]
    WrongName {
        expected: String,
        /// The names and addresses in the certificate, as written there.
        presented: Vec<String>,
    },
    /// Not signed by a CA the client trusts (here: the lab's).
    #[error("the server's certificate does not come from the lab's CA")]
    UnknownIssuer,
    /// The name to check cannot be a certificate's name at all.
    #[error("`{0}` is not a name a certificate can have")]
    BadName(String),
    #[error("no TLS handshake within {:.0} s", .0.as_secs_f64())]
    Timeout(Duration),
    #[error("{0}")]
    Other(String),
}

impl HandshakeFailure {
    /// What an error from a tokio-rustls handshake means.
    pub fn from_io(error: &io::Error) -> HandshakeFailure {
        let rustls_error = error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>());
        match rustls_error {
            Some(rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
                expected,
                presented,
            })) => HandshakeFailure::WrongName {
                expected: expected.to_str().into_owned(),
                presented: presented.iter().map(|p| plain_name(p)).collect(),
            },
            Some(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)) => {
                HandshakeFailure::UnknownIssuer
            }
            Some(other) => HandshakeFailure::Other(format!("TLS failed: {other}")),
            None => HandshakeFailure::Other(format!("TLS failed: {error}")),
        }
    }
}

/// webpki writes a certificate's names as `DnsName("mail.mt.com")` and
/// `IpAddress(10.9.0.10)`: the name or address alone.
fn plain_name(presented: &str) -> String {
    let inner = presented
        .strip_prefix("DnsName(\"")
        .and_then(|rest| rest.strip_suffix("\")"))
        .or_else(|| {
            presented
                .strip_prefix("IpAddress(")
                .and_then(|rest| rest.strip_suffix(')'))
        });
    inner.unwrap_or(presented).to_string()
}

/// `a, b and c`; `no name at all` when empty.
pub fn names_text(names: &[String]) -> String {
    match names {
        [] => "no name at all".to_string(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_as_written_in_the_certificate() {
        assert_eq!(plain_name("DnsName(\"mail.mt.com\")"), "mail.mt.com");
        assert_eq!(plain_name("IpAddress(10.9.0.10)"), "10.9.0.10");
        assert_eq!(plain_name("DirectoryName"), "DirectoryName");
        let wrong = HandshakeFailure::WrongName {
            expected: "pop.mt.com".into(),
            presented: vec!["mail.mt.com".into(), "mail0".into(), "10.9.0.10".into()],
        };
        assert_eq!(
            wrong.to_string(),
            "the server's certificate is for mail.mt.com, mail0 and 10.9.0.10, not for pop.mt.com"
        );
    }
}
