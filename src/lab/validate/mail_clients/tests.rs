//! PCs' mail settings against the lab's mail servers and zones: each
//! planted mistake in the course lab `cbrc` (PC0's mail client on lines
//! 30–35) is a warning at the field, with what to write instead.

use crate::lab::diagnostic::{Diagnostic, Severity};
use crate::lab::validate::tests::{check, find};

const CBRC: &str = include_str!("../../../../labs/cbrc.yaml");

/// The warnings of the lab with `from` replaced by `to`; it stays valid.
fn warnings_with(from: &str, to: &str) -> Vec<Diagnostic> {
    assert!(CBRC.contains(from), "the lab no longer has {from:?}");
    let checked = check(&CBRC.replace(from, to));
    assert!(checked.valid.is_some(), "{:#?}", checked.diagnostics);
    assert!(
        checked
            .diagnostics
            .iter()
            .all(|d| d.severity == Severity::Warning),
        "{:#?}",
        checked.diagnostics
    );
    checked.diagnostics
}

/// The one warning containing `needle`: its line, column and hint.
fn warning(found: &[Diagnostic], needle: &str) -> (usize, usize, String) {
    let (d, line, col) = find(found, needle);
    (line, col, d.hint.clone().unwrap_or_default())
}

#[test]
fn the_course_lab_has_no_warnings() {
    let checked = check(CBRC);
    assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
}

/// The "address typo in a PC's mail settings", which scored full
/// marks: mail to the typo is never delivered, but the check sent to the
/// right address.
#[test]
fn an_address_typo_in_the_domain_is_a_warning() {
    let found = warnings_with("address: ada@cbrc.com", "address: ada@cbrc.co");
    assert_eq!(
        warning(
            &found,
            "no mail server of this lab serves cbrc.co, so mail to ada@cbrc.co is never delivered"
        ),
        (
            30,
            16,
            "did you mean ada@cbrc.com? the lab's mail domains: cbrc.com (server0)".to_string()
        )
    );
    assert_eq!(found.len(), 1, "{found:#?}");
}

#[test]
fn an_address_typo_in_the_user_is_a_warning() {
    let found = warnings_with("address: ada@cbrc.com", "address: adda@cbrc.com");
    assert_eq!(
        warning(
            &found,
            "server0 serves cbrc.com but has no user adda, so mail to adda@cbrc.com bounces"
        ),
        (30, 16, "did you mean ada@cbrc.com?".to_string())
    );
    assert_eq!(found.len(), 1, "{found:#?}");
}

#[test]
fn a_server_name_missing_from_the_zones_is_a_warning() {
    let found = warnings_with("incoming: mail.cbrc.com", "incoming: mail.cbrc.co");
    assert_eq!(
        warning(
            &found,
            "mail.cbrc.co is in no zone of this lab's DNS servers, so it does not resolve"
        ),
        (31, 17, "did you mean mail.cbrc.com?".to_string())
    );
    assert_eq!(found.len(), 1, "{found:#?}");
}

#[test]
fn a_server_that_runs_no_mail_is_a_warning() {
    // A web server beside the mail server, and the outgoing name pointing at it.
    let yaml = CBRC
        .replace(
            "            mail: {A: server0}\n",
            "            mail: {A: server0}\n            www: {A: web}\n",
        )
        .replace(
            "  sw0: {kind: switch}\n",
            "  sw0: {kind: switch}\n  web:\n    kind: server\n    interfaces: {eth0: 192.168.1.3/24}\n    services: {web: {pages: {/: hi}}}\n",
        )
        .replace("  - [pc0, sw0]\n", "  - [pc0, sw0]\n  - [web, sw0]\n")
        .replace("outgoing: mail.cbrc.com", "outgoing: www.cbrc.com");
    let checked = check(&yaml);
    let (line, _, hint) = warning(
        &checked.diagnostics,
        "www.cbrc.com is 192.168.1.3 (web), which runs no mail server",
    );
    assert_eq!(line, 38);
    assert_eq!(
        hint,
        "the lab's mail servers: cbrc.com or mail.cbrc.com or 192.168.1.2 (server0)"
    );
    let literal = yaml.replace("outgoing: www.cbrc.com", "outgoing: 192.168.1.9");
    let checked = check(&literal);
    warning(
        &checked.diagnostics,
        "no node of this lab has the address 192.168.1.9",
    );
}

#[test]
fn logins_the_server_does_not_know_are_warnings() {
    let found = warnings_with("user: ada", "user: adda");
    assert_eq!(
        warning(&found, "server0 has no user adda, so logging in fails"),
        (34, 13, "did you mean ada?".to_string())
    );
    let found = warnings_with("password: secret\nlinks", "password: sekret\nlinks");
    let (line, col, hint) = warning(
        &found,
        "this is not the password server0 has for ada, so logging in fails",
    );
    assert_eq!((line, col), (35, 17));
    assert!(
        !hint.contains("secret"),
        "the password is never printed: {hint}"
    );
}

#[test]
fn reading_from_another_domains_server_is_a_warning() {
    let yaml = CBRC
        .replace(
            "  sw0: {kind: switch}\n",
            "  sw0: {kind: switch}\n  other:\n    kind: server\n    interfaces: {eth0: 192.168.1.3/24}\n    services: {mail: {domains: [other.org], users: {ada: secret}}}\n",
        )
        .replace("  - [pc0, sw0]\n", "  - [pc0, sw0]\n  - [other, sw0]\n")
        .replace("incoming: mail.cbrc.com", "incoming: 192.168.1.3");
    let checked = check(&yaml);
    let (line, _, hint) = warning(
        &checked.diagnostics,
        "mail for ada@cbrc.com is delivered to server0, but 192.168.1.3 is other",
    );
    assert_eq!(line, 35);
    assert_eq!(
        hint,
        "read it from cbrc.com or mail.cbrc.com or 192.168.1.2 (server0)"
    );
}

#[test]
fn a_lab_without_mail_servers_says_so_once_per_account() {
    let found = warnings_with(
        "      mail:\n        domains: [cbrc.com]\n        users:\n          ada: secret\n",
        "",
    );
    let (line, _, hint) = warning(
        &found,
        "no node of this lab runs a mail server for cbrc.com",
    );
    assert_eq!(line, 26);
    assert!(hint.contains("domains: [cbrc.com]"), "{hint}");
    assert_eq!(found.len(), 1, "{found:#?}");
}

/// A server that requires TLS refuses a client that logs in in plain
/// text: the warning is at the server's name, or at `security: none`.
#[test]
fn a_plain_login_to_a_server_that_requires_tls_is_a_warning() {
    let required = CBRC.replace("ada: secret\n", "ada: secret\n        tls: required\n");
    let checked = check(&required);
    assert_eq!(checked.diagnostics.len(), 1, "{:#?}", checked.diagnostics);
    let message = "pc0's mail settings log in without TLS, but server0 requires TLS (`tls: required`), so logging in fails";
    let (d, line, col) = find(&checked.diagnostics, message);
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!((line, col), (32, 17), "at `incoming`");
    assert_eq!(
        d.hint.as_deref(),
        Some("set `security: starttls` (or `tls`)")
    );
    let written = required.replace("user: ada\n", "user: ada\n      security: none\n");
    let checked = check(&written);
    let (_, line, col) = find(&checked.diagnostics, message);
    assert_eq!((line, col), (36, 17), "at `security`");
    for fixed in ["starttls", "tls"] {
        let checked = check(&written.replace("security: none", &format!("security: {fixed}")));
        assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
    }
    let optional = written.replace("tls: required", "tls: optional");
    assert!(check(&optional).diagnostics.is_empty());
}
