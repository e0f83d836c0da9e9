//! How a PC's mail client protects its connections, as its `security:`
//! setting says (Thunderbird's "Connection security"): plain text, STARTTLS
//! (STLS for POP3) before logging in, or TLS from the first byte on the
//! implicit-TLS ports. With TLS the server's certificate is checked against
//! the lab's CA for the server's name as the settings write it; a
//! certificate that does not verify ends the session, never a silent
//! fallback to plain text.

use std::time::Duration;

use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::lab::model_agents::{MailProtocol, MailSecurity};
use crate::services::tls::failure::HandshakeFailure;
use crate::services::tls::transport::{self, ReadHalf, WriteHalf};

pub const SUBMISSION_PORT: u16 = 587;
pub const SUBMISSIONS_PORT: u16 = 465;
pub const POP3_PORT: u16 = 110;
pub const POP3S_PORT: u16 = 995;
pub const IMAP_PORT: u16 = 143;
pub const IMAPS_PORT: u16 = 993;

/// What a client trusts and whom it expects: the lab's CA, and the
/// server's name (or address) as the settings write it.
#[derive(Clone)]
pub struct Trust {
    pub connector: TlsConnector,
    pub name: String,
}

/// How one connection is protected.
#[derive(Clone, Default)]
pub enum Security {
    /// Plain text throughout.
    #[default]
    Plain,
    /// STARTTLS/STLS before anything else; a server that refuses it is
    /// an error.
    StartTls(Trust),
    /// STARTTLS when the server offers it, plain text when it does not
    /// (webmail, as real webmail behind a server it trusts).
    StartTlsIfOffered(Trust),
    /// TLS from the first byte (465, 993, 995).
    Implicit(Trust),
}

impl Security {
    /// The setting with what it needs: `trust` for anything but `none`.
    pub fn from_setting(setting: MailSecurity, trust: Option<Trust>) -> Security {
        match (setting, trust) {
            (MailSecurity::None, _) | (_, None) => Security::Plain,
            (MailSecurity::Starttls, Some(trust)) => Security::StartTls(trust),
            (MailSecurity::Tls, Some(trust)) => Security::Implicit(trust),
        }
    }

    pub fn is_implicit(&self) -> bool {
        matches!(self, Security::Implicit(_))
    }

    /// The STARTTLS trust, and whether the switch is a must.
    pub fn starttls(&self) -> Option<(&Trust, bool)> {
        match self {
            Security::StartTls(trust) => Some((trust, true)),
            Security::StartTlsIfOffered(trust) => Some((trust, false)),
            _ => None,
        }
    }
}

/// The port a PC's client uses for SMTP submission.
pub fn submission_port(setting: MailSecurity) -> u16 {
    match setting {
        MailSecurity::Tls => SUBMISSIONS_PORT,
        MailSecurity::None | MailSecurity::Starttls => SUBMISSION_PORT,
    }
}

/// The port a PC's client reads its mailbox on.
pub fn mailbox_port(protocol: MailProtocol, setting: MailSecurity) -> u16 {
    match (protocol, setting == MailSecurity::Tls) {
        (MailProtocol::Pop3, false) => POP3_PORT,
        (MailProtocol::Pop3, true) => POP3S_PORT,
        (MailProtocol::Imap, false) => IMAP_PORT,
        (MailProtocol::Imap, true) => IMAPS_PORT,
    }
}

/// A new connection's halves: plain, or encrypted from the first byte
/// when `security` is implicit (the handshake done `within` the time).
pub async fn open(
    stream: TcpStream,
    security: &Security,
    within: Duration,
) -> Result<(ReadHalf, WriteHalf), HandshakeFailure> {
    match security {
        Security::Implicit(trust) => {
            transport::connect_client(stream, &trust.connector, &trust.name, within).await
        }
        _ => Ok(transport::split(stream)),
    }
}
