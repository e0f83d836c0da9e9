//! Webmail sessions: a random id in an HttpOnly, SameSite=Strict cookie,
//! a CSRF token per session that every POST form carries, and the login
//! the webmail uses for IMAP and SMTP on the user's behalf (as real webmail
//! keeps it for the session). A session starts at the login page, gets a
//! new id when the user logs in (no fixation), and ends at logout or after
//! `IDLE` without a request. The table is capped: when full, expired
//! sessions go first, then the one idle longest.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The cookie's name.
pub const COOKIE: &str = "labctl_webmail";
/// The hidden field of every POST form.
pub const CSRF_FIELD: &str = "csrf";
/// Sessions at once.
pub const MAX_SESSIONS: usize = 1024;
/// How long a session lives without a request.
pub const IDLE: Duration = Duration::from_secs(30 * 60);

/// Who is logged in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Login {
    pub user: String,
    pub password: String,
}

#[derive(Clone, Debug)]
pub struct Session {
    pub id: String,
    pub csrf: String,
    pub login: Option<Login>,
    last_used: Instant,
}

pub struct Sessions {
    table: Mutex<HashMap<String, Session>>,
    max: usize,
    idle: Duration,
}

/// 128 random bits from the kernel, in hex.
pub fn random_token() -> String {
    let mut bytes = [0u8; 16];
    // The kernel's generator does not fail once the system has booted;
    // were it to, a zero token would be guessable, so stop instead.
    getrandom::fill(&mut bytes).expect("the kernel's random number generator");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares a token a form sent with the session's, in time that does not
/// depend on where they differ.
pub fn tokens_match(sent: &str, expected: &str) -> bool {
    sent.len() == expected.len()
        && sent
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The value of cookie `name` in a Cookie header.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then_some(value.trim_matches('"'))
    })
}

/// The Set-Cookie value for a session id (`secure` once served over HTTPS).
pub fn set_cookie(id: &str, secure: bool) -> String {
    format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The Set-Cookie value that removes the cookie.
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

impl Sessions {
    pub fn new(max: usize, idle: Duration) -> Sessions {
        Sessions {
            table: Mutex::new(HashMap::new()),
            max: max.max(1),
            idle,
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A panic elsewhere leaves a table that is still consistent.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new session, not logged in.
    pub fn start(&self) -> Session {
        self.insert(None)
    }

    fn insert(&self, login: Option<Login>) -> Session {
        let now = Instant::now();
        let mut table = self.table();
        if table.len() >= self.max {
            table.retain(|_, s| now.duration_since(s.last_used) < self.idle);
        }
        if table.len() >= self.max
            && let Some(oldest) = table
                .values()
                .min_by_key(|s| s.last_used)
                .map(|s| s.id.clone())
        {
            table.remove(&oldest);
        }
        let session = Session {
            id: random_token(),
            csrf: random_token(),
            login,
            last_used: now,
        };
        table.insert(session.id.clone(), session.clone());
        session
    }

    /// The live session with this id (its idle time starts again).
    pub fn get(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        let mut table = self.table();
        let session = table.get_mut(id)?;
        if now.duration_since(session.last_used) >= self.idle {
            table.remove(id);
            return None;
        }
        session.last_used = now;
        Some(session.clone())
    }

    /// Ends session `old` and starts a logged-in one with a new id and token.
    pub fn log_in(&self, old: &str, login: Login) -> Session {
        self.end(old);
        self.insert(Some(login))
    }

    pub fn end(&self, id: &str) {
        self.table().remove(id);
    }

    /// How many sessions are live or not yet swept.
    pub fn count(&self) -> usize {
        self.table().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_compared_whole() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert!(tokens_match(&a, &a.clone()));
        assert!(!tokens_match(&a, &b));
        assert!(!tokens_match("", &a));
        assert!(!tokens_match(&a[..31], &a));
    }

    #[test]
    fn cookies_are_strict_and_http_only() {
        let set = set_cookie("abc", false);
        assert_eq!(set, "labctl_webmail=abc; Path=/; HttpOnly; SameSite=Strict");
        assert!(set_cookie("abc", true).ends_with("; Secure"));
        assert!(clear_cookie(false).contains("Max-Age=0"));
        assert_eq!(
            cookie_value("a=1; labctl_webmail=xyz; b=2", COOKIE),
            Some("xyz")
        );
        assert_eq!(cookie_value("labctl_webmailx=1", COOKIE), None);
        assert_eq!(cookie_value("", COOKIE), None);
    }

    #[test]
    fn logging_in_gives_a_new_id_and_token() {
        let sessions = Sessions::new(10, IDLE);
        let anonymous = sessions.start();
        assert!(anonymous.login.is_none());
        let login = Login {
            user: "bob".into(),
            password: "secret".into(),
        };
        let logged = sessions.log_in(&anonymous.id, login.clone());
        assert_ne!(logged.id, anonymous.id, "no session fixation");
        assert_ne!(logged.csrf, anonymous.csrf);
        assert!(sessions.get(&anonymous.id).is_none());
        assert_eq!(sessions.get(&logged.id).unwrap().login, Some(login));
        sessions.end(&logged.id);
        assert!(sessions.get(&logged.id).is_none());
    }

    #[test]
    fn idle_sessions_expire_and_the_table_is_capped() {
        let sessions = Sessions::new(3, Duration::from_millis(30));
        let first = sessions.start();
        std::thread::sleep(Duration::from_millis(40));
        assert!(sessions.get(&first.id).is_none(), "expired");
        let sessions = Sessions::new(3, IDLE);
        let ids: Vec<String> = (0..5).map(|_| sessions.start().id).collect();
        assert_eq!(sessions.count(), 3);
        assert!(sessions.get(&ids[4]).is_some(), "the newest stays");
    }
}
