//! SASL PLAIN (RFC 4616) and LOGIN responses as SMTP AUTH (RFC 4954) and
//! POP3 AUTH carry them: base64 on one line, `*` to cancel.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Why a response is not usable; each has its own reply.
#[derive(Debug, PartialEq, Eq)]
pub enum SaslError {
    /// The client sent `*`.
    Cancelled,
    /// Not base64, or not the shape the mechanism needs.
    Malformed,
}

/// Decodes one base64 response (`=` is the empty response).
pub fn decode(response: &[u8]) -> Result<Vec<u8>, SaslError> {
    match response {
        b"*" => Err(SaslError::Cancelled),
        b"=" => Ok(Vec::new()),
        _ => STANDARD.decode(response).map_err(|_| SaslError::Malformed),
    }
}

/// Text for a challenge line.
pub fn encode(text: &str) -> String {
    STANDARD.encode(text)
}

/// PLAIN: `authzid NUL authcid NUL password`; returns (authcid, password).
pub fn plain(response: &[u8]) -> Result<(String, String), SaslError> {
    let decoded = decode(response)?;
    let mut parts = decoded.split(|&b| b == 0);
    let (Some(_authzid), Some(user), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SaslError::Malformed);
    };
    Ok((text(user)?, text(password)?))
}

/// One LOGIN step (user name or password).
pub fn login_step(response: &[u8]) -> Result<String, SaslError> {
    text(&decode(response)?)
}

fn text(bytes: &[u8]) -> Result<String, SaslError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| SaslError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_login() {
        assert_eq!(
            plain(b"AGFkYQBzZWNyZXQ="),
            Ok(("ada".to_string(), "secret".to_string()))
        );
        assert_eq!(plain(b"*"), Err(SaslError::Cancelled));
        assert_eq!(plain(b"not base64!"), Err(SaslError::Malformed));
        assert_eq!(
            plain(&encode("ada\0secret").into_bytes()),
            Err(SaslError::Malformed)
        );
        assert_eq!(login_step(b"YWRh"), Ok("ada".to_string()));
        assert_eq!(encode("Username:"), "VXNlcm5hbWU6");
    }
}
