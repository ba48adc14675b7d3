//! Cutting answer text into the pieces a model would stream.
//!
//! Every piece keeps its own whitespace, so the pieces joined give back the text exactly:
//! the dashboard concatenates chunks raw.

use crate::library::format::ChunkUnit;

/// Approximate characters per token, the usual rule of thumb for English.
const TOKEN_CHARS: usize = 4;

/// Splits `text` into chunks of `size` units.
///
/// Units are found as byte offsets and each chunk is copied out once: a turn of a few
/// hundred words is expanded whenever a connection starts one, so a thousand turns
/// starting together must not cost a thousand times hundreds of small reallocations.
pub(crate) fn split(text: &str, unit: ChunkUnit, size: usize) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    let starts = match unit {
        ChunkUnit::Char => text.char_indices().map(|(i, _)| i).collect(),
        ChunkUnit::Word => word_starts(text),
        ChunkUnit::Token => token_starts(text),
        ChunkUnit::Sentence => sentence_starts(text),
    };
    let size = size.max(1);
    let mut chunks = Vec::with_capacity(starts.len().div_ceil(size));
    let mut bounds = starts.iter().step_by(size).copied().peekable();
    while let Some(from) = bounds.next() {
        let to = bounds.peek().copied().unwrap_or(text.len());
        chunks.push(text[from..to].to_owned());
    }
    chunks
}

/// Where each word starts. A word keeps its trailing whitespace; leading whitespace
/// joins the first word, so the first start is always 0.
fn word_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    let mut seen_word = false;
    let mut in_space = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            in_space = true;
        } else {
            if in_space && seen_word {
                starts.push(i);
            }
            in_space = false;
            seen_word = true;
        }
    }
    starts
}

/// Every word cut into pieces of [`TOKEN_CHARS`] characters (whitespace included).
fn token_starts(text: &str) -> Vec<usize> {
    let words = word_starts(text);
    let mut starts = Vec::with_capacity(words.len() * 2);
    for (n, &from) in words.iter().enumerate() {
        let to = words.get(n + 1).copied().unwrap_or(text.len());
        starts.extend(
            text[from..to]
                .char_indices()
                .step_by(TOKEN_CHARS)
                .map(|(i, _)| from + i),
        );
    }
    starts
}

/// Sentences end after `.`, `!`, `?` or `:` followed by whitespace, and at newlines.
fn sentence_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    let mut ended = false;
    for (i, c) in text.char_indices() {
        if ended && !c.is_whitespace() {
            starts.push(i);
            ended = false;
        }
        if matches!(c, '.' | '!' | '?' | ':' | '\n') {
            ended = true;
        } else if !c.is_whitespace() {
            ended = false;
        }
    }
    starts
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

    /// The first, character-by-character implementation: simple enough to trust, too
    /// slow to keep. The byte-offset version must cut exactly where it did.
    mod reference {
        use super::super::TOKEN_CHARS;
        use crate::library::format::ChunkUnit;

        pub(crate) fn split(text: &str, unit: ChunkUnit, size: usize) -> Vec<String> {
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
    }

    #[test]
    fn chunks_are_cut_where_the_reference_implementation_cuts_them() {
        let long = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/recordings/long-markdown.json"
        ))
        .unwrap();
        let extra = [
            "   ",
            " a",
            "a ",
            "\n\nx\n",
            "end. ",
            "tabs\tand\u{a0}nbsp\u{2003}em space",
            "...!?: x",
            long.as_str(),
        ];
        for text in TEXTS.iter().chain(&extra) {
            for unit in [
                ChunkUnit::Char,
                ChunkUnit::Word,
                ChunkUnit::Token,
                ChunkUnit::Sentence,
            ] {
                for size in [1, 2, 3, 7] {
                    assert_eq!(
                        split(text, unit, size),
                        reference::split(text, unit, size),
                        "{unit:?} {size} {text:?}"
                    );
                }
            }
        }
    }
}
