//! The accounts of a mail node: its local domains and its users with their
//! passwords, as the lab file gives them. Users log in with their name
//! (`ada`) or their address at a local domain (`ada@mt.com`); names and
//! domains compare case-insensitively.

use std::collections::BTreeMap;
use std::sync::RwLock;

/// Users and domains of one mail node. `labctl apply` replaces them while
/// the server runs (`replace`); every login looks them up afresh, so open
/// sessions stay and the next login sees the change.
#[derive(Debug, Default)]
pub struct Accounts {
    table: RwLock<Table>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Table {
    domains: Vec<String>,
    passwords: BTreeMap<String, String>,
}

impl Table {
    fn new<'a>(
        domains: impl IntoIterator<Item = &'a str>,
        users: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Table {
        Table {
            domains: domains.into_iter().map(str::to_ascii_lowercase).collect(),
            passwords: users
                .into_iter()
                .map(|(user, password)| (user.to_ascii_lowercase(), password.to_string()))
                .collect(),
        }
    }

    fn user(&self, login: &str) -> Option<&str> {
        let name = match login.rsplit_once('@') {
            Some((local, domain)) if self.is_local_domain(domain) => local,
            Some(_) => return None,
            None => login,
        };
        self.passwords
            .get_key_value(&name.to_ascii_lowercase())
            .map(|(name, _)| name.as_str())
    }

    fn is_local_domain(&self, domain: &str) -> bool {
        self.domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }
}

impl Clone for Accounts {
    fn clone(&self) -> Accounts {
        Accounts {
            table: RwLock::new(self.read().clone()),
        }
    }
}

impl PartialEq for Accounts {
    fn eq(&self, other: &Accounts) -> bool {
        *self.read() == *other.read()
    }
}

impl Accounts {
    pub fn new<'a>(
        domains: impl IntoIterator<Item = &'a str>,
        users: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Accounts {
        Accounts {
            table: RwLock::new(Table::new(domains, users)),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Table> {
        // A panic while holding the lock cannot leave a half-written table
        // (`replace` swaps whole values), so a poisoned lock is still good.
        self.table.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces domains and users (`labctl apply`); open sessions stay.
    pub fn replace<'a>(
        &self,
        domains: impl IntoIterator<Item = &'a str>,
        users: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) {
        let table = Table::new(domains, users);
        *self.table.write().unwrap_or_else(|e| e.into_inner()) = table;
    }

    /// Whether `password` is the password of the account `user` names.
    pub fn check(&self, user: &str, password: &str) -> bool {
        let table = self.read();
        table
            .user(user)
            .and_then(|name| table.passwords.get(name))
            .is_some_and(|expected| same_bytes(expected.as_bytes(), password.as_bytes()))
    }

    /// The account a login name (`ada` or `ada@mt.com`) stands for.
    pub fn user(&self, login: &str) -> Option<String> {
        self.read().user(login).map(str::to_string)
    }

    pub fn is_local_domain(&self, domain: &str) -> bool {
        self.read().is_local_domain(domain)
    }

    /// The first local domain (the server's own name when it needs one).
    pub fn primary_domain(&self) -> Option<String> {
        self.read().domains.first().cloned()
    }

    pub fn users(&self) -> Vec<String> {
        self.read().passwords.keys().cloned().collect()
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
        assert_eq!(accounts.user("Bob").as_deref(), Some("bob"));
    }

    #[test]
    fn domains() {
        let accounts = accounts();
        assert!(accounts.is_local_domain("MT.COM"));
        assert!(!accounts.is_local_domain("cbrc.com"));
        assert_eq!(accounts.primary_domain().as_deref(), Some("mt.com"));
        assert_eq!(accounts.users(), ["ada", "bob"]);
        accounts.replace(["mt.com"], [("carol", "new")]);
        assert_eq!(accounts.users(), ["carol"]);
        assert!(accounts.check("carol@mt.com", "new") && !accounts.check("ada", "secret"));
    }
}
