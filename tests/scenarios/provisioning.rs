//! The local stack is made from infra/template.yaml: tables, indexes, TTL and settings as
//! the template says.

use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveStatus};
use integration_tests::{
    TestStack,
    fixtures::scene::scene,
    sentinels::{MESSAGE_TEXT, PHN},
};
use jiff::Timestamp;
use local_stack::template::Template;

#[tokio::test]
async fn every_table_of_the_template_exists_with_its_keys_indexes_and_ttl() {
    let test = TestStack::new().await;
    let template = Template::load_default().unwrap();
    assert!(
        template.tables.len() >= 8,
        "the template defines the data tables"
    );
    let dynamodb = &test.stack.clients.dynamodb();
    for table in &template.tables {
        let name = &test.stack.provisioned.refs[&table.logical_id];
        let description = dynamodb
            .describe_table()
            .table_name(name)
            .send()
            .await
            .unwrap()
            .table
            .unwrap();
        let keys: Vec<_> = description
            .key_schema()
            .iter()
            .map(|k| {
                (
                    k.attribute_name().to_owned(),
                    k.key_type().as_str().to_owned(),
                )
            })
            .collect();
        let expected: Vec<_> = table
            .key_schema
            .iter()
            .map(|k| (k.attribute.clone(), k.key_type.clone()))
            .collect();
        assert_eq!(keys, expected, "key schema of {}", table.logical_id);
        let mut indexes: Vec<_> = description
            .global_secondary_indexes()
            .iter()
            .filter_map(|i| i.index_name().map(str::to_owned))
            .collect();
        indexes.sort();
        let mut expected_indexes: Vec<_> = table.indexes.iter().map(|i| i.name.clone()).collect();
        expected_indexes.sort();
        assert_eq!(indexes, expected_indexes, "indexes of {}", table.logical_id);

        let ttl = dynamodb
            .describe_time_to_live()
            .table_name(name)
            .send()
            .await
            .unwrap();
        let ttl = ttl.time_to_live_description.unwrap();
        match &table.ttl_attribute {
            Some(attribute) => {
                assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
                assert_eq!(ttl.attribute_name(), Some(attribute.as_str()));
            }
            None => assert_ne!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled)),
        }
    }
}

/// Each table's TTL attribute, as the template names it, is the one the code writes: the
/// items a secure send stores carry it as epoch seconds (its unlock state, the secure
/// content, at the message's expiry), so that DynamoDB does delete them; the message's log
/// entry has no TTL and lasts.
#[tokio::test]
async fn the_ttl_attribute_of_each_table_is_the_one_the_code_writes() {
    let s = scene(901, Some(PHN)).await;
    let body = format!(r#"{{"kind":"secure","text":"{MESSAGE_TEXT}"}}"#);
    let (status, receipt) = s.send("ttl-1", &body).await;
    assert_eq!(status, 201, "{receipt}");
    let expires: Timestamp = receipt["expires_at"].as_str().unwrap().parse().unwrap();
    let template = Template::load_default().unwrap();
    let mut checked = Vec::new();
    for table in &template.tables {
        let Some(attribute) = &table.ttl_attribute else {
            continue;
        };
        // Tests may Scan: this reads back everything this test's stack stored.
        let items = s
            .test
            .stack
            .clients
            .dynamodb()
            .scan()
            .table_name(&s.test.stack.provisioned.refs[&table.logical_id])
            .send()
            .await
            .unwrap()
            .items
            .unwrap_or_default();
        assert!(
            !items.is_empty(),
            "a secure send writes to {}",
            table.logical_id
        );
        for item in items {
            let Some(AttributeValue::N(seconds)) = item.get(attribute) else {
                panic!(
                    "an item of {} without {attribute} as a Number",
                    table.logical_id
                );
            };
            let seconds: i64 = seconds.parse().expect("epoch seconds");
            assert!(
                seconds > Timestamp::now().as_second(),
                "{}",
                table.logical_id
            );
            if table.logical_id == "UnlockTable" {
                assert_eq!(seconds, expires.as_second(), "{}", table.logical_id);
            }
        }
        checked.push(table.logical_id.as_str());
    }
    checked.sort();
    assert_eq!(checked, ["RequestsTable", "UnlockTable"]);
}

#[tokio::test]
async fn functions_settings_come_from_the_template_environment() {
    let test = TestStack::new().await;
    let config = &test.stack.config;
    let refs = &test.stack.provisioned.refs;
    assert_eq!(config.tables.messages, refs["MessagesTable"]);
    assert_eq!(config.tables.clinics, refs["ClinicsTable"]);
    assert_eq!(config.tables.unlock, refs["UnlockTable"]);
    assert_eq!(config.attachments_bucket, refs["AttachmentsBucket"]);
    assert_eq!(
        config.content_key_id,
        test.stack.provisioned.arns["ContentKey"]
    );
    assert_eq!(config.unlock_base_url, integration_tests::UNLOCK_BASE_URL);
}

#[test]
fn the_template_routes_dashboard_calls_behind_the_authorizer_and_unlock_pages_in_public() {
    let template = Template::load_default().unwrap();
    let routes = |binary: &str| {
        let mut routes: Vec<_> = template
            .function(binary)
            .unwrap_or_else(|| panic!("{binary} in the template"))
            .routes
            .iter()
            .map(|r| (r.key(), r.public))
            .collect();
        routes.sort();
        routes
    };
    assert_eq!(
        routes("search"),
        [
            ("GET /appointments".to_owned(), false),
            ("GET /appointments/{appointmentId}".to_owned(), false),
            ("GET /chats".to_owned(), false),
            ("GET /messages".to_owned(), false),
            ("GET /patients".to_owned(), false),
            ("GET /templates".to_owned(), false),
        ]
    );
    assert_eq!(
        routes("send"),
        [
            (
                "POST /appointments/{appointmentId}/clear-unclear".to_owned(),
                false
            ),
            (
                "POST /appointments/{appointmentId}/messages".to_owned(),
                false
            ),
            (
                "POST /appointments/{appointmentId}/messages/preview".to_owned(),
                false
            ),
            ("POST /attachments".to_owned(), false),
            ("POST /messages/{messageId}/clear-lock".to_owned(), false),
            ("POST /messages/{messageId}/resend".to_owned(), false),
            ("POST /messages/{messageId}/withdraw".to_owned(), false),
        ]
    );
    assert_eq!(
        routes("admin"),
        [
            ("DELETE /chats/{chatId}".to_owned(), false),
            ("DELETE /templates/{templateId}".to_owned(), false),
            ("GET /audit".to_owned(), false),
            ("GET /clinic".to_owned(), false),
            ("PATCH /clinic".to_owned(), false),
            ("POST /chats".to_owned(), false),
            ("POST /clinics".to_owned(), false),
            ("POST /templates".to_owned(), false),
            ("PUT /chats/{chatId}".to_owned(), false),
            ("PUT /clinics/{clinicId}/integration".to_owned(), false),
            ("PUT /templates/{templateId}".to_owned(), false),
        ]
    );
    assert_eq!(
        routes("secure-unlock"),
        [
            ("GET /m/{token}".to_owned(), true),
            ("POST /m/{token}".to_owned(), true)
        ]
    );
    let inbound = template.function("inbound-reply").expect("inbound-reply");
    assert!(inbound.routes.is_empty());
    assert_eq!(inbound.topics, ["InboundSmsTopic"]);
    // Delivery receipts come from CloudWatch Logs and the sweeper from a schedule: no route.
    for binary in ["delivery-status", "sweeper"] {
        let function = template
            .function(binary)
            .unwrap_or_else(|| panic!("{binary} in the template"));
        assert!(function.routes.is_empty(), "{binary}");
        assert!(function.topics.is_empty(), "{binary}");
    }
}
