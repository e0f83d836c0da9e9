//! The accounts of a mail node: its local domains and its users with their
//! passwords, as the lab file gives them. Users log in with their name
//! (`ada`) or their address at a local domain (`ada@mt.com`); names and
//! domains compare case-insensitively.

use std::collections::BTreeMap;

/// Users and domains of one mail node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accounts {
    domains: Vec<String>,
    passwords: BTreeMap<String, String>,
}

impl Accounts {
    pub fn new<'a>(
        domains: impl IntoIterator<Item = &'a str>,
        users: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Accounts {
        Accounts {
            domains: domains.into_iter().map(str::to_ascii_lowercase).collect(),
            passwords: users
                .into_iter()
                .map(|(user, password)| (user.to_ascii_lowercase(), password.to_string()))
                .collect(),
        }
    }

    /// Whether `password` is the password of the account `user` names.
    pub fn check(&self, user: &str, password: &str) -> bool {
        self.user(user)
            .and_then(|name| self.passwords.get(name))
            .is_some_and(|expected| same_bytes(expected.as_bytes(), password.as_bytes()))
    }

    /// The account a login name (`ada` or `ada@mt.com`) stands for.
    pub fn user(&self, login: &str) -> Option<&str> {
        let name = match login.rsplit_once('@') {
            Some((local, domain)) if self.is_local_domain(domain) => local,
            Some(_) => return None,
            None => login,
        };
        self.passwords
            .get_key_value(&name.to_ascii_lowercase())
            .map(|(name, _)| name.as_str())
    }

    pub fn is_local_domain(&self, domain: &str) -> bool {
        self.domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }

    /// The first local domain (the server's own name when it needs one).
    pub fn primary_domain(&self) -> Option<&str> {
        self.domains.first().map(String::as_str)
    }

    pub fn users(&self) -> impl Iterator<Item = &str> {
        self.passwords.keys().map(String::as_str)
    }
}

/// Compares without stopping at the first difference.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accounts() -> Accounts {
        Accounts::new(
            ["mt.com", "Mail.MT.com"],
            [("Ada", "secret"), ("bob", "pw")],
        )
    }

    #[test]
    fn logins_by_name_or_local_address() {
        let accounts = accounts();
        assert!(accounts.check("ada", "secret"));
        assert!(accounts.check("ADA@mt.com", "secret"));
        assert!(accounts.check("bob@mail.mt.com", "pw"));
        assert!(!accounts.check("ada", "Secret"));
        assert!(!accounts.check("ada", "secre"));
        assert!(!accounts.check("ada@other.org", "secret"));
        assert!(!accounts.check("carol", ""));
        assert_eq!(accounts.user("Bob"), Some("bob"));
    }

    #[test]
    fn domains() {
        let accounts = accounts();
        assert!(accounts.is_local_domain("MT.COM"));
        assert!(!accounts.is_local_domain("cbrc.com"));
        assert_eq!(accounts.primary_domain(), Some("mt.com"));
        assert_eq!(accounts.users().collect::<Vec<_>>(), ["ada", "bob"]);
    }
}
