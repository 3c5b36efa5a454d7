//! The patient's pages: small, server-rendered, accessible, no script. Everything shown
//! from data is HTML-escaped.

use std::sync::LazyLock;

use base64::{Engine, engine::general_purpose::STANDARD};
use domain::{
    language::Language,
    model::Clinic,
    phn::PhnError,
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

/// The text of `language` among the two: every string of the pages is written in both,
/// side by side.
fn pick(language: Language, en: &'static str, fr: &'static str) -> &'static str {
    match language {
        Language::En => en,
        Language::Fr => fr,
    }
}

fn call_clinic(clinic: &Clinic, language: Language) -> String {
    let phone = clinic.phone.as_e164();
    let name = escape(&clinic.name);
    let link = format!("<a href=\"tel:{phone}\">{phone}</a>");
    match language {
        Language::En => format!("<p>Please call {name} at {link}.</p>"),
        Language::Fr => format!("<p>Veuillez appeler {name} au {link}.</p>"),
    }
}

/// Why a typed PHN is not one, in the page's language (never the PHN).
fn phn_problem(problem: &PhnError, language: Language) -> String {
    match (language, problem) {
        (Language::En, problem) => problem.to_string(),
        (Language::Fr, PhnError::Empty) => "un PHN est requis".to_owned(),
        (Language::Fr, PhnError::InvalidCharacter) => {
            "un PHN ne contient que des chiffres, des espaces et des tirets".to_owned()
        }
        (Language::Fr, PhnError::WrongLength { digits }) => format!(
            "un PHN a de 9 à 12 chiffres (celui de la C.-B. en a 10); celui-ci en a {digits}"
        ),
        (Language::Fr, PhnError::BcCheckDigit) => "le dernier chiffre de ce PHN de la C.-B. ne \
            correspond pas à son chiffre de contrôle; vérifiez s'il y a une faute de frappe"
            .to_owned(),
    }
}

fn form(clinic: &Clinic, language: Language, tries_left: u32, alert: Option<String>) -> String {
    let alert = alert
        .map(|text| format!("<p class=\"alert\" role=\"alert\">{}</p>", escape(&text)))
        .unwrap_or_default();
    let name = escape(&clinic.name);
    let (heading, ask) = match language {
        Language::En => (
            format!("A secure message from {name}"),
            format!(
                "To open it, enter your Personal Health Number (PHN). You have {tries_left} {} left.",
                if tries_left == 1 { "try" } else { "tries" }
            ),
        ),
        Language::Fr => (
            format!("Un message sécurisé de {name}"),
            format!(
                "Pour l'ouvrir, entrez votre numéro d'assurance maladie personnel (PHN). Il vous reste {tries_left} {}.",
                if tries_left == 1 { "essai" } else { "essais" }
            ),
        ),
    };
    format!(
        "<h1>{heading}</h1>{alert}<p>{ask}</p>\
         <form method=\"post\"><label for=\"phn\">{label}</label>\
         <input id=\"phn\" name=\"phn\" type=\"text\" inputmode=\"numeric\" autocomplete=\"off\" required \
         aria-describedby=\"phn-hint\"><p id=\"phn-hint\">{hint}</p>\
         <button type=\"submit\">{button}</button></form>",
        label = pick(
            language,
            "Personal Health Number (PHN)",
            "Numéro d'assurance maladie personnel (PHN)"
        ),
        hint = pick(
            language,
            "The 10 digits on your health card.",
            "Les 10 chiffres de votre carte santé."
        ),
        button = pick(language, "Open message", "Ouvrir le message"),
    )
}

fn opened(clinic: &Clinic, language: Language, message: &OpenedMessage) -> String {
    let name = escape(&clinic.name);
    let heading = match language {
        Language::En => format!("Your message from {name}"),
        Language::Fr => format!("Votre message de {name}"),
    };
    let mut html = format!(
        "<h1>{heading}</h1><div class=\"text\">{}</div>",
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
            "<h2>{}</h2><ul>{}</ul>",
            pick(
                language,
                "Forms and instructions",
                "Formulaires et instructions"
            ),
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
            "<h2>{}</h2><p>{}</p><ul>{}</ul>",
            pick(language, "Files", "Fichiers"),
            pick(
                language,
                "Download links work for 5 minutes; reload this page for new ones.",
                "Les liens de téléchargement sont valides 5 minutes; rechargez la page pour en obtenir de nouveaux."
            ),
            files.concat()
        ));
    }
    html
}

/// When a service fails: nothing was counted; try again.
pub fn unavailable(language: Language) -> Response<Body> {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        language,
        pick(language, "Try again", "Réessayez"),
        pick(
            language,
            "<h1>Something went wrong</h1><p>Please try again in a moment.</p>",
            "<h1>Un problème est survenu</h1><p>Veuillez réessayer dans un instant.</p>",
        )
        .to_owned(),
    )
}

/// The page for a view, with its status: in `chosen` (the switch link's language, for
/// this page view only), else the view's (the patient's when the message was sent), else
/// English.
pub fn render(view: &UnlockView, chosen: Option<Language>) -> Response<Body> {
    let language = chosen.or(view.language()).unwrap_or_default();
    let call = |clinic| call_clinic(clinic, language);
    let (status, title, main) = match view {
        UnlockView::NotValid => (
            StatusCode::NOT_FOUND,
            pick(language, "Link not valid", "Lien non valide"),
            pick(
                language,
                "<h1>This link is not valid</h1><p>Check the link in your text message, or call your clinic.</p>",
                "<h1>Ce lien n'est pas valide</h1><p>Vérifiez le lien dans votre message texte ou appelez votre clinique.</p>",
            )
            .to_owned(),
        ),
        UnlockView::Expired { clinic, .. } => (
            StatusCode::GONE,
            pick(language, "Message expired", "Message expiré"),
            pick(
                language,
                "<h1>This message has expired</h1><p>Secure messages can be opened for 8 days.</p>",
                "<h1>Ce message a expiré</h1><p>Les messages sécurisés peuvent être ouverts pendant 8 jours.</p>",
            )
            .to_owned()
                + &call(clinic),
        ),
        UnlockView::Withdrawn { clinic, .. } => (
            StatusCode::GONE,
            pick(language, "Message withdrawn", "Message retiré"),
            pick(
                language,
                "<h1>This message was withdrawn by the clinic</h1><p>It can no longer be opened.</p>",
                "<h1>Ce message a été retiré par la clinique</h1><p>Il ne peut plus être ouvert.</p>",
            )
            .to_owned()
                + &call(clinic),
        ),
        UnlockView::Replaced { clinic, .. } => (
            StatusCode::GONE,
            pick(language, "Link replaced", "Lien remplacé"),
            pick(
                language,
                "<h1>This link was replaced by a newer link</h1><p>Open the message from the clinic's latest text message.</p>",
                "<h1>Ce lien a été remplacé par un lien plus récent</h1><p>Ouvrez le message à partir du plus récent message texte de la clinique.</p>",
            )
            .to_owned()
                + &call(clinic),
        ),
        UnlockView::Locked { clinic, until, .. } => {
            let when = match until {
                Some(until) => {
                    let at = language.time(&until.to_zoned(clinic.zone()));
                    match language {
                        Language::En => format!("<p>Too many wrong PHNs. Try again after {at}.</p>"),
                        Language::Fr => format!("<p>Trop de PHN erronés. Réessayez après {at}.</p>"),
                    }
                }
                None => pick(
                    language,
                    "<p>Too many wrong PHNs: this message is locked.</p>",
                    "<p>Trop de PHN erronés : ce message est verrouillé.</p>",
                )
                .to_owned(),
            };
            let heading = pick(language, "This message is locked", "Ce message est verrouillé");
            (
                StatusCode::LOCKED,
                pick(language, "Message locked", "Message verrouillé"),
                format!("<h1>{heading}</h1>{when}{}", call(clinic)),
            )
        }
        UnlockView::Form {
            clinic,
            tries_left,
            wrong,
            problem,
            ..
        } => {
            let alert = match (wrong, problem) {
                (_, Some(problem)) => Some(match language {
                    Language::En => format!("That is not a PHN: {}.", phn_problem(problem, language)),
                    Language::Fr => format!("Ce n'est pas un PHN : {}.", phn_problem(problem, language)),
                }),
                (true, None) => Some(
                    pick(
                        language,
                        "That PHN does not match. Check the number on your health card.",
                        "Ce PHN ne correspond pas. Vérifiez le numéro sur votre carte santé.",
                    )
                    .to_owned(),
                ),
                _ => None,
            };
            (
                StatusCode::OK,
                pick(language, "Secure message", "Message sécurisé"),
                form(clinic, language, *tries_left, alert),
            )
        }
        UnlockView::Opened { clinic, message, .. } => (
            StatusCode::OK,
            pick(language, "Your message", "Votre message"),
            opened(clinic, language, message),
        ),
    };
    page(status, language, title, main)
}

/// A link to this page in the other language, for this page view only: a query parameter
/// the form keeps when it posts (a form without `action` posts to the page's own URL).
fn switch_link(language: Language) -> String {
    let other = language.other();
    let name = pick(other, "English", "Français");
    format!(
        "<p><a href=\"?lang={code}\" lang=\"{code}\" hreflang=\"{code}\">{name}</a></p>",
        code = other.as_str()
    )
}

fn page(status: StatusCode, language: Language, title: &str, main: String) -> Response<Body> {
    let html = format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body><main>{main}{switch}</main></body></html>",
        lang = language.as_str(),
        switch = switch_link(language),
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

    fn clinic() -> Clinic {
        Clinic {
            id: domain::ids::ClinicId::parse("c1").unwrap(),
            name: "Harbourview Clinic".into(),
            time_zone: "America/Vancouver".into(),
            activated_on: "2025-01-01".parse().unwrap(),
            sms_number: domain::phone::PhoneNumber::parse("+12505550100").unwrap(),
            phone: domain::phone::PhoneNumber::parse("+12505550101").unwrap(),
            unclear_response: "Call us.".into(),
            help_response: String::new(),
            default_language: Language::En,
            unclear_response_fr: String::new(),
            help_response_fr: String::new(),
        }
    }

    fn html(response: &Response<Body>) -> String {
        match response.body() {
            Body::Text(text) => text.clone(),
            _ => panic!("a page is text"),
        }
    }

    /// Every state, as a view in `language`.
    fn every_state(language: Language) -> Vec<UnlockView> {
        let clinic = clinic;
        vec![
            UnlockView::Form {
                clinic: clinic(),
                language,
                tries_left: 5,
                wrong: false,
                problem: None,
            },
            UnlockView::Form {
                clinic: clinic(),
                language,
                tries_left: 1,
                wrong: true,
                problem: None,
            },
            UnlockView::Form {
                clinic: clinic(),
                language,
                tries_left: 4,
                wrong: false,
                problem: Some(PhnError::WrongLength { digits: 5 }),
            },
            UnlockView::Locked {
                clinic: clinic(),
                language,
                until: Some("2026-12-02T19:05:00Z".parse().unwrap()),
            },
            UnlockView::Locked {
                clinic: clinic(),
                language,
                until: None,
            },
            UnlockView::Expired {
                clinic: clinic(),
                language,
            },
            UnlockView::Withdrawn {
                clinic: clinic(),
                language,
            },
            UnlockView::Replaced {
                clinic: clinic(),
                language,
            },
            UnlockView::Opened {
                clinic: clinic(),
                language,
                message: OpenedMessage {
                    text: "Résultats".into(),
                    chats: Vec::new(),
                    downloads: Vec::new(),
                },
            },
        ]
    }

    #[test]
    fn every_state_is_written_in_the_patients_language_with_a_switch_to_the_other() {
        for view in every_state(Language::Fr) {
            let page = html(&render(&view, None));
            assert!(page.contains("<html lang=\"fr\">"), "{page}");
            assert!(page.contains("href=\"?lang=en\" lang=\"en\" hreflang=\"en\">English</a>"));
            for english in [
                "Please call",
                "Open message",
                "This message",
                "Try again after",
            ] {
                assert!(!page.contains(english), "{english} in {page}");
            }
        }
        for view in every_state(Language::En) {
            let page = html(&render(&view, None));
            assert!(page.contains("<html lang=\"en\">"), "{page}");
            assert!(page.contains(">Français</a>"));
            for french in ["Veuillez", "Ouvrir", "Ce message", "Réessayez"] {
                assert!(!page.contains(french), "{french} in {page}");
            }
        }
    }

    #[test]
    fn french_pages_say_what_the_english_ones_say() {
        let pages: Vec<String> = every_state(Language::Fr)
            .iter()
            .map(|view| html(&render(view, None)))
            .collect();
        assert!(pages[0].contains("Un message sécurisé de Harbourview Clinic"));
        assert!(pages[0].contains("Il vous reste 5 essais."));
        assert!(
            pages[1].contains("Ce PHN ne correspond pas.")
                && pages[1].contains("Il vous reste 1 essai.")
        );
        assert!(pages[2].contains("celui-ci en a 5"));
        // 19:05 UTC is 11:05 in Vancouver.
        assert!(
            pages[3].contains("Réessayez après 11 h 05."),
            "{}",
            pages[3]
        );
        assert!(pages[4].contains("ce message est verrouillé"));
        assert!(pages[5].contains("Ce message a expiré"));
        assert!(pages[6].contains("retiré par la clinique"));
        assert!(pages[7].contains("remplacé par un lien plus récent"));
        assert!(pages[8].contains("Votre message de Harbourview Clinic"));
        assert!(pages[5].contains("Veuillez appeler Harbourview Clinic au"));
    }

    #[test]
    fn the_switch_link_changes_this_page_view_only_and_a_link_not_valid_is_english() {
        let view = &every_state(Language::Fr)[0];
        let switched = html(&render(view, Some(Language::En)));
        assert!(switched.contains("<html lang=\"en\">") && switched.contains("Open message"));
        let not_valid = html(&render(&UnlockView::NotValid, None));
        assert!(not_valid.contains("<html lang=\"en\">") && not_valid.contains(">Français</a>"));
        let in_french = html(&render(&UnlockView::NotValid, Some(Language::Fr)));
        assert!(in_french.contains("Ce lien n'est pas valide"));
        assert!(html(&unavailable(Language::Fr)).contains("Un problème est survenu"));
    }

    #[test]
    fn the_policy_allows_only_the_page_style() {
        let policy = CONTENT_SECURITY_POLICY.as_str();
        assert!(policy.starts_with("default-src 'none'; style-src 'sha256-"));
        assert!(!policy.contains("script-src") && !policy.contains("unsafe"));
    }
}
