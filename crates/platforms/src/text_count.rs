//! How a platform counts a post's characters. Most count Unicode code points. X weighs them, following
//! its own counting library's configuration (twitter-text `config/v3.json`: 280 at a scale of 100, a
//! default weight of 200, weight 100 for U+0000–U+10FF, U+2000–U+200D, U+2010–U+201F and U+2032–U+2037,
//! every URL as 23, an emoji as 2), after NFC normalisation.
//!
//! The Posts page's script counts the same way (`xWeightedLength` in `assets/app.js`); the table in
//! `tests/text_counting.json` holds the two to the same numbers. Written here rather than taken from a
//! crate: twitter-text has no maintained Rust port, and what the page counts must be what this counts,
//! rule for rule. Two simplifications, the same on both sides: a URL is text starting with `http://` or
//! `https://` (X also links bare domains such as `example.com`), and an emoji is a pictographic
//! character with the marks that join it (variation selector, skin tone, tags, keycap, zero-width
//! joiner sequences) or a pair of regional indicators (a flag).

use unicode_normalization::UnicodeNormalization;

/// How a platform counts the characters of a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextCounting {
    /// One per Unicode code point.
    CodePoints,
    /// X's weighted count (see the module's documentation).
    XWeighted,
}

impl TextCounting {
    pub fn count(self, text: &str) -> usize {
        match self {
            TextCounting::CodePoints => text.chars().count(),
            TextCounting::XWeighted => x_weighted_length(text),
        }
    }
}

/// The hashtags of a text: `#` at the start of a word, followed by a letter or a digit.
pub fn hashtags(text: &str) -> usize {
    let chars: Vec<char> = text.chars().collect();
    (0..chars.len())
        .filter(|&i| {
            chars[i] == '#'
                && (i == 0 || chars[i - 1].is_whitespace())
                && chars.get(i + 1).is_some_and(|c| c.is_alphanumeric())
        })
        .count()
}

/// What a URL counts on X, whatever its length (links are wrapped in t.co).
const X_URL_LENGTH: usize = 23;

fn x_weighted_length(text: &str) -> usize {
    let chars: Vec<char> = text.nfc().collect();
    let mut length = 0;
    let mut at = 0;
    while at < chars.len() {
        if let Some(url) = url_at(&chars, at) {
            length += X_URL_LENGTH;
            at += url;
        } else if let Some(emoji) = emoji_at(&chars, at) {
            length += 2;
            at += emoji;
        } else {
            length += weight(chars[at]);
            at += 1;
        }
    }
    length
}

fn weight(c: char) -> usize {
    match u32::from(c) {
        0..=0x10FF | 0x2000..=0x200D | 0x2010..=0x201F | 0x2032..=0x2037 => 1,
        _ => 2,
    }
}

/// Characters a URL does not end with: the punctuation of the sentence around it.
const URL_TRAILING: &[char] = &['.', ',', '!', '?', ';', ':', ')', ']', '}', '\'', '"'];

/// The length of the URL starting at `at`, if one does: `http://` or `https://` (any case) at the start
/// of a word, then anything up to white space, without trailing punctuation, and something after `//`.
fn url_at(chars: &[char], at: usize) -> Option<usize> {
    let starts_word = at == 0 || chars[at - 1].is_whitespace() || "(<[\"'".contains(chars[at - 1]);
    if !starts_word {
        return None;
    }
    let scheme = ["https://", "http://"].into_iter().find(|scheme| {
        let n = scheme.chars().count();
        chars.len() >= at + n
            && chars[at..at + n]
                .iter()
                .zip(scheme.chars())
                .all(|(c, s)| c.to_ascii_lowercase() == s)
    })?;
    let mut end = at;
    while end < chars.len() && !chars[end].is_whitespace() {
        end += 1;
    }
    while end > at && URL_TRAILING.contains(&chars[end - 1]) {
        end -= 1;
    }
    (end - at > scheme.len()).then_some(end - at)
}

fn is_pictographic(c: char) -> bool {
    matches!(u32::from(c), 0x1F000..=0x1FAFF | 0x2300..=0x23FF | 0x2600..=0x27BF | 0x2B00..=0x2BFF)
}

/// Characters that are emoji only when a variation selector asks for it (©️, ™️, ‼️, …).
fn is_emoji_with_selector(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00A9 | 0x00AE | 0x203C | 0x2049 | 0x2122 | 0x2139 | 0x3030 | 0x303D | 0x3297 | 0x3299
    )
}

fn is_regional_indicator(c: char) -> bool {
    matches!(u32::from(c), 0x1F1E6..=0x1F1FF)
}

/// Marks that belong to the emoji before them.
fn is_emoji_mark(c: char) -> bool {
    matches!(u32::from(c), 0xFE0F | 0x20E3 | 0x1F3FB..=0x1F3FF | 0xE0020..=0xE007F)
}

const ZWJ: char = '\u{200D}';
const VARIATION_SELECTOR: char = '\u{FE0F}';
const KEYCAP: char = '\u{20E3}';

/// The length of the emoji starting at `at`, if one does.
fn emoji_at(chars: &[char], at: usize) -> Option<usize> {
    let c = chars[at];
    let next = chars.get(at + 1).copied();
    if is_regional_indicator(c) && next.is_some_and(is_regional_indicator) {
        return Some(2);
    }
    if c.is_ascii_digit() || c == '#' || c == '*' {
        return match (next, chars.get(at + 2).copied()) {
            (Some(VARIATION_SELECTOR), Some(KEYCAP)) => Some(3),
            (Some(KEYCAP), _) => Some(2),
            _ => None,
        };
    }
    let base =
        is_pictographic(c) || (is_emoji_with_selector(c) && next == Some(VARIATION_SELECTOR));
    if !base {
        return None;
    }
    let mut end = at + 1;
    loop {
        while end < chars.len() && is_emoji_mark(chars[end]) {
            end += 1;
        }
        match (chars.get(end), chars.get(end + 1)) {
            (Some(&ZWJ), Some(&joined)) if is_pictographic(joined) => end += 2,
            _ => return Some(end - at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashtags_start_a_word_and_have_a_letter_or_digit() {
        assert_eq!(hashtags("#spring sale #2026 and # not, x#no #ok"), 3);
    }

    #[test]
    fn code_points_count_each_scalar_value() {
        assert_eq!(TextCounting::CodePoints.count("héllo 😀"), 7);
    }

    #[test]
    fn a_url_needs_something_after_its_scheme() {
        assert_eq!(TextCounting::XWeighted.count("https://"), 8);
        assert_eq!(
            TextCounting::XWeighted.count("see https://example.com."),
            4 + 23 + 1
        );
        assert_eq!(TextCounting::XWeighted.count("xhttps://example.com"), 20);
    }
}
