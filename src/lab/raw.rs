//! The lab file as a plain YAML tree in which every node keeps its position.
//!
//! The typed model (`model.rs`) is decoded separately; this tree exists so that
//! every later stage can point at the exact text it complains about, and so that
//! structural mistakes (unknown keys, duplicate keys, wrong shapes) can all be
//! reported in one run instead of stopping at the first.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{DuplicateKeyPolicy, Options, Spanned};

use super::diagnostic::{Diagnostic, Pos};

#[derive(Clone, Debug)]
pub struct RawNode {
    pub pos: Pos,
    pub value: RawValue,
}

#[derive(Clone, Debug)]
pub enum RawValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<RawNode>),
    Map(Vec<(RawNode, RawNode)>),
}

/// One step of a path from the document root: a mapping key or a list index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

impl From<&str> for Step {
    fn from(key: &str) -> Self {
        Step::Key(key.to_string())
    }
}

impl From<usize> for Step {
    fn from(index: usize) -> Self {
        Step::Index(index)
    }
}

/// Builds a path (an array of steps): `path!["nodes", name, "interfaces"]`.
#[macro_export]
macro_rules! path {
    ($($step:expr),* $(,)?) => {
        [$($crate::lab::raw::Step::from($step)),*]
    };
}

impl RawValue {
    /// What a student would call this kind of YAML value.
    pub fn kind_name(&self) -> &'static str {
        match self {
            RawValue::Null => "nothing (null)",
            RawValue::Bool(_) => "a true/false value",
            RawValue::Int(_) | RawValue::Float(_) => "a number",
            RawValue::Str(_) => "text",
            RawValue::Seq(_) => "a list",
            RawValue::Map(_) => "a mapping (key: value)",
        }
    }

    /// The scalar as the text it was written as, if it is a scalar.
    pub fn scalar_text(&self) -> Option<String> {
        match self {
            RawValue::Bool(b) => Some(b.to_string()),
            RawValue::Int(i) => Some(i.to_string()),
            RawValue::Float(f) => Some(f.to_string()),
            RawValue::Str(s) => Some(s.clone()),
            _ => None,
        }
    }
}

impl RawNode {
    /// Parses YAML text. Duplicate keys are kept (and reported later by the
    /// shape check) so that all of them can be shown at once.
    pub fn parse(text: &str) -> Result<RawNode, Diagnostic> {
        let mut options = Options::default();
        options.duplicate_keys = DuplicateKeyPolicy::PassThrough;
        match serde_saphyr::from_str_with_options::<Option<Spanned<RawValue>>>(text, options) {
            Ok(Some(spanned)) => Ok(RawNode::from(spanned)),
            Ok(None) => Err(Diagnostic::error("the lab file is empty", None)
                .hint("start with `name: my-lab` and a `nodes:` section (see docs/lab-format.md)")),
            Err(e) => Err(yaml_error(&e)),
        }
    }

    /// The node at `path`, if there is one.
    pub fn get(&self, path: &[Step]) -> Option<&RawNode> {
        let Some((first, rest)) = path.split_first() else {
            return Some(self);
        };
        let child = match (first, &self.value) {
            (Step::Key(k), RawValue::Map(entries)) => entries
                .iter()
                .rev()
                .find(|(key, _)| key.value.scalar_text().as_deref() == Some(k))
                .map(|(_, v)| v),
            (Step::Index(i), RawValue::Seq(items)) => items.get(*i),
            _ => None,
        }?;
        child.get(rest)
    }

    /// The position of the key `key` in the mapping at `path` (for errors about
    /// a name rather than its value).
    pub fn key_pos(&self, path: &[Step], key: &str) -> Option<Pos> {
        match &self.get(path)?.value {
            RawValue::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.value.scalar_text().as_deref() == Some(key))
                .map(|(k, _)| k.pos),
            _ => None,
        }
    }

    /// The position of the value at `path`, or of the nearest ancestor that
    /// exists (a missing value is reported where it should have been).
    pub fn pos(&self, path: &[Step]) -> Pos {
        (0..=path.len())
            .rev()
            .find_map(|n| self.get(&path[..n]).map(|node| node.pos))
            .unwrap_or(Pos {
                line: 1,
                col: 1,
                len: 1,
            })
    }
}

/// Turns a YAML syntax or type error into a diagnostic at its position.
pub fn yaml_error(e: &serde_saphyr::Error) -> Diagnostic {
    let pos = e.location().filter(|l| l.line() > 0).map(|l| Pos {
        line: l.line() as usize,
        col: l.column().max(1) as usize,
        len: (l.span().len() as usize).max(1),
    });
    let message = e.to_string();
    let first_line = message.lines().next().unwrap_or("invalid YAML").to_string();
    let first_line = first_line
        .split(" at line ")
        .next()
        .unwrap_or(&first_line)
        .trim_start_matches("error: ")
        .to_string();
    Diagnostic::error(first_line, pos)
        .hint("check the indentation and that every `key: value` has a space after the colon")
}

impl From<Spanned<RawValue>> for RawNode {
    fn from(spanned: Spanned<RawValue>) -> Self {
        let loc = spanned.referenced;
        // A scalar's span covers its quotes, if any; a collection is marked
        // by its first character only.
        let len = match &spanned.value {
            RawValue::Seq(_) | RawValue::Map(_) => 1,
            other => match loc.span().len() as usize {
                0 => other.scalar_text().map_or(1, |t| t.chars().count()),
                span => span,
            },
        };
        RawNode {
            pos: Pos {
                line: loc.line().max(1) as usize,
                col: loc.column().max(1) as usize,
                len: len.max(1),
            },
            value: spanned.value,
        }
    }
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawValue, D::Error> {
        RawValue::deserialize(d)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawValue, E> {
        Ok(RawValue::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawValue, E> {
        Ok(RawValue::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawValue, E> {
        Ok(i64::try_from(v).map_or(RawValue::Float(v as f64), RawValue::Int))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawValue, E> {
        Ok(RawValue::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawValue, E> {
        Ok(RawValue::Str(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<RawValue, E> {
        Ok(RawValue::Str(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<RawValue>>()? {
            items.push(RawNode::from(item));
        }
        Ok(RawValue::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<RawValue>>()? {
            let value = map.next_value::<Spanned<RawValue>>()?;
            entries.push((RawNode::from(key), RawNode::from(value)));
        }
        Ok(RawValue::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_positions_of_keys_and_values() {
        let raw = RawNode::parse("name: x\nnodes:\n  pc0:\n    kind: host\n").unwrap();
        let kind = raw.get(&path!["nodes", "pc0", "kind"]).unwrap();
        assert_eq!((kind.pos.line, kind.pos.col), (4, 11));
        let key = raw.key_pos(&path!["nodes"], "pc0").unwrap();
        assert_eq!((key.line, key.col), (3, 3));
    }

    #[test]
    fn keeps_duplicate_keys_for_reporting() {
        let raw = RawNode::parse("a: 1\na: 2\n").unwrap();
        let RawValue::Map(entries) = raw.value else {
            panic!()
        };
        assert_eq!(entries.len(), 2);
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let e = RawNode::parse("nodes:\n  pc0: [a, b\n").unwrap_err();
        assert!(e.pos.is_some(), "{e:?}");
    }
}
