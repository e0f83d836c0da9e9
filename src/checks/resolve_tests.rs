//! Check and user-agent validation: every mistake reported at its
//! file:line:col, with a hint, in one run.

use crate::checks::kinds::Probe;
use crate::checks::load::{LabWithChecks, load_checks_text, load_lab_text};
use crate::lab::diagnostic::{Diagnostic, Severity};

/// A lab file with its checks, as every verb loads it.
fn check_text(name: &str, text: String) -> LabWithChecks {
    load_lab_text(name, text)
}

const LAB: &str = "name: lab
nodes:
  server0:
    kind: server
    interfaces: {eth0: 192.168.1.2/24}
    dns: [192.168.1.2]
    services:
      web: {pages: {/: hello}}
  sw0: {kind: switch}
  pc0:
    kind: host
    interfaces: {eth0: dhcp}
    mail: {address: ada@cbrc.com, incoming: mail.cbrc.com, outgoing: 192.168.1.2, user: ada, password: secret}
  pc1:
    kind: host
    interfaces: {eth0: 192.168.1.3/24}
    mail:
      - {address: bob@cbrc.com, incoming: mail.cbrc.com, protocol: imap, outgoing: mail.cbrc.com, user: bob, password: pw}
links: [[server0, sw0], [pc0, sw0], [pc1, sw0]]
";

/// (line, col, message) of every error in a lab file that is `LAB` plus `checks`.
fn lab_errors(checks: &str) -> Vec<(usize, usize, String)> {
    let checked = check_text("lab.yaml", format!("{LAB}{checks}"));
    located(&checked.checked.diagnostics)
}

fn located(found: &[Diagnostic]) -> Vec<(usize, usize, String)> {
    found
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let pos = d.pos.expect("every check error has a position");
            (
                pos.line,
                pos.col,
                format!("{} | {}", d.message, d.hint.clone().unwrap_or_default()),
            )
        })
        .collect()
}

#[test]
fn every_kind_resolves() {
    let checked = check_text(
        "lab.yaml",
        format!(
            "{LAB}checks:
  - ping: {{from: pc0, to: server0}}
  - ping: {{from: pc0, to: 10.9.9.9, expect: fail}}
    name: no way out
    points: 3
  - tcp: {{from: pc1, to: www.cbrc.com, port: 80}}
  - dhcp: {{node: pc0, subnet: 192.168.1.0/24, server: server0}}
  - dns: {{from: pc1, name: mail.cbrc.com., type: mx, expect: [10 mail.cbrc.com.]}}
  - http: {{from: pc1, url: 'http://server0:8080/a?b', status: 404, contains: x}}
  - mail: {{from: pc0, to: bob@cbrc.com, reader: pc1, within: 3s}}
  - mail-refused: {{from: pc1, server: mail.cbrc.com, to: x@elsewhere.org}}
  - exec: {{node: pc1, command: ip route | grep default, exit: 1}}
"
        ),
    );
    assert!(
        checked.checked.valid.is_some(),
        "{:?}",
        checked.checked.diagnostics
    );
    let kinds: Vec<&str> = checked.checks.iter().map(|c| c.probe.kind()).collect();
    assert_eq!(
        kinds,
        [
            "ping",
            "ping",
            "tcp",
            "dhcp",
            "dns",
            "http",
            "mail",
            "mail-refused",
            "exec"
        ]
    );
    assert_eq!(checked.checks[1].title, "no way out");
    assert_eq!(checked.checks[1].points, 3);
    assert_eq!(checked.checks[0].points, 1);
    assert_eq!(checked.checks[0].title, "pc0 can ping server0");
    match &checked.checks[4].probe {
        Probe::Dns(dns) => assert_eq!(
            (dns.name.as_str(), dns.record_type.as_str()),
            ("mail.cbrc.com", "MX")
        ),
        other => panic!("{other:?}"),
    }
    match &checked.checks[5].probe {
        Probe::Http(http) => {
            let (url, status) = (&http.url, http.status);
            assert_eq!((url.port, url.path.as_str(), status), (8080, "/a?b", 404));
            assert_eq!(
                url.host,
                crate::checks::target::Target::Node("server0".into())
            );
        }
        other => panic!("{other:?}"),
    }
    match &checked.checks[6].probe {
        Probe::Mail(mail) => {
            assert_eq!(mail.account.address, "ada@cbrc.com");
            assert_eq!(mail.reader_account.address, "bob@cbrc.com");
            assert_eq!(mail.within.as_secs(), 3);
        }
        other => panic!("{other:?}"),
    }
    match &checked.checks[8].probe {
        Probe::Exec(exec) => {
            assert_eq!(exec.command[..2], ["sh".to_string(), "-c".to_string()]);
            assert_eq!(exec.exit, 1);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn mistakes_in_checks_are_located() {
    let errors = lab_errors(
        "checks:
  - ping: {from: pc9, to: server0}
  - tcp: {from: sw0, to: server0, port: 25}
  - ping: {from: pc0, to: nowhere}
  - dns: {from: pc0, name: x.com, type: SOA}
  - http: {from: pc0, url: https://x.com/}
  - mail: {from: pc1, to: not-an-address, reader: pc0}
  - mail: {from: server0, to: a@b.com, reader: pc0, within: soon}
  - dhcp: {node: pc1}
  - {name: nothing}
  - {ping: {from: pc0, to: server0}, tcp: {from: pc0, to: server0, port: 1}}
  - exec: {node: pc0, command: []}
  - mail: {from: pc0, to: b@c.com, reader: pc1, attach: missing.bin}
",
    );
    let expect = [
        (21, 18, "no node `pc9`", "did you mean `pc0`?"),
        (22, 17, "sw0 is a switch", "host, server or router"),
        (23, 27, "`nowhere` is not a node", ""),
        (24, 41, "`SOA` is not a record type", "A, AAAA"),
        (25, 28, "not a web address", "http://"),
        (26, 27, "`not-an-address` is not an email address", ""),
        (27, 18, "server0 has no mail settings", "mail:"),
        (28, 18, "pc1 has no `dhcp` interface", "eth0: dhcp"),
        (29, 5, "check 9 says what to check with none", "ping, tcp"),
        (30, 38, "has both `ping` and `tcp`", "split it"),
        (31, 32, "the command is empty", ""),
        (32, 57, "cannot read", "relative to the file"),
    ];
    for (line, col, message, hint) in expect {
        assert!(
            errors.iter().any(|(l, c, m)| *l == line
                && *c == col
                && m.contains(message)
                && m.contains(hint)),
            "no error `{message}` at {line}:{col}; found {errors:#?}"
        );
    }
    assert_eq!(errors.len(), expect.len(), "{errors:#?}");
}

#[test]
fn mail_settings_and_web_service_are_checked() {
    let bad = LAB
        .replace("address: ada@cbrc.com", "address: ada.cbrc.com")
        .replace(
            "incoming: mail.cbrc.com, outgoing: 192.168.1.2",
            "incoming: 'mail server', outgoing: 192.168.1.2",
        )
        .replace(
            "web: {pages: {/: hello}}",
            "web: {pages: {index.html: hello}, root: ./site}",
        );
    let errors = located(&check_text("lab.yaml", bad).checked.diagnostics);
    for needle in [
        "`ada.cbrc.com` is not an email address",
        "`mail server` is neither",
        "either `pages` or a `root`",
    ] {
        assert!(
            errors.iter().any(|(_, _, m)| m.contains(needle)),
            "{needle}: {errors:#?}"
        );
    }
    let switch_mail = LAB.replace("  sw0: {kind: switch}", "  sw0: {kind: switch, mail: {address: a@b.com, incoming: b.com, outgoing: b.com, user: a, password: p}}");
    let errors = located(&check_text("lab.yaml", switch_mail).checked.diagnostics);
    assert!(
        errors
            .iter()
            .any(|(l, c, m)| (*l, *c) == (9, 29) && m.contains("only hosts and servers")),
        "{errors:#?}"
    );
}

#[test]
fn a_checks_file_is_checked_against_the_lab() {
    let checked = check_text("lab.yaml", LAB.to_string()).checked;
    let plan = checked.plan.expect("valid");
    let good = load_checks_text(
        "grading.yaml",
        "checks:\n  - ping: {from: pc1, to: server0}\n    points: 2\n".into(),
        &plan,
    );
    assert!(good.diagnostics.is_empty(), "{:?}", good.diagnostics);
    assert_eq!(good.checks.as_ref().map(|c| c[0].points), Some(2));
    let bad = load_checks_text(
        "grading.yaml",
        "checks:\n  - pnig: {from: pc1, to: server0}\n  - ping: {from: pc1, to: server0, expect: maybe}\nnodes: {}\n".into(),
        &plan,
    );
    assert!(bad.checks.is_none());
    let report = bad.report().expect("errors");
    assert!(report.contains("grading.yaml:2:5"), "{report}");
    assert!(report.contains("did you mean `ping`?"), "{report}");
    assert!(report.contains("grading.yaml:3:44"), "{report}");
    assert!(report.contains("unknown key `nodes`"), "{report}");
    let misplaced = load_checks_text(
        "grading.yaml",
        "checks:\n  - ping: {from: pc1, to: server0, points: 2}\n".into(),
        &plan,
    );
    let report = misplaced.report().expect("errors");
    assert!(
        report.contains("`points` belongs to the check, not inside `ping`"),
        "{report}"
    );
    assert!(!report.contains("none of its keys"), "{report}");
    let empty = load_checks_text("grading.yaml", "".into(), &plan);
    assert!(empty.checks.is_none());
}

#[test]
fn checks_are_not_silently_accepted() {
    let checked = check_text("lab.yaml", format!("{LAB}checks:\n  - {{}}\n")).checked;
    let errors: Vec<&Diagnostic> = checked
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert!(
        checked.valid.is_none(),
        "a lab with errors must not be valid"
    );
    assert!(
        errors.iter().any(|d| d
            .message
            .contains("check 1 says what to check with none of its keys")),
        "{errors:#?}"
    );
}

#[test]
fn the_lab_file_reports_its_own_problems_first_then_its_checks() {
    let checked = check_text(
        "lab.yaml",
        format!("{LAB}colour: red\nchecks:\n  - ping: {{from: pc9, to: server0}}\n"),
    )
    .checked;
    let messages: Vec<&str> = checked
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(
        messages,
        [
            "unknown key `colour` in the lab file",
            "lab lab has no node `pc9`"
        ],
        "an unknown key does not keep the checks from being resolved"
    );
    assert!(checked.valid.is_none() && checked.plan.is_none());
}

/// A rubric naming what the student's lab lacks fails those checks alone
/// (step `rubric`, naming the missing thing and the field); the same in a
/// lab file's own checks is an error of the file; a mistake of the rubric
/// itself stays an error whatever the lab.
#[test]
fn a_rubric_naming_what_the_lab_lacks_fails_only_those_checks() {
    let plan = check_text("lab.yaml", LAB.to_string())
        .checked
        .plan
        .expect("valid");
    let rubric = "checks:
  - {name: Ada emails Bob, mail: {from: pc0, to: bob@cbrc.com, reader: pc-1}}
  - ping: {from: pc1, to: server0}
  - mail: {from: server0, to: ada@cbrc.com, reader: pc0}
  - dhcp: {node: pc1}
  - dns: {from: pc1, name: www.cbrc.com, expect: web0}
  - tcp: {from: pc1, to: sw0, port: 80}
";
    let loaded = load_checks_text("rubric.yaml", rubric.into(), &plan);
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let checks = loaded.checks.expect("runnable");
    let failing: Vec<(&str, &str, String)> = checks
        .iter()
        .filter_map(|c| match &c.probe {
            Probe::Unrunnable(u) => Some((c.title.as_str(), u.kind, u.diagnosis.to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(checks.len(), 6);
    assert_eq!(failing.len(), 5, "{failing:#?}");
    let expected = [
        (
            "Ada emails Bob",
            "lab lab has no node `pc-1` (its `mail.reader`)",
            "the checks expect a node named `pc-1`: is it your `pc1`? give it that name",
        ),
        (
            "a mail check from server0",
            "server0 has no mail settings (its `mail.from`)",
            "give server0 `mail:",
        ),
        ("a dhcp check from pc1", "pc1 has no `dhcp` interface", ""),
        (
            "a dns check from pc1",
            "`web0` is not an address nor a node (its `dns.expect`)",
            "",
        ),
        ("a tcp check from pc1", "sw0 is a switch", "(its `tcp.to`)"),
    ];
    for ((title, kind, diagnosis), (want_title, words, more)) in failing.iter().zip(expected) {
        assert_eq!(*title, want_title, "{diagnosis}");
        assert!(
            diagnosis.starts_with("this check cannot run on this lab: ")
                && diagnosis.contains(words)
                && diagnosis.contains(more),
            "{kind}: {diagnosis}"
        );
    }
    assert!(checks.iter().all(|c| match &c.probe {
        Probe::Unrunnable(u) => u.diagnosis.step == "rubric",
        _ => true,
    }));
    // The same checks in the lab file itself: errors of the file.
    let errors = lab_errors(rubric);
    assert_eq!(errors.len(), 5, "{errors:#?}");
    assert!(
        errors[0]
            .2
            .contains("has no node `pc-1` | did you mean `pc1`?"),
        "{errors:#?}"
    );
    // A rubric's own mistake is an error, even beside a missing node.
    let broken = load_checks_text(
        "rubric.yaml",
        "checks:\n  - ping: {from: pc9, to: server0}\n  - mail: {from: pc0, to: not-an-address, reader: pc1}\n"
            .into(),
        &plan,
    );
    assert!(broken.checks.is_none());
    let report = broken.report().expect("errors");
    assert!(
        report.contains("is not an email address") && !report.contains("pc9"),
        "{report}"
    );
}

/// A hidden rubric's problems name the check (number and name) and the
/// field, never a line of the file; shown, they quote it as before.
#[test]
fn a_hidden_rubric_is_never_quoted() {
    use crate::checks::load::RubricLines;
    let plan = check_text("lab.yaml", LAB.to_string())
        .checked
        .plan
        .expect("valid");
    let rubric = "checks:
  - {name: secret ping, ping: {from: pc1, to: server0}}
  - {name: Ada emails Bob, points: 5, mail: {from: pc0, to: bob-at-cbrc, reader: pc1, within: soon}}
  - dns: {from: pc1, name: www.cbrc.com, tpye: A}
grading: {hidden: true}
";
    let loaded = load_checks_text("rubric.yaml", rubric.into(), &plan);
    assert!(loaded.checks.is_none());
    let hidden = loaded.render(RubricLines::Hidden).expect("errors");
    for line in rubric.lines() {
        assert!(!hidden.contains(line.trim()), "quotes {line:?}:\n{hidden}");
    }
    for place in [
        "rubric.yaml: check 2 (\"Ada emails Bob\"), `mail.to`",
        "rubric.yaml: check 3, `dns.tpye`",
        "rubric.yaml: `grading`",
    ] {
        assert!(hidden.contains(place), "{place} in:\n{hidden}");
    }
    assert!(hidden.contains("is not an email address"), "{hidden}");
    assert!(
        hidden.ends_with("rubric.yaml: 3 errors, 0 warnings"),
        "{hidden}"
    );
    let shown = loaded.render(RubricLines::Shown).expect("errors");
    assert!(
        shown.contains("rubric.yaml:3:") && shown.contains(rubric.lines().nth(2).unwrap()),
        "{shown}"
    );
    // A file that is not even YAML: placed by line only.
    let garbled = load_checks_text(
        "rubric.yaml",
        "checks: [\n  - {ping: secret\n".into(),
        &plan,
    );
    let hidden = garbled.render(RubricLines::Hidden).expect("errors");
    assert!(!hidden.contains("secret"), "{hidden}");
    assert!(hidden.contains("rubric.yaml: line "), "{hidden}");
}

/// DMARC and DKIM records live at names with `_` (`_dmarc.…`,
/// `s1._domainkey.…`): a `dns` check may ask for them (RFC 2181 §11),
/// while a name with a space or an empty label is still refused.
#[test]
fn dns_checks_take_underscored_names() {
    let errors = lab_errors(
        "checks:
  - dns: {from: pc0, name: _dmarc.cbrc.com, type: txt}
  - dns: {from: pc0, name: s1._domainkey.cbrc.com., type: TXT, expect: v=DKIM1}
  - dns: {from: pc0, name: 'bad name.com'}
  - dns: {from: pc0, name: a..com}
",
    );
    let found: Vec<(usize, usize)> = errors.iter().map(|(l, c, _)| (*l, *c)).collect();
    assert_eq!(found, [(23, 28), (24, 28)], "{errors:#?}");
    assert!(errors[0].2.contains("`bad name.com` is not a DNS name"));
    assert!(
        errors[0].2.contains("_dmarc.cbrc.com"),
        "the hint shows one"
    );
}

#[test]
fn wire_checks_resolve_and_their_mistakes_are_placed() {
    let checked = check_text(
        "lab.yaml",
        format!(
            "{LAB}checks:
  - {{name: Ada pings, ping: {{from: pc0, to: server0}}}}
  - wire: {{during: Ada pings, seen: {{proto: icmp, at: [pc0, server0:eth0], from: pc0}}}}
  - wire: {{absent: {{text: secret, at: any}}}}
  - wire: {{run: {{node: pc0, command: busybox udhcpc -n -q}}, relay: {{relay: server0, client: pc0}}}}
"
        ),
    );
    assert!(
        checked.checked.valid.is_some(),
        "{:?}",
        checked.checked.diagnostics
    );
    let kinds: Vec<&str> = checked.checks.iter().map(|c| c.probe.kind()).collect();
    assert_eq!(kinds, ["ping", "wire", "wire", "wire"]);
    assert_eq!(
        checked.checks[1].title,
        "wire: icmp from pc0 crosses pc0 and server0:eth0 during `Ada pings`"
    );
    assert_eq!(
        checked.checks[2].title,
        "wire: \"secret\" is not readable on any link during the other checks"
    );

    let errors = lab_errors(
        "checks:
  - {name: Ada pings, ping: {from: pc0, to: server0}}
  - wire: {during: Ada pingz, seen: {proto: smtp}}
  - wire: {seen: {proto: smtp}, absent: {text: x}}
  - wire: {seen: {proto: ftp, at: server0:eth9}}
",
    );
    let messages: Vec<&str> = errors.iter().map(|(_, _, m)| m.as_str()).collect();
    assert!(
        messages.iter().any(|m| m.starts_with(
            "`during` names `Ada pingz`, but no other check (not a wire check) has that name | did you mean `Ada pings`?"
        )),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("a wire check has both `seen` and `absent`")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("`ftp` is not one protocol the capture decodes")),
        "{messages:?}"
    );
    assert!(errors.iter().all(|(line, _, _)| *line > 20), "{errors:?}");
}
