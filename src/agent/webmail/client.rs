//! Logging in to a webmail as a browser does, for `http` checks with a
//! `login`: GET the login page (a session cookie and the form's CSRF
//! token), POST the form, keep the new session cookie. The one place
//! outside the webmail that knows its form.

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpStream;

use super::session::{COOKIE, CSRF_FIELD, cookie_value};
use crate::agent::http::{Response, request};

/// The path of the login form.
pub const LOGIN_PATH: &str = "/login";

/// Logs in as `user`; returns the Cookie header for later requests, or
/// why not in words (the page's own message when the server refused).
pub async fn log_in<C, F>(
    connect: C,
    host: &str,
    user: &str,
    password: &str,
    timeout: Duration,
) -> Result<String, String>
where
    C: Fn() -> F,
    F: Future<Output = Result<TcpStream, String>>,
{
    let page = request(
        connect().await?,
        "GET",
        host,
        LOGIN_PATH,
        &[],
        None,
        timeout,
    )
    .await
    .map_err(|e| format!("GET {LOGIN_PATH}: {e}"))?;
    if page.status != 200 {
        return Err(format!(
            "GET {LOGIN_PATH} answered {} {}: is this a webmail?",
            page.status, page.reason
        ));
    }
    let cookie = session_cookie(&page)
        .ok_or_else(|| format!("GET {LOGIN_PATH} set no {COOKIE} cookie: is this a webmail?"))?;
    let token = hidden_value(&String::from_utf8_lossy(&page.body), CSRF_FIELD)
        .ok_or_else(|| format!("the login page has no {CSRF_FIELD} field: is this a webmail?"))?;
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair(CSRF_FIELD, &token)
        .append_pair("user", user)
        .append_pair("password", password)
        .finish();
    let cookie_header = format!("{COOKIE}={cookie}");
    let answer = request(
        connect().await?,
        "POST",
        host,
        LOGIN_PATH,
        &[("Cookie", &cookie_header)],
        Some(&form),
        timeout,
    )
    .await
    .map_err(|e| format!("POST {LOGIN_PATH}: {e}"))?;
    if answer.status != 303 {
        let body = String::from_utf8_lossy(&answer.body);
        let why =
            error_text(&body).unwrap_or_else(|| format!("{} {}", answer.status, answer.reason));
        return Err(format!("the webmail refused the login of {user}: {why}"));
    }
    let session = session_cookie(&answer)
        .ok_or_else(|| "the webmail logged in but set no session cookie".to_string())?;
    Ok(format!("{COOKIE}={session}"))
}

fn session_cookie(response: &Response) -> Option<String> {
    response
        .header_values("set-cookie")
        .find_map(|value| cookie_value(value.split(';').next()?, COOKIE).map(str::to_string))
        .filter(|value| !value.is_empty())
}

/// `value` of `<input type="hidden" name="NAME" value="…">`.
fn hidden_value(page: &str, name: &str) -> Option<String> {
    let at = page.find(&format!("name=\"{name}\" value=\""))? + name.len() + 15;
    let end = page[at..].find('"')?;
    Some(page[at..at + end].to_string())
}

/// The text of the page's `<p class="error">`, unescaped.
fn error_text(page: &str) -> Option<String> {
    let at = page.find("<p class=\"error\">")? + 17;
    let end = page[at..].find("</p>")?;
    Some(
        page[at..at + end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::webmail::pages;

    #[test]
    fn reads_what_the_login_page_renders() {
        let page = pages::login("mail.x.edu", "abc123", Some("refused: <no> & 'why'"));
        assert_eq!(hidden_value(&page, CSRF_FIELD).as_deref(), Some("abc123"));
        assert_eq!(error_text(&page).as_deref(), Some("refused: <no> & 'why'"));
    }
}
