//! The envelope: one JSON shape for every event on every topic.
//!
//! ```json
//! {"id":"<uuid>","type":"OrderPlaced","version":1,"orderId":"<uuid>",
//!  "occurredAt":"2026-11-23T10:00:00Z","source":"order","data":{..}}
//! ```

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Event;
use crate::versions::{self, VersionError};

/// The version every event type starts at. A type's version moves on its own when its payload
/// changes incompatibly ([`crate::versions`]).
pub const SCHEMA_VERSION: u16 = 1;

/// An event with its identity and metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Unique per event; consumers deduplicate on it.
    pub id: Uuid,
    pub version: u16,
    pub occurred_at: DateTime<Utc>,
    /// The service that published it.
    pub source: String,
    pub event: Event,
}

/// What a consumer can make of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    Event(Box<Envelope>),
    /// A well-formed envelope of a type this build does not know (forward compatibility): skip it.
    Unknown {
        id: Uuid,
        event_type: String,
    },
}

/// A message that is not a valid event; it belongs on the dead-letter topic.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("not an event envelope: {0}")]
    Envelope(#[source] serde_json::Error),
    #[error("invalid {event_type} payload: {source}")]
    Payload {
        event_type: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("version {0} is newer than this build reads")]
    UnsupportedVersion(u16),
    #[error("{event_type} version {version} is no longer read")]
    RetiredVersion { event_type: String, version: u16 },
    #[error("cannot read {event_type} version {version}: {reason}")]
    Upcast {
        event_type: String,
        version: u16,
        reason: String,
    },
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireOut<'a> {
    id: Uuid,
    version: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    order_id: Option<Uuid>,
    occurred_at: DateTime<Utc>,
    source: &'a str,
    #[serde(flatten)]
    event: &'a Event,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireIn {
    id: Uuid,
    #[serde(rename = "type")]
    event_type: String,
    version: u16,
    occurred_at: DateTime<Utc>,
    source: String,
    data: serde_json::Value,
}

impl Envelope {
    /// A new event, now, from `source`.
    pub fn new(source: &str, event: impl Into<Event>) -> Self {
        let event = event.into();
        Self {
            id: Uuid::now_v7(),
            version: versions::current_version(event.type_name()),
            // Microseconds: what PostgreSQL and BSON keep, so a stored event compares equal.
            occurred_at: Utc::now().trunc_subsecs(6),
            source: source.to_owned(),
            event,
        }
    }

    pub fn type_name(&self) -> &'static str {
        self.event.type_name()
    }

    /// The Kafka message key.
    pub fn key(&self) -> String {
        self.event.key().to_string()
    }

    pub fn to_json(&self) -> serde_json::Value {
        let wire = WireOut {
            id: self.id,
            version: self.version,
            order_id: self.event.order_id(),
            occurred_at: self.occurred_at,
            source: &self.source,
            event: &self.event,
        };
        // Serializing plain data structures to a Value cannot fail.
        serde_json::to_value(wire).unwrap_or_default()
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_json().to_string().into_bytes()
    }

    /// Decodes a message. Unknown types are not an error; malformed envelopes and payloads are.
    pub fn decode(bytes: &[u8]) -> Result<Decoded, DecodeError> {
        let wire: WireIn = serde_json::from_slice(bytes).map_err(DecodeError::Envelope)?;
        Self::from_wire(wire)
    }

    /// Like [`decode`](Self::decode), from an already parsed JSON value (e.g. an outbox row).
    pub fn decode_value(value: serde_json::Value) -> Result<Decoded, DecodeError> {
        let wire: WireIn = serde_json::from_value(value).map_err(DecodeError::Envelope)?;
        Self::from_wire(wire)
    }

    fn from_wire(wire: WireIn) -> Result<Decoded, DecodeError> {
        if !Event::TYPES.contains(&wire.event_type.as_str()) {
            return Ok(Decoded::Unknown {
                id: wire.id,
                event_type: wire.event_type,
            });
        }
        // An older version is read in the current shape, and the envelope says so: re-encoded,
        // it is a message of the current version.
        let data = versions::upcast(&wire.event_type, wire.version, wire.data).map_err(|e| {
            let (event_type, version) = (wire.event_type.clone(), wire.version);
            match e {
                VersionError::Newer => DecodeError::UnsupportedVersion(version),
                VersionError::Retired => DecodeError::RetiredVersion {
                    event_type,
                    version,
                },
                VersionError::Upcast(reason) => DecodeError::Upcast {
                    event_type,
                    version,
                    reason,
                },
            }
        })?;
        let tagged = serde_json::json!({ "type": wire.event_type, "data": data });
        let event = serde_json::from_value(tagged).map_err(|source| DecodeError::Payload {
            event_type: wire.event_type.clone(),
            source,
        })?;
        Ok(Decoded::Event(Box::new(Envelope {
            id: wire.id,
            version: versions::current_version(&wire.event_type),
            occurred_at: wire.occurred_at,
            source: wire.source,
            event,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CancelReason, MenuItemRemoved, OrderCanceled, OrderLine, OrderPlaced, Topic};

    fn placed() -> OrderPlaced {
        OrderPlaced {
            order_id: Uuid::new_v4(),
            customer_id: "alice".into(),
            store_id: Uuid::new_v4(),
            items: vec![OrderLine {
                menu_item_id: Uuid::new_v4(),
                name: "Fried chicken".into(),
                quantity: 2,
                unit_price: 18_000,
            }],
            total_price: 36_000,
            delivery_address: "Seoul".into(),
            payment_id: Uuid::new_v4(),
        }
    }

    #[test]
    fn an_envelope_survives_the_wire() {
        let envelope = Envelope::new("order", placed());
        let decoded = Envelope::decode(&envelope.to_bytes()).expect("decodes");
        assert_eq!(decoded, Decoded::Event(Box::new(envelope)));
    }

    #[test]
    fn the_wire_shape_is_the_documented_one() {
        let event = placed();
        let order_id = event.order_id;
        let json = Envelope::new("order", event).to_json();
        assert_eq!(json["type"], "OrderPlaced");
        assert_eq!(json["version"], 1);
        assert_eq!(json["source"], "order");
        assert_eq!(json["orderId"], order_id.to_string());
        assert_eq!(json["data"]["items"][0]["unitPrice"], 18_000);
        assert!(
            json["occurredAt"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z'))
        );
    }

    #[test]
    fn order_events_are_keyed_by_order_and_catalog_events_by_store() {
        let event = placed();
        let order_id = event.order_id;
        let envelope = Envelope::new("order", event);
        assert_eq!(envelope.key(), order_id.to_string());
        assert_eq!(envelope.event.topic(), Topic::Order);

        let store_id = Uuid::new_v4();
        let removed = Envelope::new(
            "store",
            MenuItemRemoved {
                store_id,
                menu_item_id: Uuid::new_v4(),
            },
        );
        assert_eq!(removed.key(), store_id.to_string());
        assert_eq!(removed.event.order_id(), None);
        assert!(removed.to_json().get("orderId").is_none());
    }

    #[test]
    fn an_unknown_type_is_skipped_not_failed() {
        let bytes = br#"{"id":"0192f3a0-0000-7000-8000-000000000000","type":"LoyaltyPointsGranted",
            "version":3,"occurredAt":"2026-11-23T10:00:00Z","source":"marketing","data":{"points":5}}"#;
        match Envelope::decode(bytes).expect("well-formed") {
            Decoded::Unknown { event_type, .. } => assert_eq!(event_type, "LoyaltyPointsGranted"),
            other => panic!("expected Unknown, got {other:?}"),
        }
    }

    #[test]
    fn malformed_messages_are_errors() {
        assert!(matches!(
            Envelope::decode(b"not json"),
            Err(DecodeError::Envelope(_))
        ));
        let missing_data = br#"{"id":"0192f3a0-0000-7000-8000-000000000000","type":"OrderCanceled",
            "version":1,"occurredAt":"2026-11-23T10:00:00Z","source":"order","data":{"orderId":"x"}}"#;
        assert!(matches!(
            Envelope::decode(missing_data),
            Err(DecodeError::Payload { .. })
        ));
    }

    #[test]
    fn a_newer_version_of_a_known_type_is_an_error() {
        let mut json = Envelope::new(
            "order",
            OrderCanceled {
                order_id: Uuid::new_v4(),
                customer_id: "alice".into(),
                store_id: Uuid::new_v4(),
                reason: CancelReason::Customer,
            },
        )
        .to_json();
        json["version"] = 2.into();
        assert!(matches!(
            Envelope::decode_value(json),
            Err(DecodeError::UnsupportedVersion(2))
        ));
    }

    #[test]
    fn cancel_reasons_are_snake_case_on_the_wire() {
        let json = serde_json::to_value(CancelReason::DeliveryAccident).expect("serializes");
        assert_eq!(json, CancelReason::DeliveryAccident.as_str());
    }
}
