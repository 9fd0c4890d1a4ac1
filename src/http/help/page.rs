//! The public site's HTML: one layout, the words of its chrome in each shipped language, and
//! escaping. Every value from the store or the request goes through [`escape`]; slugs are
//! checked to be `[a-z0-9-]` when stored, so paths built from them need nothing more.

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};

/// The languages the site's own words are written in; an article may be in any locale.
pub const SITE_LANGUAGES: &[&str] = &["en", "es", "pt"];

/// No script at all, styles and images from this origin, forms posting only here.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// Text for HTML, in element content and in double- or single-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The site's own words in one language.
pub struct Words {
    pub help_center: &'static str,
    pub search: &'static str,
    pub search_placeholder: &'static str,
    pub categories: &'static str,
    pub recent: &'static str,
    pub articles: &'static str,
    pub no_articles: &'static str,
    pub results_for: &'static str,
    pub no_results: &'static str,
    pub updated: &'static str,
    pub by: &'static str,
    pub related: &'static str,
    pub also_in: &'static str,
    pub helpful: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
    pub comment: &'static str,
    pub thanks: &'static str,
    pub contact: &'static str,
    pub contact_lead: &'static str,
    pub staff: &'static str,
    pub not_found: &'static str,
}

/// The site's words per shipped language, read once from the interface catalogs
/// (`web/i18n/<language>.json`, keys `help.*`), the same files the portal and the console read.
static WORDS: std::sync::LazyLock<Vec<(&'static str, Words)>> = std::sync::LazyLock::new(|| {
    SITE_LANGUAGES.iter().map(|language| (*language, Words::from_catalog(language))).collect()
});

impl Words {
    fn from_catalog(language: &str) -> Words {
        let text = |key: &str| crate::http::catalog_text(language, &format!("help.{key}"));
        Words {
            help_center: text("help_center"),
            search: text("search"),
            search_placeholder: text("search_placeholder"),
            categories: text("categories"),
            recent: text("recent"),
            articles: text("articles"),
            no_articles: text("no_articles"),
            results_for: text("results_for"),
            no_results: text("no_results"),
            updated: text("updated"),
            by: text("by"),
            related: text("related"),
            also_in: text("also_in"),
            helpful: text("helpful"),
            yes: text("yes"),
            no: text("no"),
            comment: text("comment"),
            thanks: text("thanks"),
            contact: text("contact"),
            contact_lead: text("contact_lead"),
            staff: text("staff"),
            not_found: text("not_found"),
        }
    }
}

/// The words for a locale (`pt-BR` reads Portuguese); English for any other.
pub fn words(locale: &str) -> &'static Words {
    let language = locale.split('-').next().unwrap_or_default();
    let found = WORDS.iter().find(|(shipped, _)| *shipped == language).or_else(|| WORDS.first());
    &found.expect("the site ships at least English").1
}

/// The name of a language in itself, for the language links.
pub fn language_name(locale: &str) -> &str {
    match locale.split('-').next().unwrap_or_default() {
        "en" => "English",
        "es" => "Español",
        "pt" => "Português",
        other => other,
    }
}

/// What a page puts in its `<head>` besides the title.
#[derive(Default)]
pub struct Head {
    pub description: Option<String>,
    /// The absolute URL search engines should index this page under.
    pub canonical: Option<String>,
    /// `(hreflang, absolute URL)` of the same page in other languages.
    pub alternates: Vec<(String, String)>,
    /// Search results and error pages are not indexed.
    pub noindex: bool,
}

/// A whole page: the header (site name, search box, language links), then `main`.
pub struct Layout<'a> {
    pub site_name: &'a str,
    pub lang: &'a str,
    pub title: &'a str,
    pub head: Head,
    /// The search box's text, kept on the results page.
    pub query: &'a str,
    /// The path the language links point at (with `?lang=`).
    pub language_path: Option<&'a str>,
}

impl Layout<'_> {
    pub fn render(&self, main: &str) -> String {
        let words = words(self.lang);
        let mut head = String::new();
        if let Some(description) = &self.head.description {
            head.push_str(&format!("<meta name=\"description\" content=\"{}\">\n", escape(description)));
        }
        if let Some(canonical) = &self.head.canonical {
            head.push_str(&format!("<link rel=\"canonical\" href=\"{}\">\n", escape(canonical)));
        }
        for (lang, href) in &self.head.alternates {
            head.push_str(&format!(
                "<link rel=\"alternate\" hreflang=\"{}\" href=\"{}\">\n",
                escape(lang),
                escape(href)
            ));
        }
        if self.head.noindex {
            head.push_str("<meta name=\"robots\" content=\"noindex\">\n");
        }
        let languages = match self.language_path {
            Some(path) => {
                let links: Vec<String> = SITE_LANGUAGES
                    .iter()
                    .map(|lang| {
                        let current = if *lang == self.lang { " aria-current=\"true\"" } else { "" };
                        format!(
                            "<a href=\"{path}?lang={lang}\" hreflang=\"{lang}\" lang=\"{lang}\"{current}>{}</a>",
                            language_name(lang)
                        )
                    })
                    .collect();
                format!("<nav class=\"languages\" aria-label=\"Language\">{}</nav>", links.join(" "))
            }
            None => String::new(),
        };
        format!(
            "<!doctype html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title} · {site}</title>\n\
             {head}<link rel=\"stylesheet\" href=\"/help.css\">\n<link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\">\n\
             </head>\n<body>\n<header class=\"site\">\n<a class=\"home\" href=\"/help?lang={lang}\">{site} · {center}</a>\n\
             <form class=\"search\" action=\"/help/search\" method=\"get\" role=\"search\">\
             <input type=\"hidden\" name=\"lang\" value=\"{lang}\">\
             <input type=\"search\" name=\"q\" value=\"{query}\" placeholder=\"{placeholder}\" aria-label=\"{placeholder}\">\
             <button type=\"submit\">{search}</button></form>\n{languages}\n</header>\n<main>\n{main}\n</main>\n\
             <footer class=\"site\"><p>{lead} <a class=\"contact\" href=\"/portal\">{contact}</a></p>\
             <p><a href=\"/agent\">{staff}</a></p></footer>\n</body>\n</html>\n",
            lang = escape(self.lang),
            title = escape(self.title),
            site = escape(self.site_name),
            center = words.help_center,
            query = escape(self.query),
            placeholder = words.search_placeholder,
            search = words.search,
            lead = words.contact_lead,
            contact = words.contact,
            staff = words.staff,
        )
    }
}

/// An HTML answer with the site's CSP.
pub fn html_response(status: StatusCode, html: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(html)
}

/// `2026-12-04` of an instant (UTC): what "Updated" shows and the sitemap's `lastmod`.
pub fn date(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_site_reads_its_words_from_the_catalogs() {
        assert_eq!(words("es").help_center, "Centro de ayuda");
        assert_eq!(words("pt-BR").helpful, "Isto foi útil?");
        assert_eq!(words("de").help_center, "Help center");
    }

    #[test]
    fn escaping_covers_content_and_both_quotes() {
        assert_eq!(
            escape(r#"<a href="x" title='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn the_layout_escapes_what_it_is_given() {
        let layout = Layout {
            site_name: "<Acme>",
            lang: "es",
            title: "\"Reset\"",
            head: Head { noindex: true, ..Head::default() },
            query: "<script>",
            language_path: Some("/help"),
        };
        let page = layout.render("<p>main</p>");
        assert!(
            page.contains("&lt;Acme&gt;")
                && page.contains("&quot;Reset&quot;")
                && page.contains("value=\"&lt;script&gt;\"")
        );
        assert!(!page.contains("<script>") && !page.contains("<Acme>"));
        assert!(page.contains("<html lang=\"es\">") && page.contains("Centro de ayuda") && page.contains("noindex"));
    }
}
