//! The knowledge base's text rules, pure: slugs (what public URLs are made of), locales, the
//! words a search looks for, the corrections a misspelt word gets, and the plain-text excerpt a
//! result list shows.

/// The longest slug: long enough for a title's words, short enough for a readable URL.
pub const MAX_SLUG_CHARS: usize = 120;

/// Category slugs the public site's own paths use (`/help/articles/…`, `/help/search`).
pub const RESERVED_CATEGORY_SLUGS: &[&str] = &["articles", "search", "feedback"];

/// A slug as stored: lower case ASCII letters and digits in words joined by single hyphens.
pub fn normalise_slug(slug: &str) -> Result<String, &'static str> {
    let slug = slug.trim().to_ascii_lowercase();
    if slug.is_empty() || slug.len() > MAX_SLUG_CHARS {
        return Err("a slug has 1 to 120 characters");
    }
    if !slug.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-') {
        return Err("a slug has only letters a-z, digits and hyphens");
    }
    if slug.starts_with('-') || slug.ends_with('-') || slug.contains("--") {
        return Err("a slug's hyphens stand between words, one at a time");
    }
    Ok(slug)
}

/// A slug made from a title: accents dropped (`contraseña` → `contrasena`), every run of other
/// characters a hyphen, at most [`MAX_SLUG_CHARS`] long, cut between words.
pub fn slugify(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        match fold_accent(c) {
            Some(plain) => slug.push_str(plain),
            None if c.is_ascii_alphanumeric() => slug.push(c),
            None => {
                if !slug.is_empty() && !slug.ends_with('-') {
                    slug.push('-');
                }
            }
        }
    }
    while slug.len() > MAX_SLUG_CHARS {
        match slug.rfind('-') {
            Some(cut) => slug.truncate(cut),
            None => slug.truncate(MAX_SLUG_CHARS),
        }
    }
    let slug = slug.trim_matches('-').to_owned();
    if slug.is_empty() { "article".to_owned() } else { slug }
}

/// The ASCII letters of an accented Latin letter (the languages the demo ships: English, Spanish,
/// Portuguese, and their neighbours).
fn fold_accent(c: char) -> Option<&'static str> {
    Some(match c {
        'á' | 'à' | 'â' | 'ã' | 'ä' | 'å' => "a",
        'é' | 'è' | 'ê' | 'ë' => "e",
        'í' | 'ì' | 'î' | 'ï' => "i",
        'ó' | 'ò' | 'ô' | 'õ' | 'ö' => "o",
        'ú' | 'ù' | 'û' | 'ü' => "u",
        'ñ' => "n",
        'ç' => "c",
        'ß' => "ss",
        _ => return None,
    })
}

/// A locale as stored: a language (`en`, 2 or 3 letters, lower case), optionally with a region
/// (`pt-BR`, upper case).
pub fn normalise_locale(locale: &str) -> Result<String, &'static str> {
    let locale = locale.trim().replace('_', "-");
    let (language, region) = match locale.split_once('-') {
        Some((language, region)) => (language, Some(region)),
        None => (locale.as_str(), None),
    };
    let letters = |text: &str, lengths: &[usize]| {
        lengths.contains(&text.len()) && text.bytes().all(|byte| byte.is_ascii_alphabetic())
    };
    if !letters(language, &[2, 3]) || region.is_some_and(|region| !letters(region, &[2])) {
        return Err("a locale is a language code, optionally with a region: `en`, `es`, `pt-BR`");
    }
    Ok(match region {
        Some(region) => format!("{}-{}", language.to_ascii_lowercase(), region.to_ascii_uppercase()),
        None => language.to_ascii_lowercase(),
    })
}

/// The words of a search as the indexes cut them: runs of letters and digits, lower case.
/// Everything else is a separator, so a word is always safe in `MATCH` and `to_tsquery`.
pub fn search_words(query: &str) -> Vec<String> {
    query.split(|c: char| !c.is_alphanumeric()).filter(|word| !word.is_empty()).map(str::to_lowercase).collect()
}

/// How far (in edits) an indexed word may be from a misspelt one: none for words too short to
/// tell apart (`an`, `is`), one for short words, two from eight letters on.
pub fn typo_allowance(word: &str) -> usize {
    match word.chars().count() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// The indexed words (`vocabulary`) within [`typo_allowance`] edits of `word` (a letter added,
/// dropped, changed, or two neighbours swapped), nearest first, at most `limit`; never `word`.
pub fn corrections(word: &str, vocabulary: &[String], limit: usize) -> Vec<String> {
    let allowance = typo_allowance(word);
    if allowance == 0 {
        return Vec::new();
    }
    let typed: Vec<char> = word.chars().collect();
    let mut near: Vec<(usize, &String)> = vocabulary
        .iter()
        .filter(|candidate| candidate.as_str() != word)
        .filter_map(|candidate| {
            let known: Vec<char> = candidate.chars().collect();
            if known.len().abs_diff(typed.len()) > allowance {
                return None;
            }
            let distance = edit_distance(&typed, &known);
            (distance <= allowance).then_some((distance, candidate))
        })
        .collect();
    near.sort();
    near.into_iter().take(limit).map(|(_, candidate)| candidate.clone()).collect()
}

/// The optimal-string-alignment distance: insertions, deletions, substitutions and swaps of two
/// neighbouring letters (the commonest typo) each cost one.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let width = b.len() + 1;
    let mut rows = vec![0usize; (a.len() + 1) * width];
    for (j, cell) in rows.iter_mut().take(width).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        rows[i * width] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[(i - 1) * width + j] + 1)
                .min(rows[i * width + j - 1] + 1)
                .min(rows[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[(i - 2) * width + j - 2] + 1);
            }
            rows[i * width + j] = best;
        }
    }
    rows[a.len() * width + b.len()]
}

/// The start of an article's text without its markdown (headings' `#`, emphasis, code marks,
/// links reduced to their text), at most `max_chars`, cut between words: a search result's or a
/// page description's excerpt.
pub fn plain_excerpt(markdown: &str, max_chars: usize) -> String {
    let mut plain = String::new();
    for line in markdown.lines() {
        let line = line.trim().trim_start_matches(['#', '>', '-', '*', '+']).trim();
        if line.is_empty() || line.starts_with("```") {
            continue;
        }
        let mut rest = line;
        while let Some(open) = rest.find('[') {
            let (before, after) = rest.split_at(open);
            plain.push_str(before);
            match after.find("](").zip(after.find(')')) {
                Some((middle, close)) if middle < close => {
                    plain.push_str(&after[1..middle]);
                    rest = &after[close + 1..];
                }
                _ => {
                    plain.push('[');
                    rest = &after[1..];
                }
            }
        }
        plain.push_str(rest);
        plain.push(' ');
    }
    let plain: String = plain.chars().filter(|c| !matches!(c, '*' | '_' | '`' | '~')).collect();
    let plain = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    if plain.chars().count() <= max_chars {
        return plain;
    }
    let cut: String = plain.chars().take(max_chars).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lower_case_words_joined_by_hyphens() {
        assert_eq!(normalise_slug(" Reset-Password ").as_deref(), Ok("reset-password"));
        for bad in ["", "-a", "a-", "a--b", "a b", "ñu", "a/b", &"a".repeat(121)] {
            assert!(normalise_slug(bad).is_err(), "{bad} was accepted");
        }
        assert_eq!(slugify("¿Cómo cambio mi contraseña?"), "como-cambio-mi-contrasena");
        assert_eq!(slugify("  Pagos & facturação  "), "pagos-facturacao");
        assert_eq!(slugify("!!!"), "article");
        let long = slugify(&"word ".repeat(40));
        assert!(long.len() <= MAX_SLUG_CHARS && !long.ends_with('-'), "{long}");
    }

    #[test]
    fn locales_are_a_language_and_maybe_a_region() {
        assert_eq!(normalise_locale("EN").as_deref(), Ok("en"));
        assert_eq!(normalise_locale("pt_br").as_deref(), Ok("pt-BR"));
        for bad in ["", "e", "english", "en-", "en-USA", "e1"] {
            assert!(normalise_locale(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn misspelt_words_are_corrected_to_near_indexed_words() {
        let vocabulary: Vec<String> =
            ["password", "passport", "payment", "refund", "reset"].iter().map(|word| (*word).to_owned()).collect();
        assert_eq!(corrections("pasword", &vocabulary, 3), ["password"]);
        assert_eq!(corrections("pasport", &vocabulary, 3), ["passport"]);
        assert_eq!(corrections("refnud", &vocabulary, 3), ["refund"], "two swapped letters are one edit");
        assert_eq!(corrections("rest", &vocabulary, 3), ["reset"]);
        assert!(corrections("xyz", &vocabulary, 3).is_empty(), "three letters are too few to correct");
        assert!(corrections("password", &vocabulary, 3).iter().all(|word| word != "password"));
        assert!(corrections("invoice", &vocabulary, 3).is_empty());
    }

    #[test]
    fn search_words_are_letters_and_digits_only() {
        assert_eq!(search_words("Reset \"password\" OR* 2fa"), ["reset", "password", "or", "2fa"]);
        assert!(search_words("*:&|").is_empty());
    }

    #[test]
    fn an_excerpt_is_the_text_without_markdown() {
        let body = "# Reset\n\nOpen **Settings** and [click here](https://x.example).\n\n```\ncode\n```\n- one item";
        assert_eq!(plain_excerpt(body, 200), "Reset Open Settings and click here. code one item");
        assert_eq!(plain_excerpt("one two three four", 9), "one two…");
    }
}
