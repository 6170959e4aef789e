//! Versions of event payloads. Every event type starts at version 1, written in the envelope's
//! `version`. A change that a consumer built before it, or a message written before it, could not
//! survive (docs/contracts.md says which) gives the type a new version: its payload struct takes
//! the new shape, and the old shape stays in [`LEGACY`] with a function that turns it into the
//! next one, for as long as messages of it may still be read — from Kafka's retention, from an
//! outbox not yet relayed, from the history mypage is rebuilt from. Consumers decode every version
//! listed here into the current type, so a handler only ever sees the current shape.

use serde_json::Value;

/// An older version of an event type's payload that this build still reads.
pub struct Legacy {
    pub event_type: &'static str,
    pub version: u16,
    /// Turns a payload of `version` into one of `version + 1`.
    pub upcast: fn(Value) -> Result<Value, String>,
    /// The old payload's schema, kept in the event contracts beside the current one.
    #[cfg(feature = "schema")]
    pub schema: fn(&mut schemars::SchemaGenerator) -> schemars::Schema,
}

/// Every older version still read, oldest first within a type. Empty: no event type has been
/// bumped yet.
pub const LEGACY: &[Legacy] = &[];

/// The version this build writes for `event_type`: one above its newest legacy version, else 1.
pub fn current_version(event_type: &str) -> u16 {
    current_version_in(LEGACY, event_type)
}

fn current_version_in(legacy: &[Legacy], event_type: &str) -> u16 {
    legacy
        .iter()
        .filter(|l| l.event_type == event_type)
        .map(|l| l.version + 1)
        .max()
        .unwrap_or(1)
}

/// Why a payload's version cannot be read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum VersionError {
    /// Written by a newer build.
    Newer,
    /// An old version no longer in [`LEGACY`].
    Retired,
    /// The upcast itself failed.
    Upcast(String),
}

/// `data`, written at `version` of `event_type`, in the current shape.
pub(crate) fn upcast(event_type: &str, version: u16, data: Value) -> Result<Value, VersionError> {
    upcast_in(LEGACY, event_type, version, data)
}

fn upcast_in(
    legacy: &[Legacy],
    event_type: &str,
    version: u16,
    mut data: Value,
) -> Result<Value, VersionError> {
    let current = current_version_in(legacy, event_type);
    if version > current {
        return Err(VersionError::Newer);
    }
    for step in version..current {
        let legacy = legacy
            .iter()
            .find(|l| l.event_type == event_type && l.version == step)
            .ok_or(VersionError::Retired)?;
        data = (legacy.upcast)(data).map_err(VersionError::Upcast)?;
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `OrderCanceled` as if its `reason` had been a free text in version 1 and renamed in 2.
    fn bumped() -> Vec<Legacy> {
        #[cfg(feature = "schema")]
        fn schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
            generator.subschema_for::<Value>()
        }
        vec![
            Legacy {
                event_type: "OrderCanceled",
                version: 1,
                upcast: |mut data| {
                    let text = data["why"].take();
                    data["because"] = text;
                    Ok(data)
                },
                #[cfg(feature = "schema")]
                schema,
            },
            Legacy {
                event_type: "OrderCanceled",
                version: 2,
                upcast: |mut data| {
                    let reason = match data["because"].as_str() {
                        Some("the customer asked") => "customer",
                        Some(other) => return Err(format!("no reason for {other:?}")),
                        None => return Err("no reason".into()),
                    };
                    data["reason"] = reason.into();
                    Ok(data)
                },
                #[cfg(feature = "schema")]
                schema,
            },
        ]
    }

    #[test]
    fn an_unbumped_type_is_at_version_1_and_read_as_is() {
        assert_eq!(current_version("OrderPlaced"), 1);
        let data = json!({"orderId": "x"});
        assert_eq!(upcast("OrderPlaced", 1, data.clone()), Ok(data));
    }

    #[test]
    fn a_bumped_type_is_written_at_its_newest_version() {
        assert_eq!(current_version_in(&bumped(), "OrderCanceled"), 3);
        assert_eq!(current_version_in(&bumped(), "OrderPlaced"), 1);
    }

    #[test]
    fn an_old_payload_is_upcast_through_every_version_after_it() {
        let read = upcast_in(
            &bumped(),
            "OrderCanceled",
            1,
            json!({"why": "the customer asked"}),
        );
        assert_eq!(read.expect("upcasts")["reason"], "customer");
    }

    #[test]
    fn a_newer_or_retired_version_is_not_read() {
        let legacy = bumped();
        assert_eq!(
            upcast_in(&legacy, "OrderCanceled", 4, json!({})),
            Err(VersionError::Newer)
        );
        assert_eq!(
            upcast_in(&legacy[1..], "OrderCanceled", 1, json!({})),
            Err(VersionError::Retired)
        );
        assert!(matches!(
            upcast_in(&legacy, "OrderCanceled", 2, json!({"because": "rain"})),
            Err(VersionError::Upcast(_))
        ));
    }
}
