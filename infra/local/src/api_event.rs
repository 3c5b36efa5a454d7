//! Builds the API Gateway HTTP API (payload 2.0) event that AWS would send for a request,
//! and the SNS event for an inbound SMS, so that handlers run on the same parsing as on
//! Lambda.

use std::collections::BTreeMap;

use aws_lambda_events::sns::SnsEvent;
use base64::Engine;
use jiff::Timestamp;
use lambda_http::Request;
use serde_json::{Value, json};

/// An HTTP request as API Gateway passes it on.
#[derive(Debug, Clone, Default)]
pub struct HttpCall {
    pub method: String,
    pub path: String,
    pub raw_query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub route_key: String,
    pub path_parameters: BTreeMap<String, String>,
    /// The verified JWT claims, for routes behind the authorizer.
    pub claims: Option<BTreeMap<String, String>>,
}

impl HttpCall {
    pub fn event(&self, now: Timestamp) -> Value {
        let headers = join_by_name(
            self.headers
                .iter()
                .map(|(name, value)| (name.to_lowercase(), value.clone())),
        );
        let query = join_by_name(form_urlencoded::parse(self.raw_query.as_bytes()).into_owned());
        let (body, is_base64) = match std::str::from_utf8(&self.body) {
            Ok(text) => (text.to_owned(), false),
            Err(_) => (
                base64::engine::general_purpose::STANDARD.encode(&self.body),
                true,
            ),
        };
        let authorizer = self
            .claims
            .as_ref()
            .map(|claims| json!({"jwt": {"claims": claims, "scopes": null}}));
        let user_agent = headers.get("user-agent").cloned().unwrap_or_default();
        let mut event = json!({
            "version": "2.0",
            "routeKey": self.route_key,
            "rawPath": self.path,
            "rawQueryString": self.raw_query,
            "headers": headers,
            "requestContext": {
                "accountId": "000000000000",
                "apiId": "local",
                "domainName": "127.0.0.1",
                "domainPrefix": "local",
                "http": {
                    "method": self.method,
                    "path": self.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1",
                    "userAgent": user_agent
                },
                "requestId": format!("local-{}", now.as_nanosecond()),
                "routeKey": self.route_key,
                "stage": "$default",
                "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000").to_string(),
                "timeEpoch": now.as_millisecond()
            },
            "isBase64Encoded": is_base64
        });
        if !query.is_empty() {
            event["queryStringParameters"] = json!(query);
        }
        if !self.path_parameters.is_empty() {
            event["pathParameters"] = json!(self.path_parameters);
        }
        if !self.body.is_empty() {
            event["body"] = json!(body);
        }
        if let Some(authorizer) = authorizer {
            event["requestContext"]["authorizer"] = authorizer;
        }
        event
    }

    /// The request as the Lambda sees it, parsed by `lambda_http` from the event.
    pub fn request(&self, now: Timestamp) -> Result<Request, serde_json::Error> {
        lambda_http::request::from_str(&self.event(now).to_string())
    }
}

/// Values of repeated names joined with commas, as API Gateway passes headers and query
/// parameters in payload 2.0.
fn join_by_name(pairs: impl Iterator<Item = (String, String)>) -> BTreeMap<String, String> {
    let mut joined: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in pairs {
        joined
            .entry(name)
            .and_modify(|all| {
                all.push(',');
                all.push_str(&value);
            })
            .or_insert(value);
    }
    joined
}

/// The SNS event that delivers one inbound SMS (two-way SMS payload in `Sns.Message`).
pub fn inbound_sms_event(
    topic_arn: &str,
    payload: &Value,
    sns_message_id: &str,
    now: Timestamp,
) -> SnsEvent {
    let event = json!({
        "Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": format!("{topic_arn}:local-subscription"),
            "Sns": {
                "Type": "Notification",
                "MessageId": sns_message_id,
                "TopicArn": topic_arn,
                "Subject": null,
                "Message": payload.to_string(),
                "Timestamp": now.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                "SignatureVersion": "1",
                "Signature": "local",
                "SigningCertUrl": "https://127.0.0.1/local.pem",
                "UnsubscribeUrl": "https://127.0.0.1/unsubscribe",
                "MessageAttributes": {}
            }
        }]
    });
    serde_json::from_value(event).expect("the SNS event shape is fixed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_headers_and_query_parameters_are_joined_with_commas() {
        let call = HttpCall {
            method: "GET".into(),
            path: "/patients".into(),
            raw_query: "q=smith&by=name&q=jones".into(),
            headers: vec![
                ("Accept".into(), "text/html".into()),
                ("accept".into(), "application/json".into()),
            ],
            route_key: "GET /patients".into(),
            ..HttpCall::default()
        };
        let event = call.event(Timestamp::UNIX_EPOCH);
        assert_eq!(event["headers"]["accept"], "text/html,application/json");
        assert_eq!(event["queryStringParameters"]["q"], "smith,jones");
        assert_eq!(event["queryStringParameters"]["by"], "name");
    }
}
