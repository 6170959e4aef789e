//! What a consumer relies on in a message, stated by the consumer and checked against what the
//! producers really write (the `contracts` crate's tests).
//!
//! A field is a path into the message's JSON and the kind of value the consumer reads there:
//!
//! ```text
//! "data.orderId: uuid"            a UUID string
//! "data.items[].quantity: integer" in every element of the array
//! "data.reason: string"           also: integer, boolean, array, object, timestamp
//! "status = Approved"             exactly this string
//! ```
//!
//! A consumer lists only what its code reads: a field it does not read may change freely.

use serde_json::Value;

/// What one consumer relies on in one event type.
#[derive(Debug, Clone, Copy)]
pub struct Reliance {
    /// The envelope's `type`.
    pub event: &'static str,
    /// Paths into the whole envelope (`data.…` for the payload), with their kinds.
    pub fields: &'static [&'static str],
}

/// The envelope fields every consumer reads (through `Envelope::decode`).
pub const ENVELOPE: &[&str] = &[
    "id: uuid",
    "type: string",
    "version: integer",
    "occurredAt: timestamp",
    "source: string",
    "data: object",
];

/// The fields of `fields` that `value` does not satisfy, each with why.
pub fn unmet(value: &Value, fields: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    for field in fields {
        let (path, expect) = match field.split_once(" = ") {
            Some((path, literal)) => (path, Expect::Literal(literal)),
            None => match field.split_once(':') {
                Some((path, kind)) => (path, Expect::Kind(kind.trim())),
                None => {
                    problems.push(format!("{field}: not `path: kind` nor `path = value`"));
                    continue;
                }
            },
        };
        check(value, path.trim(), field, &expect, &mut problems);
    }
    problems
}

enum Expect<'a> {
    Kind(&'a str),
    Literal(&'a str),
}

fn check(value: &Value, path: &str, field: &str, expect: &Expect<'_>, problems: &mut Vec<String>) {
    let (head, rest) = match path.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (path, None),
    };
    let (name, each) = match head.strip_suffix("[]") {
        Some(name) => (name, true),
        None => (head, false),
    };
    let Some(found) = value.get(name) else {
        problems.push(format!("{field}: `{name}` is missing"));
        return;
    };
    let targets: Vec<&Value> = if each {
        match found.as_array() {
            Some(elements) if !elements.is_empty() => elements.iter().collect(),
            _ => {
                problems.push(format!("{field}: `{name}` is not a non-empty array"));
                return;
            }
        }
    } else {
        vec![found]
    };
    for target in targets {
        match rest {
            Some(rest) => check(target, rest, field, expect, problems),
            None if !satisfies(target, expect) => problems.push(format!("{field}: found {target}")),
            None => {}
        }
    }
}

fn satisfies(value: &Value, expect: &Expect<'_>) -> bool {
    match *expect {
        Expect::Literal(literal) => value.as_str() == Some(literal),
        Expect::Kind("uuid") => value
            .as_str()
            .is_some_and(|s| uuid::Uuid::parse_str(s).is_ok()),
        Expect::Kind("timestamp") => value
            .as_str()
            .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok()),
        Expect::Kind("string") => value.is_string(),
        Expect::Kind("integer") => value.is_i64() || value.is_u64(),
        Expect::Kind("boolean") => value.is_boolean(),
        Expect::Kind("array") => value.is_array(),
        Expect::Kind("object") => value.is_object(),
        Expect::Kind(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn placed() -> Value {
        json!({
            "id": "0192f3a0-0000-7000-8000-000000000000",
            "type": "OrderPlaced",
            "version": 1,
            "occurredAt": "2026-11-23T10:00:00Z",
            "source": "order",
            "data": {
                "orderId": "0192f3a0-0000-7000-8000-000000000001",
                "items": [{ "quantity": 2 }, { "quantity": 1 }],
                "status": "Approved",
            },
        })
    }

    #[test]
    fn fields_that_are_there_with_their_kind_are_met() {
        let fields = [
            "data.orderId: uuid",
            "data.items[].quantity: integer",
            "data.status = Approved",
        ];
        assert_eq!(unmet(&placed(), &fields), Vec::<String>::new());
        assert_eq!(unmet(&placed(), ENVELOPE), Vec::<String>::new());
    }

    #[test]
    fn a_missing_field_a_wrong_kind_or_value_is_unmet() {
        let fields = [
            "data.customerId: string",
            "data.items[].quantity: string",
            "data.status = Refunded",
            "data.orderId: timestamp",
        ];
        let problems = unmet(&placed(), &fields);
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert!(problems[0].contains("`customerId` is missing"));
    }

    #[test]
    fn an_empty_array_meets_nothing_inside_it() {
        let mut event = placed();
        event["data"]["items"] = json!([]);
        assert_eq!(unmet(&event, &["data.items[].quantity: integer"]).len(), 1);
    }
}
