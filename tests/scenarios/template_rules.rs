//! The rules of the design that live in infra/template.yaml (and infra/unlock-waf.yaml):
//! least privilege per function, encryption with the project key, TTL, public access
//! blocked, who may post replies, and each client's limit on unlock links.

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
    for function in FUNCTIONS {
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
    statement_mut(template, "SendFunction", sid)
}

fn statement_mut<'a>(template: &'a mut Value, function: &str, sid: &str) -> &'a mut Value {
    template["Resources"][function]["Properties"]["Policies"][0]["Statement"]
        .as_sequence_mut()
        .unwrap()
        .iter_mut()
        .find(|s| s["Sid"].as_str() == Some(sid))
        .unwrap_or_else(|| panic!("{sid} in {function}'s policy"))
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
        ("SealSecureContent", "a wildcard action", |s, _| {
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
    for function in FUNCTIONS {
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
        // The day's auto-reply to a number is taken on an item of the clinics table, in the
        // reply's transaction with a check of the clinic's STOP list.
        ("dynamodb:UpdateItem", "ClinicsTable"),
        ("dynamodb:ConditionCheckItem", "ClinicsTable"),
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

/// What the EMR's writes need on each table, for fhir-sync and fhir-import alike (the
/// clinic's wrapped root key is read from the clinics table).
const EMR_WRITES: [(&str, &str); 10] = [
    ("dynamodb:GetItem", "ClinicsTable"),
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

/// The unlock page presigns each download for the version of the file checked at send: its
/// role may read versions of attachments, and never whatever is latest under a key.
#[test]
fn secure_unlock_downloads_pinned_versions_of_attachments_only() {
    let template = template();
    let versions = statements_granting(&template, "SecureUnlockFunction", "s3:GetObjectVersion");
    assert_eq!(versions.len(), 1);
    assert!(
        versions[0].contains("${AttachmentsBucket.Arn}/attachments/*"),
        "{}",
        versions[0]
    );
    assert!(statements_granting(&template, "SecureUnlockFunction", "s3:GetObject").is_empty());
}

#[test]
fn fhir_sync_may_write_patients_keys_appointments_and_imports_and_nothing_else() {
    let template = template();
    let missing: Vec<_> = EMR_WRITES
        .iter()
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
    // Decrypts through DynamoDB, or the clinic's root key under its context only.
    for statement in allows(&template, "FhirSyncFunction", "kms:Decrypt") {
        assert!(
            text(statement).contains("dynamodb.${AWS::Region}")
                || under_the_clinic_key_context(statement),
            "{}",
            text(statement)
        );
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
    // Of the clinics table, the clinic's root key item only: read, never written.
    for action in [
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    ] {
        assert!(
            !grants(&template, "FhirImportFunction", action, "ClinicsTable"),
            "{action}"
        );
    }
    // Every use of the content key goes through a service, but the clinic's root key,
    // opened under its context only.
    for action in ["kms:Decrypt", "kms:GenerateDataKey"] {
        for statement in allows(&template, "FhirImportFunction", action) {
            assert!(
                text(statement).contains("kms:ViaService")
                    || under_the_clinic_key_context(statement),
                "{}",
                text(statement)
            );
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

/// End User Messaging's service principal, the one publisher of inbound SMS.
const SMS_SERVICE: &str = "sms-voice.amazonaws.com";

/// A YAML fragment as a value, to compare a subtree of the template with.
fn yaml(fragment: &str) -> Value {
    serde_norway::from_str(fragment).unwrap()
}

/// A forged reply would opt a patient out or back in, mark an appointment `Unclear` and have
/// an SMS sent: the topic's Allow for the service does not stop this account's own roles and
/// users (their IAM policies can grant `sns:Publish`), so the topic denies every publisher
/// but the service. A role or user has no `aws:PrincipalServiceName`, and a missing key is
/// "not equal": denied; the service's own call carries its name: not denied.
#[test]
fn only_end_user_messaging_may_post_replies_to_the_inbound_topic() {
    let template = template();
    let statements =
        resource(&template, "InboundSmsTopicPolicy")["Properties"]["PolicyDocument"]["Statement"]
            .as_sequence()
            .unwrap();
    let deny = statements
        .iter()
        .find(|s| s["Effect"].as_str() == Some("Deny"))
        .expect("the topic denies publishers explicitly");
    assert_eq!(deny["Principal"].as_str(), Some("*"), "every principal");
    assert_eq!(deny["Action"].as_str(), Some("sns:Publish"));
    assert_eq!(text(&deny["Resource"]).trim(), "!Ref InboundSmsTopic");
    assert_eq!(
        deny["Condition"],
        yaml(&format!(
            "StringNotEquals: {{aws:PrincipalServiceName: {SMS_SERVICE}}}"
        )),
        "denied unless the caller is the service itself, and on nothing else"
    );
    // The service's Allow as it was: this account's End User Messaging, and when the stack
    // names its phone numbers (ARN patterns), those only.
    let allow = statements
        .iter()
        .find(|s| s["Effect"].as_str() == Some("Allow"))
        .expect("the service may publish");
    assert_eq!(allow["Principal"]["Service"].as_str(), Some(SMS_SERVICE));
    assert_eq!(allow["Action"].as_str(), Some("sns:Publish"));
    assert_eq!(
        text(&allow["Condition"]["StringEquals"]["aws:SourceAccount"]).trim(),
        "!Ref AWS::AccountId"
    );
    assert_eq!(
        allow["Condition"]["ArnLike"],
        yaml(
            "!If [PinInboundSmsSources, {aws:SourceArn: !Ref InboundSmsSourceArns}, !Ref AWS::NoValue]"
        )
    );
    assert_eq!(
        template["Conditions"]["PinInboundSmsSources"],
        yaml("!Not [!Equals [!Join ['', !Ref InboundSmsSourceArns], '']]")
    );
    assert_eq!(
        template["Parameters"]["InboundSmsSourceArns"]["Default"].as_str(),
        Some(""),
        "a stack that names no number keeps its replies"
    );
    // None of our functions may publish to it either.
    for function in FUNCTIONS {
        for statement in statements_granting(&template, function, "sns:Publish") {
            assert!(
                !statement.contains("InboundSmsTopic"),
                "{function} may publish to the inbound topic"
            );
        }
    }
}

/// The template's functions.
const FUNCTIONS: [&str; 9] = [
    "SearchFunction",
    "SendFunction",
    "SecureUnlockFunction",
    "InboundReplyFunction",
    "FhirSyncFunction",
    "FhirImportFunction",
    "AdminFunction",
    "DeliveryStatusFunction",
    "SweeperFunction",
];

fn waf_template() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/unlock-waf.yaml");
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The prefix of unlock links' paths, the only paths the unlock front serves.
const UNLOCK_PATHS: &str = "/m/";

/// One abuser flooding unlock links is refused per client at the edge, before the API's
/// route throttle that every patient shares: a rate-based rule counting each client IP's
/// requests to unlock links, its limit a parameter.
#[test]
fn one_client_flooding_unlock_links_gets_429_from_the_edge_per_ip_address() {
    let waf = waf_template();
    let acl = &waf["Resources"]["UnlockWebAcl"];
    assert_eq!(acl["Type"].as_str(), Some("AWS::WAFv2::WebACL"));
    let acl = &acl["Properties"];
    assert_eq!(acl["Scope"].as_str(), Some("CLOUDFRONT"));
    assert!(acl["DefaultAction"]["Allow"].is_mapping());
    let rules = acl["Rules"].as_sequence().unwrap();
    let rate = rules
        .iter()
        .find(|rule| !rule["Statement"]["RateBasedStatement"].is_null())
        .expect("a rate-based rule");
    let limit = &rate["Statement"]["RateBasedStatement"];
    assert_eq!(limit["AggregateKeyType"].as_str(), Some("IP"), "per client");
    assert_eq!(text(&limit["Limit"]).trim(), "!Ref RequestsPerClient");
    assert_eq!(limit["EvaluationWindowSec"].as_u64(), Some(300));
    let unlock_links = yaml(&format!(
        "ByteMatchStatement: {{FieldToMatch: {{UriPath: {{}}}}, PositionalConstraint: STARTS_WITH, \
         SearchString: {UNLOCK_PATHS}, TextTransformations: [{{Priority: 0, Type: NONE}}]}}"
    ));
    assert_eq!(limit["ScopeDownStatement"], unlock_links);
    let refusal = &rate["Action"]["Block"]["CustomResponse"];
    assert_eq!(refusal["ResponseCode"].as_u64(), Some(429));
    let body = refusal["CustomResponseBodyKey"].as_str().unwrap();
    assert!(acl["CustomResponseBodies"][body]["Content"].is_string());
    let parameter = &waf["Parameters"]["RequestsPerClient"];
    assert_eq!(parameter["Default"].as_u64(), Some(300));
    assert!(parameter["MinValue"].as_u64().is_some_and(|min| min >= 10));
    // Every other path is refused before it is counted, and nothing records a request's
    // path (a link's token).
    let others = rules
        .iter()
        .find(|rule| rule["Statement"]["NotStatement"]["Statement"] == unlock_links)
        .expect("a rule for the other paths");
    assert!(others["Action"]["Block"].is_mapping());
    assert!(others["Priority"].as_u64() < rate["Priority"].as_u64());
    for visibility in std::iter::once(&acl["VisibilityConfig"])
        .chain(rules.iter().map(|rule| &rule["VisibilityConfig"]))
    {
        assert_eq!(visibility["SampledRequestsEnabled"].as_bool(), Some(false));
    }
    assert!(
        waf["Resources"]
            .as_mapping()
            .unwrap()
            .values()
            .all(|r| { r["Type"].as_str() != Some("AWS::WAFv2::LoggingConfiguration") })
    );
    assert_eq!(
        text(&waf["Outputs"]["WebAclArn"]["Value"]).trim(),
        "!GetAtt UnlockWebAcl.Arn"
    );
    // The unlock routes are all under the paths the front serves.
    let local = local_stack::template::Template::load_default().unwrap();
    let unlock = local.function("secure-unlock").expect("secure-unlock");
    assert!(!unlock.routes.is_empty());
    for route in &unlock.routes {
        assert!(route.path.starts_with(UNLOCK_PATHS), "{}", route.key());
    }
}

/// The unlock front: with a web ACL named (and only then), a CloudFront distribution with
/// it in front of the unlock routes, over HTTPS only, caching nothing and passing on no
/// viewer header (Host included), cookie or query string; it calls a stage of the API whose
/// name is a secret, so a flood sent around it spends another stage's throttle.
#[test]
fn the_unlock_front_exists_only_with_its_web_acl_over_https_only() {
    let template = template();
    let parameters = &template["Parameters"];
    assert_eq!(parameters["UnlockWebAclArn"]["Default"].as_str(), Some(""));
    assert_eq!(
        template["Conditions"]["UnlockFront"],
        yaml("!Not [!Equals [!Ref UnlockWebAclArn, '']]")
    );
    let distribution = resource(&template, "UnlockDistribution");
    assert_eq!(
        distribution["Type"].as_str(),
        Some("AWS::CloudFront::Distribution")
    );
    assert_eq!(distribution["Condition"].as_str(), Some("UnlockFront"));
    let config = &distribution["Properties"]["DistributionConfig"];
    assert_eq!(text(&config["WebACLId"]).trim(), "!Ref UnlockWebAclArn");
    let behaviors: Vec<&Value> = std::iter::once(&config["DefaultCacheBehavior"])
        .chain(items(&config["CacheBehaviors"]))
        .collect();
    let local = local_stack::template::Template::load_default().unwrap();
    let unlock = local.function("secure-unlock").expect("secure-unlock");
    for behavior in behaviors {
        assert_eq!(
            behavior["ViewerProtocolPolicy"].as_str(),
            Some("https-only")
        );
        assert_eq!(
            behavior["CachePolicyId"].as_str(),
            Some("4135ea2d-6df8-44a3-9df3-4b5a84be39ad"),
            "Managed-CachingDisabled"
        );
        assert!(behavior["OriginRequestPolicyId"].is_null());
        let methods: Vec<&str> = items(&behavior["AllowedMethods"])
            .into_iter()
            .filter_map(Value::as_str)
            .collect();
        for route in &unlock.routes {
            assert!(methods.contains(&route.method.as_str()), "{}", route.key());
        }
    }
    let origins = config["Origins"].as_sequence().unwrap();
    assert_eq!(origins.len(), 1, "the API alone");
    let origin = &origins[0];
    assert_eq!(
        text(&origin["DomainName"]).trim(),
        "!Sub ${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
    );
    assert_eq!(
        origin["CustomOriginConfig"]["OriginProtocolPolicy"].as_str(),
        Some("https-only")
    );
    assert_eq!(
        text(&origin["OriginPath"]).trim(),
        "!Sub /${UnlockOriginStage}"
    );
    assert_eq!(
        config["ViewerCertificate"],
        yaml(
            "!If [UnlockFrontDomain, {AcmCertificateArn: !Ref UnlockCertificateArn, \
             SslSupportMethod: sni-only, MinimumProtocolVersion: TLSv1.2_2021}, \
             {CloudFrontDefaultCertificate: true}]"
        )
    );
    // The stage CloudFront calls: its own throttle, its name a secret the stack requires.
    let stage = resource(&template, "UnlockFrontStage");
    assert_eq!(stage["Condition"].as_str(), Some("UnlockFront"));
    let stage = &stage["Properties"];
    assert_eq!(text(&stage["ApiId"]).trim(), "!Ref HttpApi");
    assert_eq!(text(&stage["StageName"]).trim(), "!Ref UnlockOriginStage");
    assert!(stage["DefaultRouteSettings"]["ThrottlingRateLimit"].is_u64());
    assert_eq!(
        stage["AccessLogSettings"],
        resource(&template, "HttpApi")["Properties"]["AccessLogSettings"],
        "the same log as the default stage's: route keys, never links' paths"
    );
    let secret = &parameters["UnlockOriginStage"];
    assert_eq!(secret["NoEcho"].as_bool(), Some(true));
    assert_eq!(
        secret["AllowedPattern"].as_str(),
        Some("^$|^[A-Za-z0-9_-]{32,128}$")
    );
    assert_eq!(
        template["Rules"]["UnlockFrontHasItsStage"]["Assertions"][0]["Assert"],
        yaml("!Not [!Equals [!Ref UnlockOriginStage, '']]")
    );
    // Nothing of the front exists without its web ACL.
    for (id, resource) in template["Resources"].as_mapping().unwrap() {
        let mentions = text(resource);
        if ["UnlockWebAclArn", "UnlockOriginStage", "UnlockDistribution"]
            .iter()
            .any(|name| mentions.contains(name))
        {
            assert_eq!(
                resource["Condition"].as_str(),
                Some("UnlockFront"),
                "{id:?}"
            );
        }
    }
}

/// With the front on its own domain, unlock links point at it; otherwise at UnlockBaseUrl
/// (its *.cloudfront.net name cannot be taken from the template: a circular dependency).
#[test]
fn unlock_links_point_at_the_front_on_its_domain() {
    let template = template();
    assert_eq!(
        template["Globals"]["Function"]["Environment"]["Variables"]["UNLOCK_BASE_URL"],
        yaml("!If [UnlockFrontDomain, !Sub 'https://${UnlockDomainName}', !Ref UnlockBaseUrl]")
    );
    assert_eq!(
        template["Conditions"]["UnlockFrontDomain"],
        yaml("!And [!Condition UnlockFront, !Not [!Equals [!Ref UnlockDomainName, '']]]")
    );
    let output = &template["Outputs"]["UnlockLinksUrl"];
    assert_eq!(output["Condition"].as_str(), Some("UnlockFront"));
    assert!(text(&output["Value"]).contains("UnlockDistribution.DomainName"));
    let aliases =
        &resource(&template, "UnlockDistribution")["Properties"]["DistributionConfig"]["Aliases"];
    assert_eq!(
        *aliases,
        yaml("!If [UnlockFrontDomain, [!Ref UnlockDomainName], !Ref AWS::NoValue]")
    );
}

/// The encryption-context keys of secure content, as the policies name them.
const CONTENT_CONTEXT_KEYS: [&str; 2] = ["clinic_id", "message_id"];

/// Whether `condition` holds a KMS call to exactly the encryption-context keys `wanted`:
/// every key one of them, and each of them present (an empty context, for which
/// `ForAllValues` holds too, is refused).
fn exactly_these_context_keys(condition: &Value, wanted: &[&str]) -> bool {
    let keys: Vec<&str> =
        items(&condition["ForAllValues:StringEquals"]["kms:EncryptionContextKeys"])
            .into_iter()
            .filter_map(Value::as_str)
            .collect();
    let present = wanted.iter().all(|key| {
        condition["Null"][format!("kms:EncryptionContext:{key}").as_str()].as_str() == Some("false")
    });
    keys == wanted && present
}

/// Whether `statement`'s conditions hold a KMS call to exactly the content's encryption
/// context, and nothing else.
fn under_the_content_context(statement: &Value) -> bool {
    let condition = &statement["Condition"];
    exactly_these_context_keys(condition, &CONTENT_CONTEXT_KEYS)
        && condition.as_mapping().unwrap().len() == 2
}

/// The encryption-context keys of a clinic's root key, as the policies name them, and the
/// purpose they require (`shared/domain/src/clinic_key.rs`).
const CLINIC_KEY_CONTEXT_KEYS: [&str; 2] = ["clinic_id", "purpose"];

/// Whether `statement` holds a KMS call to exactly a clinic root key's context: its keys,
/// each present, and its purpose.
fn under_the_clinic_key_context(statement: &Value) -> bool {
    let condition = &statement["Condition"];
    let purpose = condition["StringEquals"]["kms:EncryptionContext:purpose"].as_str();
    exactly_these_context_keys(condition, &CLINIC_KEY_CONTEXT_KEYS)
        && purpose == Some(domain::clinic_key::PURPOSE)
        && condition.as_mapping().unwrap().len() == 3
}

/// Where a function's grants of the content key are not conditioned: each must go through a
/// service (`kms:ViaService`; through S3, for the attachments bucket's files only), be a
/// direct GenerateDataKey/Decrypt under the content's encryption context, or make a clinic's
/// root key wrapped under its context.
fn unconditioned_key_grants(template: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for function in FUNCTIONS {
        let statements = resource(template, function)["Properties"]["Policies"][0]["Statement"]
            .as_sequence()
            .unwrap();
        for statement in statements {
            let actions: Vec<&str> = items(&statement["Action"])
                .into_iter()
                .filter_map(Value::as_str)
                .collect();
            if statement["Effect"].as_str() != Some("Allow")
                || !actions.iter().any(|action| action.starts_with("kms:"))
            {
                continue;
            }
            let sid = statement["Sid"].as_str().unwrap_or("?");
            let service = text(&statement["Condition"]["StringEquals"]["kms:ViaService"]);
            let service = service.trim();
            if service.is_empty() || service == "null" {
                let direct = ["kms:GenerateDataKey", "kms:Decrypt"];
                let content = under_the_content_context(statement)
                    && actions.iter().all(|action| direct.contains(action));
                let root_keys = under_the_clinic_key_context(statement)
                    && (actions == ["kms:GenerateDataKeyWithoutPlaintext"]
                        || actions == ["kms:Decrypt"]);
                if !content && !root_keys {
                    found.push(format!(
                        "{function} {sid}: direct use outside the content's context"
                    ));
                }
            } else if service.contains("s3.") {
                let bucket = items(
                    &statement["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"],
                )
                .into_iter()
                .map(|arn| text(arn).trim().to_owned())
                .collect::<Vec<_>>();
                let own = bucket.first().map(String::as_str)
                    == Some("!GetAtt AttachmentsBucket.Arn")
                    && bucket[1..]
                        .iter()
                        .all(|arn| arn.starts_with("!Sub ${AttachmentsBucket.Arn}/"));
                if bucket.len() < 2 || !own {
                    found.push(format!("{function} {sid}: through S3 for any bucket"));
                }
            }
        }
    }
    found
}

#[test]
fn every_use_of_the_content_key_is_through_a_service_or_under_the_contents_context() {
    let template = template();
    assert_eq!(unconditioned_key_grants(&template), [] as [String; 0]);
    // The direct uses: send seals (a data key), secure-unlock opens (Decrypt); no other.
    let direct = |function: &str, action: &str| {
        allows(&template, function, action)
            .into_iter()
            .filter(|statement| under_the_content_context(statement))
            .count()
    };
    for function in FUNCTIONS {
        let seals = usize::from(function == "SendFunction");
        let opens = usize::from(function == "SecureUnlockFunction");
        assert_eq!(direct(function, "kms:GenerateDataKey"), seals, "{function}");
        assert_eq!(direct(function, "kms:Decrypt"), opens, "{function}");
    }
}

/// Onboarding makes each clinic's root key, wrapped only, under the context the policy
/// names; send and inbound-reply open it (patients' numbers are keys by their tag); no other
/// function makes or opens one.
#[test]
fn clinic_root_keys_are_made_by_admin_and_opened_only_by_the_functions_that_tag() {
    let template = template();
    let under_context = |function: &str, action: &str| {
        allows(&template, function, action)
            .into_iter()
            .filter(|statement| under_the_clinic_key_context(statement))
            .count()
    };
    for function in FUNCTIONS {
        let makes = usize::from(function == "AdminFunction");
        let opens = usize::from(matches!(
            function,
            "SendFunction"
                | "InboundReplyFunction"
                | "SearchFunction"
                | "FhirSyncFunction"
                | "FhirImportFunction"
        ));
        assert_eq!(
            under_context(function, "kms:GenerateDataKeyWithoutPlaintext"),
            makes,
            "{function}"
        );
        assert_eq!(under_context(function, "kms:Decrypt"), opens, "{function}");
    }
    let context =
        domain::clinic_key::encryption_context(&domain::ids::ClinicId::parse("clinic-a").unwrap());
    let keys: Vec<&str> = context.keys().map(String::as_str).collect();
    assert_eq!(
        keys, CLINIC_KEY_CONTEXT_KEYS,
        "the code's context is the policy's"
    );
    let mut widened = template.clone();
    let statement = statement_mut(&mut widened, "AdminFunction", "MakeClinicRootKeys");
    statement["Condition"]["StringEquals"]
        .as_mapping_mut()
        .unwrap()
        .remove("kms:EncryptionContext:purpose");
    assert!(
        !unconditioned_key_grants(&widened).is_empty(),
        "a root key grant for any purpose is caught"
    );
}

/// The check above fails on each way a key grant can open up.
#[test]
fn the_key_check_catches_every_unconditioned_grant() {
    type Break = fn(&mut Value);
    let breaks: [(&str, &str, Break); 4] = [
        ("SealSecureContent", "no condition", |s| {
            s.as_mapping_mut().unwrap().remove("Condition");
        }),
        ("SealSecureContent", "an empty context allowed", |s| {
            s["Condition"].as_mapping_mut().unwrap().remove("Null");
        }),
        ("SealSecureContent", "another context key", |s| {
            s["Condition"]["ForAllValues:StringEquals"]["kms:EncryptionContextKeys"]
                .as_sequence_mut()
                .unwrap()
                .push("appointment_id".into())
        }),
        ("AttachmentKeysThroughS3", "any bucket", |s| {
            s["Condition"]
                .as_mapping_mut()
                .unwrap()
                .remove("StringLike");
        }),
    ];
    for (sid, what, broken) in breaks {
        let mut template = template();
        broken(send_statement(&mut template, sid));
        assert!(
            !unconditioned_key_grants(&template).is_empty(),
            "{what} is not caught"
        );
    }
}

/// Records the encryption contexts the code asks KMS for, around the fake key service.
#[derive(Default)]
struct RecordingKeys {
    keys: domain::fakes::FakeKeyService,
    contexts: std::sync::Mutex<Vec<Vec<String>>>,
}

impl RecordingKeys {
    fn record(&self, context: &domain::ports::EncryptionContext) {
        self.contexts
            .lock()
            .unwrap()
            .push(context.keys().cloned().collect());
    }
}

#[async_trait::async_trait]
impl domain::ports::KeyService for RecordingKeys {
    async fn generate_data_key(
        &self,
        context: &domain::ports::EncryptionContext,
    ) -> Result<domain::ports::DataKey, domain::error::DependencyError> {
        self.record(context);
        self.keys.generate_data_key(context).await
    }

    async fn decrypt_data_key(
        &self,
        ciphertext: &[u8],
        context: &domain::ports::EncryptionContext,
    ) -> Result<domain::ports::PlainKey, domain::error::DependencyError> {
        self.record(context);
        self.keys.decrypt_data_key(ciphertext, context).await
    }

    async fn generate_wrapped_key(
        &self,
        context: &domain::ports::EncryptionContext,
    ) -> Result<Vec<u8>, domain::error::DependencyError> {
        self.record(context);
        self.keys.generate_wrapped_key(context).await
    }
}

/// The context the policies demand is the one sealing and opening use: a change to either
/// side fails here, not in production with AccessDenied.
#[tokio::test]
async fn the_context_the_key_policies_demand_is_the_one_sealing_and_opening_use() {
    use domain::{
        fakes::CountingRandom,
        ids::{ClinicId, MessageId},
        link_token::LinkToken,
        model::UnlockRecord,
        phn::Phn,
        secure_content::{self, MessageKey, SecureContent, Unsealed},
    };
    let keys = RecordingKeys::default();
    let random = CountingRandom::default();
    let clinic = ClinicId::parse("c1").unwrap();
    let message = MessageId::from_random([7; 16]);
    let phn = Phn::parse(integration_tests::sentinels::PHN).unwrap();
    let content = SecureContent {
        text: "Your results are in.".to_owned(),
        chats: Vec::new(),
        attachments: Vec::new(),
    };
    let sealed = MessageKey::new(&keys, &clinic, &message)
        .await
        .unwrap()
        .seal(&random, &phn, &content)
        .unwrap();
    let record = UnlockRecord {
        token_hash: LinkToken::generate(&random).hash(),
        clinic_id: clinic,
        message_id: message,
        encrypted_key: sealed.encrypted_key,
        sealed: sealed.sealed,
        phn_check: sealed.phn_check,
        expires_at: jiff::Timestamp::now(),
        language: Default::default(),
    };
    let opened = secure_content::unseal(&keys, &record, &phn).await.unwrap();
    assert!(matches!(opened, Unsealed::Opened(_)));
    let contexts = keys.contexts.into_inner().unwrap();
    assert_eq!(contexts.len(), 2, "one data key, one decrypt");
    for context in contexts {
        assert_eq!(context, CONTENT_CONTEXT_KEYS);
    }
    let template = template();
    for (function, action) in [
        ("SendFunction", "kms:GenerateDataKey"),
        ("SecureUnlockFunction", "kms:Decrypt"),
    ] {
        assert!(
            allows(&template, function, action)
                .into_iter()
                .any(under_the_content_context),
            "{function} may {action} under the content's context"
        );
    }
}

/// `ReturnValues` that read no more than a write's own attributes.
fn returns_only_what_it_writes(statement: &Value) -> bool {
    statement["Condition"]["StringEqualsIfExists"]["dynamodb:ReturnValues"]
        == yaml("[NONE, UPDATED_OLD, UPDATED_NEW]")
}

/// A public page may change only what a PHN attempt changes: the link's counters and lock,
/// and the message's opening and lock. It reads clinics' profiles, never an EMR client's
/// binding or an SMS number's guard (their partition keys hold '#', a clinic id never does).
#[test]
fn secure_unlock_writes_only_its_counters_and_the_messages_opening_and_lock() {
    let template = template();
    let function = "SecureUnlockFunction";
    let updates: Vec<_> = allows(&template, function, "dynamodb:UpdateItem")
        .into_iter()
        .map(|statement| {
            assert!(
                returns_only_what_it_writes(statement),
                "{}",
                text(statement)
            );
            (
                text(&statement["Resource"]).trim().to_owned(),
                limited_attributes(statement),
            )
        })
        .collect();
    let names = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        updates,
        [
            (
                "!GetAtt UnlockTable.Arn".to_owned(),
                names(&[
                    "pk",
                    "failures_in_row",
                    "failures_total",
                    "locked_until",
                    "locked_forever",
                    "version"
                ])
            ),
            (
                "!GetAtt MessagesTable.Arn".to_owned(),
                names(&["pk", "sk", "opened_at", "locked"])
            ),
        ]
    );
    let clinics: Vec<_> = allows(&template, function, "dynamodb:GetItem")
        .into_iter()
        .filter(|statement| text(&statement["Resource"]).contains("ClinicsTable"))
        .collect();
    assert_eq!(clinics.len(), 1);
    assert_eq!(
        clinics[0]["Condition"],
        yaml("ForAllValues:StringNotLike: {dynamodb:LeadingKeys: ['*#*']}")
    );
    assert!(domain::ids::ClinicId::parse("INTEGRATION#client").is_err());
    let policy = allowed_policy(&template, function);
    for never in [
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:TransactWriteItems",
    ] {
        assert!(!policy.contains(never), "secure-unlock must not {never}");
    }
    let puts = allows(&template, function, "dynamodb:PutItem");
    assert_eq!(puts.len(), 1);
    assert_eq!(text(&puts[0]["Resource"]).trim(), "!GetAtt AuditTable.Arn");
}
