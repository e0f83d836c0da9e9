//! The IMAP command parser against valid and hostile commands.

use super::*;
use crate::services::mail::imap::sequence::Bound;

fn ok(input: &str) -> CommandBody {
    match parse(input.as_bytes()) {
        Ok(command) => command.body,
        Err(e) => panic!("{input:?}: {e:?}"),
    }
}

fn refused(input: &[u8]) -> ParseError {
    parse(input).expect_err(&String::from_utf8_lossy(input))
}

#[test]
fn login_with_atoms_quoted_and_literals() {
    assert_eq!(
        ok("a1 LOGIN ada \"se\\\"cret\""),
        CommandBody::Login {
            user: "ada".into(),
            password: "se\"cret".into()
        }
    );
    assert_eq!(
        ok("a1 login {3}\r\nada {6+}\r\nsecret"),
        CommandBody::Login {
            user: "ada".into(),
            password: "secret".into()
        }
    );
}

#[test]
fn fetch_items_sections_and_partials() {
    let CommandBody::Fetch { set, items, uid } = ok(
        "7 UID FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (From Subject)]<0.100> BODY[1.2.MIME] RFC822.SIZE)",
    ) else {
        panic!()
    };
    assert!(uid);
    assert_eq!(set.ranges, vec![(Bound::Number(1), Bound::Largest)]);
    assert_eq!(items[0], FetchItem::Uid);
    assert_eq!(
        items[2],
        FetchItem::Body(BodyRequest {
            section: Section {
                part: vec![],
                text: SectionText::HeaderFields {
                    fields: vec!["From".into(), "Subject".into()],
                    not: false
                }
            },
            partial: Some((0, 100)),
            peek: true,
            legacy: None,
        })
    );
    let FetchItem::Body(mime) = &items[3] else {
        panic!()
    };
    assert_eq!(
        mime.section,
        Section {
            part: vec![1, 2],
            text: SectionText::Mime
        }
    );
    assert_eq!(items[4], FetchItem::Rfc822Size);
    assert_eq!(
        ok("1 FETCH 1 FAST"),
        CommandBody::Fetch {
            set: SequenceSet::parse("1").unwrap(),
            items: vec![
                FetchItem::Flags,
                FetchItem::InternalDate,
                FetchItem::Rfc822Size
            ],
            uid: false,
        }
    );
    let CommandBody::Fetch { items, .. } = ok("1 FETCH 2 BODY[]") else {
        panic!()
    };
    let FetchItem::Body(whole) = &items[0] else {
        panic!()
    };
    assert_eq!(
        whole.section,
        Section {
            part: vec![],
            text: SectionText::Full
        }
    );
    let CommandBody::Fetch { items, .. } = ok("1 FETCH 2 body") else {
        panic!()
    };
    assert_eq!(items, vec![FetchItem::Structure { extensible: false }]);
}

#[test]
fn search_keys_nest() {
    let CommandBody::Search { key, uid } =
        ok("s UID SEARCH CHARSET UTF-8 OR FROM ada (UNSEEN SINCE 1-Feb-2026) NOT 2:4")
    else {
        panic!()
    };
    assert!(uid);
    let SearchKey::And(keys) = key else { panic!() };
    assert_eq!(keys.len(), 2);
    assert!(matches!(&keys[0], SearchKey::Or(..)));
    assert!(matches!(&keys[1], SearchKey::Not(inner) if matches!(**inner, SearchKey::Sequence(_))));
    let refusal = refused(b"s SEARCH CHARSET KOI8-R ALL");
    assert!(
        refusal.response.starts_with("NO [BADCHARSET"),
        "{refusal:?}"
    );
}

#[test]
fn store_append_and_mailboxes() {
    assert_eq!(
        ok("s STORE 1:2 +FLAGS.SILENT (\\Seen \\Deleted $Junk)"),
        CommandBody::Store {
            set: SequenceSet::parse("1:2").unwrap(),
            mode: StoreMode::Add,
            silent: true,
            flags: vec![Flag::Seen, Flag::Deleted],
            uid: false
        }
    );
    let CommandBody::Append {
        mailbox,
        flags,
        date,
        message,
    } = ok("a APPEND inbox (\\Seen) \"01-Dec-2026 08:00:00 +0000\" {5}\r\nHi\r\n!")
    else {
        panic!()
    };
    assert_eq!(
        (mailbox.as_str(), flags, message),
        ("INBOX", vec![Flag::Seen], b"Hi\r\n!".to_vec())
    );
    assert!(date.is_some());
    assert_eq!(
        ok("l LIST \"\" %"),
        CommandBody::List {
            reference: String::new(),
            pattern: "%".into(),
            subscribed_only: false
        }
    );
}

#[test]
fn bad_input_is_refused_with_the_tag() {
    for (input, tagged) in [
        (&b"* LOGIN a b"[..], false),
        (b"", false),
        (b"a1", false),
        (b"a1 FOO", true),
        (b"a1 LOGIN ada", true),
        (b"a1 LOGIN \"ada", true),
        (b"a1 LOGIN {10}\r\nada", true),
        (b"a1 FETCH 0 FLAGS", true),
        (b"a1 FETCH 1 (FLAGS", true),
        (b"a1 FETCH 1 BODY[1.FOO]", true),
        (b"a1 FETCH 1 BODY[]<5.0>", true),
        (b"a1 STORE 1 FLAGS (\\Bogus)", true),
        (b"a1 SEARCH SINCE 31-Feb-2026", true),
        (b"a1 NOOP extra", true),
        (b"a1 APPEND INBOX \"garbage\" {1}\r\nx", true),
    ] {
        let error = refused(input);
        assert_eq!(error.tag.is_some(), tagged, "{input:?}: {error:?}");
        assert!(error.response.starts_with("BAD"), "{input:?}: {error:?}");
    }
    let deep = format!("a SEARCH {}ALL{}", "NOT ".repeat(100), "");
    assert!(refused(deep.as_bytes()).response.contains("deeply"));
}
