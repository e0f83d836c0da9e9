//! The IMAP commands labctl's server understands, as the parser produces
//! them: every argument decoded (strings unquoted, literals inlined, dates
//! and sequence sets parsed), nothing left to interpret later.

use std::time::SystemTime;

use super::sequence::SequenceSet;
use crate::services::mail::store::Flag;

#[derive(Debug, PartialEq)]
pub struct Command {
    pub tag: String,
    pub body: CommandBody,
}

#[derive(Debug, PartialEq)]
pub enum CommandBody {
    Capability,
    StartTls,
    Noop,
    Logout,
    Login {
        user: String,
        password: String,
    },
    /// `initial` is the SASL-IR initial response (base64), when given.
    Authenticate {
        mechanism: String,
        initial: Option<String>,
    },
    Namespace,
    Select {
        mailbox: String,
        read_only: bool,
    },
    Create {
        mailbox: String,
    },
    Delete {
        mailbox: String,
    },
    Rename {
        from: String,
        to: String,
    },
    Subscribe {
        mailbox: String,
    },
    Unsubscribe {
        mailbox: String,
    },
    List {
        reference: String,
        pattern: String,
        subscribed_only: bool,
    },
    Status {
        mailbox: String,
        items: Vec<StatusItem>,
    },
    Append {
        mailbox: String,
        flags: Vec<Flag>,
        date: Option<SystemTime>,
        message: Vec<u8>,
    },
    Idle,
    Check,
    Close,
    Unselect,
    Expunge {
        uids: Option<SequenceSet>,
    },
    Search {
        key: SearchKey,
        uid: bool,
    },
    Fetch {
        set: SequenceSet,
        items: Vec<FetchItem>,
        uid: bool,
    },
    Store {
        set: SequenceSet,
        mode: StoreMode,
        silent: bool,
        flags: Vec<Flag>,
        uid: bool,
    },
    Copy {
        set: SequenceSet,
        mailbox: String,
        uid: bool,
    },
    Move {
        set: SequenceSet,
        mailbox: String,
        uid: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusItem {
    Messages,
    Recent,
    UidNext,
    UidValidity,
    Unseen,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreMode {
    Replace,
    Add,
    Remove,
}

/// One FETCH data item. The macros ALL/FAST/FULL are expanded by the parser;
/// RFC822, RFC822.HEADER and RFC822.TEXT become `Body` with their own label.
#[derive(Clone, Debug, PartialEq)]
pub enum FetchItem {
    Uid,
    Flags,
    InternalDate,
    Rfc822Size,
    Envelope,
    /// BODY (false) or BODYSTRUCTURE (true).
    Structure {
        extensible: bool,
    },
    Body(BodyRequest),
}

#[derive(Clone, Debug, PartialEq)]
pub struct BodyRequest {
    pub section: Section,
    /// `<origin.count>`
    pub partial: Option<(u32, u32)>,
    pub peek: bool,
    pub legacy: Option<Rfc822Label>,
}

/// The RFC 1730 names, answered under their own name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rfc822Label {
    Whole,
    Header,
    Text,
}

/// `BODY[1.2.HEADER.FIELDS (Subject)]`: a part path and what of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    pub part: Vec<u32>,
    pub text: SectionText,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SectionText {
    /// The whole (part) content: `BODY[]`, `BODY[1]`.
    Full,
    Header,
    HeaderFields {
        fields: Vec<String>,
        not: bool,
    },
    Text,
    Mime,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SearchKey {
    All,
    /// Several keys, all of which must match (`(k1 k2)` or the top level).
    And(Vec<SearchKey>),
    Not(Box<SearchKey>),
    Or(Box<SearchKey>, Box<SearchKey>),
    Flag(Flag, bool),
    Recent(bool),
    New,
    /// KEYWORD is never set here (no keywords are stored): matches nothing.
    Keyword(bool),
    Sequence(SequenceSet),
    Uid(SequenceSet),
    Larger(u64),
    Smaller(u64),
    /// Internal date compared by UTC day: (day, ordering wanted).
    Received(i64, DateTest),
    Sent(i64, DateTest),
    Header(String, String),
    Body(String),
    Text(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateTest {
    Before,
    On,
    Since,
}
