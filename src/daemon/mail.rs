//! A mail node in the daemon: opens its store (Maildir++ under the lab's
//! state dir) and relay queue, logs its dialogue in the node's log, and starts SMTP on 25 and 587,
//! POP3 on 110 and the relay worker, which finds other domains' servers
//! through the node's own DNS servers, and IMAP on 143. With `tls:` on,
//! those offer STARTTLS/STLS and 465, 995 and 993 speak TLS from the start.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::net::TcpListener;

use super::context::{NodeContext, Tasks};
use crate::lab::plan::PlanNode;
use crate::net::etc;
use crate::net::tcp::tcp_listener;
use crate::services::mail::accounts::Accounts;
use crate::services::mail::imap::server::{self as imap, ImapConfig};
use crate::services::mail::pop3::server::{self as pop3, Pop3Config};
use crate::services::mail::smtp::delivery::Delivery;
use crate::services::mail::smtp::dkim_sign::Signer;
use crate::services::mail::smtp::fates::Fates;
use crate::services::mail::smtp::queue::Queue;
use crate::services::mail::smtp::relay::{NextHop, Relay, Retry};
use crate::services::mail::smtp::sender_auth::SenderChecks;
use crate::services::mail::smtp::server::{self as smtp, SmtpConfig};
use crate::services::mail::store::Store;
use crate::services::mail::transcript::Transcript;

pub const SMTP_PORT: u16 = 25;
pub const SUBMISSION_PORT: u16 = 587;
pub const POP3_PORT: u16 = 110;
pub const IMAP_PORT: u16 = 143;
pub const SUBMISSIONS_PORT: u16 = 465;
pub const POP3S_PORT: u16 = 995;
pub const IMAPS_PORT: u16 = 993;
const DNS_PORT: u16 = 53;

/// The node's mail dir: `STATE/mail/NODE/` with `maildirs/` and `queue/`.
pub fn mail_dir(state_dir: &Path, node: &str) -> PathBuf {
    state_dir.join("mail").join(node)
}

/// The node's relay queue: `STATE/mail/NODE/queue/`.
pub fn queue_dir(state_dir: &Path, node: &str) -> PathBuf {
    mail_dir(state_dir, node).join("queue")
}

/// What every mail protocol of a node shares.
pub struct MailNode {
    pub hostname: String,
    pub accounts: Arc<Accounts>,
    pub store: Store,
    pub transcript: Transcript,
}

/// Starts the node's mail services, if it has any.
pub fn start(context: &NodeContext, tasks: &mut Tasks) -> Result<()> {
    let node = &context.node;
    let Some(plan) = &node.mail else {
        return Ok(());
    };
    let dir = mail_dir(&context.state_dir, &node.name);
    let accounts = Arc::new(Accounts::new(
        plan.domains.iter().map(String::as_str),
        plan.users
            .iter()
            .map(|u| (u.name.as_str(), u.password.as_str())),
    ));
    context
        .shared
        .mail_accounts
        .lock()
        .expect("lock")
        .insert(node.name.clone(), accounts.clone());
    let store = Store::open(&dir.join("maildirs"))
        .with_context(|| format!("cannot open the mail store in {}", dir.display()))?;
    for user in &accounts.users() {
        store
            .create_user(user)
            .with_context(|| format!("cannot create the mailbox of {user}"))?;
    }
    let queue = Queue::open(&queue_dir(&context.state_dir, &node.name))
        .with_context(|| format!("cannot open the mail queue in {}", dir.display()))?;
    let fates = Arc::new(Fates::default());
    context
        .shared
        .mail_fates
        .lock()
        .expect("lock")
        .insert(node.name.clone(), fates.clone());
    let mail = MailNode {
        hostname: hostname(node),
        accounts: accounts.clone(),
        store: store.clone(),
        transcript: Transcript::new(context.log.clone()),
    };
    let delivery = Arc::new(Delivery {
        accounts,
        store,
        queue,
        fates: fates.clone(),
    });
    let stop = &context.shutdown;
    let dns_servers: Vec<SocketAddr> = node
        .dns
        .iter()
        .map(|ip| SocketAddr::V4(SocketAddrV4::new(*ip, DNS_PORT)))
        .collect();
    let resolv_conf = etc::node_etc_dir(&node.namespace).join("resolv.conf");
    let signer = match plan.dkim.is_empty() {
        true => None,
        false => Some(Arc::new(Signer::new(&plan.dkim)?)),
    };
    let sender_checks = plan.sender_checks.map(|enforcement| {
        Arc::new(SenderChecks {
            enforcement,
            hostname: mail.hostname.clone(),
            servers: dns_servers.clone(),
            resolv_conf: Some(resolv_conf.clone()),
        })
    });
    let tls = super::tls::server(&context.state_dir, &node.name, plan.tls)?;
    let mut smtp_ports = vec![(SMTP_PORT, false, false), (SUBMISSION_PORT, true, false)];
    let mut pop3_ports = vec![(POP3_PORT, false)];
    let mut imap_ports = vec![(IMAP_PORT, false)];
    if tls.is_some() {
        smtp_ports.push((SUBMISSIONS_PORT, true, true));
        pop3_ports.push((POP3S_PORT, true));
        imap_ports.push((IMAPS_PORT, true));
    }
    for (port, submission, implicit_tls) in smtp_ports {
        let mut config = SmtpConfig::new(mail.hostname.clone(), delivery.clone(), submission);
        config.tls = tls.clone();
        config.implicit_tls = implicit_tls;
        config.dkim = signer.clone();
        config.sender_checks = sender_checks.clone();
        let listener = listen(port)?;
        tasks.spawn(smtp::serve(
            listener,
            Arc::new(config),
            mail.transcript.clone(),
            stop.clone(),
        ));
    }
    for (port, implicit_tls) in pop3_ports {
        let mut pop3_config = Pop3Config::new(
            mail.hostname.clone(),
            mail.accounts.clone(),
            mail.store.clone(),
        );
        pop3_config.tls = tls.clone();
        pop3_config.implicit_tls = implicit_tls;
        tasks.spawn(pop3::serve(
            listen(port)?,
            Arc::new(pop3_config),
            mail.transcript.clone(),
            stop.clone(),
        ));
    }
    for (port, implicit_tls) in imap_ports {
        let mut imap_config = ImapConfig::new(mail.accounts.clone(), mail.store.clone());
        imap_config.tls = tls.clone();
        imap_config.implicit_tls = implicit_tls;
        tasks.spawn(imap::serve(
            listen(port)?,
            Arc::new(imap_config),
            mail.transcript.clone(),
            stop.clone(),
        ));
    }
    let relay = Relay {
        hostname: mail.hostname.clone(),
        next_hop: NextHop::Dns {
            servers: dns_servers,
            resolv_conf: Some(resolv_conf),
            port: SMTP_PORT,
        },
        retry: Retry {
            first: Duration::from_secs(2),
            longest: Duration::from_secs(60),
            give_up_after: Duration::from_secs(3600),
        },
        reply_timeout: Duration::from_secs(30),
        delivery,
        transcript: mail.transcript.clone(),
        tls: super::tls::lab_connector(&context.state_dir)?,
    };
    tasks.spawn(relay.run(stop.clone()));
    let ports = if tls.is_some() {
        "SMTP 25, 587, 465; POP3 110, 995; IMAP 143, 993; TLS"
    } else {
        "SMTP 25, 587; POP3 110; IMAP 143"
    };
    tracing::info!(
        "{}: mail for {} ({ports})",
        node.name,
        plan.domains.join(", ")
    );
    Ok(())
}

/// The server's name in banners and `Received:` headers: the node's name
/// in its first domain.
fn hostname(node: &PlanNode) -> String {
    match node.mail.as_ref().and_then(|m| m.domains.first()) {
        Some(domain) => format!("{}.{domain}", node.name),
        None => node.name.clone(),
    }
}

/// A listening socket on every address of the node.
fn listen(port: u16) -> Result<TcpListener> {
    tcp_listener(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port))
}
