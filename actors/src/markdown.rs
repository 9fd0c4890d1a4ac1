//! The markdown agents write replies in, turned into what each channel shows: WhatsApp's own
//! formatting (`*bold*`, `_italic_`, `~strike~`, ```` ```code``` ````), and for email an HTML part
//! with its plain-text alternative. A small, pure subset: paragraphs, `-`/`*`/`+` and `1.` lists
//! (nested by indentation, two spaces a level), fenced code blocks, and inline `**bold**`,
//! `*italic*` / `_italic_`, `~~strike~~`, `` `code` ``, `[text](url)`, with `\` escaping a
//! character. Nothing in the text becomes HTML of its own: every character is escaped, and a link
//! is kept only for `http`, `https` and `mailto` addresses.

/// A piece of a line.
#[derive(Clone, Debug, PartialEq)]
enum Inline {
    Text(String),
    Bold(Vec<Inline>),
    Italic(Vec<Inline>),
    Strike(Vec<Inline>),
    Code(String),
    Link { text: Vec<Inline>, url: String },
}

#[derive(Clone, Debug, PartialEq)]
struct ListLine {
    level: usize,
    ordered: bool,
    text: Vec<Inline>,
}

#[derive(Clone, Debug, PartialEq)]
enum Block {
    Paragraph(Vec<Vec<Inline>>),
    List(Vec<ListLine>),
    Code(String),
}

/// A reply as each channel shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Rendered {
    /// For email, as the text/plain part: the markup gone, links as `text <url>`.
    pub plain: String,
    /// For email, as the text/html part.
    pub html: String,
    /// For WhatsApp.
    pub whatsapp: String,
    /// Whether the text used any markdown at all (when not, every form is the text as written).
    pub formatted: bool,
}

/// Renders `text` for every channel.
pub fn render(text: &str) -> Rendered {
    let blocks = blocks(text);
    let formatted = blocks.iter().any(|block| match block {
        Block::Paragraph(lines) => lines.iter().flatten().any(|inline| !matches!(inline, Inline::Text(_))),
        Block::List(_) | Block::Code(_) => true,
    });
    if !formatted {
        return Rendered { plain: text.to_owned(), html: paragraphs_html(text), whatsapp: text.to_owned(), formatted };
    }
    Rendered { plain: plain(&blocks), html: html(&blocks), whatsapp: whatsapp(&blocks), formatted }
}

/// WhatsApp's formatting of `text` (the text as written when it uses no markdown).
pub fn to_whatsapp(text: &str) -> String {
    render(text).whatsapp
}

fn list_marker(line: &str) -> Option<(usize, bool, &str)> {
    let indent: usize =
        line.chars().take_while(|c| *c == ' ' || *c == '\t').map(|c| if c == '\t' { 4 } else { 1 }).sum();
    let rest = line.trim_start_matches([' ', '\t']);
    for bullet in ["- ", "* ", "+ "] {
        if let Some(item) = rest.strip_prefix(bullet) {
            return Some((indent / 2, false, item));
        }
    }
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    if digits > 0
        && digits <= 9
        && let Some(item) = rest[digits..].strip_prefix(". ")
    {
        return Some((indent / 2, true, item));
    }
    None
}

fn blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim_start().starts_with("```") {
            let mut code = Vec::new();
            for inner in lines.by_ref() {
                if inner.trim_start().starts_with("```") {
                    break;
                }
                code.push(inner);
            }
            blocks.push(Block::Code(code.join("\n")));
        } else if line.trim().is_empty() {
            continue;
        } else if let Some((level, ordered, item)) = list_marker(line) {
            let mut items = vec![ListLine { level, ordered, text: inline(item) }];
            while let Some((level, ordered, item)) = lines.peek().and_then(|next| list_marker(next)) {
                items.push(ListLine { level, ordered, text: inline(item) });
                lines.next();
            }
            blocks.push(Block::List(items));
        } else {
            let mut paragraph = vec![inline(line)];
            while let Some(next) = lines.peek() {
                if next.trim().is_empty() || list_marker(next).is_some() || next.trim_start().starts_with("```") {
                    break;
                }
                paragraph.push(inline(next));
                lines.next();
            }
            blocks.push(Block::Paragraph(paragraph));
        }
    }
    blocks
}

/// Where the delimiter `delimiter` opened at `start` closes in `chars`: not after a space, and not
/// inside a word for `_`.
fn closing(chars: &[char], start: usize, delimiter: &[char]) -> Option<usize> {
    let open_end = start + delimiter.len();
    if chars.get(open_end).is_none_or(|c| c.is_whitespace()) {
        return None;
    }
    let mut at = open_end + 1;
    while at + delimiter.len() <= chars.len() {
        if chars[at] == '\\' {
            at += 2;
            continue;
        }
        if chars[at..at + delimiter.len()] == *delimiter && !chars[at - 1].is_whitespace() {
            let after = chars.get(at + delimiter.len());
            let word_inside = delimiter[0] == '_' && after.is_some_and(|c| c.is_alphanumeric());
            // `*` closing an italic must not be the start of a `**`.
            let doubled = delimiter.len() == 1 && after == Some(&delimiter[0]);
            if !word_inside && !doubled {
                return Some(at);
            }
        }
        at += 1;
    }
    None
}

fn inline(text: &str) -> Vec<Inline> {
    let chars: Vec<char> = text.chars().collect();
    parse_inline(&chars)
}

/// An emphasis that may open here: whether it applies, its delimiter, what it makes.
type Span = (bool, &'static [char], fn(Vec<Inline>) -> Inline);

/// A `[label](url)` opening at `at`: where its label ends, its address, and where it ends.
fn link_at(chars: &[char], at: usize) -> Option<(usize, String, usize)> {
    let label_end = at + 1 + chars[at + 1..].iter().position(|x| *x == ']')?;
    if label_end == at + 1 || chars.get(label_end + 1) != Some(&'(') {
        return None;
    }
    let paren = chars[label_end + 2..].iter().position(|x| *x == ')')?;
    let url: String = chars[label_end + 2..label_end + 2 + paren].iter().collect();
    (!url.is_empty() && !url.contains(char::is_whitespace)).then_some((label_end, url, label_end + 3 + paren))
}

fn parse_inline(chars: &[char]) -> Vec<Inline> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut at = 0;
    let flush = |text: &mut String, out: &mut Vec<Inline>| {
        if !text.is_empty() {
            out.push(Inline::Text(std::mem::take(text)));
        }
    };
    while at < chars.len() {
        let c = chars[at];
        let prev_word = at > 0 && chars[at - 1].is_alphanumeric();
        if c == '\\' && chars.get(at + 1).is_some_and(|next| next.is_ascii_punctuation()) {
            text.push(chars[at + 1]);
            at += 2;
            continue;
        }
        if c == '`'
            && let Some(end) = chars[at + 1..].iter().position(|x| *x == '`').filter(|end| *end > 0)
        {
            flush(&mut text, &mut out);
            out.push(Inline::Code(chars[at + 1..at + 1 + end].iter().collect()));
            at += end + 2;
            continue;
        }
        if let Some((label_end, url, next)) = (c == '[').then(|| link_at(chars, at)).flatten() {
            flush(&mut text, &mut out);
            out.push(Inline::Link { text: parse_inline(&chars[at + 1..label_end]), url });
            at = next;
            continue;
        }
        let doubled = |d: char| c == d && chars.get(at + 1) == Some(&d);
        let spans: [Span; 5] = [
            (doubled('*'), &['*', '*'], Inline::Bold),
            (doubled('_') && !prev_word, &['_', '_'], Inline::Bold),
            (doubled('~'), &['~', '~'], Inline::Strike),
            (c == '*' && !doubled('*'), &['*'], Inline::Italic),
            (c == '_' && !doubled('_') && !prev_word, &['_'], Inline::Italic),
        ];
        if let Some((end, delimiter, make)) = spans
            .iter()
            .filter(|(applies, _, _)| *applies)
            .find_map(|(_, delimiter, make)| closing(chars, at, delimiter).map(|end| (end, *delimiter, *make)))
        {
            flush(&mut text, &mut out);
            out.push(make(parse_inline(&chars[at + delimiter.len()..end])));
            at = end + delimiter.len();
            continue;
        }
        text.push(c);
        at += 1;
    }
    flush(&mut text, &mut out);
    out
}

fn safe_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    ["http://", "https://", "mailto:"].iter().any(|scheme| lower.starts_with(scheme))
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

fn paragraphs_html(text: &str) -> String {
    text.split("\n\n")
        .filter(|part| !part.trim().is_empty())
        .map(|part| format!("<p>{}</p>", escape(part.trim_matches('\n')).replace('\n', "<br>\n")))
        .collect::<Vec<_>>()
        .join("\n")
}

fn text_of(inlines: &[Inline]) -> String {
    inlines
        .iter()
        .map(|inline| match inline {
            Inline::Text(text) | Inline::Code(text) => text.clone(),
            Inline::Bold(inner) | Inline::Italic(inner) | Inline::Strike(inner) => text_of(inner),
            Inline::Link { text, url } => {
                let label = text_of(text);
                if label == *url { label } else { format!("{label} <{url}>") }
            }
        })
        .collect()
}

fn inline_html(inlines: &[Inline]) -> String {
    inlines
        .iter()
        .map(|inline| match inline {
            Inline::Text(text) => escape(text),
            Inline::Code(code) => format!("<code>{}</code>", escape(code)),
            Inline::Bold(inner) => format!("<strong>{}</strong>", inline_html(inner)),
            Inline::Italic(inner) => format!("<em>{}</em>", inline_html(inner)),
            Inline::Strike(inner) => format!("<del>{}</del>", inline_html(inner)),
            Inline::Link { text, url } if safe_url(url) => {
                format!("<a href=\"{}\">{}</a>", escape(url), inline_html(text))
            }
            Inline::Link { text, url } => format!("{} ({})", inline_html(text), escape(url)),
        })
        .collect()
}

fn inline_whatsapp(inlines: &[Inline]) -> String {
    inlines
        .iter()
        .map(|inline| match inline {
            Inline::Text(text) => text.clone(),
            Inline::Code(code) => format!("```{code}```"),
            Inline::Bold(inner) => format!("*{}*", inline_whatsapp(inner)),
            Inline::Italic(inner) => format!("_{}_", inline_whatsapp(inner)),
            Inline::Strike(inner) => format!("~{}~", inline_whatsapp(inner)),
            Inline::Link { text, url } => {
                let label = inline_whatsapp(text);
                if label == *url { label } else { format!("{label} ({url})") }
            }
        })
        .collect()
}

/// Each list line with its marker (`-`, or its number within its own list) and indentation.
fn list_lines(items: &[ListLine], mut line: impl FnMut(&ListLine) -> String) -> String {
    let mut counters: Vec<usize> = Vec::new();
    let mut out = Vec::new();
    for item in items {
        counters.truncate(item.level + 1);
        counters.resize(item.level + 1, 0);
        counters[item.level] += 1;
        let marker = if item.ordered { format!("{}.", counters[item.level]) } else { "-".to_owned() };
        out.push(format!("{}{marker} {}", "  ".repeat(item.level), line(item)));
    }
    out.join("\n")
}

fn whatsapp(blocks: &[Block]) -> String {
    blocks
        .iter()
        .map(|block| match block {
            Block::Paragraph(lines) => lines.iter().map(|line| inline_whatsapp(line)).collect::<Vec<_>>().join("\n"),
            Block::List(items) => list_lines(items, |item| inline_whatsapp(&item.text)),
            Block::Code(code) => format!("```{code}```"),
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn plain(blocks: &[Block]) -> String {
    blocks
        .iter()
        .map(|block| match block {
            Block::Paragraph(lines) => lines.iter().map(|line| text_of(line)).collect::<Vec<_>>().join("\n"),
            Block::List(items) => list_lines(items, |item| text_of(&item.text)),
            Block::Code(code) => code.clone(),
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn list_html(items: &[ListLine]) -> String {
    // Open a list on the way in to a deeper level, close it on the way out.
    let mut out = String::new();
    let mut open: Vec<bool> = Vec::new();
    for item in items {
        let level = item.level.min(open.len());
        while open.len() > level + 1 {
            let ordered = open.pop().unwrap_or(false);
            out.push_str(if ordered { "</li></ol>" } else { "</li></ul>" });
        }
        if open.len() == level + 1 {
            out.push_str("</li>");
            if open[level] != item.ordered {
                let ordered = open.pop().unwrap_or(false);
                out.push_str(if ordered { "</ol>" } else { "</ul>" });
            }
        }
        if open.len() == level {
            out.push_str(if item.ordered { "<ol>" } else { "<ul>" });
            open.push(item.ordered);
        }
        out.push_str("<li>");
        out.push_str(&inline_html(&item.text));
    }
    while let Some(ordered) = open.pop() {
        out.push_str(if ordered { "</li></ol>" } else { "</li></ul>" });
    }
    out
}

fn html(blocks: &[Block]) -> String {
    blocks
        .iter()
        .map(|block| match block {
            Block::Paragraph(lines) => {
                format!("<p>{}</p>", lines.iter().map(|line| inline_html(line)).collect::<Vec<_>>().join("<br>\n"))
            }
            Block::List(items) => list_html(items),
            Block::Code(code) => format!("<pre><code>{}</code></pre>", escape(code)),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_left_as_written() {
        let text = "Hello Ana,\n\nyour order 4411 ships today. 3 * 4 = 12, snake_case_name stays.\n";
        let out = render(text);
        assert!(!out.formatted);
        assert_eq!((out.whatsapp.as_str(), out.plain.as_str()), (text, text));
        assert_eq!(
            out.html,
            "<p>Hello Ana,</p>\n<p>your order 4411 ships today. 3 * 4 = 12, snake_case_name stays.</p>"
        );
    }

    #[test]
    fn emphasis_and_code_become_whatsapp_formatting() {
        let out = render("This is **bold**, *italic*, _also italic_, ~~gone~~ and `code`.");
        assert!(out.formatted);
        assert_eq!(out.whatsapp, "This is *bold*, _italic_, _also italic_, ~gone~ and ```code```.");
        assert_eq!(out.plain, "This is bold, italic, also italic, gone and code.");
        assert_eq!(
            out.html,
            "<p>This is <strong>bold</strong>, <em>italic</em>, <em>also italic</em>, <del>gone</del> and <code>code</code>.</p>"
        );
        assert_eq!(to_whatsapp("**bold with _italic_ inside**"), "*bold with _italic_ inside*");
    }

    #[test]
    fn links_keep_their_address() {
        let out = render("See [the guide](https://example.com/a?b=1&c=2) or https://example.com.");
        assert_eq!(out.whatsapp, "See the guide (https://example.com/a?b=1&c=2) or https://example.com.");
        assert_eq!(out.plain, "See the guide <https://example.com/a?b=1&c=2> or https://example.com.");
        assert_eq!(
            out.html,
            "<p>See <a href=\"https://example.com/a?b=1&amp;c=2\">the guide</a> or https://example.com.</p>"
        );
        // Only web and mail addresses become links in HTML.
        let script = render("[click](javascript:alert(1)) **x**");
        assert!(!script.html.contains("<a"), "{}", script.html);
        assert!(!script.html.contains("href"), "{}", script.html);
    }

    #[test]
    fn html_in_the_text_is_escaped_never_kept() {
        let out = render("**<img src=x onerror=alert(1)>** & \"quotes\" <script>x</script>");
        assert_eq!(
            out.html,
            "<p><strong>&lt;img src=x onerror=alert(1)&gt;</strong> &amp; &quot;quotes&quot; &lt;script&gt;x&lt;/script&gt;</p>"
        );
        assert_eq!(render("<b>hi</b>").html, "<p>&lt;b&gt;hi&lt;/b&gt;</p>");
        assert_eq!(render("```\n<b>&</b>\n```").html, "<pre><code>&lt;b&gt;&amp;&lt;/b&gt;</code></pre>");
        // A backslash keeps a character literal.
        assert_eq!(render(r"\*not italic\* but *this*").whatsapp, "*not italic* but _this_");
    }

    #[test]
    fn nested_lists_in_every_form() {
        let text =
            "Steps:\n\n1. Open **Settings**\n2. Pick one:\n  - Email\n  - WhatsApp\n    - Business\n3. Save\n\nThanks";
        let out = render(text);
        assert_eq!(
            out.whatsapp,
            "Steps:\n\n1. Open *Settings*\n2. Pick one:\n  - Email\n  - WhatsApp\n    - Business\n3. Save\n\nThanks"
        );
        assert_eq!(
            out.plain,
            "Steps:\n\n1. Open Settings\n2. Pick one:\n  - Email\n  - WhatsApp\n    - Business\n3. Save\n\nThanks"
        );
        assert_eq!(
            out.html,
            "<p>Steps:</p>\n<ol><li>Open <strong>Settings</strong></li><li>Pick one:<ul><li>Email</li><li>WhatsApp<ul><li>Business</li></ul></li></ul></li><li>Save</li></ol>\n<p>Thanks</p>"
        );
        // A bullet list of its own, and numbering restarting in a nested list.
        assert_eq!(to_whatsapp("* a\n* b\n  1. x\n  2. y\n* c"), "- a\n- b\n  1. x\n  2. y\n- c");
    }

    #[test]
    fn code_blocks_are_kept_verbatim() {
        let out = render("Run:\n```\ncargo run -- *args*\n```");
        assert_eq!(out.whatsapp, "Run:\n\n```cargo run -- *args*```");
        assert_eq!(out.plain, "Run:\n\ncargo run -- *args*");
        assert_eq!(out.html, "<p>Run:</p>\n<pre><code>cargo run -- *args*</code></pre>");
    }
}
