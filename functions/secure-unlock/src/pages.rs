//! The patient's pages: small, server-rendered, accessible, no script. Everything shown
//! from data is HTML-escaped.

use std::sync::LazyLock;

use base64::{Engine, engine::general_purpose::STANDARD};
use domain::{
    model::Clinic,
    unlock::{OpenedMessage, UnlockView},
};
use lambda_http::{Body, Response, http::StatusCode};
use sha2::{Digest, Sha256};

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;padding:1rem;line-height:1.5;color:#1a1a1a;background:#fff}\
main{max-width:32rem;margin:0 auto}h1{font-size:1.4rem}label{display:block;font-weight:600;margin:1rem 0 .25rem}\
input{font-size:1.2rem;padding:.5rem;width:100%;box-sizing:border-box;border:2px solid #555;border-radius:4px}\
button{font-size:1.1rem;padding:.6rem 1.2rem;margin-top:1rem;background:#0b5394;color:#fff;border:0;border-radius:4px}\
.alert{border-left:4px solid #b00020;padding:.5rem 1rem;background:#fdecee}.text{white-space:pre-wrap}\
a{color:#0b5394}";

/// Allows exactly the page's own style: no script, no other source.
pub static CONTENT_SECURITY_POLICY: LazyLock<String> = LazyLock::new(|| {
    let hash = STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
});

/// Headers on every page: the token is in the URL, so nothing may be cached, framed or
/// passed on as a referrer.
/// The page uses no browser feature: each is refused to it and to anything it could embed.
const PERMISSIONS_POLICY: &str = "accelerometer=(), camera=(), display-capture=(), \
    geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=(), \
    interest-cohort=(), browsing-topics=()";

pub fn security_headers() -> [(&'static str, String); 8] {
    [
        ("content-security-policy", CONTENT_SECURITY_POLICY.clone()),
        // Browsers keep to HTTPS for the unlock host for two years once they have seen it.
        (
            "strict-transport-security",
            "max-age=63072000; includeSubDomains".to_owned(),
        ),
        ("permissions-policy", PERMISSIONS_POLICY.to_owned()),
        ("referrer-policy", "no-referrer".to_owned()),
        ("cache-control", "no-store".to_owned()),
        ("x-content-type-options", "nosniff".to_owned()),
        ("x-frame-options", "DENY".to_owned()),
        ("content-type", "text/html; charset=utf-8".to_owned()),
    ]
}

pub fn escape(text: &str) -> String {
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

fn call_clinic(clinic: &Clinic) -> String {
    let phone = clinic.phone.as_e164();
    format!(
        "<p>Please call {name} at <a href=\"tel:{phone}\">{phone}</a>.</p>",
        name = escape(&clinic.name),
    )
}

fn form(clinic: &Clinic, tries_left: u32, alert: Option<String>) -> String {
    let alert = alert
        .map(|text| format!("<p class=\"alert\" role=\"alert\">{}</p>", escape(&text)))
        .unwrap_or_default();
    format!(
        "<h1>A secure message from {name}</h1>{alert}\
         <p>To open it, enter your Personal Health Number (PHN). You have {tries_left} {tries} left.</p>\
         <form method=\"post\"><label for=\"phn\">Personal Health Number (PHN)</label>\
         <input id=\"phn\" name=\"phn\" type=\"text\" inputmode=\"numeric\" autocomplete=\"off\" required \
         aria-describedby=\"phn-hint\"><p id=\"phn-hint\">The 10 digits on your health card.</p>\
         <button type=\"submit\">Open message</button></form>",
        name = escape(&clinic.name),
        tries = if tries_left == 1 { "try" } else { "tries" },
    )
}

fn opened(clinic: &Clinic, message: &OpenedMessage) -> String {
    let mut html = format!(
        "<h1>Your message from {}</h1><div class=\"text\">{}</div>",
        escape(&clinic.name),
        escape(&message.text)
    );
    let links: Vec<_> = message
        .chats
        .iter()
        .filter(|chat| chat.link.starts_with("https://") || chat.link.starts_with("http://"))
        .map(|chat| {
            format!(
                "<li><a href=\"{}\" rel=\"noopener noreferrer\">{}</a></li>",
                escape(&chat.link),
                escape(&chat.title)
            )
        })
        .collect();
    if !links.is_empty() {
        html.push_str(&format!(
            "<h2>Forms and instructions</h2><ul>{}</ul>",
            links.concat()
        ));
    }
    if !message.downloads.is_empty() {
        let files: Vec<_> = message
            .downloads
            .iter()
            .map(|file| {
                format!(
                    "<li><a href=\"{}\" download>{}</a></li>",
                    escape(&file.url),
                    escape(&file.file_name)
                )
            })
            .collect();
        html.push_str(&format!(
            "<h2>Files</h2><p>Download links work for 5 minutes; reload this page for new ones.</p><ul>{}</ul>",
            files.concat()
        ));
    }
    html
}

/// When a service fails: nothing was counted; try again.
pub fn unavailable() -> Response<Body> {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again",
        "<h1>Something went wrong</h1><p>Please try again in a moment.</p>".to_owned(),
    )
}

/// The page for a view, with its status.
pub fn render(view: &UnlockView) -> Response<Body> {
    let (status, title, main) = match view {
        UnlockView::NotValid => (
            StatusCode::NOT_FOUND,
            "Link not valid",
            "<h1>This link is not valid</h1><p>Check the link in your text message, or call your clinic.</p>".to_owned(),
        ),
        UnlockView::Expired { clinic } => (
            StatusCode::GONE,
            "Message expired",
            format!("<h1>This message has expired</h1><p>Secure messages can be opened for 8 days.</p>{}", call_clinic(clinic)),
        ),
        UnlockView::Withdrawn { clinic } => (
            StatusCode::GONE,
            "Message withdrawn",
            format!("<h1>This message was withdrawn by the clinic</h1><p>It can no longer be opened.</p>{}", call_clinic(clinic)),
        ),
        UnlockView::Replaced { clinic } => (
            StatusCode::GONE,
            "Link replaced",
            format!("<h1>This link was replaced by a newer link</h1><p>Open the message from the clinic's latest text message.</p>{}", call_clinic(clinic)),
        ),
        UnlockView::Locked { clinic, until } => {
            let when = match until {
                Some(until) => format!(
                    "<p>Too many wrong PHNs. Try again after {}.</p>",
                    until.to_zoned(clinic.zone()).strftime("%-I:%M %p")
                ),
                None => "<p>Too many wrong PHNs: this message is locked.</p>".to_owned(),
            };
            (StatusCode::LOCKED, "Message locked", format!("<h1>This message is locked</h1>{when}{}", call_clinic(clinic)))
        }
        UnlockView::Form { clinic, tries_left, wrong, problem } => {
            let alert = match (wrong, problem) {
                (_, Some(problem)) => Some(format!("That is not a PHN: {problem}.")),
                (true, None) => Some("That PHN does not match. Check the number on your health card.".to_owned()),
                _ => None,
            };
            (StatusCode::OK, "Secure message", form(clinic, *tries_left, alert))
        }
        UnlockView::Opened { clinic, message } => (StatusCode::OK, "Your message", opened(clinic, message)),
    };
    page(status, title, main)
}

fn page(status: StatusCode, title: &str, main: String) -> Response<Body> {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body><main>{main}</main></body></html>"
    );
    let mut response = Response::builder().status(status);
    for (name, value) in security_headers() {
        response = response.header(name, value);
    }
    response
        .body(Body::Text(html))
        .expect("static headers are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape("<script>\"x\"&'y'</script>"),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn the_policy_allows_only_the_page_style() {
        let policy = CONTENT_SECURITY_POLICY.as_str();
        assert!(policy.starts_with("default-src 'none'; style-src 'sha256-"));
        assert!(!policy.contains("script-src") && !policy.contains("unsafe"));
    }
}
