//! Reads `infra/template.yaml`, the single source of truth for resources, settings and
//! routes, so that the local stack and the tests cannot drift from what is deployed.

use std::{collections::BTreeMap, path::Path};

use anyhow::{Context, Result, bail};
use serde_norway::Value;

/// The template as the local stack needs it.
#[derive(Debug, Clone)]
pub struct Template {
    pub tables: Vec<TableSpec>,
    pub buckets: Vec<BucketSpec>,
    pub keys: Vec<String>,
    pub topics: Vec<String>,
    /// `Globals.Function.Environment.Variables`, in template order.
    pub environment: Vec<(String, EnvValue)>,
    pub functions: Vec<FunctionSpec>,
    /// The HTTP API's CORS configuration, when it has one (its origins are a parameter).
    pub cors: Option<CorsSpec>,
}

/// A bucket: its logical id, and whether it keeps every version of an object (a send pins
/// the version of each file it checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketSpec {
    pub logical_id: String,
    pub versioned: bool,
}

/// What the HTTP API allows a browser on an allowed origin, and tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsSpec {
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyElement {
    pub attribute: String,
    /// `HASH` or `RANGE`.
    pub key_type: String,
}

#[derive(Debug, Clone)]
pub struct IndexSpec {
    pub name: String,
    pub key_schema: Vec<KeyElement>,
    pub projection: String,
}

#[derive(Debug, Clone)]
pub struct TableSpec {
    pub logical_id: String,
    pub key_schema: Vec<KeyElement>,
    /// Attribute name → `S`, `N` or `B`.
    pub attributes: BTreeMap<String, String>,
    pub indexes: Vec<IndexSpec>,
    pub ttl_attribute: Option<String>,
}

/// A value in the template that the local stack resolves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    Literal(String),
    /// `!Ref LogicalId`.
    Ref(String),
    /// `!GetAtt LogicalId.Attribute`.
    GetAtt(String, String),
    /// Anything else (`!If`, `!Sub`, …): the local stack must supply it.
    Expression,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: String,
    pub path: String,
    /// Routes with `Auth: Authorizer: NONE` (the patients' unlock page).
    pub public: bool,
}

impl Route {
    /// API Gateway's route key, e.g. `GET /m/{token}`.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub logical_id: String,
    /// The cargo binary the function runs.
    pub binary: String,
    pub routes: Vec<Route>,
    /// Logical ids of the SNS topics it subscribes to.
    pub topics: Vec<String>,
    /// The key prefixes of the S3 objects whose creation its EventBridge rules pass on.
    pub created_object_prefixes: Vec<String>,
}

impl Template {
    pub fn load(path: &Path) -> Result<Template> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the template {}", path.display()))?;
        Template::parse(&text)
    }

    /// The template of this repository.
    pub fn load_default() -> Result<Template> {
        Template::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml"))
    }

    pub fn parse(text: &str) -> Result<Template> {
        let root: Value = serde_norway::from_str(text).context("the template is not valid YAML")?;
        let resources = root
            .get("Resources")
            .and_then(Value::as_mapping)
            .context("the template has no Resources")?;
        let mut template = Template {
            tables: Vec::new(),
            buckets: Vec::new(),
            keys: Vec::new(),
            topics: Vec::new(),
            environment: environment(&root)?,
            functions: Vec::new(),
            cors: None,
        };
        for (id, resource) in resources {
            let id = id
                .as_str()
                .context("a resource id is not a string")?
                .to_owned();
            let properties = resource.get("Properties").cloned().unwrap_or(Value::Null);
            match resource.get("Type").and_then(Value::as_str) {
                Some("AWS::DynamoDB::Table") => template.tables.push(table(&id, &properties)?),
                Some("AWS::S3::Bucket") => template.buckets.push(BucketSpec {
                    versioned: properties["VersioningConfiguration"]["Status"].as_str()
                        == Some("Enabled"),
                    logical_id: id,
                }),
                Some("AWS::KMS::Key") => template.keys.push(id),
                Some("AWS::SNS::Topic") => template.topics.push(id),
                Some("AWS::Serverless::HttpApi") => {
                    template.cors = cors(&properties["CorsConfiguration"]);
                }
                Some("AWS::Serverless::Function") => {
                    template
                        .functions
                        .push(function(&id, resource, &properties)?)
                }
                _ => {}
            }
        }
        Ok(template)
    }

    pub fn function(&self, binary: &str) -> Option<&FunctionSpec> {
        self.functions
            .iter()
            .find(|function| function.binary == binary)
    }
}

fn cors(configuration: &Value) -> Option<CorsSpec> {
    let list = |name: &str| -> Vec<String> {
        configuration[name]
            .as_sequence()
            .map(|values| {
                values
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    configuration.as_mapping()?;
    Some(CorsSpec {
        allow_methods: list("AllowMethods"),
        allow_headers: list("AllowHeaders"),
        expose_headers: list("ExposeHeaders"),
        max_age: configuration["MaxAge"].as_u64().unwrap_or_default(),
    })
}

fn string(value: &Value, what: &str) -> Result<String> {
    value
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("{what} is not a string"))
}

fn key_schema(value: Option<&Value>, owner: &str) -> Result<Vec<KeyElement>> {
    let elements = value
        .and_then(Value::as_sequence)
        .with_context(|| format!("{owner} has no KeySchema"))?;
    elements
        .iter()
        .map(|element| {
            Ok(KeyElement {
                attribute: string(&element["AttributeName"], "AttributeName")?,
                key_type: string(&element["KeyType"], "KeyType")?,
            })
        })
        .collect()
}

fn table(id: &str, properties: &Value) -> Result<TableSpec> {
    let attributes = properties
        .get("AttributeDefinitions")
        .and_then(Value::as_sequence)
        .with_context(|| format!("{id} has no AttributeDefinitions"))?
        .iter()
        .map(|attribute| {
            Ok((
                string(&attribute["AttributeName"], "AttributeName")?,
                string(&attribute["AttributeType"], "AttributeType")?,
            ))
        })
        .collect::<Result<_>>()?;
    let indexes = properties
        .get("GlobalSecondaryIndexes")
        .and_then(Value::as_sequence)
        .map(|indexes| {
            indexes
                .iter()
                .map(|index| {
                    let name = string(&index["IndexName"], "IndexName")?;
                    Ok(IndexSpec {
                        key_schema: key_schema(index.get("KeySchema"), &name)?,
                        projection: index["Projection"]["ProjectionType"]
                            .as_str()
                            .unwrap_or("ALL")
                            .to_owned(),
                        name,
                    })
                })
                .collect::<Result<Vec<_>>>()
        })
        .transpose()?
        .unwrap_or_default();
    let ttl = properties.get("TimeToLiveSpecification");
    let ttl_attribute = match ttl {
        Some(spec) if spec["Enabled"].as_bool() == Some(true) => {
            Some(string(&spec["AttributeName"], "TTL AttributeName")?)
        }
        _ => None,
    };
    Ok(TableSpec {
        logical_id: id.to_owned(),
        key_schema: key_schema(properties.get("KeySchema"), id)?,
        attributes,
        indexes,
        ttl_attribute,
    })
}

/// `!Ref X`, `!GetAtt X.Y`, their long forms, or a literal.
fn env_value(value: &Value) -> EnvValue {
    match value {
        Value::String(text) => EnvValue::Literal(text.clone()),
        Value::Number(number) => EnvValue::Literal(number.to_string()),
        Value::Bool(flag) => EnvValue::Literal(flag.to_string()),
        Value::Tagged(tagged) => match (
            tagged.tag.to_string().trim_start_matches('!'),
            &tagged.value,
        ) {
            ("Ref", Value::String(id)) => EnvValue::Ref(id.clone()),
            ("GetAtt", Value::String(path)) => match path.split_once('.') {
                Some((id, attribute)) => EnvValue::GetAtt(id.to_owned(), attribute.to_owned()),
                None => EnvValue::Expression,
            },
            _ => EnvValue::Expression,
        },
        Value::Mapping(map) if map.len() == 1 => {
            if let Some(Value::String(id)) = map.get("Ref") {
                return EnvValue::Ref(id.clone());
            }
            match map
                .get("Fn::GetAtt")
                .and_then(Value::as_sequence)
                .map(Vec::as_slice)
            {
                Some([Value::String(id), Value::String(attribute)]) => {
                    EnvValue::GetAtt(id.clone(), attribute.clone())
                }
                _ => EnvValue::Expression,
            }
        }
        _ => EnvValue::Expression,
    }
}

fn environment(root: &Value) -> Result<Vec<(String, EnvValue)>> {
    let Some(variables) = root["Globals"]["Function"]["Environment"]["Variables"].as_mapping()
    else {
        bail!("the template has no Globals.Function.Environment.Variables");
    };
    variables
        .iter()
        .map(|(name, value)| {
            Ok((
                string(name, "an environment variable name")?,
                env_value(value),
            ))
        })
        .collect()
}

fn function(id: &str, resource: &Value, properties: &Value) -> Result<FunctionSpec> {
    let binary = resource["Metadata"]["BuildProperties"]["Binary"]
        .as_str()
        .with_context(|| format!("{id} has no Metadata.BuildProperties.Binary"))?
        .to_owned();
    let mut routes = Vec::new();
    let mut topics = Vec::new();
    let mut created_object_prefixes = Vec::new();
    if let Some(events) = properties.get("Events").and_then(Value::as_mapping) {
        for event in events.values() {
            let event_properties = &event["Properties"];
            match event["Type"].as_str() {
                Some("HttpApi") => routes.push(Route {
                    method: string(&event_properties["Method"], "an HttpApi Method")?
                        .to_uppercase(),
                    path: string(&event_properties["Path"], "an HttpApi Path")?,
                    public: event_properties["Auth"]["Authorizer"].as_str() == Some("NONE"),
                }),
                Some("SNS") => {
                    if let EnvValue::Ref(topic) = env_value(&event_properties["Topic"]) {
                        topics.push(topic);
                    }
                }
                Some("EventBridgeRule") => {
                    let pattern = &event_properties["Pattern"];
                    let object_created = pattern["source"][0].as_str() == Some("aws.s3")
                        && pattern["detail-type"][0].as_str() == Some("Object Created");
                    let keys = pattern["detail"]["object"]["key"].as_sequence();
                    if object_created && let Some(keys) = keys {
                        created_object_prefixes.extend(
                            keys.iter()
                                .filter_map(|key| key["prefix"].as_str())
                                .map(str::to_owned),
                        );
                    }
                }
                _ => {}
            }
        }
    }
    Ok(FunctionSpec {
        logical_id: id.to_owned(),
        binary,
        routes,
        topics,
        created_object_prefixes,
    })
}
