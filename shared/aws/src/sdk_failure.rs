//! SDK failures as the domain's `DependencyError`.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use domain::error::DependencyError;

/// Turns an SDK failure into a `DependencyError` that keeps the error code only (AWS
/// messages can echo request values such as phone numbers).
pub(crate) fn sdk_failure<E, R>(
    service: &'static str,
    operation: &'static str,
) -> impl FnOnce(SdkError<E, R>) -> DependencyError
where
    E: ProvideErrorMetadata,
{
    move |error| {
        let code = match error.code() {
            Some(code) => code.to_owned(),
            None => match &error {
                SdkError::ConstructionFailure(_) => "ConstructionFailure",
                SdkError::TimeoutError(_) => "Timeout",
                SdkError::DispatchFailure(_) => "DispatchFailure",
                SdkError::ResponseError(_) => "ResponseError",
                _ => "ServiceError",
            }
            .to_owned(),
        };
        DependencyError::new(service, operation, code)
    }
}
