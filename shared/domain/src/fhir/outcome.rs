//! FHIR's `OperationOutcome`: what the FHIR routes answer about a resource, an entry or a
//! request. Issues name the element (a FHIRPath expression) and never its value.

use serde::{Deserialize, Serialize};

/// How serious an issue is (FHIR's `IssueSeverity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Information,
}

/// What kind of issue it is (a subset of FHIR's `IssueType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IssueCode {
    /// Not JSON, or not the resource's structure.
    Structure,
    /// A required element is missing.
    Required,
    /// An element's value breaks a rule.
    Value,
    /// A reference to something we do not have.
    NotFound,
    /// A resource type or interaction we do not take.
    NotSupported,
    /// Too many entries, or a request too large.
    TooCostly,
    /// Something the data cannot be used for (no phone: no SMS).
    Incomplete,
    /// The caller may not do this.
    Forbidden,
    /// No valid sign-in.
    Security,
    /// Another request changed it first.
    Conflict,
    /// A service we depend on failed.
    Transient,
    /// The request reached nothing we serve.
    Processing,
}

/// One issue of an outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub severity: Severity,
    pub code: IssueCode,
    /// What is wrong and how to fix it; never a value from the resource.
    pub diagnostics: String,
    /// The element it is about, e.g. `Patient.identifier[0]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expression: Vec<String>,
}

impl Issue {
    pub fn error(code: IssueCode, expression: &str, diagnostics: impl Into<String>) -> Issue {
        Issue {
            severity: Severity::Error,
            code,
            diagnostics: diagnostics.into(),
            expression: if expression.is_empty() {
                Vec::new()
            } else {
                vec![expression.to_owned()]
            },
        }
    }

    pub fn information(expression: &str, diagnostics: impl Into<String>) -> Issue {
        Issue {
            severity: Severity::Information,
            ..Issue::error(IssueCode::Incomplete, expression, diagnostics)
        }
    }
}

/// An `OperationOutcome` resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationOutcome {
    resource_type: &'static str,
    pub issue: Vec<Issue>,
}

impl OperationOutcome {
    pub fn of(issues: Vec<Issue>) -> OperationOutcome {
        OperationOutcome {
            resource_type: "OperationOutcome",
            issue: issues,
        }
    }

    /// Whether any issue is an error (the request or entry was refused).
    pub fn is_error(&self) -> bool {
        self.issue
            .iter()
            .any(|issue| issue.severity == Severity::Error)
    }
}
