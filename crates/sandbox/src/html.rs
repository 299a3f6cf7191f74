//! The two pages a person sees on a sandbox: the consent form and the error page. Plain strings, every
//! interpolated value escaped, no external resources (the sandbox must work offline).

use std::fmt::Write as _;

/// Escapes text for element content and double-quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;line-height:1.5}\
.sandbox{border:2px dashed #b45309;background:#fffbeb;padding:.5rem 1rem}\
fieldset{margin:1rem 0}label{margin-left:.25rem}button{margin-right:.5rem;padding:.4rem 1rem}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        title = escape(title),
    )
}

fn sandbox_notice(platform: &str) -> String {
    let platform = escape(platform);
    format!(
        "<p class=\"sandbox\" role=\"note\"><strong>Local sandbox.</strong> This page is served by the \
         iQuivity sandbox on this machine to imitate {platform}. It is not the real {platform}: nothing \
         you do here reaches {platform}.</p>\n"
    )
}

/// What the consent form shows and carries.
pub(crate) struct ConsentForm<'a> {
    pub platform: &'a str,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    /// Where the form posts to.
    pub action: &'a str,
    /// The authorization request, carried through the form so the decision can be checked again.
    pub hidden: &'a [(&'a str, String)],
    pub scopes: &'a [String],
}

pub(crate) fn consent_page(form: &ConsentForm<'_>) -> String {
    let mut body = sandbox_notice(form.platform);
    let _ = write!(
        body,
        "<h1>Authorize {client}</h1>\n<p>The application <strong>{client}</strong> asks to connect to your \
         {platform} account. Afterwards you are sent back to <code>{redirect}</code>.</p>\n\
         <form method=\"post\" action=\"{action}\">\n",
        client = escape(form.client_id),
        platform = escape(form.platform),
        redirect = escape(form.redirect_uri),
        action = escape(form.action),
    );
    for (name, value) in form.hidden {
        let _ = writeln!(
            body,
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            escape(name),
            escape(value)
        );
    }
    body.push_str(
        "<p><label for=\"user\">Sign in as (the platform user's display name)</label>\n\
         <input type=\"text\" id=\"user\" name=\"user\" value=\"Sandbox User\" required></p>\n\
         <fieldset>\n<legend>Permissions requested</legend>\n",
    );
    if form.scopes.is_empty() {
        body.push_str("<p>No permissions beyond your public profile.</p>\n");
    }
    for (i, scope) in form.scopes.iter().enumerate() {
        let _ = writeln!(
            body,
            "<p><input type=\"checkbox\" id=\"scope-{i}\" name=\"scope\" value=\"{scope}\" checked>\
             <label for=\"scope-{i}\">{scope}</label></p>",
            scope = escape(scope),
        );
    }
    body.push_str(
        "</fieldset>\n<p><button type=\"submit\" name=\"decision\" value=\"approve\">Allow</button>\n\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></p>\n</form>\n",
    );
    page(
        &format!("{} sandbox — authorize {}", form.platform, form.client_id),
        &body,
    )
}

/// The id of the element holding the reason on an error page; the consent helper reads it.
pub(crate) const ERROR_ID: &str = "error";

pub(crate) fn error_page(platform: &str, message: &str) -> String {
    let body = format!(
        "{notice}<h1>This authorization request cannot be completed</h1>\n<p id=\"{ERROR_ID}\">{message}</p>\n",
        notice = sandbox_notice(platform),
        message = escape(message),
    );
    page(&format!("{platform} sandbox — error"), &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn consent_page_escapes_and_labels_everything() {
        let hidden = [("state", "\"><script>".to_string())];
        let scopes = ["a<b".to_string(), "c".to_string()];
        let html = consent_page(&ConsentForm {
            platform: "Facebook",
            client_id: "<app>",
            redirect_uri: "https://app.example/cb?x=1&y=2",
            action: "/v21.0/dialog/oauth/decide",
            hidden: &hidden,
            scopes: &scopes,
        });
        assert!(html.starts_with("<!doctype html>"));
        assert!(html.contains("<html lang=\"en\">"));
        assert!(html.contains("<title>Facebook sandbox — authorize &lt;app&gt;</title>"));
        assert!(html.contains("not the real Facebook"));
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<app>"));
        assert!(html.contains("x=1&amp;y=2"));
        for id in ["user", "scope-0", "scope-1"] {
            assert!(html.contains(&format!("id=\"{id}\"")));
            assert!(html.contains(&format!("<label for=\"{id}\">")));
        }
        assert!(!html.contains("http://") && !html.contains("src="));
    }

    #[test]
    fn error_page_escapes_the_message() {
        let html = error_page("X", "bad <client>");
        assert!(html.contains("<p id=\"error\">bad &lt;client&gt;</p>"));
        assert!(html.contains("<title>X sandbox — error</title>"));
    }
}
