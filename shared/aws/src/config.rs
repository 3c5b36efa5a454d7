//! The functions' settings, read once from the environment at start-up.

use std::collections::HashMap;

/// DynamoDB table names, as the template passes them to every function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    pub clinics: String,
    pub patients: String,
    pub patient_lookup: String,
    pub appointments: String,
    pub messages: String,
    pub unlock: String,
    pub audit: String,
    pub requests: String,
    pub imports: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub tables: Tables,
    pub attachments_bucket: String,
    /// The KMS key (id or ARN) for secure content and attachments.
    pub content_key_id: String,
    /// Where patients open secure messages: links are `<unlock_base_url>/m/<token>`.
    pub unlock_base_url: String,
    /// Path-style S3 addressing, needed by the local emulator; off on AWS.
    pub s3_force_path_style: bool,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {name} is not set (it names {what}; see infra/template.yaml)")]
    Missing {
        name: &'static str,
        what: &'static str,
    },
    #[error("environment variable {name} must be true or false")]
    NotABool { name: &'static str },
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_map(values: &HashMap<String, String>) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| values.get(name).cloned())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let required = |name: &'static str, what: &'static str| {
            lookup(name)
                .filter(|value| !value.trim().is_empty())
                .ok_or(ConfigError::Missing { name, what })
        };
        let s3_force_path_style = match lookup("S3_FORCE_PATH_STYLE").as_deref() {
            None | Some("") | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(ConfigError::NotABool {
                    name: "S3_FORCE_PATH_STYLE",
                });
            }
        };
        Ok(Config {
            tables: Tables {
                clinics: required("CLINICS_TABLE", "the clinics table")?,
                patients: required("PATIENTS_TABLE", "the patients table")?,
                patient_lookup: required("PATIENT_LOOKUP_TABLE", "the patient lookup table")?,
                appointments: required("APPOINTMENTS_TABLE", "the appointments table")?,
                messages: required("MESSAGES_TABLE", "the messages table")?,
                unlock: required("UNLOCK_TABLE", "the unlock table")?,
                audit: required("AUDIT_TABLE", "the audit table")?,
                requests: required("REQUESTS_TABLE", "the requests table")?,
                imports: required("IMPORTS_TABLE", "the imports table")?,
            },
            attachments_bucket: required("ATTACHMENTS_BUCKET", "the attachments bucket")?,
            content_key_id: required("CONTENT_KEY_ID", "the KMS key for secure content")?,
            unlock_base_url: required("UNLOCK_BASE_URL", "the base URL of unlock links")?
                .trim_end_matches('/')
                .to_owned(),
            s3_force_path_style,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete() -> HashMap<String, String> {
        [
            "CLINICS_TABLE",
            "PATIENTS_TABLE",
            "PATIENT_LOOKUP_TABLE",
            "APPOINTMENTS_TABLE",
            "MESSAGES_TABLE",
            "UNLOCK_TABLE",
            "AUDIT_TABLE",
            "REQUESTS_TABLE",
            "IMPORTS_TABLE",
            "ATTACHMENTS_BUCKET",
            "CONTENT_KEY_ID",
        ]
        .into_iter()
        .map(|name| (name.to_owned(), format!("{name}-value")))
        .chain([(
            "UNLOCK_BASE_URL".to_owned(),
            "https://unlock.example/".to_owned(),
        )])
        .collect()
    }

    #[test]
    fn complete_environment_gives_a_config() {
        let config = Config::from_map(&complete()).expect("config");
        assert_eq!(config.tables.messages, "MESSAGES_TABLE-value");
        assert_eq!(config.unlock_base_url, "https://unlock.example");
        assert!(!config.s3_force_path_style);
    }

    #[test]
    fn missing_variable_is_named_in_the_error() {
        let mut values = complete();
        values.remove("UNLOCK_TABLE");
        let error = Config::from_map(&values).expect_err("must fail");
        assert_eq!(
            error,
            ConfigError::Missing {
                name: "UNLOCK_TABLE",
                what: "the unlock table"
            }
        );
        assert!(error.to_string().contains("UNLOCK_TABLE"));
    }

    #[test]
    fn blank_variable_counts_as_missing() {
        let mut values = complete();
        values.insert("ATTACHMENTS_BUCKET".to_owned(), " ".to_owned());
        assert!(matches!(
            Config::from_map(&values),
            Err(ConfigError::Missing {
                name: "ATTACHMENTS_BUCKET",
                ..
            })
        ));
    }

    #[test]
    fn path_style_flag_must_be_a_bool() {
        let mut values = complete();
        values.insert("S3_FORCE_PATH_STYLE".to_owned(), "yes".to_owned());
        assert!(matches!(
            Config::from_map(&values),
            Err(ConfigError::NotABool { .. })
        ));
        values.insert("S3_FORCE_PATH_STYLE".to_owned(), "true".to_owned());
        assert!(
            Config::from_map(&values)
                .expect("config")
                .s3_force_path_style
        );
    }
}
