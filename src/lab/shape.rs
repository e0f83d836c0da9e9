//! The shape check: walks the raw YAML tree against the lab file's JSON Schema
//! and reports every unknown key (with a "did you mean"), duplicate key,
//! missing key, wrong kind of value and value outside a fixed set, in one run.
//!
//! It also converts the tree to JSON typed as the schema says, leaving out
//! unknown and repeated keys, so the meaning of the rest can still be checked
//! in the same run: a typo in one key does not hide the other mistakes.
//!
//! Only the schema features `schemars` emits for our model are understood:
//! `$ref`, `anyOf`/`oneOf`, `const`, `type`, `properties`,
//! `additionalProperties`, `required`, `items`, `minItems`/`maxItems`.

use std::collections::HashMap;

use serde_json::Value;

use super::diagnostic::{Diagnostic, Pos, did_you_mean};
use super::raw::{RawNode, RawValue};

pub struct Shape {
    pub diagnostics: Vec<Diagnostic>,
    /// The document as typed JSON, when every mistake found could be left
    /// out (unknown or repeated keys) rather than making it unreadable.
    pub pruned: Option<Value>,
}

pub fn check_shape(raw: &RawNode, schema: &Value) -> Shape {
    let mut walker = Walker {
        root: schema,
        found: Vec::new(),
        owner_key: None,
    };
    let pruned = walker.walk(raw, schema, "the lab file");
    Shape {
        diagnostics: walker.found,
        pruned,
    }
}

struct Walker<'a> {
    root: &'a Value,
    found: Vec<Diagnostic>,
    /// Where the key that owns the value being walked is (a missing key is
    /// reported at its owner's name).
    owner_key: Option<Pos>,
}

impl<'a> Walker<'a> {
    fn resolve(&self, mut schema: &'a Value) -> &'a Value {
        while let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let name = reference.trim_start_matches("#/$defs/");
            match self.root.get("$defs").and_then(|d| d.get(name)) {
                Some(target) => schema = target,
                None => break,
            }
        }
        schema
    }

    /// `what` names the value for messages ("`kind`", "node `pc0`").
    /// Checks `node`; returns it as JSON unless it is unusable.
    fn walk(&mut self, node: &RawNode, schema: &'a Value, what: &str) -> Option<Value> {
        let schema = self.resolve(schema);
        if let Some(branches) = schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .and_then(Value::as_array)
        {
            return self.walk_alternatives(node, branches, what);
        }
        if !type_accepts(schema, &node.value) {
            self.found.push(
                Diagnostic::error(
                    format!(
                        "{what} should be {}, not {}",
                        describe_type(schema),
                        node.value.kind_name()
                    ),
                    Some(node.pos),
                )
                .hint(type_hint(schema)),
            );
            return None;
        }
        match &node.value {
            RawValue::Map(entries) => self.walk_map(node, entries, schema, what),
            RawValue::Seq(items) => self.walk_seq(node, items, schema, what),
            RawValue::Null => Some(Value::Null),
            RawValue::Bool(b) if !types_of(schema).contains(&"string") => Some(Value::from(*b)),
            RawValue::Int(i) if !types_of(schema).contains(&"string") => Some(Value::from(*i)),
            RawValue::Float(f) if !types_of(schema).contains(&"string") => Some(Value::from(*f)),
            scalar => scalar.scalar_text().map(Value::from),
        }
    }

    fn walk_alternatives(
        &mut self,
        node: &RawNode,
        branches: &'a [Value],
        what: &str,
    ) -> Option<Value> {
        let branches: Vec<&Value> = branches.iter().map(|b| self.resolve(b)).collect();
        let constants: Vec<&str> = branches
            .iter()
            .filter_map(|b| b.get("const").and_then(Value::as_str))
            .collect();
        if !constants.is_empty() && constants.len() == branches.len() {
            let text = node.value.scalar_text().unwrap_or_default();
            if !constants.contains(&text.as_str()) {
                let mut d = Diagnostic::error(
                    format!(
                        "{what} cannot be `{text}`: use one of {}",
                        constants.join(", ")
                    ),
                    Some(node.pos),
                );
                if let Some(close) = did_you_mean(&text, constants.iter().copied()) {
                    d = d.hint(format!("did you mean `{close}`?"));
                }
                self.found.push(d);
                return None;
            }
            return Some(Value::from(text));
        }
        match branches.iter().find(|b| type_accepts(b, &node.value)) {
            Some(branch) => self.walk(node, branch, what),
            None => {
                let expected: Vec<String> = branches.iter().map(|b| describe_type(b)).collect();
                self.found.push(Diagnostic::error(
                    format!(
                        "{what} should be {}, not {}",
                        expected.join(" or "),
                        node.value.kind_name()
                    ),
                    Some(node.pos),
                ));
                None
            }
        }
    }

    fn walk_map(
        &mut self,
        node: &RawNode,
        entries: &[(RawNode, RawNode)],
        schema: &'a Value,
        what: &str,
    ) -> Option<Value> {
        let properties = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties");
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut out = serde_json::Map::new();
        let mut usable = true;
        for (key, value) in entries {
            let name = key.value.scalar_text().unwrap_or_default();
            if let Some(first_line) = seen.get(&name) {
                self.found.push(
                    Diagnostic::error(
                        format!("`{name}` appears twice in {what} (first on line {first_line})"),
                        Some(key.pos),
                    )
                    .hint("each name may appear once: rename or remove one of them"),
                );
                continue;
            }
            seen.insert(name.clone(), key.pos.line);
            let field = properties
                .and_then(|p| p.get(&name))
                .or_else(|| additional.filter(|a| a.is_object()));
            let owner = self.owner_key.replace(key.pos);
            let walked = field.map(|field| self.walk(value, field, &format!("`{name}`")));
            self.owner_key = owner;
            match walked {
                Some(walked) => match walked {
                    Some(json) => {
                        out.insert(name, json);
                    }
                    None => usable = false,
                },
                None => self.found.push(unknown_key(&name, key, properties, what)),
            }
        }
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !seen.contains_key(required) {
                self.found.push(
                    Diagnostic::error(
                        format!("{what} is missing `{required}`"),
                        Some(self.owner_key.unwrap_or(node.pos)),
                    )
                    .hint(format!("add `{required}: …` to it")),
                );
                usable = false;
            }
        }
        usable.then_some(Value::Object(out))
    }

    fn walk_seq(
        &mut self,
        node: &RawNode,
        items: &[RawNode],
        schema: &'a Value,
        what: &str,
    ) -> Option<Value> {
        let min = schema.get("minItems").and_then(Value::as_u64);
        let max = schema.get("maxItems").and_then(Value::as_u64);
        let count = items.len() as u64;
        if min.is_some_and(|m| count < m) || max.is_some_and(|m| count > m) {
            let wanted = match (min, max) {
                (Some(a), Some(b)) if a == b => format!("exactly {a}"),
                (Some(a), _) if count < a => format!("at least {a}"),
                (_, Some(b)) => format!("at most {b}"),
                _ => String::new(),
            };
            let mut d = Diagnostic::error(
                format!("{what} has {count} items but needs {wanted}"),
                Some(node.pos),
            );
            if let Some(description) = schema.get("description").and_then(Value::as_str) {
                d = d.hint(description.replace('\n', " "));
            }
            self.found.push(d);
            return None;
        }
        let item_schema = schema.get("items").unwrap_or(&Value::Bool(true));
        let mut out = Vec::with_capacity(items.len());
        let mut usable = true;
        for (i, item) in items.iter().enumerate() {
            match self.walk(item, item_schema, &format!("item {} of {what}", i + 1)) {
                Some(json) => out.push(json),
                None => usable = false,
            }
        }
        usable.then_some(Value::Array(out))
    }
}

fn unknown_key(
    name: &str,
    key: &RawNode,
    properties: Option<&serde_json::Map<String, Value>>,
    what: &str,
) -> Diagnostic {
    let allowed: Vec<&str> = properties
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let d = Diagnostic::error(format!("unknown key `{name}` in {what}"), Some(key.pos));
    if allowed.is_empty() {
        return d.hint(format!(
            "this version of labctl has nothing called `{name}` here"
        ));
    }
    match did_you_mean(name, allowed.iter().copied()) {
        Some(close) => d.hint(format!("did you mean `{close}`?")),
        None => d.hint(format!("allowed here: {}", allowed.join(", "))),
    }
}

fn types_of(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn type_accepts(schema: &Value, value: &RawValue) -> bool {
    let types = types_of(schema);
    if types.is_empty() {
        return true;
    }
    types.iter().any(|t| {
        matches!(
            (*t, value),
            ("null", RawValue::Null)
                | (
                    "string",
                    RawValue::Str(_) | RawValue::Int(_) | RawValue::Float(_) | RawValue::Bool(_)
                )
                | ("integer", RawValue::Int(_))
                | ("number", RawValue::Int(_) | RawValue::Float(_))
                | ("boolean", RawValue::Bool(_))
                | ("array", RawValue::Seq(_))
                | ("object", RawValue::Map(_))
        )
    })
}

fn describe_type(schema: &Value) -> String {
    let names: Vec<&str> = types_of(schema)
        .into_iter()
        .filter(|t| *t != "null")
        .map(|t| match t {
            "string" => "text",
            "integer" => "a whole number",
            "number" => "a number",
            "boolean" => "true or false",
            "array" => "a list",
            "object" => "a mapping (key: value)",
            other => other,
        })
        .collect();
    if names.is_empty() {
        "something else".to_string()
    } else {
        names.join(" or ")
    }
}

fn type_hint(schema: &Value) -> String {
    match types_of(schema).first().copied() {
        Some("object") => "write `key: value` lines indented below it".to_string(),
        Some("array") => "write a list: `[a, b]` or lines starting with `- `".to_string(),
        _ => "see docs/lab-format.md for the form this value takes".to_string(),
    }
}
