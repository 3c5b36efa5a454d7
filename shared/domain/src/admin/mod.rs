//! The clinic's administration: the operator onboarding a clinic, its administrators
//! changing its settings and its library of templates and chats. Every change is audited.

mod library;
mod onboarding;
mod settings;

pub use library::{ChatForm, Library, LibraryRequest, TemplateForm, parse_if_match};
pub use onboarding::{IntegrationForm, NewClinicForm, Onboarded, Onboarding};
pub use settings::{ClinicSettings, SettingsForm};

use crate::clinic_profile::AutoReplyText;

/// What an administrator should know about a change that was made anyway.
fn warnings(replies: &[(&'static str, &AutoReplyText)]) -> Vec<String> {
    replies
        .iter()
        .filter(|(_, reply)| reply.names_no_phone)
        .map(|(field, _)| {
            format!(
                "{field} names no phone number: a patient who replies cannot be answered, so tell them which number to call"
            )
        })
        .collect()
}

#[cfg(test)]
mod tests;
