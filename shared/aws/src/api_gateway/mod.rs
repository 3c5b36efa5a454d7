//! API Gateway (HTTP API, payload 2.0) for the functions: who calls, what they send, and
//! the HTTP answer for a result or a `DomainError`.

pub mod caller;
pub mod request;
pub mod responses;
