//! Reading JSON numbers the way the API document describes them.
//!
//! The document says `"type": "integer"`, and in JSON (and JSON Schema) `2.0` is the integer 2:
//! a client written in a language without a separate integer type may well send it. serde reads
//! `2.0` into an `i64` as a type error (a 400), so a request the document allows would be
//! refused. Fields declared as integers read through these functions instead
//! (`#[serde(deserialize_with = "service_runtime::json::whole_number")]`): any JSON number
//! without a fractional part that fits is accepted; `2.5` stays a 400.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, Visitor};

/// An `i64` from any JSON number with no fractional part.
pub fn whole_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    deserializer.deserialize_any(WholeNumber)
}

/// An optional `i64` (absent or `null` is `None`), read as [`whole_number`]; pair it with
/// `#[serde(default)]`.
pub fn optional_whole_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    deserializer.deserialize_option(Optional)
}

/// A `u64` from any JSON number with no fractional part, not negative.
pub fn whole_unsigned<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let value = whole_number(deserializer)?;
    u64::try_from(value).map_err(|_| de::Error::custom(format!("{value} is negative")))
}

struct WholeNumber;

impl Visitor<'_> for WholeNumber {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a whole number")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::custom(format!("{v} is too large")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
        // `i64::MAX as f64` rounds up to 2^63, which does not fit: the bound is exclusive.
        if v.fract() == 0.0 && v >= i64::MIN as f64 && v < i64::MAX as f64 {
            #[allow(clippy::cast_possible_truncation)]
            Ok(v as i64)
        } else {
            Err(E::invalid_type(de::Unexpected::Float(v), &self))
        }
    }
}

struct Optional;

impl<'de> Visitor<'de> for Optional {
    type Value = Option<i64>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a whole number or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        whole_number(deserializer).map(Some)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(deserialize_with = "super::whole_number")]
        n: i64,
        #[serde(default, deserialize_with = "super::optional_whole_number")]
        maybe: Option<i64>,
        #[serde(default, deserialize_with = "super::whole_unsigned")]
        ms: u64,
    }

    fn read(json: &str) -> Result<Body, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn integers_and_integral_floats_are_read_alike() {
        assert_eq!(read(r#"{"n": 2}"#).unwrap().n, 2);
        assert_eq!(read(r#"{"n": 2.0}"#).unwrap().n, 2);
        assert_eq!(read(r#"{"n": -3e2}"#).unwrap().n, -300);
        assert_eq!(read(r#"{"n": 1, "maybe": 7.0}"#).unwrap().maybe, Some(7));
        assert_eq!(read(r#"{"n": 1, "ms": 400.0}"#).unwrap().ms, 400);
    }

    #[test]
    fn absent_or_null_optional_numbers_are_none() {
        assert_eq!(read(r#"{"n": 1}"#).unwrap().maybe, None);
        assert_eq!(read(r#"{"n": 1, "maybe": null}"#).unwrap().maybe, None);
    }

    #[test]
    fn fractions_strings_and_out_of_range_numbers_are_refused() {
        assert!(read(r#"{"n": 2.5}"#).is_err());
        assert!(read(r#"{"n": "2"}"#).is_err());
        assert!(read(r#"{"n": 1e300}"#).is_err());
        assert!(read(r#"{"n": 9223372036854775808}"#).is_err());
        assert!(read(r#"{"n": 1, "ms": -1}"#).is_err());
        assert!(read(r#"{"n": null}"#).is_err());
    }
}
