//! A small hand-written HTML writer: every value is escaped through
//! [`E`] (text and attribute values alike), the layout of every page, and
//! the embedded assets. No template crate: the pages are few, and this
//! keeps the dependency tree and the build small.

use std::fmt::{self, Display, Write};

/// Text escaped for HTML text and double- or single-quoted attribute
/// values: `& < > " '`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct E<'a>(pub(crate) &'a str);

impl Display for E<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut last = 0;
        for (i, c) in self.0.char_indices() {
            let rep = match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#x27;",
                _ => continue,
            };
            f.write_str(&self.0[last..i])?;
            f.write_str(rep)?;
            last = i + c.len_utf8();
        }
        f.write_str(&self.0[last..])
    }
}

/// `text` percent-encoded for a query string value or a path segment.
pub(crate) fn url(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The stylesheet, served from `<base>/static/admin.css`.
pub(crate) const CSS: &str = include_str!("../assets/admin.css");

/// The script, served from `<base>/static/admin.js` (deferred on every
/// page; the pages work without it).
pub(crate) const JS: &str = include_str!("../assets/admin.js");

/// The icon, served from `<base>/static/favicon.svg` (linked from every
/// page: else browsers ask for `/favicon.ico`, outside the admin).
pub(crate) const FAVICON: &str = include_str!("../assets/favicon.svg");

/// What every page shows around its content.
#[derive(Debug, Default)]
pub(crate) struct Layout<'a> {
    /// The admin's mount path (`/admin`).
    pub(crate) base: &'a str,
    /// The site's header (`Administration`).
    pub(crate) site: &'a str,
    /// The page's title.
    pub(crate) title: &'a str,
    /// The logged-in user's name and the session's CSRF token (for the
    /// logout form), if any.
    pub(crate) user: Option<(&'a str, &'a str)>,
    /// Breadcrumbs after "Home": (label, link).
    pub(crate) crumbs: Vec<(String, Option<String>)>,
    /// A message shown above the content (`Saved.`).
    pub(crate) message: Option<&'a str>,
}

impl Layout<'_> {
    /// The whole page around `body` (already escaped HTML).
    pub(crate) fn render(&self, body: &str) -> String {
        let base = self.base;
        let mut out = String::with_capacity(body.len() + 2048);
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{} | {}</title>\
             <link rel=\"stylesheet\" href=\"{}/static/admin.css\">\
             <link rel=\"icon\" href=\"{}/static/favicon.svg\" type=\"image/svg+xml\">\
             <script src=\"{}/static/admin.js\" defer></script></head><body>\
             <header class=\"top\"><a class=\"brand\" href=\"{}\">{}</a>",
            E(self.title),
            E(self.site),
            E(base),
            E(base),
            E(base),
            E(base),
            E(self.site)
        );
        if let Some((name, csrf)) = self.user {
            let _ = write!(
                out,
                "<form class=\"logout\" method=\"post\" action=\"{}/logout\">\
                 <span class=\"who\">{}</span>\
                 <input type=\"hidden\" name=\"csrfmiddlewaretoken\" value=\"{}\">\
                 <button type=\"submit\" class=\"link\">Log out</button></form>",
                E(base),
                E(name),
                E(csrf)
            );
        }
        out.push_str("</header>");
        if !self.crumbs.is_empty() {
            let _ = write!(
                out,
                "<nav class=\"crumbs\" aria-label=\"Breadcrumbs\"><a href=\"{}\">Home</a>",
                E(base)
            );
            for (label, link) in &self.crumbs {
                match link {
                    Some(link) => {
                        let _ = write!(out, " › <a href=\"{}\">{}</a>", E(link), E(label));
                    }
                    None => {
                        let _ = write!(out, " › <span>{}</span>", E(label));
                    }
                }
            }
            out.push_str("</nav>");
        }
        out.push_str("<main>");
        if let Some(message) = self.message {
            let _ = write!(
                out,
                "<p class=\"message\" role=\"status\">{}</p>",
                E(message)
            );
        }
        out.push_str(body);
        out.push_str("</main></body></html>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_and_attributes() {
        assert_eq!(
            E("<a href=\"x\">'&'</a>").to_string(),
            "&lt;a href=&quot;x&quot;&gt;&#x27;&amp;&#x27;&lt;/a&gt;"
        );
        assert_eq!(E("plain é").to_string(), "plain é");
        assert_eq!(url("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }
}
