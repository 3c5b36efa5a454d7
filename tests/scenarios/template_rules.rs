//! The rules of the design that live in infra/template.yaml: least privilege per function,
//! encryption with the project key, TTL, public access blocked.

use serde_norway::Value;

fn template() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml");
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn resource<'a>(template: &'a Value, id: &str) -> &'a Value {
    template["Resources"]
        .get(id)
        .unwrap_or_else(|| panic!("{id} in the template"))
}

/// A subtree as text, tags included (`!GetAtt AppointmentsTable.Arn`), for "mentions" checks.
fn text(value: &Value) -> String {
    serde_norway::to_string(value).unwrap()
}

fn allowed_policy(template: &Value, function: &str) -> String {
    let statements = resource(template, function)["Properties"]["Policies"][0]["Statement"]
        .as_sequence()
        .unwrap_or_else(|| panic!("{function} has an inline policy"))
        .iter()
        .filter(|statement| statement["Effect"].as_str() == Some("Allow"))
        .cloned()
        .collect::<Vec<_>>();
    text(&Value::Sequence(statements))
}

#[test]
fn search_cannot_send_sms_write_data_or_touch_files() {
    let policy = allowed_policy(&template(), "SearchFunction");
    for action in [
        "sns:",
        "s3:",
        "kms:GenerateDataKey",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:Scan",
    ] {
        assert!(!policy.contains(action), "search may not use {action}");
    }
}

#[test]
fn secure_unlock_cannot_read_appointments_patients_or_send_sms() {
    let policy = allowed_policy(&template(), "SecureUnlockFunction");
    for forbidden in [
        "AppointmentsTable",
        "PatientsTable",
        "PatientLookupTable",
        "sns:",
        "dynamodb:Query",
        "dynamodb:Scan",
    ] {
        assert!(
            !policy.contains(forbidden),
            "secure-unlock may not reach {forbidden}"
        );
    }
}

#[test]
fn no_function_may_scan_and_only_send_and_inbound_reply_may_text() {
    let template = template();
    for function in [
        "SearchFunction",
        "SendFunction",
        "SecureUnlockFunction",
        "InboundReplyFunction",
    ] {
        let policy = allowed_policy(&template, function);
        assert!(!policy.contains("dynamodb:Scan"), "{function} may not Scan");
        assert!(
            !policy.contains("dynamodb:*") && !policy.contains("s3:*") && !policy.contains("kms:*")
        );
        let texts = policy.contains("sns:Publish");
        assert_eq!(
            texts,
            function == "SendFunction" || function == "InboundReplyFunction",
            "{function}"
        );
    }
}

/// Only SMS actions may have `Resource: '*'` (an SMS to a phone number has no ARN); data
/// actions always name their tables, bucket or key.
#[test]
fn only_sms_actions_are_allowed_on_every_resource() {
    let template = template();
    for function in [
        "SearchFunction",
        "SendFunction",
        "SecureUnlockFunction",
        "InboundReplyFunction",
    ] {
        let statements = &resource(&template, function)["Properties"]["Policies"][0]["Statement"];
        for statement in statements.as_sequence().unwrap() {
            if statement["Effect"].as_str() != Some("Allow")
                || statement["Resource"].as_str() != Some("*")
            {
                continue;
            }
            let actions = text(&statement["Action"]);
            for action in actions.lines() {
                let action = action.trim_start_matches("- ").trim();
                assert!(
                    action.starts_with("sns:"),
                    "{function} allows {action} on '*'"
                );
            }
        }
    }
}

#[test]
fn sms_publish_on_star_is_denied_for_topics() {
    let template = template();
    for function in ["SendFunction", "InboundReplyFunction"] {
        let statements = &resource(&template, function)["Properties"]["Policies"][0]["Statement"];
        let deny = statements
            .as_sequence()
            .unwrap()
            .iter()
            .find(|s| s["Effect"].as_str() == Some("Deny"))
            .unwrap_or_else(|| panic!("{function} denies topic publishing"));
        assert_eq!(deny["Action"].as_str(), Some("sns:Publish"));
        assert!(text(&deny["Resource"]).contains(":sns:*:*:*"));
    }
}

#[test]
fn every_table_is_encrypted_with_the_project_key_and_recoverable() {
    let template = template();
    let resources = template["Resources"].as_mapping().unwrap();
    let tables: Vec<_> = resources
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::DynamoDB::Table"))
        .collect();
    assert_eq!(tables.len(), 8);
    for (id, table) in tables {
        let properties = &table["Properties"];
        assert_eq!(
            properties["BillingMode"].as_str(),
            Some("PAY_PER_REQUEST"),
            "{id:?}"
        );
        assert_eq!(
            properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
            Some(true)
        );
        assert_eq!(
            properties["SSESpecification"]["SSEType"].as_str(),
            Some("KMS")
        );
        assert!(
            text(&properties["SSESpecification"]["KMSMasterKeyId"]).contains("ContentKey"),
            "{id:?}"
        );
    }
}

#[test]
fn attachments_are_private_and_encrypted_with_the_project_key() {
    let template = template();
    let bucket = &resource(&template, "AttachmentsBucket")["Properties"];
    let block = &bucket["PublicAccessBlockConfiguration"];
    for setting in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(block[setting].as_bool(), Some(true), "{setting}");
    }
    let rule = &bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0];
    assert_eq!(
        rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"].as_str(),
        Some("aws:kms")
    );
    assert!(text(&rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]).contains("ContentKey"));
    assert_eq!(rule["BucketKeyEnabled"].as_bool(), Some(true));
    let policy =
        text(&resource(&template, "AttachmentsBucketPolicy")["Properties"]["PolicyDocument"]);
    assert!(policy.contains("aws:SecureTransport"));
    assert!(policy.contains("s3:x-amz-server-side-encryption-aws-kms-key-id"));
    let expiry = &bucket["LifecycleConfiguration"]["Rules"][0];
    assert_eq!(expiry["Prefix"].as_str(), Some("attachments/"));
    assert!(
        expiry["ExpirationInDays"]
            .as_u64()
            .is_some_and(|days| (8..=9).contains(&days))
    );
}

#[test]
fn the_project_key_rotates() {
    let template = template();
    assert_eq!(
        resource(&template, "ContentKey")["Properties"]["EnableKeyRotation"].as_bool(),
        Some(true)
    );
}

#[test]
fn functions_run_on_arm64_al2023_built_with_cargo_lambda() {
    let template = template();
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"].as_str(), Some("provided.al2023"));
    assert_eq!(globals["Architectures"][0].as_str(), Some("arm64"));
    for function in [
        "SearchFunction",
        "SendFunction",
        "SecureUnlockFunction",
        "InboundReplyFunction",
    ] {
        let metadata = &resource(&template, function)["Metadata"];
        assert_eq!(
            metadata["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{function}"
        );
        let logs = &resource(&template, function)["Properties"]["LoggingConfig"];
        assert_eq!(logs["LogFormat"].as_str(), Some("JSON"));
    }
}

#[test]
fn inbound_failures_have_a_destination() {
    let template = template();
    let config = &resource(&template, "InboundReplyFunction")["Properties"]["EventInvokeConfig"];
    assert!(
        text(&config["DestinationConfig"]["OnFailure"]["Destination"])
            .contains("InboundReplyFailures")
    );
}
