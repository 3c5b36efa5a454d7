//! Creates the template's tables, bucket, key and topic on the emulator, and resolves the
//! functions' environment to the names it created.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use aws::config::Config;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, SseSpecification, SseType, TimeToLiveSpecification,
};
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule, VersioningConfiguration,
};

use crate::{
    emulator::REGION,
    template::{EnvValue, KeyElement, TableSpec, Template},
};

/// What was created, by the template's logical ids.
#[derive(Debug, Clone, Default)]
pub struct Provisioned {
    /// Logical id → the value of `!Ref` (table name, bucket name, key id, topic ARN).
    pub refs: BTreeMap<String, String>,
    /// Logical id → ARN (`!GetAtt X.Arn`).
    pub arns: BTreeMap<String, String>,
}

impl Provisioned {
    /// The functions' environment, as the template defines it, resolved to what was
    /// created here. `overrides` supplies values that are expressions in the template
    /// (such as the unlock base URL) and local-only settings.
    pub fn environment(
        &self,
        template: &Template,
        overrides: &[(&str, &str)],
    ) -> Result<BTreeMap<String, String>> {
        let mut environment = BTreeMap::new();
        for (name, value) in &template.environment {
            if let Some((_, local)) = overrides.iter().find(|(key, _)| key == name) {
                environment.insert(name.clone(), (*local).to_owned());
                continue;
            }
            let resolved = match value {
                EnvValue::Literal(text) => text.clone(),
                EnvValue::Ref(id) => self.refs.get(id).cloned().with_context(|| {
                    format!("{name} refers to {id}, which the local stack does not create")
                })?,
                EnvValue::GetAtt(id, attribute) if attribute == "Arn" => {
                    self.arns.get(id).cloned().with_context(|| {
                        format!("{name} refers to {id}.Arn, which the local stack does not create")
                    })?
                }
                EnvValue::GetAtt(..) | EnvValue::Expression => {
                    bail!("{name} is an expression in the template; give it a local value")
                }
            };
            environment.insert(name.clone(), resolved);
        }
        for (name, value) in overrides {
            environment
                .entry((*name).to_owned())
                .or_insert_with(|| (*value).to_owned());
        }
        Ok(environment)
    }

    pub fn config(&self, template: &Template, overrides: &[(&str, &str)]) -> Result<Config> {
        let environment = self.environment(template, overrides)?;
        let values = environment.into_iter().collect();
        Config::from_map(&values)
            .context("the template's environment does not make a complete config")
    }
}

/// Creates every resource the functions use, with names prefixed by `prefix` so that
/// several stacks (one per test) share one emulator.
pub async fn provision(sdk: &SdkConfig, template: &Template, prefix: &str) -> Result<Provisioned> {
    let mut provisioned = Provisioned::default();
    let kms = aws_sdk_kms::Client::new(sdk);
    for key in &template.keys {
        let created = kms
            .create_key()
            .description(format!("{prefix}{key}"))
            .send()
            .await
            .with_context(|| format!("creating the KMS key {key}"))?;
        let metadata = created
            .key_metadata
            .context("CreateKey returned no metadata")?;
        provisioned
            .refs
            .insert(key.clone(), metadata.key_id.clone());
        provisioned.arns.insert(
            key.clone(),
            metadata.arn.context("CreateKey returned no ARN")?,
        );
    }
    let table_key = template
        .keys
        .first()
        .and_then(|key| provisioned.arns.get(key))
        .cloned();

    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    for table in &template.tables {
        let name = format!("{prefix}{}", table.logical_id);
        let arn = create_table(&dynamodb, table, &name, table_key.as_deref()).await?;
        provisioned.refs.insert(table.logical_id.clone(), name);
        provisioned.arns.insert(table.logical_id.clone(), arn);
    }

    let s3_config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(true)
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(s3_config);
    for bucket in &template.buckets {
        let name = format!("{prefix}{}", bucket.logical_id).to_lowercase();
        create_bucket(&s3, &name, table_key.as_deref()).await?;
        if bucket.versioned {
            s3.put_bucket_versioning()
                .bucket(&name)
                .versioning_configuration(
                    VersioningConfiguration::builder()
                        .status(BucketVersioningStatus::Enabled)
                        .build(),
                )
                .send()
                .await
                .with_context(|| format!("turning on versioning of the bucket {name}"))?;
        }
        provisioned
            .arns
            .insert(bucket.logical_id.clone(), format!("arn:aws:s3:::{name}"));
        provisioned.refs.insert(bucket.logical_id.clone(), name);
    }

    let sns = aws_sdk_sns::Client::new(sdk);
    for topic in &template.topics {
        let created = sns
            .create_topic()
            .name(format!("{prefix}{topic}"))
            .send()
            .await
            .with_context(|| format!("creating the SNS topic {topic}"))?;
        let arn = created.topic_arn.context("CreateTopic returned no ARN")?;
        provisioned.refs.insert(topic.clone(), arn.clone());
        provisioned.arns.insert(topic.clone(), arn);
    }
    Ok(provisioned)
}

fn key_schema(elements: &[KeyElement]) -> Result<Vec<KeySchemaElement>> {
    elements
        .iter()
        .map(|element| {
            KeySchemaElement::builder()
                .attribute_name(&element.attribute)
                .key_type(KeyType::from(element.key_type.as_str()))
                .build()
                .context("a key schema element")
        })
        .collect()
}

async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    table: &TableSpec,
    name: &str,
    kms_key: Option<&str>,
) -> Result<String> {
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(&table.key_schema)?));
    for (attribute, kind) in &table.attributes {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attribute)
                .attribute_type(ScalarAttributeType::from(kind.as_str()))
                .build()?,
        );
    }
    for index in &table.indexes {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&index.name)
                .set_key_schema(Some(key_schema(&index.key_schema)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(index.projection.as_str()))
                        .build(),
                )
                .build()?,
        );
    }
    if let Some(key) = kms_key {
        request = request.sse_specification(
            SseSpecification::builder()
                .enabled(true)
                .sse_type(SseType::Kms)
                .kms_master_key_id(key)
                .build(),
        );
    }
    let created = request
        .send()
        .await
        .with_context(|| format!("creating the table {}", table.logical_id))?;
    if let Some(attribute) = &table.ttl_attribute {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attribute)
                    .enabled(true)
                    .build()?,
            )
            .send()
            .await
            .with_context(|| format!("turning on TTL for {}", table.logical_id))?;
    }
    created
        .table_description
        .and_then(|description| description.table_arn)
        .context("CreateTable returned no ARN")
}

async fn create_bucket(
    client: &aws_sdk_s3::Client,
    name: &str,
    kms_key: Option<&str>,
) -> Result<()> {
    client
        .create_bucket()
        .bucket(name)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(REGION))
                .build(),
        )
        .send()
        .await
        .with_context(|| format!("creating the bucket {name}"))?;
    if let Some(key) = kms_key {
        let default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::AwsKms)
            .kms_master_key_id(key)
            .build()?;
        let rule = ServerSideEncryptionRule::builder()
            .apply_server_side_encryption_by_default(default)
            .bucket_key_enabled(true)
            .build();
        client
            .put_bucket_encryption()
            .bucket(name)
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder()
                    .rules(rule)
                    .build()?,
            )
            .send()
            .await
            .with_context(|| format!("encrypting the bucket {name}"))?;
    }
    Ok(())
}
