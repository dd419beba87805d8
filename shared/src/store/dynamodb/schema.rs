//! The tables' definitions, in one place: the tests, the local API's `--create-tables` and a
//! test that holds template.yaml to them all read these.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};

use crate::config::UsersTable;

/// Partition key of the reset table.
pub const PK: &str = "pk";
/// Sort key of the reset table.
pub const SK: &str = "sk";
/// TTL attribute (epoch seconds) of the reset table.
pub const TTL_ATTRIBUTE: &str = "expires_at";

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .expect("name and type are set")
}

fn string_attr(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("name and type are set")
}

/// The reset table's key schema: `pk` (HASH, S), `sk` (RANGE, S).
pub fn reset_key_schema() -> Vec<(String, &'static str)> {
    vec![(PK.to_owned(), "HASH"), (SK.to_owned(), "RANGE")]
}

/// Creates the reset table (on-demand, pk/sk strings) and enables TTL on `expires_at`.
pub async fn create_reset_table(
    client: &Client,
    name: &str,
) -> Result<(), aws_sdk_dynamodb::Error> {
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string_attr(PK))
        .attribute_definitions(string_attr(SK))
        .key_schema(key(PK, KeyType::Hash))
        .key_schema(key(SK, KeyType::Range))
        .send()
        .await?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(TTL_ATTRIBUTE)
                .build()
                .expect("enabled and attribute are set"),
        )
        .send()
        .await?;
    Ok(())
}

/// Creates a demo users table: key attribute (S) and, when configured, the email GSI.
pub async fn create_users_table(
    client: &Client,
    users: &UsersTable,
) -> Result<(), aws_sdk_dynamodb::Error> {
    let mut create = client
        .create_table()
        .table_name(&users.table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string_attr(&users.key_attribute))
        .key_schema(key(&users.key_attribute, KeyType::Hash));
    if let Some(index) = &users.email_index {
        create = create
            .attribute_definitions(string_attr(&users.email_attribute))
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(index)
                    .key_schema(key(&users.email_attribute, KeyType::Hash))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::KeysOnly)
                            .build(),
                    )
                    .build()
                    .expect("name, schema and projection are set"),
            );
    }
    create.send().await?;
    Ok(())
}

/// Creates whichever of the two tables is missing. Returns the names it created.
pub async fn ensure_tables(
    client: &Client,
    reset_table: &str,
    users: &UsersTable,
) -> Result<Vec<String>, aws_sdk_dynamodb::Error> {
    let mut created = Vec::new();
    if !exists(client, reset_table).await? {
        create_reset_table(client, reset_table).await?;
        created.push(reset_table.to_owned());
    }
    if !exists(client, &users.table).await? {
        create_users_table(client, users).await?;
        created.push(users.table.clone());
    }
    Ok(created)
}

async fn exists(client: &Client, table: &str) -> Result<bool, aws_sdk_dynamodb::Error> {
    match client.describe_table().table_name(table).send().await {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            Ok(false)
        }
        Err(e) => {
            tracing::debug!(code = ?e.code(), "describe_table failed");
            Err(e.into())
        }
    }
}
