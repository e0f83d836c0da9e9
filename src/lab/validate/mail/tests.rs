//! The mail pass: domains, users and passwords, and relaying without DNS.

use crate::lab::diagnostic::{Diagnostic, Severity};
use crate::lab::load::check_text;

const TWO_DOMAINS: &str = "
name: mail
nodes:
  sw0: {kind: switch}
  mx1:
    kind: server
    interfaces: {eth0: 10.0.0.2/24}
    dns: [10.0.0.53]
    services:
      mail:
        domains: [mt.com]
        users: {ada: secret, Bob: pw}
  mx2:
    kind: server
    interfaces: {eth0: 10.0.0.3/24}
    dns: [10.0.0.53]
    services:
      mail: {domains: [cbrc.com], users: {carol: pw}}
  ns:
    kind: server
    interfaces: {eth0: 10.0.0.53/24}
    services: {dns: {zones: {mt.com: {ns: {A: ns}}}}}
links: [[mx1, sw0], [mx2, sw0], [ns, sw0]]
";

fn diagnostics(yaml: &str) -> Vec<Diagnostic> {
    check_text("lab.yaml", yaml.to_string()).diagnostics
}

/// The diagnostic containing `needle`: its severity, line and column.
fn find(found: &[Diagnostic], needle: &str) -> (Severity, usize, usize) {
    let d = found
        .iter()
        .find(|d| d.message.contains(needle))
        .unwrap_or_else(|| panic!("nothing about {needle:?} in {found:#?}"));
    let pos = d.pos.expect("a position");
    (d.severity, pos.line, pos.col)
}

#[test]
fn a_correct_mail_lab_is_planned() {
    let checked = check_text("lab.yaml", TWO_DOMAINS.to_string());
    assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
    let (_, topo) = checked.valid.expect("valid");
    let mail = topo.nodes[1].mail.as_ref().expect("planned");
    assert_eq!(mail.domains, ["mt.com"]);
    let names: Vec<&str> = mail.users.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["ada", "bob"]);
}

#[test]
fn bad_domains_users_and_passwords() {
    let yaml = TWO_DOMAINS
        .replace(
            "domains: [mt.com]",
            "domains: [mt.com, \"bad_domain!\", MT.com]",
        )
        .replace("ada: secret", "\"ada lovelace\": secret, eve: \"\"")
        .replace("domains: [cbrc.com]", "domains: [mt.com]");
    let found = diagnostics(&yaml);
    assert_eq!(
        find(&found, "`bad_domain!` is not a domain name"),
        (Severity::Error, 11, 27)
    );
    assert_eq!(
        find(&found, "domain mt.com is listed twice"),
        (Severity::Error, 11, 42)
    );
    assert_eq!(
        find(&found, "`ada lovelace` is not a valid user name"),
        (Severity::Error, 12, 17)
    );
    assert_eq!(
        find(&found, "user eve has an empty password"),
        (Severity::Error, 12, 46)
    );
    let (severity, line, _) = find(&found, "domain mt.com is also served by mx1");
    assert_eq!((severity, line), (Severity::Error, 18));
}

#[test]
fn relaying_without_dns_servers_is_a_warning() {
    let yaml = TWO_DOMAINS.replacen("    dns: [10.0.0.53]\n", "", 1);
    let found = diagnostics(&yaml);
    let (severity, line, _) = find(&found, "mx1 cannot relay mail");
    assert_eq!((severity, line), (Severity::Warning, 10));
    assert_eq!(found.len(), 1, "{found:#?}");
}

#[test]
fn only_servers_run_mail() {
    let yaml = TWO_DOMAINS.replace(
        "sw0: {kind: switch}",
        "sw0: {kind: switch, services: {mail: {domains: [x.org]}}}",
    );
    let found = diagnostics(&yaml);
    assert_eq!(
        find(&found, "a switch cannot run a mail server").0,
        Severity::Error
    );
    let empty = TWO_DOMAINS.replace("domains: [cbrc.com], users: {carol: pw}", "domains: []");
    let found = diagnostics(&empty);
    assert_eq!(find(&found, "mx2 has no domains").0, Severity::Error);
    assert_eq!(find(&found, "mx2 has no users").0, Severity::Warning);
}
