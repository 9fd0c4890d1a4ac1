//! Article markdown as HTML for the public site: CommonMark (with tables and strikethrough) by
//! pulldown-cmark, with nothing the author typed becoming markup of its own — raw HTML in the
//! text is shown as text — and links and images kept only for addresses that cannot run script
//! (`http`, `https`, `mailto`, and paths on this site).

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, html};

/// The HTML of an article body, safe to place inside the page.
pub fn article_html(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
            Event::Start(Tag::Link { link_type, dest_url: safe_url(dest_url), title, id })
        }
        Event::Start(Tag::Image { link_type, dest_url, title, id }) => {
            Event::Start(Tag::Image { link_type, dest_url: safe_url(dest_url), title, id })
        }
        other => other,
    });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

/// The address if its scheme is harmless (or it has none: a path here), else `#`. Browsers skip
/// whitespace and control characters inside a scheme (`java\tscript:`), so the check does too.
fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    let compact: String = url.chars().filter(|c| !c.is_ascii_whitespace() && !c.is_control()).collect();
    let compact = compact.to_ascii_lowercase();
    let scheme_end = compact.find(':');
    let path_start = compact.find(['/', '?', '#']);
    let has_scheme = match (scheme_end, path_start) {
        (Some(colon), Some(path)) => colon < path,
        (Some(_), None) => true,
        (None, _) => false,
    };
    let harmless = !has_scheme || ["http:", "https:", "mailto:"].iter().any(|scheme| compact.starts_with(scheme));
    if harmless { url } else { CowStr::Borrowed("#") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_html_and_typed_html_stays_text() {
        let html =
            article_html("# Title\n\nSome **bold** and <script>alert(1)</script>\n\n<div onclick=x>block</div>\n");
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(html.contains("<strong>bold</strong>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
        assert!(html.contains("&lt;div onclick=x&gt;"), "{html}");
        assert!(!html.contains("<script") && !html.contains("<div"), "{html}");
    }

    #[test]
    fn only_harmless_links_and_images_keep_their_address() {
        let html = article_html(
            "[a](https://x.example/a) [b](/help/articles/b) [c](javascript:alert(1)) [d](<JaVa\tScript:x>) \
             [e](mailto:help@x.example) [f](data:text/html,hi) ![g](vbscript:x) [h](other-article)",
        );
        for kept in ["https://x.example/a", "/help/articles/b", "mailto:help@x.example", "other-article"] {
            assert!(html.contains(&format!("href=\"{kept}\"")), "{kept} in {html}");
        }
        assert!(!html.to_ascii_lowercase().contains("script:"), "{html}");
        assert!(!html.contains("data:") && !html.contains("vbscript"), "{html}");
        assert_eq!(html.matches("href=\"#\"").count(), 3, "{html}");
        assert!(html.contains("src=\"#\""), "{html}");
    }
}
