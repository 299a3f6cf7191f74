use std::fmt;

/// A value from outside failed to parse. `field` names the input at fault so the API can point at it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Trims `raw` and checks its length in characters; shared by every bounded text value.
pub(crate) fn bounded_text(
    field: &str,
    raw: &str,
    min: usize,
    max: usize,
) -> Result<String, ValidationError> {
    let trimmed = raw.trim();
    let len = trimmed.chars().count();
    if len < min {
        return Err(ValidationError::new(
            field,
            if min == 1 {
                "must not be empty".to_string()
            } else {
                format!("must be at least {min} characters")
            },
        ));
    }
    if len > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters (got {len})"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    if let Some(c) = trimmed.chars().find(|c| is_hidden_format(*c)) {
        return Err(ValidationError::new(
            field,
            format!(
                "must not contain invisible formatting characters such as U+{:04X} (they can hide or reorder what others read)",
                u32::from(c)
            ),
        ));
    }
    if !trimmed.chars().any(is_visible) {
        return Err(ValidationError::new(
            field,
            "must contain at least one visible character",
        ));
    }
    Ok(trimmed.to_string())
}

/// Unicode format characters (general category Cf, Unicode 15) that text shown to other people must not
/// carry: bidirectional overrides and isolates turn `\u{202e}gnp.exe` into what reads as `exe.png`, and
/// zero-width characters make names that look alike or look empty. The two joiners are kept (U+200C and
/// U+200D): Persian and Indic scripts and emoji sequences need them, and they hide nothing on their own.
/// std has no Unicode category tables and the list is short and stable, so it is written out here.
fn is_hidden_format(c: char) -> bool {
    matches!(u32::from(c),
        0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x0890..=0x0891 | 0x08E2 | 0x180E
        | 0x200B | 0x200E..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F
        | 0xFEFF | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F)
}

/// Whether a character draws something: not white space, not a joiner, variation selector or combining
/// grapheme joiner on its own, and not one of the fillers that render as a blank glyph.
fn is_visible(c: char) -> bool {
    !c.is_whitespace()
        && !is_hidden_format(c)
        && !matches!(u32::from(c),
            0x034F | 0x115F | 0x1160 | 0x17B4..=0x17B5 | 0x200C..=0x200D | 0x2800 | 0x3164
            | 0xFE00..=0xFE0F | 0xFFA0 | 0xE0100..=0xE01EF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_with_hidden_formatting_or_nothing_visible_is_refused() {
        let check = |raw: &str| bounded_text("labels", raw, 1, 40);
        assert!(check("\u{200b}\u{200b}").is_err());
        assert!(check("\u{202e}gnp.exe").is_err());
        assert!(check("client\u{2066}a").is_err());
        assert!(check("\u{feff}acme").is_err());
        assert!(check("\u{3164}").is_err());
        assert!(check("\u{200d}\u{fe0f}").is_err());
        assert!(check("a\u{e0041}").is_err());
        let message = check("\u{202e}gnp.exe").unwrap_err().message;
        assert!(message.contains("U+202E"), "{message}");
        assert_eq!(check("\u{200b} ").unwrap_err().field, "labels");
    }

    #[test]
    fn ordinary_text_in_any_script_with_joiners_is_kept() {
        let check = |raw: &str| bounded_text("labels", raw, 1, 40);
        for ok in [
            "Client A",
            "Café Noir",
            "مشتری",
            "می\u{200c}خواهم",
            "👨\u{200d}👩\u{200d}👧",
            "東京",
            "❤\u{fe0f}",
        ] {
            assert_eq!(check(ok).as_deref(), Ok(ok), "{ok:?}");
        }
    }

    #[test]
    fn length_is_counted_in_characters_after_trimming_and_both_bounds_are_inclusive() {
        let check = |raw: &str| bounded_text("labels", raw, 1, 3);
        assert_eq!(check(" a ").as_deref(), Ok("a"));
        assert_eq!(check("ééé").as_deref(), Ok("ééé"));
        let too_long = check(" abcd ").unwrap_err();
        assert_eq!(too_long.message, "must be at most 3 characters (got 4)");
        assert_eq!(check("   ").unwrap_err().message, "must not be empty");
        let longer_minimum = bounded_text("name", "ab", 3, 10).unwrap_err();
        assert_eq!(longer_minimum.message, "must be at least 3 characters");
    }

    #[test]
    fn white_space_between_blank_fillers_draws_nothing_either() {
        let check = |raw: &str| bounded_text("labels", raw, 1, 40);
        assert!(check("\u{3164} \u{3164}").is_err());
        assert!(check("\u{3164} a").is_ok());
        assert!(check("a\tb").is_err(), "control characters are refused");
    }

    #[test]
    fn an_error_reads_as_its_field_then_its_message() {
        let err = ValidationError::new("email", "must not be empty");
        assert_eq!(err.to_string(), "email: must not be empty");
    }
}
