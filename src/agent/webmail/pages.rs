//! The webmail's pages: plain server-rendered HTML, no script. Every value
//! that came from mail, the mail server or the user passes through
//! `escape` on its way into a page, so a subject of `<script>` reads as
//! text; the pages are also served with a Content-Security-Policy that
//! runs no script at all.

use super::session::CSRF_FIELD;
use crate::agent::mail::mime::Parsed;

/// Text made safe for HTML content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A value for a query string in a link (then escaped for the attribute).
pub fn query_value(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

const STYLE: &str = "body{font-family:sans-serif;margin:0}header{background:#234;color:#fff;padding:.5em 1em;display:flex;justify-content:space-between;align-items:center}header form{margin:0}nav{float:left;width:12em;padding:1em}main{margin-left:14em;padding:1em}table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3em;border-bottom:1px solid #ddd}pre{white-space:pre-wrap}.error{color:#a00}.notice{color:#060}label{display:block;margin:.5em 0}";

fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head>\n<body>\n{body}</body></html>\n",
        escape(title)
    )
}

fn csrf_input(csrf: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{}\">",
        escape(csrf)
    )
}

/// The login form; `error` is why the last try failed, in plain words.
pub fn login(server: &str, csrf: &str, error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\">{}</p>\n", escape(e)))
        .unwrap_or_default();
    document(
        "Webmail: log in",
        &format!(
            "<main><h1>Webmail</h1>\n<p>Mail at {}</p>\n{error}<form method=\"post\" action=\"/login\">{}\n<label>User <input name=\"user\" autocomplete=\"username\" required></label>\n<label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>\n<button type=\"submit\">Log in</button></form></main>\n",
            escape(server),
            csrf_input(csrf)
        ),
    )
}

/// What every page of a logged-in user shows around its content.
pub struct Frame<'a> {
    pub address: &'a str,
    pub csrf: &'a str,
    pub folders: &'a [String],
    pub current: &'a str,
}

fn framed(frame: &Frame, title: &str, content: &str) -> String {
    let mut nav = String::from("<nav><p><a href=\"/compose\">Write a message</a></p><ul>\n");
    for folder in frame.folders {
        let name = escape(folder);
        let link = escape(&format!("/folder?name={}", query_value(folder)));
        if folder == frame.current {
            nav.push_str(&format!("<li><strong>{name}</strong></li>\n"));
        } else {
            nav.push_str(&format!("<li><a href=\"{link}\">{name}</a></li>\n"));
        }
    }
    nav.push_str("</ul></nav>\n");
    document(
        title,
        &format!(
            "<header><span>{}</span><form method=\"post\" action=\"/logout\">{}<button type=\"submit\">Log out</button></form></header>\n{nav}<main>\n{content}</main>\n",
            escape(frame.address),
            csrf_input(frame.csrf)
        ),
    )
}

/// One line of a folder's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub uid: u32,
    pub from: String,
    pub subject: String,
    pub date: String,
    pub size: u64,
}

/// A folder's newest messages.
pub fn folder(frame: &Frame, rows: &[Row], total: u32, notice: Option<&str>) -> String {
    let mut content = format!("<h1>{}</h1>\n", escape(frame.current));
    if let Some(notice) = notice {
        content.push_str(&format!("<p class=\"notice\">{}</p>\n", escape(notice)));
    }
    if rows.is_empty() {
        content.push_str("<p>No messages.</p>\n");
    } else {
        if total as usize > rows.len() {
            content.push_str(&format!(
                "<p>The newest {} of {total} messages.</p>\n",
                rows.len()
            ));
        }
        content
            .push_str("<table><tr><th>From</th><th>Subject</th><th>Date</th><th>Size</th></tr>\n");
        for row in rows {
            let link = format!(
                "/message?folder={}&uid={}",
                query_value(frame.current),
                row.uid
            );
            let subject = if row.subject.trim().is_empty() {
                "(no subject)"
            } else {
                &row.subject
            };
            content.push_str(&format!(
                "<tr><td>{}</td><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td></tr>\n",
                escape(&row.from),
                escape(&link),
                escape(subject),
                escape(&row.date),
                row.size
            ));
        }
        content.push_str("</table>\n");
    }
    framed(frame, &format!("Webmail: {}", frame.current), &content)
}

/// One message: its headers, text, attachments (as download links) and a
/// form to move it to another folder.
pub fn message(frame: &Frame, uid: u32, parsed: &Parsed) -> String {
    let header = |name: &str| parsed.header(name).unwrap_or_default();
    let subject = header("subject");
    let mut content = format!("<h1>{}</h1>\n<table>\n", escape(&subject));
    for name in ["From", "To", "Cc", "Date"] {
        let value = header(name);
        if !value.is_empty() {
            content.push_str(&format!(
                "<tr><th>{name}</th><td>{}</td></tr>\n",
                escape(&value)
            ));
        }
    }
    content.push_str("</table>\n");
    content.push_str(&format!("<pre>{}</pre>\n", escape(&parsed.text)));
    if !parsed.attachments.is_empty() {
        content.push_str("<h2>Attachments</h2>\n<ul>\n");
        for (index, attachment) in parsed.attachments.iter().enumerate() {
            let link = format!(
                "/attachment?folder={}&uid={uid}&part={index}",
                query_value(frame.current)
            );
            content.push_str(&format!(
                "<li><a href=\"{}\" download>{}</a> ({}, {} bytes)</li>\n",
                escape(&link),
                escape(&attachment.name),
                escape(&attachment.content_type),
                attachment.bytes.len()
            ));
        }
        content.push_str("</ul>\n");
    }
    let mut options = String::new();
    for folder in frame.folders.iter().filter(|f| *f != frame.current) {
        options.push_str(&format!(
            "<option value=\"{0}\">{0}</option>",
            escape(folder)
        ));
    }
    content.push_str(&format!(
        "<form method=\"post\" action=\"/move\">{}<input type=\"hidden\" name=\"folder\" value=\"{}\"><input type=\"hidden\" name=\"uid\" value=\"{uid}\">\n<label>Move to <select name=\"to\"><option value=\"\">(a new folder)</option>{options}</select></label>\n<label>New folder <input name=\"new\" placeholder=\"e.g. Lectures\"></label>\n<button type=\"submit\">Move</button></form>\n",
        csrf_input(frame.csrf),
        escape(frame.current)
    ));
    framed(frame, &format!("Webmail: {subject}"), &content)
}

/// What the compose form was filled with (kept when sending fails).
#[derive(Debug, Default)]
pub struct Draft<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
}

/// The compose form (multipart, for the attachment).
pub fn compose(frame: &Frame, draft: &Draft, error: Option<&str>, max_upload: usize) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\">{}</p>\n", escape(e)))
        .unwrap_or_default();
    let content = format!(
        "<h1>Write a message</h1>\n{error}<form method=\"post\" action=\"/send\" enctype=\"multipart/form-data\">{}\n<label>To <input name=\"to\" type=\"email\" value=\"{}\" required></label>\n<label>Subject <input name=\"subject\" value=\"{}\"></label>\n<label>Message<br><textarea name=\"body\" rows=\"12\" cols=\"72\">{}</textarea></label>\n<label>Attachment (up to {} KiB) <input name=\"attachment\" type=\"file\"></label>\n<button type=\"submit\">Send</button></form>\n",
        csrf_input(frame.csrf),
        escape(draft.to),
        escape(draft.subject),
        escape(draft.body),
        max_upload / 1024
    );
    framed(frame, "Webmail: write a message", &content)
}

/// A page that only says what went wrong.
pub fn problem(title: &str, text: &str) -> String {
    document(
        title,
        &format!(
            "<main><h1>{}</h1>\n<p>{}</p>\n<p><a href=\"/\">Back to the mailbox</a></p></main>\n",
            escape(title),
            escape(text)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::mail::mime::{Attachment, parse};

    const XSS: &str = "<script>alert('x')</script>";

    fn frame<'a>(folders: &'a [String]) -> Frame<'a> {
        Frame {
            address: "bob@hamburger.edu",
            csrf: "tok",
            folders,
            current: "INBOX",
        }
    }

    #[test]
    fn escapes_the_five_characters() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(query_value("Lab Reports&x"), "Lab+Reports%26x");
    }

    #[test]
    fn a_message_with_script_renders_as_text() {
        let raw = format!(
            "From: \"{XSS}\" <evil@x.org>\r\nTo: bob@hamburger.edu\r\nSubject: {XSS}\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n{XSS}\r\n<img src=x onerror=alert(1)>\r\n--b\r\nContent-Type: text/html; name=\"<b>x.html\"\r\nContent-Disposition: attachment; filename=\"<b>x.html\"\r\n\r\n<script>1</script>\r\n--b--\r\n"
        );
        let parsed = parse(raw.as_bytes());
        let folders = vec!["INBOX".to_string(), "<i>Junk".to_string()];
        let page = message(&frame(&folders), 7, &parsed);
        assert!(!page.contains("<script"), "{page}");
        assert!(!page.contains("<img"), "{page}");
        assert!(!page.contains("<b>"), "{page}");
        assert!(!page.contains("<i>"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(page.contains("href=\"/attachment?folder=INBOX&amp;uid=7&amp;part=0\""));
        let rows = [Row {
            uid: 7,
            from: XSS.into(),
            subject: XSS.into(),
            date: "\"><script>".into(),
            size: 10,
        }];
        let list = folder(&frame(&folders), &rows, 1, Some(XSS));
        assert!(!list.contains("<script"), "{list}");
        assert!(list.contains("<a href=\"/message?folder=INBOX&amp;uid=7\">&lt;script&gt;"));
        assert!(list.contains("<a href=\"/folder?name=%3Ci%3EJunk\">&lt;i&gt;Junk</a>"));
    }

    #[test]
    fn every_form_carries_the_csrf_token_and_values_are_escaped() {
        let folders = vec!["INBOX".to_string()];
        let draft = Draft {
            to: "\"><script>",
            subject: XSS,
            body: "</textarea><script>",
        };
        let page = compose(&frame(&folders), &draft, Some(XSS), 1024 * 1024);
        assert!(!page.contains("<script"), "{page}");
        assert_eq!(page.matches("<form").count(), 2, "logout and send");
        assert_eq!(
            page.matches("<input type=\"hidden\" name=\"csrf\" value=\"tok\">")
                .count(),
            2
        );
        assert!(page.contains("enctype=\"multipart/form-data\""));
        let login_page = login("mail.<x>.edu", "t\"k", Some("refused: <NO>"));
        assert!(login_page.contains("value=\"t&quot;k\""));
        assert!(login_page.contains("refused: &lt;NO&gt;"));
        let parsed = Parsed {
            attachments: vec![Attachment {
                name: "a.txt".into(),
                content_type: "text/plain".into(),
                bytes: b"x".to_vec(),
            }],
            ..Parsed::default()
        };
        let page = message(&frame(&folders), 1, &parsed);
        assert_eq!(page.matches("<form").count(), 2, "logout and move");
        assert_eq!(page.matches("name=\"csrf\" value=\"tok\"").count(), 2);
    }
}
