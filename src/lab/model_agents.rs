//! Lab-file settings for what runs on a host for its user: the mail client
//! (Packet Tracer's "Configure Mail") and the web service a server offers.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A PC's mail settings: one account, or a list of them.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum MailSettings {
    One(MailAccount),
    Many(Vec<MailAccount>),
}

impl MailSettings {
    pub fn accounts(&self) -> Vec<&MailAccount> {
        match self {
            MailSettings::One(one) => vec![one],
            MailSettings::Many(many) => many.iter().collect(),
        }
    }
}

/// One mail account, as Packet Tracer's "Configure Mail" dialog has it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MailAccount {
    /// Display name ("Your Name"), e.g. Ada.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The account's address, e.g. ada@cbrc.com.
    pub address: String,
    /// Incoming mail server: a name (resolved through this host's DNS) or an address.
    pub incoming: String,
    /// `pop3` (default) or `imap`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<MailProtocol>,
    /// Outgoing (SMTP) server: a name or an address.
    pub outgoing: String,
    /// How the client protects its connections: `none` (default: plain
    /// text on 587, 110, 143), `starttls` (STARTTLS/STLS on those ports) or
    /// `tls` (TLS from the first byte on 465, 995, 993). With TLS the
    /// server's certificate must come from the lab's CA and name the
    /// server as `incoming`/`outgoing` write it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<MailSecurity>,
    /// Login name on both servers.
    pub user: String,
    /// Password on both servers.
    pub password: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MailProtocol {
    /// POP3 on port 110 (the default).
    #[default]
    Pop3,
    /// IMAP on port 143.
    Imap,
}

/// How a mail client protects its connections (Thunderbird's "Connection
/// security").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MailSecurity {
    /// Plain text on 587 (SMTP submission), 110 (POP3), 143 (IMAP): the
    /// default, so a capture shows the password.
    #[default]
    None,
    /// STARTTLS (SMTP, IMAP) or STLS (POP3) on those ports before logging in.
    Starttls,
    /// TLS from the first byte: 465 (submission), 995 (POP3), 993 (IMAP).
    Tls,
}

impl MailSecurity {
    /// The lab file's word for it.
    pub fn word(self) -> &'static str {
        match self {
            MailSecurity::None => "none",
            MailSecurity::Starttls => "starttls",
            MailSecurity::Tls => "tls",
        }
    }
}

/// A static web server (HTTP/1.1 on port 80): inline pages, or a directory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebService {
    /// Inline pages by path: `/: "<h1>MasterTech</h1>"`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub pages: IndexMap<String, String>,
    /// A directory of files to serve, relative to the lab file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    /// HTTPS on 443 with a certificate from the lab's CA: `off` (default),
    /// `optional` or `required` (both serve HTTPS; port 80 stays open).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<super::model_tls::TlsMode>,
}

impl WebService {
    /// Whether it serves HTTPS on 443.
    pub fn https(&self) -> bool {
        self.tls.is_some_and(|t| !t.is_off())
    }
}

/// Webmail on port 80 (HTTP): users log in, read, send and file their mail
/// in a browser; the webmail talks IMAP and SMTP (submission, logging in)
/// to the mail server, as Gmail's web front end does.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebmailService {
    /// The mail server: a name (resolved through this node's DNS, at each
    /// login) or an address. IMAP on 143, submission on 587.
    pub server: String,
    /// The domain of the users' addresses (user `bob` sends as
    /// `bob@DOMAIN`); by default the server's name without its first
    /// label (`mail.hamburger.edu` → `hamburger.edu`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// HTTPS on 443 with a certificate from the lab's CA: `off` (default),
    /// `optional` (HTTP on 80 as well) or `required` (80 only redirects to
    /// HTTPS). Session cookies over HTTPS are `Secure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<super::model_tls::TlsMode>,
}

impl WebmailService {
    /// The `tls:` it says (off when it says none).
    pub fn tls_mode(&self) -> super::model_tls::TlsMode {
        self.tls.unwrap_or_default()
    }

    /// The domain of the users' addresses.
    pub fn mail_domain(&self) -> String {
        match &self.domain {
            Some(domain) => domain.trim_end_matches('.').to_string(),
            None => {
                let server = self.server.trim_end_matches('.');
                server
                    .split_once('.')
                    .map_or(server, |(_, rest)| rest)
                    .to_string()
            }
        }
    }
}

/// A node's validated user agents and web site, as the plan carries them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Agents {
    /// Mail client accounts, in the order written (the first is the default).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mail: Vec<MailAccount>,
    /// The web site served on port 80.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web: Option<WebService>,
    /// Webmail served on port 80.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webmail: Option<WebmailService>,
}

impl Agents {
    pub fn is_empty(&self) -> bool {
        self.mail.is_empty() && self.web.is_none() && self.webmail.is_none()
    }

    /// Whether the web site or the webmail serves HTTPS on 443.
    pub fn https(&self) -> bool {
        let web = self.web.as_ref().is_some_and(|w| w.https());
        let webmail = self
            .webmail
            .as_ref()
            .is_some_and(|w| !w.tls_mode().is_off());
        web || webmail
    }

    /// The account named by its address or user name, or the first.
    pub fn account(&self, which: Option<&str>) -> Option<&MailAccount> {
        match which {
            None => self.mail.first(),
            Some(key) => self
                .mail
                .iter()
                .find(|a| a.address.eq_ignore_ascii_case(key) || a.user == key),
        }
    }
}
