//! Properties of the parsers that read outside input, each a function that panics when one
//! fails: the fuzz targets (`shared/fuzz`) and the property tests below call the same ones.
//!
//! Inputs here are generated, never real patient data, so the assertion messages may show
//! them.

use crate::{
    email::Email,
    error::DomainError,
    ids::ClinicId,
    inbound_sms::{InboundSms, InboundSmsError},
    patient_keys::fold_name,
    phn::{Phn, PhnError},
    phone::{PhoneError, PhoneNumber},
    search::{MAX_NAME_WORDS, SearchBy, SearchTerm},
    sms_encoding::{
        GSM7_PART_SEPTETS, GSM7_SINGLE_SEPTETS, SmsEncoding, UCS2_PART_UNITS, UCS2_SINGLE_UNITS,
        measure,
    },
    template_text::{Placeholder, TemplateError, TemplateValues, placeholders, render},
};

/// Error messages are shown to staff and logged, so they must not repeat a PHN or phone
/// number from the input. No message has a number of four or more digits of its own, except
/// a character count of an input at least 1,000 characters long.
fn assert_no_digit_run(message: &str, input: &str) {
    if input.chars().count() >= 1000 {
        return;
    }
    let longest = message
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(longest < 4, "error message repeats digits: {message:?}");
}

/// The BC mod-11 rule as the Medical Services Plan states it, written apart from
/// `Phn::parse`: digit k (k = 2..=9) weighs 2^(k-1) mod 11, and the weighted sum plus the
/// check digit is a multiple of 11; a sum that would need check digit 0 or 10 marks no
/// valid PHN.
pub fn bc_mod_11_holds(digits: &[u8; 10]) -> bool {
    let mut weight = 1;
    let mut sum = 0;
    for &digit in &digits[1..9] {
        weight = weight * 2 % 11;
        sum += u32::from(digit) * weight;
    }
    let check = digits[9];
    check != 0 && (sum + u32::from(check)) % 11 == 0
}

/// `Phn::parse` agrees with a model of the rule; an accepted PHN re-parses to itself, and a
/// BC one passes the mod-11 check.
pub fn phn(input: &str) {
    let parsed = Phn::parse(input);
    let digits: Vec<u8> = input
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    let only_allowed = input
        .chars()
        .all(|c| c.is_ascii_digit() || c == ' ' || c == '-');
    let bc_shaped = digits.len() == 10 && digits[0] == 9;
    let expected = if !only_allowed {
        Err(PhnError::InvalidCharacter)
    } else if digits.is_empty() {
        Err(PhnError::Empty)
    } else if !(9..=12).contains(&digits.len()) {
        Err(PhnError::WrongLength {
            digits: digits.len(),
        })
    } else if bc_shaped && !bc_mod_11_holds(digits.as_slice().try_into().expect("10 digits")) {
        Err(PhnError::BcCheckDigit)
    } else {
        Ok(digits
            .iter()
            .map(|d| char::from(b'0' + d))
            .collect::<String>())
    };
    assert_eq!(
        parsed.as_ref().map(Phn::as_str),
        expected.as_deref(),
        "{input:?}"
    );
    match parsed {
        Ok(phn) => {
            assert_eq!(Phn::parse(phn.as_str()).as_ref(), Ok(&phn), "{input:?}");
            assert_eq!(phn.is_bc(), bc_shaped, "{input:?}");
        }
        Err(error) => assert_no_digit_run(&error.to_string(), input),
    }
}

/// An accepted phone number is E.164 and re-parses to itself; surrounding whitespace changes
/// nothing; an error repeats no digits.
pub fn phone(input: &str) {
    let parsed = PhoneNumber::parse(input);
    assert_eq!(
        PhoneNumber::parse(&format!(" {input}\t")),
        parsed,
        "{input:?}"
    );
    match &parsed {
        Ok(phone) => {
            let e164 = phone.as_e164();
            let digits = e164.strip_prefix('+').unwrap_or_default();
            assert!(
                (2..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()),
                "{input:?} gave {e164:?}"
            );
            assert_eq!(PhoneNumber::parse(e164).as_ref(), Ok(phone), "{input:?}");
        }
        Err(PhoneError::Empty) => assert!(input.trim().is_empty(), "{input:?}"),
        Err(error) => assert_no_digit_run(&error.to_string(), input),
    }
}

/// The search box's `by` choices, for drivers that pick one by number.
pub const SEARCH_BY: [SearchBy; 5] = [
    SearchBy::Auto,
    SearchBy::Phn,
    SearchBy::Phone,
    SearchBy::Email,
    SearchBy::Name,
];

/// A classified query is of the kind asked for (or the kind its text reads as), holds
/// values that re-parse to themselves, and yields probes; surrounding whitespace changes
/// nothing; errors concern `q` and repeat no digits.
pub fn search_query(query: &str, by: SearchBy) {
    let classified = SearchTerm::classify(query, by);
    let padded = SearchTerm::classify(&format!("\t{query} "), by);
    match (&classified, &padded) {
        (Ok(term), Ok(again)) => assert!(term == again, "{query:?}"),
        (Err(error), Err(again)) => assert_eq!(error.to_string(), again.to_string()),
        _ => panic!("padding {query:?} changed whether it classifies"),
    }
    let term = match classified {
        Ok(term) => term,
        Err(error) => {
            assert!(
                matches!(error, DomainError::InvalidParameter { parameter: "q", .. }),
                "{error:?}"
            );
            assert_no_digit_run(&error.to_string(), query);
            return;
        }
    };
    let trimmed = query.trim();
    let expected_kind = match by {
        SearchBy::Phn => "phn",
        SearchBy::Phone => "phone",
        SearchBy::Email => "email",
        SearchBy::Name => "name",
        SearchBy::Auto if trimmed.contains('@') => "email",
        SearchBy::Auto
            if trimmed
                .chars()
                .all(|c| c.is_ascii_digit() || " -+().".contains(c)) =>
        {
            match term {
                SearchTerm::Phone(_) => "phone",
                _ => "phn",
            }
        }
        SearchBy::Auto => "name",
    };
    assert_eq!(term.kind(), expected_kind, "{query:?} by {by:?}");
    match &term {
        SearchTerm::Phn(phn) => {
            assert_eq!(Phn::parse(phn.as_str()).as_ref(), Ok(phn), "{query:?}");
            // Auto reads a valid BC PHN as a PHN even when it is also a phone number.
            if by == SearchBy::Auto {
                assert!(
                    Phn::parse(trimmed).is_ok_and(|p| &p == phn),
                    "{query:?} is no PHN"
                );
            }
        }
        SearchTerm::Phone(phone) => {
            assert_eq!(
                PhoneNumber::parse(phone.as_e164()).as_ref(),
                Ok(phone),
                "{query:?}"
            );
            if by == SearchBy::Auto {
                assert!(
                    !Phn::parse(trimmed).is_ok_and(|p| p.is_bc()),
                    "{query:?} is a BC PHN"
                );
            }
        }
        SearchTerm::Email(email) => {
            assert_eq!(Email::parse(email.as_str()).as_ref(), Ok(email));
            assert_eq!(email.as_str().matches('@').count(), 1, "{query:?}");
        }
        SearchTerm::Name { words, comma } => {
            assert!(
                (1..=MAX_NAME_WORDS).contains(&words.len()),
                "{query:?}: {words:?}"
            );
            assert!(
                words
                    .iter()
                    .all(|w| !w.is_empty() && !w.contains(char::is_whitespace)),
                "{query:?}: {words:?}"
            );
            let whole = words.join(" ");
            assert_eq!(fold_name(&whole), whole, "folding is not idempotent");
            assert!(
                whole.chars().filter(|c| *c != ' ').count() >= 2,
                "{query:?}"
            );
            if let Some((last, _)) = comma {
                assert!(!last.is_empty(), "{query:?}");
            }
        }
    }
    let clinic = ClinicId::parse("clinic").expect("valid clinic id");
    let key = crate::clinic_key::ClinicKey::from_root(&clinic, &[1; 32]).expect("a 32-byte root");
    let fingerprint = term.fingerprint(&key);
    assert!(
        fingerprint.len() == 22
            && fingerprint
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{fingerprint:?}"
    );
    let probes = term.probes(&key);
    let expected_probes = match &term {
        SearchTerm::Name { words, comma: None } => 2 * words.len(),
        _ => 1,
    };
    assert_eq!(probes.len(), expected_probes, "{query:?}");
}

/// Template values from six strings, in the order of [`Placeholder::ALL`].
pub fn template_values(fields: [&str; 6]) -> TemplateValues {
    let [first, last, clinic, date, time, provider] = fields.map(str::to_owned);
    TemplateValues {
        patient_first_name: first,
        patient_last_name: last,
        clinic_name: clinic,
        appointment_date: date,
        appointment_time: time,
        provider_name: provider,
    }
}

fn value_of<'a>(values: &'a TemplateValues, placeholder: &str) -> &'a str {
    let placeholder = Placeholder::from_name(placeholder)
        .unwrap_or_else(|| panic!("{placeholder:?} is no placeholder"));
    values.get(placeholder)
}

/// Writes `text` as template text that renders to itself.
pub fn escape_template_text(text: &str) -> String {
    text.replace('{', "{{").replace('}', "}}")
}

/// Any template: `render` and `placeholders` accept and refuse the same templates, whatever
/// the values; text without braces renders to itself; an unknown placeholder's error names
/// it as the template writes it (cut to 40 characters).
pub fn template(template: &str, values: &TemplateValues) {
    let rendered = render(template, values);
    let used = placeholders(template);
    assert_eq!(rendered.as_ref().err(), used.as_ref().err(), "{template:?}");
    assert_eq!(
        render(template, &TemplateValues::default()).is_ok(),
        rendered.is_ok(),
        "{template:?}: whether it renders depends on the values"
    );
    if !template.contains(['{', '}']) {
        assert_eq!(rendered.as_deref(), Ok(template));
    }
    match (rendered, used) {
        (Ok(_), Ok(used)) => {
            for (i, name) in used.iter().enumerate() {
                assert!(Placeholder::from_name(name).is_some(), "{name:?}");
                assert!(!used[..i].contains(name), "{name:?} listed twice");
                assert!(template.contains(&format!("{{{name}}}")), "{template:?}");
            }
        }
        (Err(TemplateError::UnknownPlaceholder { name }), _) => {
            assert_unknown_placeholder_named(template, &name);
        }
        (Err(TemplateError::Unclosed), _) => assert!(template.contains('{'), "{template:?}"),
        (Ok(_), Err(_)) => unreachable!("checked above"),
    }
}

fn assert_unknown_placeholder_named(template: &str, name: &str) {
    assert!(name.chars().count() <= 40, "{name:?}");
    assert!(!name.contains(['{', '}']), "{name:?}");
    assert!(Placeholder::from_name(name).is_none(), "{name:?} is known");
    assert!(template.contains(&format!("{{{name}")), "{template:?}");
    let message = TemplateError::UnknownPlaceholder {
        name: name.to_owned(),
    }
    .to_string();
    assert!(message.contains(&format!("{{{name}}}")), "{message}");
}

/// A template written from pieces, each escaped text followed by the placeholder
/// `Placeholder::ALL[slot]` (none when `slot` is past the end), renders to the texts and values
/// in order: values are inserted as they are, and escaped braces come out single.
pub fn template_pieces(pieces: &[(&str, usize)], values: &TemplateValues) {
    let mut template = String::new();
    let mut expected = String::new();
    for &(text, slot) in pieces {
        template.push_str(&escape_template_text(text));
        expected.push_str(text);
        if let Some(name) = Placeholder::ALL.get(slot).map(|p| p.name()) {
            template.push_str(&format!("{{{name}}}"));
            expected.push_str(value_of(values, name));
        }
    }
    assert_eq!(render(&template, values), Ok(expected), "{template:?}");
}

/// `{name}` between escaped texts is refused, naming `name` cut to 40 characters, unless it
/// is a known placeholder (braces are left out of `name`).
pub fn template_unknown_placeholder(before: &str, name: &str, after: &str) {
    let name: String = name.chars().filter(|c| !matches!(c, '{' | '}')).collect();
    let template = format!(
        "{}{{{name}}}{}",
        escape_template_text(before),
        escape_template_text(after)
    );
    let rendered = render(&template, &TemplateValues::default());
    if Placeholder::from_name(&name).is_some() {
        assert!(rendered.is_ok(), "{template:?}");
        return;
    }
    let cut: String = name.chars().take(40).collect();
    assert_eq!(
        rendered,
        Err(TemplateError::UnknownPlaceholder { name: cut.clone() }),
        "{template:?}"
    );
    assert_unknown_placeholder_named(&template, &cut);
}

/// The encoding is GSM-7 exactly when every character is; units add up per character; one
/// segment holds 160 septets or 70 UTF-16 units and each part of a longer text 153 or 67,
/// less at most one unit when a two-unit character does not fit at a part's end.
pub fn sms_measure(text: &str) {
    let measured = measure(text);
    let each: Vec<_> = text
        .chars()
        .map(|c| (c, measure(c.encode_utf8(&mut [0; 4]))))
        .collect();
    let gsm7 = each.iter().all(|(_, m)| m.encoding == SmsEncoding::Gsm7);
    let widths: Vec<usize> = if gsm7 {
        each.iter().map(|(_, m)| m.units).collect()
    } else {
        each.iter().map(|(c, _)| c.len_utf16()).collect()
    };
    for ((c, m), width) in each.iter().zip(&widths) {
        assert!((1..=2).contains(width), "{c:?} is {width} units");
        assert_eq!(m.segments, 1, "{c:?}");
    }
    let units: usize = widths.iter().sum();
    let (encoding, single, part) = if gsm7 {
        (SmsEncoding::Gsm7, GSM7_SINGLE_SEPTETS, GSM7_PART_SEPTETS)
    } else {
        (SmsEncoding::Ucs2, UCS2_SINGLE_UNITS, UCS2_PART_UNITS)
    };
    assert_eq!(measured.encoding, encoding);
    assert_eq!(measured.units, units);
    if encoding == SmsEncoding::Ucs2 {
        assert_eq!(units, text.encode_utf16().count());
    }
    let segments = measured.segments;
    if units <= single {
        assert_eq!(segments, 1, "{units} units");
    } else {
        assert!(
            segments >= units.div_ceil(part),
            "{units} units in {segments}"
        );
        assert!(
            segments <= units.div_ceil(part - 1),
            "{units} units in {segments}"
        );
        if widths.iter().all(|w| *w == 1) {
            assert_eq!(segments, units.div_ceil(part), "{units} units");
        }
    }
    // A longer text in the same encoding never costs fewer segments.
    if let Some((last, _)) = text.char_indices().next_back() {
        let shorter = measure(&text[..last]);
        if shorter.encoding == encoding {
            assert!(shorter.segments <= segments, "{text:?}");
        }
    }
}

/// Any text as `Sns.Message`: an accepted payload holds valid numbers that re-parse to
/// themselves, a trimmed non-empty id and keyword; errors repeat no digits.
pub fn inbound_sms_message(message: &str) {
    match InboundSms::parse(message) {
        Ok(sms) => {
            for number in [&sms.from, &sms.to] {
                assert_eq!(
                    PhoneNumber::parse(number.as_e164()).as_ref(),
                    Ok(number),
                    "{message:?}"
                );
            }
            let id = &sms.inbound_message_id;
            assert!(!id.is_empty() && id.trim() == id, "{message:?}");
            if let Some(previous) = &sms.previous_published_message_id {
                assert!(!previous.trim().is_empty(), "{message:?}");
            }
        }
        Err(error) => assert_no_digit_run(&error.to_string(), message),
    }
}

/// The payload's fields, in the order `InboundSms::parse` reads them.
pub const INBOUND_FIELDS: [&str; 6] = [
    "originationNumber",
    "destinationNumber",
    "messageKeyword",
    "messageBody",
    "inboundMessageId",
    "previousPublishedMessageId",
];

/// A payload of the given fields (absent when `None`) parses exactly as a model of the
/// rules says: numbers and the id are required, trimmed and validated; the body is kept as
/// sent.
pub fn inbound_sms_fields(fields: [Option<&str>; 6]) {
    let object: serde_json::Map<String, serde_json::Value> = INBOUND_FIELDS
        .iter()
        .zip(fields)
        .filter_map(|(name, value)| Some(((*name).to_owned(), value?.into())))
        .collect();
    let message = serde_json::Value::Object(object).to_string();
    inbound_sms_message(&message);
    // The carrier's keyword field is not read: replies are classified from their body.
    let [from, to, _keyword, body, id, previous] = fields;
    fn present(value: Option<&str>) -> Option<&str> {
        value.map(str::trim).filter(|v| !v.is_empty())
    }
    let number = |value: Option<&str>, field| {
        let value = present(value).ok_or(InboundSmsError::MissingField { field })?;
        PhoneNumber::parse(value).map_err(|_| InboundSmsError::BadNumber { field })
    };
    let expected = (|| {
        Ok::<_, InboundSmsError>((
            number(from, INBOUND_FIELDS[0])?,
            number(to, INBOUND_FIELDS[1])?,
            present(id).ok_or(InboundSmsError::MissingField {
                field: INBOUND_FIELDS[4],
            })?,
        ))
    })();
    match (InboundSms::parse(&message), expected) {
        (Ok(sms), Ok((from, to, id))) => {
            assert_eq!((&sms.from, &sms.to), (&from, &to), "{message}");
            assert_eq!(sms.inbound_message_id, id, "{message}");
            assert_eq!(sms.body, body.unwrap_or_default(), "{message}");
            assert_eq!(
                sms.previous_published_message_id.as_deref(),
                previous.filter(|p| !p.trim().is_empty()),
                "{message}"
            );
        }
        (Err(error), Err(expected)) => assert_eq!(error, expected, "{message}"),
        (parsed, expected) => panic!("{message}: parsed {parsed:?}, expected {expected:?}"),
    }
}

#[cfg(test)]
mod tests {
    //! The properties over generated inputs, in the normal test run; `shared/fuzz` runs them
    //! for longer.

    use proptest::prelude::*;

    use super::*;

    /// Text made of `chars` (a regex character class), up to `max` characters long.
    fn text_of(chars: &str, max: usize) -> BoxedStrategy<String> {
        proptest::string::string_regex(&format!("{chars}{{0,{max}}}"))
            .expect("valid regex")
            .boxed()
    }

    /// Ten digits starting with 9 that pass the mod-11 check, written with separators.
    fn valid_bc_phn() -> impl Strategy<Value = String> {
        proptest::array::uniform8(0u8..10).prop_filter_map("no check digit", |middle| {
            let mut digits = [9, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            digits[1..9].copy_from_slice(&middle);
            (1..10).find_map(|check| {
                digits[9] = check;
                bc_mod_11_holds(&digits).then(|| {
                    let text: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
                    format!("{} {}-{}", &text[..4], &text[4..7], &text[7..])
                })
            })
        })
    }

    fn phone_like() -> BoxedStrategy<String> {
        prop_oneof![
            "\\+?1?[ .-]?\\(?[2-9][0-9]{2}\\)?[ .-]?[2-9][0-9]{2}[ .-]?[0-9]{4}",
            "\\+[1-9][0-9]{6,14}",
            text_of("[0-9 ()+./-]", 20),
        ]
        .boxed()
    }

    fn any_text() -> BoxedStrategy<String> {
        prop_oneof![any::<String>(), text_of("[a-zA-Z0-9 ,@.{}'-]", 30)].boxed()
    }

    proptest! {
        #[test]
        fn phn_parse_agrees_with_the_mod_11_model(
            input in prop_oneof![valid_bc_phn(), "9[0-9]{9}", text_of("[0-9 -]", 16), any_text()]
        ) {
            phn(&input);
        }

        #[test]
        fn phone_parse_yields_e164_that_re_parses_to_itself(
            input in prop_oneof![phone_like(), any_text()]
        ) {
            phone(&input);
        }

        #[test]
        fn search_query_classifies_into_consistent_terms(
            query in prop_oneof![
                valid_bc_phn(),
                phone_like(),
                "[a-z]{1,8}@[a-z]{1,8}\\.[a-z]{2,3}",
                text_of("[A-Za-zÀ-ÿ ,'-]", 40),
                any_text(),
            ],
            by in 0..SEARCH_BY.len(),
        ) {
            search_query(&query, SEARCH_BY[by]);
        }

        #[test]
        fn template_render_and_placeholders_agree(
            text in prop_oneof![
                text_of("[a-z_{} ]", 40),
                "[a-z ]{0,5}\\{(patient_first_name|clinic_name|appointment_time|x)\\}[a-z }]{0,5}",
                any_text(),
            ],
            values in proptest::array::uniform6(any_text()),
        ) {
            template(&text, &template_values(values.each_ref().map(String::as_str)));
        }

        #[test]
        fn template_pieces_render_in_order(
            pieces in proptest::collection::vec((any_text(), 0..Placeholder::ALL.len() + 2), 0..6),
            values in proptest::array::uniform6(any_text()),
        ) {
            let pieces: Vec<(&str, usize)> = pieces.iter().map(|(t, s)| (t.as_str(), *s)).collect();
            template_pieces(&pieces, &template_values(values.each_ref().map(String::as_str)));
        }

        #[test]
        fn unknown_placeholder_errors_name_the_placeholder(
            before in any_text(),
            name in prop_oneof![any_text(), text_of("[a-z_]", 60)],
            after in any_text(),
        ) {
            template_unknown_placeholder(&before, &name, &after);
        }

        #[test]
        fn sms_segments_match_gsm7_and_ucs2_part_sizes(
            text in prop_oneof![
                text_of("[a-z €{]", 400),
                text_of("[a-zê🙂]", 200),
                any::<String>(),
            ]
        ) {
            sms_measure(&text);
        }

        #[test]
        fn inbound_payload_of_any_text_is_parsed_or_refused_cleanly(message in any_text()) {
            inbound_sms_message(&message);
        }

        #[test]
        fn inbound_payload_fields_parse_as_the_model_says(
            fields in proptest::array::uniform6(proptest::option::of(prop_oneof![
                phone_like(),
                any_text(),
            ])),
        ) {
            inbound_sms_fields(fields.each_ref().map(Option::as_deref));
        }
    }
}
