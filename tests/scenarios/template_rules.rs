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
fn search_writes_nothing_but_the_audit_trail_and_never_texts_or_touches_files() {
    let template = template();
    let policy = allowed_policy(&template, "SearchFunction");
    for action in [
        "sns:",
        "s3:",
        "kms:GenerateDataKey",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:Scan",
    ] {
        assert!(!policy.contains(action), "search may not use {action}");
    }
    // Its reads of patient data are audited: it may add audit entries, and write nothing else.
    for action in ["dynamodb:PutItem", "dynamodb:BatchWriteItem"] {
        let statements = statements_granting(&template, "SearchFunction", action);
        assert!(
            !statements.is_empty(),
            "search records its reads with {action}"
        );
        for statement in statements {
            let resources: Vec<String> =
                items(&serde_norway::from_str::<Value>(&statement).unwrap()["Resource"])
                    .into_iter()
                    .map(text)
                    .collect();
            assert_eq!(
                resources.iter().map(|r| r.trim()).collect::<Vec<_>>(),
                ["!GetAtt AuditTable.Arn"],
                "search may {action} the audit table only"
            );
        }
    }
}

#[test]
fn admin_reaches_clinic_records_and_the_audit_trail_only_and_never_rewrites_the_trail() {
    let template = template();
    let needed = [
        ("dynamodb:GetItem", "ClinicsTable"),
        ("dynamodb:PutItem", "ClinicsTable"),
        ("dynamodb:UpdateItem", "ClinicsTable"),
        ("dynamodb:DeleteItem", "ClinicsTable"),
        ("dynamodb:PutItem", "AuditTable"),
        ("dynamodb:Query", "AuditTable"),
    ];
    let missing: Vec<_> = needed
        .iter()
        .filter(|(action, table)| !grants(&template, "AdminFunction", action, table))
        .collect();
    assert!(missing.is_empty(), "admin may not: {missing:?}");
    let policy = allowed_policy(&template, "AdminFunction");
    for never in [
        "sns:",
        "s3:",
        "dynamodb:Scan",
        "PatientsTable",
        "PatientLookupTable",
        "AppointmentsTable",
        "MessagesTable",
        "UnlockTable",
        "RequestsTable",
        "ImportsTable",
    ] {
        assert!(!policy.contains(never), "admin must not touch {never}");
    }
    for action in [
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
    ] {
        assert!(
            !grants(&template, "AdminFunction", action, "AuditTable"),
            "the audit trail is append-only: no {action}"
        );
    }
    for statement in statements_granting(&template, "AdminFunction", "kms:Decrypt") {
        assert!(statement.contains("dynamodb.${AWS::Region}"), "{statement}");
    }
    assert!(
        statements_granting(&template, "AdminFunction", "kms:GenerateDataKey").is_empty(),
        "DynamoDB's table key needs Decrypt only"
    );
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
        "FhirSyncFunction",
        "FhirImportFunction",
        "AdminFunction",
        "DeliveryStatusFunction",
        "SweeperFunction",
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

/// SMS actions are the only ones that may apply to every resource (an SMS to a phone number
/// has no ARN).
const SMS_ACTIONS: [&str; 2] = ["sns:Publish", "sns:CheckIfPhoneNumberIsOptedOut"];

/// A scalar or a list, as the items it holds.
fn items(value: &Value) -> Vec<&Value> {
    match value {
        Value::Sequence(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        one => vec![one],
    }
}

/// Where a function's policies give a data action (anything but SMS) more than the
/// template's own tables, indexes, bucket prefix and key: `Resource: '*'` (alone or in a
/// list), an ARN pattern that names no resource of the template, a wildcard action,
/// `NotAction`/`NotResource`, a managed policy or SAM policy template, or a role of its own.
fn data_actions_beyond_own_resources(template: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let resources = template["Resources"].as_mapping().unwrap();
    let logical_ids: Vec<&str> = resources.keys().filter_map(Value::as_str).collect();
    for (id, function) in resources {
        if function["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let id = id.as_str().unwrap();
        let properties = &function["Properties"];
        if !properties["Role"].is_null() {
            found.push(format!("{id} brings its own role"));
        }
        for policy in items(&properties["Policies"]) {
            let Some(statements) = policy["Statement"].as_sequence() else {
                found.push(format!("{id} uses a managed policy or policy template"));
                continue;
            };
            for statement in statements {
                if statement["Effect"].as_str() != Some("Allow") {
                    continue;
                }
                if !statement["NotAction"].is_null() || !statement["NotResource"].is_null() {
                    found.push(format!("{id} allows NotAction or NotResource"));
                }
                let actions: Vec<&str> = items(&statement["Action"])
                    .into_iter()
                    .filter_map(Value::as_str)
                    .collect();
                let data: Vec<&str> = actions
                    .iter()
                    .copied()
                    .filter(|action| !SMS_ACTIONS.contains(action))
                    .collect();
                if data.is_empty() {
                    continue;
                }
                if let Some(action) = data.iter().find(|action| action.contains('*')) {
                    found.push(format!("{id} allows the wildcard action {action}"));
                }
                for resource in items(&statement["Resource"]) {
                    let shown = text(resource);
                    // `${Bucket.Arn}/attachments/*` and `${Table.Arn}/index/*` narrow one
                    // resource of the template; a `*` anywhere before it does not.
                    let own = logical_ids.iter().find_map(|logical_id| {
                        let reference = format!("{logical_id}.Arn");
                        shown.find(&reference).map(|at| at + reference.len())
                    });
                    match own {
                        Some(after) if !shown[..after].contains('*') => {}
                        _ => found.push(format!(
                            "{id} allows {data:?} on {}",
                            shown.trim().replace('\n', " ")
                        )),
                    }
                }
            }
        }
    }
    found
}

#[test]
fn data_actions_apply_only_to_the_templates_own_resources() {
    assert_eq!(
        data_actions_beyond_own_resources(&template()),
        [] as [String; 0]
    );
}

/// The statement of `SendFunction`'s policy with this `Sid`.
fn send_statement<'a>(template: &'a mut Value, sid: &str) -> &'a mut Value {
    template["Resources"]["SendFunction"]["Properties"]["Policies"][0]["Statement"]
        .as_sequence_mut()
        .unwrap()
        .iter_mut()
        .find(|s| s["Sid"].as_str() == Some(sid))
        .unwrap_or_else(|| panic!("{sid} in SendFunction's policy"))
}

/// The check above fails on each way a policy can open up: the same template, broken once.
#[test]
fn the_resource_check_catches_every_opening() {
    let star = Value::String("*".into());
    type Break = fn(&mut Value, Value);
    let breaks: [(&str, &str, Break); 6] = [
        ("Attachments", "Resource: '*'", |s, star| {
            s["Resource"] = star
        }),
        ("RecordUnlockAndAudit", "'*' in a list", |s, star| {
            s["Resource"].as_sequence_mut().unwrap().push(star)
        }),
        ("ReleaseIdempotencyKeys", "an ARN pattern", |s, _| {
            s["Resource"] = Value::String("arn:aws:dynamodb:*:*:table/*".into())
        }),
        ("UseContentKey", "a wildcard action", |s, _| {
            s["Action"] = Value::String("kms:*".into())
        }),
        ("SendSms", "a data action beside SMS", |s, _| {
            s["Action"]
                .as_sequence_mut()
                .unwrap()
                .push("s3:GetObject".into())
        }),
        ("Attachments", "NotResource", |s, star| {
            s.as_mapping_mut().unwrap().remove("Resource");
            s["NotResource"] = star;
        }),
    ];
    for (sid, what, broken) in breaks {
        let mut template = template();
        broken(send_statement(&mut template, sid), star.clone());
        assert!(
            !data_actions_beyond_own_resources(&template).is_empty(),
            "{what} is not caught"
        );
    }
    let mut template = template();
    template["Resources"]["SearchFunction"]["Properties"]["Policies"]
        .as_sequence_mut()
        .unwrap()
        .push(Value::String("AmazonDynamoDBFullAccess".into()));
    assert!(!data_actions_beyond_own_resources(&template).is_empty());
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
    assert_eq!(tables.len(), 9);
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
    assert_eq!(
        text(&rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]).trim(),
        "!GetAtt ContentKey.Arn",
        "the project key, the one the functions get as CONTENT_KEY_ID"
    );
    for function in ["SendFunction", "SecureUnlockFunction"] {
        let environment = &resource(&template, function)["Properties"]["Environment"];
        let global = &template["Globals"]["Function"]["Environment"];
        let key = [environment, global]
            .into_iter()
            .map(|e| &e["Variables"]["CONTENT_KEY_ID"])
            .find(|v| !v.is_null())
            .unwrap_or_else(|| panic!("{function} gets CONTENT_KEY_ID"));
        assert_eq!(text(key).trim(), "!GetAtt ContentKey.Arn", "{function}");
    }
    assert_eq!(rule["BucketKeyEnabled"].as_bool(), Some(true));
    let document = &resource(&template, "AttachmentsBucketPolicy")["Properties"]["PolicyDocument"];
    let statements = document["Statement"].as_sequence().unwrap();
    assert!(
        statements
            .iter()
            .all(|s| s["Effect"].as_str() == Some("Deny")),
        "the bucket policy only denies: it grants no one, public or not, anything"
    );
    let key_condition = statements
        .iter()
        .find_map(|s| {
            s["Condition"]["StringNotEquals"].get("s3:x-amz-server-side-encryption-aws-kms-key-id")
        })
        .expect("uploads under another key are denied");
    assert_eq!(text(key_condition).trim(), "!GetAtt ContentKey.Arn");
    let policy = text(document);
    assert!(policy.contains("aws:SecureTransport"));
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
        "FhirSyncFunction",
        "FhirImportFunction",
        "AdminFunction",
        "DeliveryStatusFunction",
        "SweeperFunction",
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

/// Whether `function`'s policy allows `action` on the table `table` itself.
fn grants(template: &Value, function: &str, action: &str, table: &str) -> bool {
    let wanted = format!("!GetAtt {table}.Arn");
    allows(template, function, action)
        .into_iter()
        .any(|statement| {
            items(&statement["Resource"])
                .iter()
                .any(|r| text(r).trim() == wanted)
        })
}

/// The Allow statements of `function` that grant `action`.
fn allows<'a>(template: &'a Value, function: &str, action: &str) -> Vec<&'a Value> {
    resource(template, function)["Properties"]["Policies"][0]["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter(|statement| statement["Effect"].as_str() == Some("Allow"))
        .filter(|statement| {
            items(&statement["Action"])
                .iter()
                .any(|a| a.as_str() == Some(action))
        })
        .collect()
}

/// moto does not check IAM: what the send adapters call on each table is listed here, so
/// that a policy that would refuse a real send fails a test.
#[test]
fn send_may_do_on_each_table_what_a_send_does() {
    let template = template();
    let needed = [
        ("dynamodb:GetItem", "ClinicsTable"),
        ("dynamodb:BatchGetItem", "ClinicsTable"),
        ("dynamodb:ConditionCheckItem", "ClinicsTable"),
        ("dynamodb:GetItem", "PatientsTable"),
        ("dynamodb:ConditionCheckItem", "PatientsTable"),
        ("dynamodb:BatchGetItem", "AppointmentsTable"),
        // Clearing Unclear: the update, and a read when there was nothing to clear.
        ("dynamodb:UpdateItem", "AppointmentsTable"),
        ("dynamodb:GetItem", "AppointmentsTable"),
        ("dynamodb:BatchGetItem", "RequestsTable"),
        ("dynamodb:GetItem", "RequestsTable"),
        ("dynamodb:PutItem", "RequestsTable"),
        ("dynamodb:UpdateItem", "RequestsTable"),
        ("dynamodb:DeleteItem", "RequestsTable"),
        ("dynamodb:PutItem", "MessagesTable"),
        ("dynamodb:UpdateItem", "MessagesTable"),
        ("dynamodb:PutItem", "UnlockTable"),
        ("dynamodb:PutItem", "AuditTable"),
        // Clearing a secure message's lock: its link, then its counters.
        ("dynamodb:GetItem", "MessagesTable"),
        ("dynamodb:GetItem", "UnlockTable"),
        ("dynamodb:UpdateItem", "UnlockTable"),
        // A secure message whose SMS failed: its content.
        ("dynamodb:DeleteItem", "UnlockTable"),
    ];
    let missing: Vec<_> = needed
        .iter()
        .filter(|(action, table)| !grants(&template, "SendFunction", action, table))
        .collect();
    assert!(missing.is_empty(), "send may not: {missing:?}");
    // And nothing a send never does.
    assert!(!grants(
        &template,
        "SendFunction",
        "dynamodb:PutItem",
        "PatientsTable"
    ));
    assert!(!allowed_policy(&template, "SendFunction").contains("PatientLookupTable"));
    // A withdrawn message's files, every version, under the attachments prefix only.
    let deletes = allows(&template, "SendFunction", "s3:DeleteObjectVersion");
    assert_eq!(deletes.len(), 1);
    assert_eq!(
        text(&deletes[0]["Resource"]).trim(),
        "!Sub ${AttachmentsBucket.Arn}/attachments/*"
    );
    let listing = allows(&template, "SendFunction", "s3:ListBucketVersions");
    assert_eq!(listing.len(), 1);
    assert_eq!(
        listing[0]["Condition"]["StringLike"]["s3:prefix"].as_str(),
        Some("attachments/*")
    );
}

#[test]
fn inbound_reply_may_do_on_each_table_what_a_reply_does_and_no_more() {
    let template = template();
    let needed = [
        ("dynamodb:GetItem", "ClinicsTable"),
        ("dynamodb:PutItem", "ClinicsTable"),
        ("dynamodb:DeleteItem", "ClinicsTable"),
        // The day's auto-reply to a number is taken on an item of the clinics table.
        ("dynamodb:UpdateItem", "ClinicsTable"),
        ("dynamodb:UpdateItem", "AppointmentsTable"),
        ("dynamodb:GetItem", "RequestsTable"),
        ("dynamodb:PutItem", "RequestsTable"),
        ("dynamodb:UpdateItem", "RequestsTable"),
        ("dynamodb:PutItem", "AuditTable"),
    ];
    let missing: Vec<_> = needed
        .iter()
        .filter(|(action, table)| !grants(&template, "InboundReplyFunction", action, table))
        .collect();
    assert!(missing.is_empty(), "inbound-reply may not: {missing:?}");
    assert!(
        !grants(
            &template,
            "InboundReplyFunction",
            "dynamodb:UpdateItem",
            "MessagesTable"
        ),
        "a reply never changes a message's log entry"
    );
    let policy = allowed_policy(&template, "InboundReplyFunction");
    for never in ["UnlockTable", "PatientsTable", "PatientLookupTable", "s3:"] {
        assert!(
            !policy.contains(never),
            "inbound-reply must not touch {never}"
        );
    }
}

/// The Allow statements of `function` that grant `action`, as text.
fn statements_granting(template: &Value, function: &str, action: &str) -> Vec<String> {
    allows(template, function, action)
        .into_iter()
        .map(text)
        .collect()
}

/// What the EMR's writes need on each table, for fhir-sync and fhir-import alike.
const EMR_WRITES: [(&str, &str); 9] = [
    ("dynamodb:BatchGetItem", "PatientsTable"),
    ("dynamodb:PutItem", "PatientsTable"),
    ("dynamodb:BatchGetItem", "AppointmentsTable"),
    ("dynamodb:PutItem", "AppointmentsTable"),
    ("dynamodb:Query", "PatientLookupTable"),
    ("dynamodb:PutItem", "PatientLookupTable"),
    ("dynamodb:DeleteItem", "PatientLookupTable"),
    ("dynamodb:GetItem", "ImportsTable"),
    ("dynamodb:PutItem", "ImportsTable"),
];

#[test]
fn fhir_sync_may_write_patients_keys_appointments_and_imports_and_nothing_else() {
    let template = template();
    let needed = [("dynamodb:GetItem", "ClinicsTable")];
    let missing: Vec<_> = EMR_WRITES
        .iter()
        .chain(&needed)
        .filter(|(action, table)| !grants(&template, "FhirSyncFunction", action, table))
        .collect();
    assert!(missing.is_empty(), "fhir-sync may not: {missing:?}");
    let policy = allowed_policy(&template, "FhirSyncFunction");
    for never in [
        "sns:",
        "s3:GetObject",
        "MessagesTable",
        "UnlockTable",
        "RequestsTable",
        "AuditTable",
    ] {
        assert!(!policy.contains(never), "fhir-sync must not touch {never}");
    }
    assert!(!grants(
        &template,
        "FhirSyncFunction",
        "dynamodb:PutItem",
        "ClinicsTable"
    ));
    // It presigns import uploads: PUT under imports/ only, the data key only through S3.
    let puts = statements_granting(&template, "FhirSyncFunction", "s3:PutObject");
    assert_eq!(puts.len(), 1);
    assert!(
        puts[0].contains("${AttachmentsBucket.Arn}/imports/*"),
        "{}",
        puts[0]
    );
    for statement in statements_granting(&template, "FhirSyncFunction", "kms:GenerateDataKey") {
        assert!(statement.contains("s3.${AWS::Region}"), "{statement}");
    }
    for statement in statements_granting(&template, "FhirSyncFunction", "kms:Decrypt") {
        assert!(statement.contains("dynamodb.${AWS::Region}"), "{statement}");
    }
}

#[test]
fn fhir_import_reads_import_files_and_writes_what_a_sync_writes_and_nothing_else() {
    let template = template();
    let missing: Vec<_> = EMR_WRITES
        .iter()
        .filter(|(action, table)| !grants(&template, "FhirImportFunction", action, table))
        .collect();
    assert!(missing.is_empty(), "fhir-import may not: {missing:?}");
    let policy = allowed_policy(&template, "FhirImportFunction");
    for never in [
        "sns:",
        "s3:PutObject",
        "ClinicsTable",
        "MessagesTable",
        "UnlockTable",
        "RequestsTable",
        "AuditTable",
    ] {
        assert!(
            !policy.contains(never),
            "fhir-import must not touch {never}"
        );
    }
    let reads = statements_granting(&template, "FhirImportFunction", "s3:GetObject");
    assert_eq!(reads.len(), 1);
    assert!(
        reads[0].contains("${AttachmentsBucket.Arn}/imports/*"),
        "{}",
        reads[0]
    );
    // Every use of the content key goes through a service: never a plain decrypt.
    for action in ["kms:Decrypt", "kms:GenerateDataKey"] {
        for statement in statements_granting(&template, "FhirImportFunction", action) {
            assert!(statement.contains("kms:ViaService"), "{statement}");
        }
    }
}

#[test]
fn files_created_under_imports_start_fhir_import_and_expire_within_a_week() {
    let template = template();
    let local = local_stack::template::Template::load_default().unwrap();
    let import = local
        .function("fhir-import")
        .expect("a fhir-import function");
    let key = domain::emr_sync::import::import_object_key(
        &domain::ids::ClinicId::parse("c1").unwrap(),
        &domain::ids::ImportId::from_random([1; 16]),
    );
    assert_eq!(import.created_object_prefixes, ["imports/"]);
    assert!(key.starts_with(&import.created_object_prefixes[0]));
    let bucket = &resource(&template, "AttachmentsBucket")["Properties"];
    assert_eq!(
        bucket["NotificationConfiguration"]["EventBridgeConfiguration"]["EventBridgeEnabled"]
            .as_bool(),
        Some(true)
    );
    let rules = bucket["LifecycleConfiguration"]["Rules"]
        .as_sequence()
        .unwrap();
    let expiry = rules
        .iter()
        .find(|rule| rule["Prefix"].as_str() == Some("imports/"))
        .expect("import files expire");
    assert!(expiry["ExpirationInDays"].as_u64().unwrap() <= 7);
    let function = &resource(&template, "FhirImportFunction")["Properties"];
    assert_eq!(function["Timeout"].as_u64(), Some(900));
}

#[test]
fn the_user_pool_has_a_group_for_every_role() {
    let template = template();
    let mut groups: Vec<&str> = template["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::Cognito::UserPoolGroup"))
        .map(|group| group["Properties"]["GroupName"].as_str().unwrap())
        .collect();
    groups.sort();
    let mut roles: Vec<&str> = domain::caller::Role::ALL
        .into_iter()
        .map(|role| role.group())
        .collect();
    roles.sort();
    assert_eq!(groups, roles);
}

#[test]
fn browsers_on_the_dashboards_origins_alone_may_call_the_api() {
    let template = template();
    let cors = &resource(&template, "HttpApi")["Properties"]["CorsConfiguration"];
    assert_eq!(text(&cors["AllowOrigins"]).trim(), "!Ref DashboardOrigins");
    let list = |name: &str| -> Vec<String> {
        items(&cors[name])
            .iter()
            .map(|value| value.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        list("AllowHeaders"),
        [
            "authorization",
            "content-type",
            "idempotency-key",
            "if-match"
        ]
    );
    assert_eq!(list("ExposeHeaders"), ["etag"]);
    assert_eq!(
        list("AllowMethods"),
        ["GET", "POST", "PUT", "PATCH", "DELETE"]
    );
    let origins = &template["Parameters"]["DashboardOrigins"];
    assert!(
        origins.get("Default").is_none(),
        "no origin is allowed by default"
    );
    assert!(
        origins["AllowedPattern"]
            .as_str()
            .unwrap()
            .starts_with("^https://")
    );
}

/// The `dynamodb:Attributes` a statement limits its writes to.
fn limited_attributes(statement: &Value) -> Vec<String> {
    items(&statement["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"])
        .iter()
        .map(|name| text(name).trim().to_owned())
        .collect()
}

/// The only grant of `action` in `function`'s policy.
fn only_grant<'a>(template: &'a Value, function: &str, action: &str) -> &'a Value {
    let statements = allows(template, function, action);
    assert_eq!(
        statements.len(),
        1,
        "{function}: one statement grants {action}"
    );
    statements[0]
}

#[test]
fn delivery_status_may_find_a_message_and_write_its_delivery_only() {
    let template = template();
    let function = "DeliveryStatusFunction";
    let query = only_grant(&template, function, "dynamodb:Query");
    assert_eq!(
        text(&query["Resource"]).trim(),
        "!Sub ${MessagesTable.Arn}/index/by_provider_message"
    );
    let update = only_grant(&template, function, "dynamodb:UpdateItem");
    assert_eq!(
        text(&update["Resource"]).trim(),
        "!GetAtt MessagesTable.Arn"
    );
    assert_eq!(
        limited_attributes(update),
        [
            "pk",
            "sk",
            "provider_message_id",
            "delivery",
            "delivery_at_ms"
        ]
    );
    let policy = allowed_policy(&template, function);
    for never in [
        "UnlockTable",
        "PatientsTable",
        "AppointmentsTable",
        "RequestsTable",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "s3:",
        "sns:",
    ] {
        assert!(!policy.contains(never), "delivery-status must not {never}");
    }
    // A data key only for its encrypted failure queue, through SQS.
    let data_key = only_grant(&template, function, "kms:GenerateDataKey");
    assert_eq!(
        text(&data_key["Condition"]["StringEquals"]["kms:ViaService"]).trim(),
        "!Sub sqs.${AWS::Region}.amazonaws.com"
    );
    let config = &resource(&template, function)["Properties"]["EventInvokeConfig"];
    assert!(
        text(&config["DestinationConfig"]["OnFailure"]["Destination"])
            .contains("DeliveryStatusFailures")
    );
}

#[test]
fn sms_delivery_logs_are_the_groups_sns_writes_encrypted_and_subscribed() {
    let template = template();
    for (group, suffix) in [
        ("SmsDeliveryLogs", "DirectPublishToPhoneNumber"),
        (
            "SmsDeliveryFailureLogs",
            "DirectPublishToPhoneNumber/Failure",
        ),
    ] {
        let properties = &resource(&template, group)["Properties"];
        assert_eq!(
            text(&properties["LogGroupName"]).trim(),
            format!("!Sub sns/${{AWS::Region}}/${{AWS::AccountId}}/{suffix}")
        );
        assert_eq!(
            text(&properties["KmsKeyId"]).trim(),
            "!GetAtt ContentKey.Arn"
        );
        assert!(
            !properties["RetentionInDays"].is_null(),
            "{group} is kept for a time"
        );
        let subscribed = resource(&template, "DeliveryStatusFunction")["Properties"]["Events"]
            .as_mapping()
            .unwrap()
            .values()
            .any(|event| {
                event["Type"].as_str() == Some("CloudWatchLogs")
                    && text(&event["Properties"]["LogGroupName"]).trim() == format!("!Ref {group}")
            });
        assert!(subscribed, "{group} is delivered to delivery-status");
    }
    let role = &resource(&template, "SmsDeliveryStatusRole")["Properties"];
    assert_eq!(
        role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"].as_str(),
        Some("sns.amazonaws.com")
    );
    let writes = text(&role["Policies"][0]["PolicyDocument"]);
    assert!(
        writes.contains("SmsDeliveryLogs.Arn") && writes.contains("SmsDeliveryFailureLogs.Arn")
    );
    assert!(
        !writes.contains("'*'"),
        "SNS writes to those two groups only"
    );
}

#[test]
fn the_sweeper_runs_every_five_minutes_and_may_mark_and_answer_only() {
    let template = template();
    let function = "SweeperFunction";
    let events = &resource(&template, function)["Properties"]["Events"];
    let schedule = events
        .as_mapping()
        .unwrap()
        .values()
        .find(|event| event["Type"].as_str() == Some("Schedule"))
        .expect("a schedule");
    assert_eq!(
        schedule["Properties"]["Schedule"].as_str(),
        Some("rate(5 minutes)")
    );
    let query = only_grant(&template, function, "dynamodb:Query");
    assert_eq!(
        text(&query["Resource"]).trim(),
        "!Sub ${MessagesTable.Arn}/index/by_sending"
    );
    let updates = allows(&template, function, "dynamodb:UpdateItem");
    let limited: Vec<_> = updates
        .iter()
        .map(|statement| {
            (
                text(&statement["Resource"]).trim().to_owned(),
                limited_attributes(statement),
            )
        })
        .collect();
    assert_eq!(
        limited,
        [
            (
                "!GetAtt MessagesTable.Arn".to_owned(),
                vec![
                    "pk".to_owned(),
                    "sk".into(),
                    "sms_status".into(),
                    "request_key".into(),
                    "sending_marker".into(),
                    "sending_since".into()
                ]
            ),
            (
                "!GetAtt RequestsTable.Arn".to_owned(),
                vec!["pk".to_owned(), "status".into(), "body".into()]
            ),
        ]
    );
    assert!(grants(
        &template,
        function,
        "dynamodb:PutItem",
        "AuditTable"
    ));
    let policy = allowed_policy(&template, function);
    for never in [
        "UnlockTable",
        "PatientsTable",
        "s3:",
        "sns:",
        "dynamodb:GetItem",
    ] {
        assert!(!policy.contains(never), "the sweeper must not {never}");
    }
}
