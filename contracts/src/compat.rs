//! Whether the event contracts of this build can replace those of a base revision.
//!
//! Events outlive the build that wrote them, both ways: a consumer still running the base build
//! reads what this build publishes, and this build reads what the base build wrote (messages in
//! Kafka's retention, outbox rows not yet relayed, the history mypage is rebuilt from). So a
//! message of a given name and version must keep a shape both sides read:
//!
//! - every field it had, with the same type and constraints (a removed or renamed field, or a
//!   changed type or format, is breaking), required exactly when it was;
//! - no new required field (messages written before lack it); a new optional field is fine;
//! - the same set of values where the values are enumerated (a removed one makes old messages
//!   unreadable, an added one is unreadable to old consumers);
//! - the same topics, the same key, the same headers;
//! - and it must still be there: a removed event type, or a version no longer read, breaks
//!   every message of it still in flight.
//!
//! Anything else — descriptions, titles, new messages, new versions — is compatible. A breaking
//! change is made as a new version of the event, with the old version kept beside it
//! (`shared_events::versions::LEGACY`), so both appear in the document and neither changes.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::{Map, Value};

/// One breaking change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Breaking {
    /// The message, e.g. `OrderPlaced.v1`.
    pub message: String,
    /// Where in it, e.g. `payload.data.items[].quantity`; empty for the message as a whole.
    pub at: String,
    pub change: String,
}

impl fmt::Display for Breaking {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at.is_empty() {
            write!(f, "{}: {}", self.message, self.change)
        } else {
            write!(f, "{} {}: {}", self.message, self.at, self.change)
        }
    }
}

/// Keywords that constrain a value; a change to any of them changes what is valid.
const CONSTRAINTS: &[&str] = &[
    "format",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
];

/// How deep schemas are followed: far beyond any event, short of a loop.
const MAX_DEPTH: usize = 32;

/// Every breaking change from the `base` document to the `current` one, in a stable order.
pub fn breaking_changes(base: &Value, current: &Value) -> Vec<Breaking> {
    let mut found = Vec::new();
    let empty = Map::new();
    let messages = |doc: &Value| {
        doc.pointer("/components/messages")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_else(|| empty.clone())
    };
    let (old_messages, new_messages) = (messages(base), messages(current));
    for (id, old) in &old_messages {
        let mut out = Out {
            message: id,
            found: &mut found,
        };
        let Some(new) = new_messages.get(id) else {
            let name = old.get("name").and_then(Value::as_str).unwrap_or(id);
            let still_read = new_messages
                .values()
                .any(|m| m.get("name").and_then(Value::as_str) == Some(name));
            out.push(
                "",
                if still_read {
                    format!(
                        "this version of {name} is no longer read; messages of it may still be \
                         in flight: keep it in shared_events::versions::LEGACY"
                    )
                } else {
                    format!("the event type {name} was removed")
                },
            );
            continue;
        };
        let (old_topics, new_topics) = (topics_of(base, id), topics_of(current, id));
        if old_topics != new_topics {
            out.push(
                "",
                format!("moved from topics {old_topics:?} to {new_topics:?}"),
            );
        }
        let docs = Docs { base, current };
        for part in ["payload", "headers"] {
            let (old, new) = (part_of(old, part), part_of(new, part));
            docs.diff(&mut out, part, old, new, 0);
        }
        let key = |m: &Value| m.pointer("/bindings/kafka/key").cloned();
        if key(old) != key(new) {
            out.push("key", "the message key changed".to_owned());
        }
    }
    found.sort();
    found
}

fn part_of<'a>(message: &'a Value, part: &str) -> &'a Value {
    message.get(part).unwrap_or(&Value::Null)
}

/// The addresses of the channels that carry message `id`.
fn topics_of(doc: &Value, id: &str) -> BTreeSet<String> {
    let reference = format!("#/components/messages/{id}");
    let Some(channels) = doc.get("channels").and_then(Value::as_object) else {
        return BTreeSet::new();
    };
    channels
        .values()
        .filter(|c| {
            c.get("messages")
                .and_then(Value::as_object)
                .is_some_and(|m| {
                    m.values()
                        .any(|r| r.get("$ref").and_then(Value::as_str) == Some(&reference))
                })
        })
        .filter_map(|c| c.get("address").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

struct Out<'a> {
    message: &'a str,
    found: &'a mut Vec<Breaking>,
}

impl Out<'_> {
    fn push(&mut self, at: &str, change: String) {
        self.found.push(Breaking {
            message: self.message.to_owned(),
            at: at.to_owned(),
            change,
        });
    }
}

/// The two documents, in which each side's `$ref`s resolve.
struct Docs<'a> {
    base: &'a Value,
    current: &'a Value,
}

impl Docs<'_> {
    fn diff(&self, out: &mut Out<'_>, at: &str, old: &Value, new: &Value, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let (old, new) = (resolve(self.base, old), resolve(self.current, new));
        let (old_types, new_types) = (types(old), types(new));
        if old_types != new_types {
            out.push(
                at,
                format!("type changed from {old_types:?} to {new_types:?}"),
            );
            return;
        }
        match (values(old), values(new)) {
            (Some(old_values), Some(new_values)) => {
                for gone in old_values.difference(&new_values) {
                    out.push(
                        at,
                        format!("no longer allows {gone}, which messages written before may hold"),
                    );
                }
                for added in new_values.difference(&old_values) {
                    out.push(
                        at,
                        format!("now allows {added}, which consumers built before cannot read"),
                    );
                }
            }
            (None, None) => {}
            _ => out.push(at, "the allowed values changed".to_owned()),
        }
        for keyword in CONSTRAINTS {
            let (was, is) = (old.get(*keyword), new.get(*keyword));
            if was != is {
                out.push(
                    at,
                    format!("`{keyword}` changed from {} to {}", show(was), show(is)),
                );
            }
        }
        let closed = |s: &Value| {
            s.get("additionalProperties")
                .filter(|v| v.is_boolean())
                .cloned()
        };
        if closed(old) != closed(new) {
            out.push(at, "`additionalProperties` changed".to_owned());
        }
        self.diff_properties(out, at, old, new, depth);
        if old.get("items").is_some() || new.get("items").is_some() {
            let item = |s: &Value| s.get("items").cloned().unwrap_or(Value::Null);
            self.diff(out, &format!("{at}[]"), &item(old), &item(new), depth + 1);
        }
        if values(old).is_none() {
            for keyword in ["oneOf", "anyOf", "allOf"] {
                let (was, is) = (alternatives(old, keyword), alternatives(new, keyword));
                if was.len() != is.len() {
                    out.push(at, format!("the alternatives of `{keyword}` changed"));
                    continue;
                }
                for (i, (was, is)) in was.iter().zip(is).enumerate() {
                    self.diff(out, &format!("{at}({keyword} {i})"), was, is, depth + 1);
                }
            }
        }
    }

    fn diff_properties(&self, out: &mut Out<'_>, at: &str, old: &Value, new: &Value, depth: usize) {
        let empty = Map::new();
        let properties = |s: &Value| s.get("properties").and_then(Value::as_object).cloned();
        let (Some(was), is) = (properties(old), properties(new)) else {
            return;
        };
        let is = is.unwrap_or_else(|| empty.clone());
        let (old_required, new_required) = (required(old), required(new));
        for (name, old_field) in &was {
            let path = format!("{at}.{name}");
            let Some(new_field) = is.get(name) else {
                out.push(&path, "field removed (or renamed)".to_owned());
                continue;
            };
            match (old_required.contains(name), new_required.contains(name)) {
                (true, false) => out.push(
                    &path,
                    "became optional, but consumers built before rely on it".to_owned(),
                ),
                (false, true) => out.push(
                    &path,
                    "became required, but messages written before may lack it".to_owned(),
                ),
                _ => {}
            }
            self.diff(out, &path, old_field, new_field, depth + 1);
        }
        for name in is.keys().filter(|n| !was.contains_key(*n)) {
            if new_required.contains(name) {
                out.push(
                    &format!("{at}.{name}"),
                    "new required field, which messages written before lack".to_owned(),
                );
            }
        }
    }
}

/// Follows `$ref`s (and the single-element `allOf` draft 7 wraps them in) to the schema itself.
fn resolve<'a>(doc: &'a Value, mut schema: &'a Value) -> &'a Value {
    for _ in 0..MAX_DEPTH {
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            schema = reference
                .strip_prefix('#')
                .and_then(|pointer| doc.pointer(pointer))
                .unwrap_or(&Value::Null);
            continue;
        }
        match schema
            .get("allOf")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        {
            Some([only]) if schema.get("type").is_none() => schema = only,
            _ => break,
        }
    }
    schema
}

fn types(schema: &Value) -> BTreeSet<String> {
    match schema.get("type") {
        Some(Value::String(t)) => BTreeSet::from([t.clone()]),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => BTreeSet::new(),
    }
}

/// The values a schema enumerates (`enum`, `const`, or a `oneOf` of `const`s), as JSON text.
fn values(schema: &Value) -> Option<BTreeSet<String>> {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return Some(values.iter().map(Value::to_string).collect());
    }
    if let Some(value) = schema.get("const") {
        return Some(BTreeSet::from([value.to_string()]));
    }
    let options = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))
        .and_then(Value::as_array)?;
    options
        .iter()
        .map(|o| o.get("const").map(Value::to_string))
        .collect()
}

fn alternatives<'a>(schema: &'a Value, keyword: &str) -> &'a [Value] {
    schema
        .get(keyword)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn required(schema: &Value) -> BTreeSet<String> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn show(value: Option<&Value>) -> String {
    value.map_or_else(|| "nothing".to_owned(), Value::to_string)
}

#[cfg(test)]
mod tests;
