//! The application dialogue of one TCP connection, from its two
//! reassembled byte streams: SMTP, POP3, IMAP and HTTP commands and replies
//! line by line (`C: MAIL FROM:<ada@mt.com>`, `S: 250 2.1.0 Ok`), each
//! message body as one summary line (size, From, To, Subject), and the
//! credentials a client sends decoded and marked as such — the course's
//! Wireshark exercise asks students to find them. Encrypted bytes (after
//! STARTTLS/STLS, or on the implicit-TLS ports) are counted, not shown.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::Proto;
use super::stream::Chunk;

/// Longest line kept whole; a longer one is shown cut.
const MAX_LINE: usize = 4096;
/// How much of a message body is kept to read its headers.
const MAX_KEPT: usize = 64 * 1024;

/// One line of the dialogue, as its sender sent it (not yet escaped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Said {
    pub from_client: bool,
    pub text: String,
}

/// A side's bytes, cut into lines or taken as a counted run of bytes (an
/// IMAP literal, an HTTP body).
#[derive(Default)]
struct Reader {
    buf: Vec<u8>,
    /// Bytes still to take raw before lines resume.
    want: Option<u64>,
}

enum Piece {
    Line(Vec<u8>),
    Bytes(Vec<u8>),
}

impl Reader {
    fn next(&mut self, at_end: bool) -> Option<Piece> {
        if let Some(want) = self.want {
            if self.buf.is_empty() {
                return None;
            }
            let take = usize::try_from(want)
                .unwrap_or(usize::MAX)
                .min(self.buf.len());
            let bytes: Vec<u8> = self.buf.drain(..take).collect();
            let left = want - take as u64;
            self.want = (left > 0).then_some(left);
            return Some(Piece::Bytes(bytes));
        }
        let line = if let Some(end) = memchr::memchr(b'\n', &self.buf) {
            let mut line: Vec<u8> = self.buf.drain(..=end).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            line
        } else if self.buf.len() > MAX_LINE || (at_end && !self.buf.is_empty()) {
            let take = self.buf.len().min(MAX_LINE);
            self.buf.drain(..take).collect()
        } else {
            return None;
        };
        Some(Piece::Line(line))
    }
}

/// A message or body seen go by: counted, its start kept for its headers.
#[derive(Default)]
struct Body {
    bytes: u64,
    lines: u64,
    kept: Vec<u8>,
}

impl Body {
    fn add_line(&mut self, line: &[u8]) {
        self.lines += 1;
        self.add_bytes(line);
        self.add_bytes(b"\r\n");
    }

    fn add_bytes(&mut self, bytes: &[u8]) {
        self.bytes += bytes.len() as u64;
        let room = MAX_KEPT.saturating_sub(self.kept.len());
        self.kept.extend_from_slice(&bytes[..room.min(bytes.len())]);
    }

    /// `[message: 9 lines, 312 bytes; From: …; To: …; Subject: …]`.
    fn mail_summary(&self) -> String {
        let mut parts = vec![if self.lines > 0 {
            format!("{} lines, {} bytes", self.lines, self.bytes)
        } else {
            format!("{} bytes", self.bytes)
        }];
        if let Some(message) = mail_parser::MessageParser::default().parse(&self.kept[..]) {
            for name in ["From", "To"] {
                if let Some(value) = message.header_raw(name) {
                    parts.push(format!("{name}: {}", value.trim()));
                }
            }
            if let Some(subject) = message.subject() {
                parts.push(format!("Subject: {subject}"));
            }
        }
        format!("[message: {}]", parts.join("; "))
    }
}

/// A SASL exchange (AUTH, AUTHENTICATE) in progress.
struct Sasl {
    mechanism: String,
    /// Client responses decoded so far.
    step: u32,
    /// The server's last challenge, decoded (`Username:`).
    prompt: String,
    /// The server asked: the client's next line is a response.
    prompted: bool,
}

/// The credentials in a SASL response, decoded: what the exercise asks.
fn decode_sasl(sasl: &Sasl, encoded: &str) -> String {
    let mechanism = &sasl.mechanism;
    let Ok(bytes) = STANDARD.decode(encoded.trim()) else {
        return format!("[AUTH {mechanism}: not base64]");
    };
    let text = String::from_utf8_lossy(&bytes);
    match mechanism.as_str() {
        "PLAIN" => {
            let parts: Vec<&str> = text.split('\0').collect();
            match parts.as_slice() {
                ["", user, password] => {
                    format!("[AUTH PLAIN decoded: user {user:?}, password {password:?}]")
                }
                [authzid, user, password] => format!(
                    "[AUTH PLAIN decoded: as {authzid:?}, user {user:?}, password {password:?}]"
                ),
                _ => format!("[AUTH PLAIN decoded: {text:?}]"),
            }
        }
        "LOGIN" => {
            let prompt = sasl.prompt.to_ascii_lowercase();
            let what = if prompt.contains("pass") || (prompt.is_empty() && sasl.step == 1) {
                "password"
            } else {
                "user"
            };
            format!("[AUTH LOGIN decoded: {what} {text:?}]")
        }
        _ => format!("[AUTH {mechanism} decoded: {text:?}]"),
    }
}

/// What a POP3 reply opens.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Listing {
    /// A message (RETR, TOP): summarised.
    Message,
    /// A list (CAPA, LIST, UIDL): shown.
    Lines,
}

/// One side of an HTTP connection.
#[derive(Default)]
struct HttpSide {
    in_headers: bool,
    length: Option<u64>,
    chunked: bool,
    /// Inside a chunked body: expecting the next chunk's size line.
    chunk_size_next: bool,
    /// Inside a chunked body, after its last chunk: trailer lines.
    trailer: bool,
    content_type: Option<String>,
    /// The response has no body (1xx, 204, 304).
    bodiless: bool,
}

pub struct Dialogue {
    proto: Proto,
    client: Reader,
    server: Reader,
    encrypted: bool,
    starttls_asked: bool,
    sasl: Option<Sasl>,
    /// SMTP DATA, an IMAP literal or an HTTP body of the client.
    client_body: Option<Body>,
    /// A POP3 message or listing, an IMAP literal, an HTTP body.
    server_body: Option<Body>,
    pop_reply_opens: Option<Listing>,
    pop_listing: Option<Listing>,
    http: [HttpSide; 2],
}

impl Dialogue {
    /// A connection to `server_port`, spoken in `proto`.
    pub fn new(proto: Proto, server_port: u16) -> Dialogue {
        Dialogue {
            proto,
            client: Reader::default(),
            server: Reader::default(),
            encrypted: matches!(server_port, 465 | 993 | 995),
            starttls_asked: false,
            sasl: None,
            client_body: None,
            server_body: None,
            pop_reply_opens: None,
            pop_listing: None,
            http: Default::default(),
        }
    }

    /// The next bytes (or gap) of one side; returns the lines they finish.
    pub fn feed(&mut self, from_client: bool, chunk: Chunk) -> Vec<Said> {
        let mut out = Vec::new();
        match chunk {
            Chunk::Gap(missing) => self.gap(from_client, missing, &mut out),
            Chunk::Data(bytes) if self.encrypted => out.push(Said {
                from_client,
                text: format!("{} [encrypted, {} bytes]", side(from_client), bytes.len()),
            }),
            Chunk::Data(bytes) => {
                self.reader(from_client).buf.extend_from_slice(&bytes);
                self.pump(from_client, false, &mut out);
            }
        }
        out
    }

    /// The side closed (FIN) or the capture ended: its last partial line,
    /// and a body that ran to the close.
    pub fn close(&mut self, from_client: bool) -> Vec<Said> {
        let mut out = Vec::new();
        self.pump(from_client, true, &mut out);
        let body = if from_client {
            self.client_body.take()
        } else {
            self.server_body.take()
        };
        if let Some(body) = body.filter(|b| b.bytes > 0) {
            let text = self.body_summary(from_client, &body);
            out.push(Said { from_client, text });
        }
        out
    }

    fn reader(&mut self, from_client: bool) -> &mut Reader {
        if from_client {
            &mut self.client
        } else {
            &mut self.server
        }
    }

    fn gap(&mut self, from_client: bool, missing: u32, out: &mut Vec<Said>) {
        let reader = self.reader(from_client);
        match reader.want {
            Some(want) if want > u64::from(missing) => {
                reader.want = Some(want - u64::from(missing));
            }
            _ => {
                reader.want = None;
                reader.buf.clear();
            }
        }
        out.push(Said {
            from_client,
            text: format!("{} [{missing} bytes not captured]", side(from_client)),
        });
    }

    fn pump(&mut self, from_client: bool, at_end: bool, out: &mut Vec<Said>) {
        while let Some(piece) = self.reader(from_client).next(at_end) {
            if self.encrypted {
                // STARTTLS took effect mid-buffer: the rest is TLS.
                let reader = self.reader(from_client);
                let rest = reader.buf.len();
                reader.buf.clear();
                let len = match &piece {
                    Piece::Line(line) => line.len() + 2 + rest,
                    Piece::Bytes(bytes) => bytes.len() + rest,
                };
                out.push(Said {
                    from_client,
                    text: format!("{} [encrypted, {len} bytes]", side(from_client)),
                });
                return;
            }
            match piece {
                Piece::Line(line) => self.line(from_client, &line, out),
                Piece::Bytes(bytes) => self.bytes(from_client, &bytes, out),
            }
        }
    }

    fn line(&mut self, from_client: bool, line: &[u8], out: &mut Vec<Said>) {
        let text = String::from_utf8_lossy(line).into_owned();
        match (self.proto, from_client) {
            (Proto::Smtp, true) => self.smtp_client(line, text, out),
            (Proto::Smtp, false) => self.smtp_server(text, out),
            (Proto::Pop3, true) => self.pop3_client(text, out),
            (Proto::Pop3, false) => self.pop3_server(line, text, out),
            (Proto::Imap, true) => self.imap_client(text, out),
            (Proto::Imap, false) => self.imap_server(text, out),
            (_, from_client) => self.http_line(from_client, text, out),
        }
    }

    fn bytes(&mut self, from_client: bool, bytes: &[u8], out: &mut Vec<Said>) {
        let done = self.reader(from_client).want.is_none();
        let body = if from_client {
            &mut self.client_body
        } else {
            &mut self.server_body
        };
        body.get_or_insert_with(Body::default).add_bytes(bytes);
        if !done {
            return;
        }
        if self.proto == Proto::Http {
            let http = &mut self.http[usize::from(!from_client)];
            if http.chunked {
                http.chunk_size_next = true;
                return;
            }
        }
        if let Some(body) = self.take_body(from_client) {
            let text = self.body_summary(from_client, &body);
            out.push(Said { from_client, text });
        }
    }

    fn take_body(&mut self, from_client: bool) -> Option<Body> {
        if from_client {
            self.client_body.take()
        } else {
            self.server_body.take()
        }
    }

    fn body_summary(&self, from_client: bool, body: &Body) -> String {
        let summary = if self.proto == Proto::Http {
            let http = &self.http[usize::from(!from_client)];
            match &http.content_type {
                Some(kind) => format!("[body: {} bytes, {kind}]", body.bytes),
                None => format!("[body: {} bytes]", body.bytes),
            }
        } else {
            body.mail_summary()
        };
        format!("{} {summary}", side(from_client))
    }

    /// A client line that answers the server's SASL challenge, if one is
    /// awaited: shown with its decoding.
    fn sasl_response(&mut self, text: &str, out: &mut Vec<Said>) -> bool {
        let Some(sasl) = self.sasl.as_mut().filter(|s| s.prompted) else {
            return false;
        };
        sasl.prompted = false;
        let note = if text.trim() == "*" {
            "[AUTH cancelled]".to_string()
        } else {
            decode_sasl(sasl, text)
        };
        sasl.step += 1;
        out.push(said(true, format!("{text}  {note}")));
        true
    }

    /// `AUTH PLAIN [initial response]` and the like: starts the exchange.
    fn sasl_start(&mut self, mechanism: Option<&str>, initial: Option<&str>) -> Option<String> {
        let mut sasl = Sasl {
            mechanism: mechanism?.to_ascii_uppercase(),
            step: 0,
            prompt: String::new(),
            prompted: false,
        };
        let note = initial.filter(|i| *i != "=").map(|i| {
            let note = decode_sasl(&sasl, i);
            sasl.step = 1;
            note
        });
        self.sasl = Some(sasl);
        note
    }

    /// A server challenge (`334 …`, `+ …`): decoded, and the client's next
    /// line is a response.
    fn sasl_challenge(&mut self, encoded: &str) -> Option<String> {
        let sasl = self.sasl.as_mut()?;
        sasl.prompted = true;
        let decoded = STANDARD.decode(encoded.trim()).ok()?;
        sasl.prompt = String::from_utf8_lossy(&decoded).into_owned();
        (!sasl.prompt.is_empty()).then(|| format!("[decoded: {:?}]", sasl.prompt))
    }

    fn smtp_client(&mut self, line: &[u8], text: String, out: &mut Vec<Said>) {
        if let Some(body) = self.client_body.as_mut() {
            if line == b"." {
                let body = self.client_body.take().unwrap_or_default();
                out.push(said(true, body.mail_summary()));
                out.push(said(true, ".".into()));
            } else {
                // Dot-stuffing undone: the message as written.
                body.add_line(line.strip_prefix(b".").unwrap_or(line));
            }
            return;
        }
        if self.sasl_response(&text, out) {
            return;
        }
        let mut words = text.split_whitespace();
        let verb = words.next().unwrap_or("").to_ascii_uppercase();
        let note = match verb.as_str() {
            "AUTH" => {
                let mechanism = words.next();
                self.sasl_start(mechanism, words.next())
            }
            "STARTTLS" => {
                self.starttls_asked = true;
                None
            }
            _ => None,
        };
        out.push(said(true, with_note(text, note)));
    }

    fn smtp_server(&mut self, text: String, out: &mut Vec<Said>) {
        let code = text.get(..3).unwrap_or("").to_string();
        let last = text.as_bytes().get(3) != Some(&b'-');
        let mut note = None;
        if code == "334" {
            note = self.sasl_challenge(text.get(4..).unwrap_or(""));
        } else if last {
            self.sasl = None;
        }
        if last && code == "354" {
            self.client_body = Some(Body::default());
        }
        let starttls = self.starttls_asked && last;
        out.push(said(false, with_note(text, note)));
        if starttls {
            self.starttls_asked = false;
            self.encrypted = code == "220";
        }
    }

    fn pop3_client(&mut self, text: String, out: &mut Vec<Said>) {
        if self.sasl_response(&text, out) {
            return;
        }
        let mut words = text.split_whitespace();
        let verb = words.next().unwrap_or("").to_ascii_uppercase();
        let argument = words.next();
        self.pop_reply_opens = match verb.as_str() {
            "RETR" | "TOP" => Some(Listing::Message),
            "CAPA" => Some(Listing::Lines),
            "LIST" | "UIDL" if argument.is_none() => Some(Listing::Lines),
            _ => None,
        };
        let note = match verb.as_str() {
            "PASS" => Some("[password in clear]".to_string()),
            "AUTH" => self.sasl_start(argument, words.next()),
            "STLS" => {
                self.starttls_asked = true;
                None
            }
            _ => None,
        };
        out.push(said(true, with_note(text, note)));
    }

    fn pop3_server(&mut self, line: &[u8], text: String, out: &mut Vec<Said>) {
        if let Some(listing) = self.pop_listing {
            if line == b"." {
                self.pop_listing = None;
                if let Some(body) = self.server_body.take() {
                    out.push(said(false, body.mail_summary()));
                }
                out.push(said(false, ".".into()));
            } else if listing == Listing::Message {
                let line = line.strip_prefix(b".").unwrap_or(line);
                self.server_body
                    .get_or_insert_with(Body::default)
                    .add_line(line);
            } else {
                out.push(said(false, text));
            }
            return;
        }
        let ok = text.starts_with("+OK");
        let mut note = None;
        if text == "+" || text.starts_with("+ ") {
            note = self.sasl_challenge(text.get(2..).unwrap_or(""));
        } else if ok || text.starts_with("-ERR") {
            self.sasl = None;
            let opens = self.pop_reply_opens.take();
            if ok {
                self.pop_listing = opens;
            }
        }
        let err = text.starts_with("-ERR");
        out.push(said(false, with_note(text, note)));
        if self.starttls_asked && (ok || err) {
            self.starttls_asked = false;
            self.encrypted = ok;
        }
    }

    fn imap_client(&mut self, text: String, out: &mut Vec<Said>) {
        if self.sasl_response(&text, out) {
            return;
        }
        let mut words = text.split_whitespace();
        let _tag = words.next();
        let command = words.next().unwrap_or("").to_ascii_uppercase();
        let note = match command.as_str() {
            "LOGIN" => Some("[user and password in clear]".to_string()),
            "AUTHENTICATE" => {
                let mechanism = words.next();
                self.sasl_start(mechanism, words.next())
            }
            "STARTTLS" => {
                self.starttls_asked = true;
                None
            }
            _ => None,
        };
        self.client.want = literal_length(&text);
        out.push(said(true, with_note(text, note)));
    }

    fn imap_server(&mut self, text: String, out: &mut Vec<Said>) {
        let mut note = None;
        let tagged = !text.starts_with('*') && !text.starts_with('+');
        if text == "+" || text.starts_with("+ ") {
            note = self.sasl_challenge(text.get(2..).unwrap_or(""));
        } else if tagged {
            self.sasl = None;
        }
        self.server.want = literal_length(&text);
        let ok = text
            .split_whitespace()
            .nth(1)
            .is_some_and(|w| w.eq_ignore_ascii_case("OK"));
        out.push(said(false, with_note(text, note)));
        if self.starttls_asked && tagged {
            self.starttls_asked = false;
            self.encrypted = ok;
        }
    }

    fn http_line(&mut self, from_client: bool, text: String, out: &mut Vec<Said>) {
        let http = &mut self.http[usize::from(!from_client)];
        if http.chunked && http.chunk_size_next {
            let size = text.split(';').next().unwrap_or("").trim();
            if size.is_empty() {
                return; // the CRLF after a chunk
            }
            match u64::from_str_radix(size, 16) {
                Ok(0) => {
                    http.chunk_size_next = false;
                    http.trailer = true;
                }
                Ok(size) => {
                    http.chunk_size_next = false;
                    self.reader(from_client).want = Some(size);
                }
                Err(_) => {
                    http.chunked = false;
                    http.chunk_size_next = false;
                    out.push(said(from_client, format!("[bad chunk size {size:?}]")));
                }
            }
            return;
        }
        if http.trailer {
            if text.is_empty() {
                http.trailer = false;
                http.chunked = false;
                if let Some(body) = self.take_body(from_client) {
                    let text = self.body_summary(from_client, &body);
                    out.push(Said { from_client, text });
                }
            }
            return;
        }
        if !http.in_headers {
            if text.is_empty() {
                return;
            }
            *http = HttpSide {
                in_headers: true,
                bodiless: !from_client
                    && text.split_whitespace().nth(1).is_some_and(|code| {
                        code.starts_with('1') || code == "204" || code == "304"
                    }),
                ..HttpSide::default()
            };
            out.push(said(from_client, text));
            return;
        }
        if !text.is_empty() {
            if let Some((name, value)) = text.split_once(':') {
                let value = value.trim();
                match name.trim().to_ascii_lowercase().as_str() {
                    "content-length" => http.length = value.parse().ok(),
                    "transfer-encoding" => {
                        http.chunked = value.to_ascii_lowercase().contains("chunked");
                    }
                    "content-type" => http.content_type = Some(value.to_string()),
                    _ => {}
                }
            }
            out.push(said(from_client, text));
            return;
        }
        // The end of the headers: what body follows.
        http.in_headers = false;
        let want = if http.bodiless {
            None
        } else if http.chunked {
            http.chunk_size_next = true;
            None
        } else if let Some(length) = http.length {
            (length > 0).then_some(length)
        } else if from_client {
            None
        } else {
            Some(u64::MAX) // until the server closes
        };
        if http.chunked {
            self.client_body_slot(from_client)
                .get_or_insert_with(Body::default);
        }
        self.reader(from_client).want = want;
    }

    fn client_body_slot(&mut self, from_client: bool) -> &mut Option<Body> {
        if from_client {
            &mut self.client_body
        } else {
            &mut self.server_body
        }
    }
}

fn side(from_client: bool) -> &'static str {
    if from_client { "C:" } else { "S:" }
}

fn said(from_client: bool, text: String) -> Said {
    Said {
        from_client,
        text: format!("{} {text}", side(from_client)),
    }
}

fn with_note(text: String, note: Option<String>) -> String {
    match note {
        Some(note) => format!("{text}  {note}"),
        None => text,
    }
}

/// `… {345}` or `… {345+}` at the end of an IMAP line: a literal follows.
fn literal_length(line: &str) -> Option<u64> {
    let inner = line.strip_suffix('}')?;
    let open = inner.rfind('{')?;
    inner[open + 1..]
        .trim_end_matches('+')
        .parse()
        .ok()
        .filter(|n| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn talk(proto: Proto, port: u16, turns: &[(bool, &str)]) -> Vec<String> {
        let mut dialogue = Dialogue::new(proto, port);
        let mut lines = Vec::new();
        for (from_client, text) in turns {
            let said = dialogue.feed(*from_client, Chunk::Data(text.as_bytes().to_vec()));
            lines.extend(said.into_iter().map(|s| s.text));
        }
        lines.extend(dialogue.close(true).into_iter().map(|s| s.text));
        lines.extend(dialogue.close(false).into_iter().map(|s| s.text));
        lines
    }

    #[test]
    fn smtp_auth_login_is_decoded_step_by_step() {
        let lines = talk(
            Proto::Smtp,
            25,
            &[
                (true, "AUTH LOGIN\r\n"),
                (false, "334 VXNlcm5hbWU6\r\n"),
                (true, "Ym9i\r\n"),
                (false, "334 UGFzc3dvcmQ6\r\n"),
                (true, "c2VjcmV0\r\n"),
                (false, "235 2.7.0 Authentication successful\r\n"),
                (true, "MAIL FROM:<bob@mt.com>\r\n"),
            ],
        );
        assert_eq!(
            lines,
            [
                "C: AUTH LOGIN",
                "S: 334 VXNlcm5hbWU6  [decoded: \"Username:\"]",
                "C: Ym9i  [AUTH LOGIN decoded: user \"bob\"]",
                "S: 334 UGFzc3dvcmQ6  [decoded: \"Password:\"]",
                "C: c2VjcmV0  [AUTH LOGIN decoded: password \"secret\"]",
                "S: 235 2.7.0 Authentication successful",
                "C: MAIL FROM:<bob@mt.com>",
            ]
        );
    }

    #[test]
    fn smtp_data_is_one_summary_split_anywhere() {
        let lines = talk(
            Proto::Smtp,
            25,
            &[
                (false, "354 go ahead\r\n"),
                (true, "Subject: Hi\r\nFrom: bob@mt.com\r\n\r\n..dots\r"),
                (true, "\nbye\r\n.\r\nQUIT\r\n"),
            ],
        );
        assert_eq!(
            lines,
            [
                "S: 354 go ahead",
                "C: [message: 5 lines, 45 bytes; From: bob@mt.com; Subject: Hi]",
                "C: .",
                "C: QUIT",
            ]
        );
    }

    #[test]
    fn starttls_hides_what_follows() {
        let lines = talk(
            Proto::Smtp,
            587,
            &[
                (true, "STARTTLS\r\n"),
                (false, "220 2.0.0 Ready to start TLS\r\n"),
                (true, "\u{16}\u{3}\u{1}binary"),
            ],
        );
        assert_eq!(lines[2], "C: [encrypted, 9 bytes]");
    }

    #[test]
    fn pop3_retr_is_summarised_and_list_shown() {
        let lines = talk(
            Proto::Pop3,
            110,
            &[
                (true, "LIST\r\n"),
                (false, "+OK 1 messages\r\n1 120\r\n.\r\n"),
                (true, "RETR 1\r\n"),
                (false, "+OK 120 octets\r\nSubject: x\r\n\r\nhi\r\n.\r\n"),
            ],
        );
        assert_eq!(
            lines,
            [
                "C: LIST",
                "S: +OK 1 messages",
                "S: 1 120",
                "S: .",
                "C: RETR 1",
                "S: +OK 120 octets",
                "S: [message: 3 lines, 18 bytes; Subject: x]",
                "S: .",
            ]
        );
    }

    #[test]
    fn imap_literal_is_counted_not_split_into_lines() {
        let lines = talk(
            Proto::Imap,
            143,
            &[
                (true, "a2 FETCH 1 BODY[]\r\n"),
                (false, "* 1 FETCH (BODY[] {18}\r\nSubject: x\r\n\r\n"),
                (false, "hi\r\n)\r\na2 OK done\r\n"),
            ],
        );
        assert_eq!(
            lines,
            [
                "C: a2 FETCH 1 BODY[]",
                "S: * 1 FETCH (BODY[] {18}",
                "S: [message: 18 bytes; Subject: x]",
                "S: )",
                "S: a2 OK done",
            ]
        );
    }

    #[test]
    fn http_chunked_body_is_one_summary() {
        let lines = talk(
            Proto::Http,
            80,
            &[
                (true, "GET / HTTP/1.1\r\nHost: www\r\n\r\n"),
                (
                    false,
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n",
                ),
            ],
        );
        assert_eq!(
            lines,
            [
                "C: GET / HTTP/1.1",
                "C: Host: www",
                "S: HTTP/1.1 200 OK",
                "S: Transfer-Encoding: chunked",
                "S: [body: 8 bytes]",
            ]
        );
    }

    #[test]
    fn a_gap_is_shown_and_the_dialogue_goes_on() {
        let mut dialogue = Dialogue::new(Proto::Smtp, 25);
        dialogue.feed(true, Chunk::Data(b"MAIL FR".to_vec()));
        let gap = dialogue.feed(true, Chunk::Gap(20));
        assert_eq!(gap[0].text, "C: [20 bytes not captured]");
        let next = dialogue.feed(true, Chunk::Data(b"DATA\r\n".to_vec()));
        assert_eq!(next[0].text, "C: DATA");
    }
}
