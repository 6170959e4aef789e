//! What the event contracts are generated from (with the `schema` feature): each event type's
//! topic, key and payload schema, and the envelope's fields and Kafka headers around it. The
//! `contracts` crate assembles them into the AsyncAPI document; its tests check that what the
//! producers really write matches.

use schemars::{JsonSchema, Schema, SchemaGenerator};

use crate::Topic;
use crate::versions::LEGACY;

/// One version of one event type.
pub struct EventSchema {
    /// The envelope's `type`.
    pub name: &'static str,
    /// The envelope's `version`.
    pub version: u16,
    pub topic: Topic,
    /// The payload field whose value is the Kafka message key.
    pub key_field: &'static str,
    pub payload: fn(&mut SchemaGenerator) -> Schema,
}

/// Every version of every event type this build reads: the current ones, then the legacy ones.
pub fn every_version() -> Vec<EventSchema> {
    let current = crate::Event::schemas();
    let legacy = LEGACY.iter().filter_map(|legacy| {
        let now = current.iter().find(|e| e.name == legacy.event_type)?;
        Some(EventSchema {
            name: now.name,
            version: legacy.version,
            topic: now.topic,
            key_field: now.key_field,
            payload: legacy.schema,
        })
    });
    let mut all: Vec<EventSchema> = legacy.collect();
    all.extend(current);
    all.sort_by_key(|e| (e.topic as u8, e.name, e.version));
    all
}

/// The envelope: one JSON shape around every event's `data`.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct EnvelopeFields {
    /// Unique per event; consumers deduplicate on it.
    pub id: uuid::Uuid,
    /// The event type, the name of its message.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The version of the payload's shape.
    pub version: u16,
    /// The order the event belongs to; absent on catalog events.
    pub order_id: Option<uuid::Uuid>,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    /// The service that published it.
    pub source: String,
}

/// The Kafka headers the outbox relay puts on every event (`backbone::relay`).
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct EventHeaders {
    /// The event type, as in the envelope: a consumer may skip a message without parsing it.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The envelope's id.
    pub id: uuid::Uuid,
    /// W3C trace context of the request that caused the event; absent when its outbox row has
    /// none.
    #[serde(default)]
    pub traceparent: String,
}

/// What the dead-letter topic adds to a message's own headers (`backbone::consumer`).
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct DeadLetterHeaders {
    /// Why the consumer gave up.
    #[serde(rename = "dlq.error")]
    pub error: String,
    /// The topic the message came from (with the deployment's prefix).
    #[serde(rename = "dlq.topic")]
    pub topic: String,
    #[serde(rename = "dlq.partition")]
    pub partition: String,
    #[serde(rename = "dlq.offset")]
    pub offset: String,
    /// The consumer that gave up, e.g. `payment.refunds`.
    #[serde(rename = "dlq.consumer")]
    pub consumer: String,
}
