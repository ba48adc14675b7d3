//! Cutting answer text into the pieces a model would stream.
//!
//! Every piece keeps its own whitespace, so the pieces joined give back the text exactly:
//! the dashboard concatenates chunks raw.

use crate::library::format::ChunkUnit;

/// Approximate characters per token, the usual rule of thumb for English.
const TOKEN_CHARS: usize = 4;

/// Splits `text` into chunks of `size` units.
pub fn split(text: &str, unit: ChunkUnit, size: usize) -> Vec<String> {
    let units = match unit {
        ChunkUnit::Char => text.chars().map(String::from).collect(),
        ChunkUnit::Word => words(text),
        ChunkUnit::Token => words(text).iter().flat_map(|w| tokens(w)).collect(),
        ChunkUnit::Sentence => sentences(text),
    };
    units
        .chunks(size.max(1))
        .map(|group| group.concat())
        .collect()
}

/// Words with their trailing whitespace; leading whitespace joins the first word.
fn words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut in_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            in_space = true;
        } else if in_space && current.chars().any(|c| !c.is_whitespace()) {
            out.push(std::mem::take(&mut current));
            in_space = false;
        } else {
            in_space = false;
        }
        current.push(c);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn tokens(word: &str) -> Vec<String> {
    let chars: Vec<char> = word.chars().collect();
    chars
        .chunks(TOKEN_CHARS)
        .map(|c| c.iter().collect())
        .collect()
}

/// Sentences end after `.`, `!`, `?` or `:` followed by whitespace, and at newlines.
fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut ended = false;
    for c in text.chars() {
        if ended && !c.is_whitespace() {
            out.push(std::mem::take(&mut current));
            ended = false;
        }
        current.push(c);
        if matches!(c, '.' | '!' | '?' | ':' | '\n') {
            ended = true;
        } else if !c.is_whitespace() {
            ended = false;
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXTS: [&str; 5] = [
        "It's **18°C** and cloudy in Paris.",
        "  leading spaces, trailing   \n\n## Heading\n- item one\n- item two\n",
        "Done! Next? Yes: now.\nNew line",
        "",
        "日本語のテキスト and emoji 🐾 too",
    ];

    #[test]
    fn chunks_join_back_to_the_text_in_every_unit() {
        for text in TEXTS {
            for unit in [
                ChunkUnit::Char,
                ChunkUnit::Word,
                ChunkUnit::Token,
                ChunkUnit::Sentence,
            ] {
                for size in [1, 2, 5] {
                    assert_eq!(split(text, unit, size).concat(), text, "{unit:?} {size}");
                }
            }
        }
    }

    #[test]
    fn words_keep_their_trailing_space() {
        assert_eq!(
            split("It's 18°C  here", ChunkUnit::Word, 1),
            ["It's ", "18°C  ", "here"]
        );
        assert_eq!(
            split("a b c d e", ChunkUnit::Word, 2),
            ["a b ", "c d ", "e"]
        );
        assert_eq!(
            split("Done! Next? ok", ChunkUnit::Sentence, 1),
            ["Done! ", "Next? ", "ok"]
        );
        assert_eq!(
            split("abcdefgh ij", ChunkUnit::Token, 1),
            ["abcd", "efgh", " ", "ij"]
        );
    }
}
