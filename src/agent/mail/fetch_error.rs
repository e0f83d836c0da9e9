//! Why a PC's mail client could not read its mailbox: the stage of the
//! POP3 or IMAP dialogue and what happened there.

use crate::services::tls::failure::HandshakeFailure;

/// Why the mailbox could not be read: the stage (`connect`, `greeting`,
/// `STARTTLS`, `TLS`, `login`, `list`, `read`) and what happened, with the server's refusal
/// quoted when it refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError {
    pub stage: &'static str,
    pub message: String,
    /// The server answered with a refusal (`-ERR …`, `a1 NO …`).
    pub refused: bool,
    /// The TLS handshake failed (stage `TLS`), and why.
    pub tls: Option<HandshakeFailure>,
}

impl FetchError {
    pub fn new(stage: &'static str, message: String) -> Self {
        FetchError {
            stage,
            message,
            refused: false,
            tls: None,
        }
    }

    /// The TLS handshake failed.
    pub fn tls(failure: HandshakeFailure) -> Self {
        FetchError {
            stage: "TLS",
            message: failure.to_string(),
            refused: false,
            tls: Some(failure),
        }
    }

    pub fn refused(stage: &'static str, reply: String) -> Self {
        FetchError {
            stage,
            message: reply,
            refused: true,
            tls: None,
        }
    }

    /// Whether the server refused the login because another session holds
    /// the mailbox (RFC 2449's `[IN-USE]` response code).
    pub fn in_use(&self) -> bool {
        self.refused && self.stage == "login" && self.message.contains("[IN-USE]")
    }
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.refused {
            write!(
                f,
                "at {} the server answered \"{}\"",
                self.stage, self.message
            )
        } else {
            write!(f, "at {}: {}", self.stage, self.message)
        }
    }
}
