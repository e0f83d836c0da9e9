//! Webmail: the mail client served over HTTP to a browser, as Gmail's and
//! Roundcube's web front ends are. A browser talks HTTP to this node; this
//! node talks IMAP and SMTP (submission, logging in) to the lab's mail
//! server, found by name through the node's own resolver (`mail_access`).
//! Pages are rendered on the server (`pages`), sessions live in a cookie
//! with a CSRF token for every form (`session`), forms and uploads are read
//! by `form`. It takes a bound listener and shares the static web server's
//! head reader and accept loop. Served over HTTPS (`WebmailConfig::https`)
//! its cookies are `Secure`; a plain listener beside an HTTPS one that is
//! required only redirects to it (`redirect_to_https`).
//!
//! Routes: `GET /login`, `POST /login`, `POST /logout`, `GET /folder?name=`,
//! `GET /message?folder=&uid=`, `GET /attachment?folder=&uid=&part=`,
//! `GET /compose`, `POST /send`, `POST /move`; `/` leads to the inbox.

pub mod client;
pub mod form;
pub mod mail_access;
pub mod pages;
pub mod session;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Result;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use self::mail_access::MailServer;
use self::session::{Login, Session, Sessions};
use crate::agent::mail::mime;
use crate::services::http::{self, HeadRead, RequestHead};
use crate::services::listener::{self, Busy, Gate, Limits};
use crate::services::node_log::{FROM_CLIENT, FROM_SERVER, NOTE, NodeLog};
use crate::services::shutdown::Shutdown;

/// The largest attachment a user may upload.
pub const MAX_UPLOAD: usize = 10 * 1024 * 1024;
/// The largest request body: an upload and the form around it.
pub const MAX_BODY: u64 = MAX_UPLOAD as u64 + 64 * 1024;
/// Requests served on one connection before it is closed.
const MAX_REQUESTS: usize = 100;

/// What a webmail serves and where its mail is.
pub struct WebmailConfig {
    pub server: MailServerName,
    /// The domain of the users' addresses (`bob` → `bob@DOMAIN`).
    pub domain: String,
    pub connections: Limits,
    /// How long a request (head and body) may take to arrive.
    pub request_timeout: Duration,
    /// Cookies marked Secure: set when served over HTTPS.
    pub secure_cookies: bool,
    /// HTTPS on this listener (the port is the caller's: 443): the TLS
    /// handshake first, counted in `request_timeout`; cookies are Secure.
    pub https: Option<TlsAcceptor>,
    /// Every request answered with a redirect to the same page over
    /// HTTPS (port 80 beside a required HTTPS), never served in plain text.
    pub redirect_to_https: bool,
}

/// The mail server's name and how to find it.
pub struct MailServerName {
    pub name: String,
    /// The node's namespace (its resolv.conf is read at each login).
    pub namespace: String,
    /// The name said in EHLO.
    pub helo: String,
    /// IMAP (143) and submission (587) ports.
    pub imap_port: u16,
    pub submission_port: u16,
    /// The lab's CA, when it has one: STARTTLS whenever the mail server
    /// offers it, its certificate checked for `name`.
    pub tls: Option<TlsConnector>,
}

impl WebmailConfig {
    pub fn new(node: &str, server: &str, domain: &str, namespace: &str) -> WebmailConfig {
        WebmailConfig {
            server: MailServerName {
                name: server.to_string(),
                namespace: namespace.to_string(),
                helo: node.to_string(),
                imap_port: mail_access::IMAP_PORT,
                submission_port: mail_access::SUBMISSION_PORT,
                tls: None,
            },
            domain: domain.to_string(),
            connections: Limits {
                max_connections: 256,
                max_per_client: 64,
            },
            request_timeout: Duration::from_secs(60),
            secure_cookies: false,
            https: None,
            redirect_to_https: false,
        }
    }
}

const BUSY: Busy = Busy {
    service: "webmail",
    server_full: "HTTP/1.1 503 Service Unavailable\r\nServer: labctl\r\n\
        Content-Type: text/plain\r\nContent-Length: 38\r\nRetry-After: 5\r\n\
        Connection: close\r\n\r\ntoo many connections, try again later\n",
    client_full: "HTTP/1.1 503 Service Unavailable\r\nServer: labctl\r\n\
        Content-Type: text/plain\r\nContent-Length: 56\r\nRetry-After: 5\r\n\
        Connection: close\r\n\r\ntoo many connections from your address, try again later\n",
};

struct Webmail {
    mail: MailServer,
    domain: String,
    sessions: Sessions,
    secure_cookies: bool,
    redirect_to_https: bool,
    request_timeout: Duration,
    log: NodeLog,
    connections: AtomicU64,
}

pub async fn serve(
    listener: TcpListener,
    config: WebmailConfig,
    log: NodeLog,
    stop: Shutdown,
) -> Result<()> {
    let webmail = Arc::new(Webmail {
        mail: MailServer {
            name: config.server.name,
            namespace: config.server.namespace,
            helo: config.server.helo,
            imap_port: config.server.imap_port,
            submission_port: config.server.submission_port,
            tls: config.server.tls,
            log: log.clone(),
        },
        domain: config.domain,
        sessions: Sessions::new(session::MAX_SESSIONS, session::IDLE),
        secure_cookies: config.secure_cookies || config.https.is_some(),
        redirect_to_https: config.redirect_to_https,
        request_timeout: config.request_timeout,
        log,
        connections: AtomicU64::new(0),
    });
    let gate = Gate::new(config.connections);
    let https = config.https;
    listener::serve(listener, gate, BUSY, stop, |stream, peer| {
        let webmail = webmail.clone();
        let https = https.clone();
        async move {
            let Some(acceptor) = https else {
                let _ = webmail.connection(stream, peer).await;
                return;
            };
            let handshake =
                tokio::time::timeout(webmail.request_timeout, acceptor.accept(stream)).await;
            match handshake {
                Ok(Ok(stream)) => {
                    let _ = webmail.connection(stream, peer).await;
                }
                Ok(Err(e)) => webmail.log.line(
                    "webmail",
                    NOTE,
                    &format!("TLS handshake with {peer} failed: {e}"),
                ),
                Err(_) => webmail.log.line(
                    "webmail",
                    NOTE,
                    &format!("TLS handshake with {peer} did not finish in time"),
                ),
            }
        }
    })
    .await
}

/// An answer, before it is written.
pub struct Reply {
    status: u16,
    content_type: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn html(status: u16, page: String) -> Reply {
        Reply {
            status,
            content_type: "text/html; charset=utf-8",
            headers: Vec::new(),
            body: page.into_bytes(),
        }
    }

    fn see_other(location: &str) -> Reply {
        let mut reply = Reply::html(303, String::new());
        reply.headers.push(("Location", location.to_string()));
        reply
    }

    fn problem(status: u16, title: &str, text: &str) -> Reply {
        Reply::html(status, pages::problem(title, text))
    }

    /// A file to save, never to show: octet-stream, attachment, a file
    /// name of safe characters (and the full name in RFC 8187 form).
    fn download(name: &str, bytes: Vec<u8>) -> Reply {
        let safe = safe_file_name(name);
        let full: String = percent_encoding_rfc8187(name);
        Reply {
            status: 200,
            content_type: "application/octet-stream",
            headers: vec![(
                "Content-Disposition",
                format!("attachment; filename=\"{safe}\"; filename*=UTF-8''{full}"),
            )],
            body: bytes,
        }
    }

    fn cookie(mut self, value: String) -> Reply {
        self.headers.push(("Set-Cookie", value));
        self
    }
}

/// A file name of letters, digits, `.`, `-`, `_` and spaces only, not
/// starting with a dot, at most 100 characters (`attachment` if nothing is left).
pub fn safe_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "attachment".to_string()
    } else {
        cleaned
    }
}

/// RFC 8187 value characters: attr-char as is, everything else %XX.
fn percent_encoding_rfc8187(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes().take(400) {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        303 => "See Other",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        502 => "Bad Gateway",
        _ => "Error",
    }
}

/// The request as a handler sees it.
struct Request<'a> {
    head: &'a RequestHead,
    body: &'a [u8],
    session: Option<Session>,
    tag: &'a str,
}

impl Request<'_> {
    fn query(&self) -> form::Form {
        form::urlencoded(self.head.query.as_bytes())
    }

    fn form(&self) -> Result<form::Form, Reply> {
        form::parse(self.head.header("content-type"), self.body)
            .map_err(|e| Reply::problem(400, "The form cannot be read", &e.to_string()))
    }
}

impl Webmail {
    async fn connection<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        mut stream: S,
        peer: SocketAddr,
    ) -> std::io::Result<()> {
        let number = self.connections.fetch_add(1, Ordering::Relaxed) + 1;
        let tag = format!("webmail #{number}");
        self.log
            .line(&tag, NOTE, &format!("connection from {peer}"));
        let mut buffer = Vec::with_capacity(2048);
        for _ in 0..MAX_REQUESTS {
            let deadline = Instant::now() + self.request_timeout;
            let head = match http::read_head(&mut stream, &mut buffer, deadline).await? {
                HeadRead::Head(head) => head,
                HeadRead::Closed => return Ok(()),
                HeadRead::TooLarge => {
                    let reply =
                        Reply::problem(431, "Request too large", "the request head is too large");
                    return self.write(&mut stream, &tag, reply, false, false).await;
                }
                HeadRead::TimedOut => {
                    let reply =
                        Reply::problem(408, "Too slow", "the request did not arrive in time");
                    return self.write(&mut stream, &tag, reply, false, false).await;
                }
            };
            let head = match http::parse_request_head(&head) {
                Ok(head) => head,
                Err(_) => {
                    let reply = Reply::problem(400, "Bad request", "the request is not HTTP/1.1");
                    return self.write(&mut stream, &tag, reply, false, false).await;
                }
            };
            self.log
                .line(&tag, FROM_CLIENT, &format!("{} {}", head.method, head.path));
            if head.transfer_encoding {
                let reply = Reply::problem(
                    411,
                    "Length required",
                    "send the form with a Content-Length",
                );
                return self.write(&mut stream, &tag, reply, false, false).await;
            }
            if head.content_length > MAX_BODY {
                let reply = Reply::problem(
                    413,
                    "Too large",
                    &format!(
                        "a message with its attachment may be up to {} MiB",
                        MAX_UPLOAD / 1024 / 1024
                    ),
                );
                return self.write(&mut stream, &tag, reply, false, false).await;
            }
            // Bounded by MAX_BODY above.
            let length = head.content_length as usize;
            while buffer.len() < length {
                let mut chunk = vec![0u8; 64 * 1024];
                match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
                    Ok(Ok(0)) => return Ok(()),
                    Ok(Ok(n)) => buffer.extend_from_slice(&chunk[..n]),
                    Ok(Err(e)) => return Err(e),
                    Err(_) => {
                        let reply =
                            Reply::problem(408, "Too slow", "the form did not arrive in time");
                        return self.write(&mut stream, &tag, reply, false, false).await;
                    }
                }
            }
            let body: Vec<u8> = buffer.drain(..length).collect();
            let session = head
                .header("cookie")
                .and_then(|c| session::cookie_value(c, session::COOKIE))
                .and_then(|id| self.sessions.get(id));
            let request = Request {
                head: &head,
                body: &body,
                session,
                tag: &tag,
            };
            let reply = self.route(&request).await;
            let head_only = head.method == "HEAD";
            self.write(&mut stream, &tag, reply, head_only, head.keep_alive)
                .await?;
            if !head.keep_alive {
                return Ok(());
            }
        }
        Ok(())
    }

    async fn write<S: AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
        tag: &str,
        reply: Reply,
        head_only: bool,
        keep_alive: bool,
    ) -> std::io::Result<()> {
        self.log.line(
            tag,
            FROM_SERVER,
            &format!("{} {}", reply.status, reason(reply.status)),
        );
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nServer: labctl webmail\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: {}\r\n\
             Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n\
             X-Frame-Options: DENY\r\nContent-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'\r\n",
            reply.status,
            reason(reply.status),
            reply.content_type,
            reply.body.len(),
            if keep_alive { "keep-alive" } else { "close" }
        );
        for (name, value) in &reply.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        if !head_only {
            out.extend_from_slice(&reply.body);
        }
        stream.write_all(&out).await?;
        stream.flush().await
    }

    async fn route(&self, request: &Request<'_>) -> Reply {
        let method = match request.head.method.as_str() {
            "HEAD" => "GET",
            other => other,
        };
        if self.redirect_to_https {
            return https_redirect(request.head);
        }
        let logged_in = request
            .session
            .as_ref()
            .and_then(|s| Some((s.clone(), s.login.clone()?)));
        match (method, request.head.path.as_str()) {
            ("GET", "/login") => self.login_page(request, None),
            ("POST", "/login") => self.log_in(request).await,
            (
                "GET" | "POST",
                "/" | "/logout" | "/folder" | "/message" | "/attachment" | "/compose" | "/send"
                | "/move",
            ) if logged_in.is_none() => Reply::see_other("/login"),
            (_, _) if logged_in.is_none() => {
                Reply::problem(404, "Not found", "there is no such page")
            }
            _ => {
                let Some((session, login)) = logged_in else {
                    return Reply::see_other("/login");
                };
                if method == "POST" {
                    let form = match request.form() {
                        Ok(form) => form,
                        Err(reply) => return reply,
                    };
                    if !session::tokens_match(form.get(session::CSRF_FIELD), &session.csrf) {
                        return Reply::problem(
                            403,
                            "The form has expired",
                            "go back, reload the page and send it again",
                        );
                    }
                    return match request.head.path.as_str() {
                        "/logout" => {
                            self.sessions.end(&session.id);
                            Reply::see_other("/login")
                                .cookie(session::clear_cookie(self.secure_cookies))
                        }
                        "/send" => self.send(request.tag, &session, &login, &form).await,
                        "/move" => self.move_message(request.tag, &login, &form).await,
                        _ => Reply::problem(405, "Not allowed", "this page is not a form"),
                    };
                }
                if method != "GET" {
                    return Reply::problem(405, "Not allowed", "only GET and POST are served");
                }
                let query = request.query();
                match request.head.path.as_str() {
                    "/" => Reply::see_other("/folder?name=INBOX"),
                    "/folder" => self.folder(request.tag, &session, &login, &query).await,
                    "/message" => self.message(request.tag, &session, &login, &query).await,
                    "/attachment" => self.attachment(request.tag, &login, &query).await,
                    "/compose" => {
                        self.compose(
                            request.tag,
                            &session,
                            &login,
                            &pages::Draft::default(),
                            None,
                        )
                        .await
                    }
                    _ => Reply::problem(404, "Not found", "there is no such page"),
                }
            }
        }
    }

    /// The login page, with a session (and so a CSRF token) to log in with.
    fn login_page(&self, request: &Request<'_>, error: Option<&str>) -> Reply {
        let (session, fresh) = match &request.session {
            Some(session) if session.login.is_none() => (session.clone(), false),
            _ => (self.sessions.start(), true),
        };
        let reply = Reply::html(
            if error.is_some() { 403 } else { 200 },
            pages::login(&self.mail.name, &session.csrf, error),
        );
        if fresh {
            reply.cookie(session::set_cookie(&session.id, self.secure_cookies))
        } else {
            reply
        }
    }

    async fn log_in(&self, request: &Request<'_>) -> Reply {
        let form = match request.form() {
            Ok(form) => form,
            Err(reply) => return reply,
        };
        let Some(session) = &request.session else {
            return self.login_page(request, Some("Your session had expired: log in again."));
        };
        if !session::tokens_match(form.get(session::CSRF_FIELD), &session.csrf) {
            return Reply::problem(
                403,
                "The form has expired",
                "go back, reload the page and log in again",
            );
        }
        let login = Login {
            user: form.get("user").trim().to_string(),
            password: form.get("password").to_string(),
        };
        if login.user.is_empty() || login.user.contains(['\r', '\n', '"', '\\']) {
            return self.login_page(request, Some("Write your user name, e.g. bob."));
        }
        match self.mail.check_login(request.tag, &login).await {
            Ok(()) => {
                self.log
                    .line(request.tag, NOTE, &format!("{} logged in", login.user));
                let session = self.sessions.log_in(&session.id, login);
                Reply::see_other("/folder?name=INBOX")
                    .cookie(session::set_cookie(&session.id, self.secure_cookies))
            }
            Err(why) => self.login_page(request, Some(&why)),
        }
    }

    fn address(&self, login: &Login) -> String {
        format!("{}@{}", login.user, self.domain)
    }

    async fn folder(
        &self,
        tag: &str,
        session: &Session,
        login: &Login,
        query: &form::Form,
    ) -> Reply {
        let name = match query.get("name") {
            "" => "INBOX",
            name => name,
        };
        match self.mail.listing(tag, login, name).await {
            Ok(listing) => {
                let address = self.address(login);
                let frame = pages::Frame {
                    address: &address,
                    csrf: &session.csrf,
                    folders: &listing.folders,
                    current: name,
                };
                let notice = match query.get("notice") {
                    "sent" => Some("Message sent."),
                    "moved" => Some("Message moved."),
                    _ => None,
                };
                Reply::html(
                    200,
                    pages::folder(&frame, &listing.rows, listing.total, notice),
                )
            }
            Err(why) => Reply::problem(502, "The mailbox cannot be read", &why),
        }
    }

    fn uid(query: &form::Form, field: &str) -> Result<u32, Reply> {
        query
            .get(field)
            .parse()
            .ok()
            .filter(|&uid| uid > 0)
            .ok_or_else(|| Reply::problem(400, "No such message", "the link names no message"))
    }

    async fn message(
        &self,
        tag: &str,
        session: &Session,
        login: &Login,
        query: &form::Form,
    ) -> Reply {
        let uid = match Self::uid(query, "uid") {
            Ok(uid) => uid,
            Err(reply) => return reply,
        };
        let folder = query.get("folder");
        match self.mail.message(tag, login, folder, uid).await {
            Ok((folders, raw)) => {
                let parsed = mime::parse(&raw);
                let address = self.address(login);
                let frame = pages::Frame {
                    address: &address,
                    csrf: &session.csrf,
                    folders: &folders,
                    current: folder,
                };
                Reply::html(200, pages::message(&frame, uid, &parsed))
            }
            Err(why) => Reply::problem(502, "The message cannot be read", &why),
        }
    }

    async fn attachment(&self, tag: &str, login: &Login, query: &form::Form) -> Reply {
        let uid = match Self::uid(query, "uid") {
            Ok(uid) => uid,
            Err(reply) => return reply,
        };
        let Ok(part) = query.get("part").parse::<usize>() else {
            return Reply::problem(400, "No such attachment", "the link names no attachment");
        };
        match self
            .mail
            .message(tag, login, query.get("folder"), uid)
            .await
        {
            Ok((_, raw)) => match mime::parse(&raw).attachments.into_iter().nth(part) {
                Some(attachment) => Reply::download(&attachment.name, attachment.bytes),
                None => Reply::problem(
                    404,
                    "No such attachment",
                    "the message has fewer attachments",
                ),
            },
            Err(why) => Reply::problem(502, "The message cannot be read", &why),
        }
    }

    async fn compose(
        &self,
        tag: &str,
        session: &Session,
        login: &Login,
        draft: &pages::Draft<'_>,
        error: Option<&str>,
    ) -> Reply {
        let folders = match self.mail.listing(tag, login, "INBOX").await {
            Ok(listing) => listing.folders,
            Err(_) => vec!["INBOX".to_string()],
        };
        let address = self.address(login);
        let frame = pages::Frame {
            address: &address,
            csrf: &session.csrf,
            folders: &folders,
            current: "",
        };
        let status = if error.is_some() { 400 } else { 200 };
        Reply::html(status, pages::compose(&frame, draft, error, MAX_UPLOAD))
    }

    async fn send(&self, tag: &str, session: &Session, login: &Login, form: &form::Form) -> Reply {
        let draft = pages::Draft {
            to: form.get("to").trim(),
            subject: form.get("subject"),
            body: form.get("body"),
        };
        let attachments: Vec<(String, Vec<u8>)> = form
            .files
            .iter()
            .filter(|f| f.field == "attachment" && !(f.name.is_empty() && f.bytes.is_empty()))
            .map(|f| (safe_file_name(&f.name), f.bytes.clone()))
            .collect();
        let problem = if !crate::lab::validate::valid_address(draft.to) {
            Some(format!(
                "`{}` is not an email address: write USER@DOMAIN",
                draft.to
            ))
        } else if draft.subject.contains(['\r', '\n']) {
            Some("The subject must be one line.".to_string())
        } else if attachments.iter().map(|(_, b)| b.len()).sum::<usize>() > MAX_UPLOAD {
            Some(format!(
                "Attachments may be up to {} MiB.",
                MAX_UPLOAD / 1024 / 1024
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            return self
                .compose(tag, session, login, &draft, Some(&problem))
                .await;
        }
        let from = self.address(login);
        match self
            .mail
            .send(tag, login, &from, &draft, &attachments)
            .await
        {
            Ok(accepted) => {
                self.log.line(
                    tag,
                    NOTE,
                    &format!(
                        "{} sent a message to {}: {}",
                        login.user, draft.to, accepted.reply
                    ),
                );
                Reply::see_other("/folder?name=INBOX&notice=sent")
            }
            Err(why) => self.compose(tag, session, login, &draft, Some(&why)).await,
        }
    }

    async fn move_message(&self, tag: &str, login: &Login, form: &form::Form) -> Reply {
        let uid = match Self::uid(form, "uid") {
            Ok(uid) => uid,
            Err(reply) => return reply,
        };
        let folder = form.get("folder");
        let target = match (form.get("new").trim(), form.get("to")) {
            ("", "") => {
                return Reply::problem(400, "Where to?", "choose a folder or name a new one");
            }
            ("", to) => to.to_string(),
            (new, _) => new.to_string(),
        };
        if !valid_folder_name(&target) {
            return Reply::problem(
                400,
                "Not a folder name",
                "a folder name has letters, digits, spaces, `.`, `-` and `_` (up to 64)",
            );
        }
        match self
            .mail
            .move_message(tag, login, folder, uid, &target)
            .await
        {
            Ok(()) => Reply::see_other(&format!(
                "/folder?name={}&notice=moved",
                pages::query_value(folder)
            )),
            Err(why) => Reply::problem(502, "The message cannot be moved", &why),
        }
    }
}

/// The same page over HTTPS, for the name the browser asked for (its
/// `Host:` without a port); 400 without a usable one.
fn https_redirect(head: &RequestHead) -> Reply {
    let host = head.header("host").unwrap_or_default().trim();
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    let usable = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if !usable {
        return Reply::problem(
            400,
            "Use HTTPS",
            "this webmail is served over HTTPS only: open https://NAME/",
        );
    }
    // The path arrives percent-decoded: one of plain characters goes as
    // it is, any other becomes the start page (no header can be smuggled).
    let path = if head
        .path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b))
    {
        head.path.as_str()
    } else {
        "/"
    };
    let mut location = format!("https://{name}{path}");
    if !head.query.is_empty() && head.query.bytes().all(|b| b.is_ascii_graphic()) {
        location.push('?');
        location.push_str(&head.query);
    }
    let mut reply = Reply::problem(301, "Moved to HTTPS", "this webmail is served over HTTPS");
    reply.headers.push(("Location", location));
    reply
}

/// A folder name a user may create: letters, digits, spaces, `.`, `-`, `_`.
pub fn valid_folder_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '.' | '-' | '_'))
}

#[cfg(test)]
mod tests;
