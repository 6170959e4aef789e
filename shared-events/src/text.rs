//! Free text in request bodies (addresses, names, reasons, reviews), read the way the API
//! document describes it, so that the code and the document's patterns cannot disagree.
//!
//! The document says "not only white space" with [`NOT_BLANK`], a JSON Schema pattern. Pattern
//! engines disagree on `\s` (ECMAScript's includes U+FEFF and not U+0085, Rust's and Python's the
//! other way round), so the pattern lists its white space explicitly, and [`trim`] trims exactly
//! those characters.

/// The pattern of a text that is not only white space and holds no U+0000, as the API document
/// gives it (each text field's `pattern` is this literal; the document's tests hold it to this).
pub const NOT_BLANK: &str = r"^[^\u0000]*[^\u0000\u0009-\u000d\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff][^\u0000]*$";

/// White space as [`NOT_BLANK`] lists it: ECMAScript's `\s`.
pub fn is_space(c: char) -> bool {
    matches!(
        c,
        '\u{9}'..='\u{d}'
            | ' '
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
            | '\u{feff}'
    )
}

/// `raw` without the white space at its ends; empty if it is only white space.
pub fn trim(raw: &str) -> &str {
    raw.trim_matches(is_space)
}

/// A text as the document bounds it: 1 to `max` characters as sent (JSON Schema's
/// `maxLength` counts them before any trimming), not only white space; kept trimmed.
pub fn bounded(raw: &str, max: usize) -> Option<&str> {
    let trimmed = trim(raw);
    (!trimmed.is_empty() && raw.chars().count() <= max).then_some(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pattern_and_the_code_agree_on_every_character() {
        let pattern = regex::Regex::new(NOT_BLANK).unwrap();
        for c in (1..=0x10ffff).filter_map(char::from_u32) {
            let one = c.to_string();
            assert_eq!(
                pattern.is_match(&one),
                !trim(&one).is_empty(),
                "U+{:04X}",
                u32::from(c)
            );
        }
        assert!(!pattern.is_match("Seoul\0"));
        assert!(pattern.is_match(" \u{feff}Seoul\u{85} "));
    }

    #[test]
    fn white_space_is_ecmascripts() {
        assert_eq!(trim("\u{feff} Seoul\t\n"), "Seoul");
        // NEXT LINE is white space to Rust, not to a JSON Schema pattern: it is text here.
        assert_eq!(trim("\u{85}"), "\u{85}");
        assert_eq!(trim("\u{3000}\u{2028}"), "");
    }

    #[test]
    fn the_bound_counts_characters_as_sent() {
        assert_eq!(bounded("  Seoul ", 8), Some("Seoul"));
        assert_eq!(bounded("  Seoul ", 7), None);
        assert_eq!(bounded("서울", 2), Some("서울"));
        assert_eq!(bounded(" \t", 10), None);
        assert_eq!(bounded("", 10), None);
    }
}
