//! template.yaml's reset table against the code's (`shared::store::dynamodb::schema`): the key
//! schema, the attribute definitions and TTL on `expires_at`, read with the same YAML loader as
//! every other template test (short tags in long form), so block and flow style are both YAML.

use super::*;
use shared::store::dynamodb::schema::{TTL_ATTRIBUTE, reset_key_schema};

/// A scalar as text (`true` and `"true"` alike).
fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

/// The `(a, b)` values of each mapping in a list, in order.
fn pairs(list: &Value, a: &str, b: &str) -> Vec<(String, String)> {
    as_list(list)
        .into_iter()
        .map(|item| (text(&item[a]), text(&item[b])))
        .collect()
}

/// How `table` (an `AWS::DynamoDB::Table` resource) differs from the code's reset table; empty
/// when it matches.
fn differences_from_the_code(table: &Value) -> Vec<String> {
    let p = &table["Properties"];
    let mut out = Vec::new();
    let expected: Vec<(String, String)> = reset_key_schema()
        .into_iter()
        .map(|(name, kind)| (name, kind.to_owned()))
        .collect();
    let key_schema = pairs(&p["KeySchema"], "AttributeName", "KeyType");
    if key_schema != expected {
        out.push(format!(
            "KeySchema is {key_schema:?}, the code says {expected:?}"
        ));
    }
    let mut attributes = pairs(&p["AttributeDefinitions"], "AttributeName", "AttributeType");
    attributes.sort();
    let mut expected_attributes: Vec<(String, String)> = expected
        .iter()
        .map(|(name, _)| (name.clone(), "S".to_owned()))
        .collect();
    expected_attributes.sort();
    if attributes != expected_attributes {
        out.push(format!(
            "AttributeDefinitions are {attributes:?}, the code says {expected_attributes:?}"
        ));
    }
    let ttl = &p["TimeToLiveSpecification"];
    if ttl["AttributeName"].as_str() != Some(TTL_ATTRIBUTE) {
        out.push(format!(
            "TTL attribute is {}, the code says {TTL_ATTRIBUTE:?}",
            ttl["AttributeName"]
        ));
    }
    if text(&ttl["Enabled"]) != "true" {
        out.push("TTL is not enabled".to_owned());
    }
    out
}

/// The tables of a template that have a TTL specification (the reset table is the one).
fn tables_with_ttl(t: &Value) -> Vec<(&String, &Value)> {
    of_type(t, "AWS::DynamoDB::Table")
        .into_iter()
        .filter(|(_, r)| !r["Properties"]["TimeToLiveSpecification"].is_null())
        .collect()
}

#[test]
fn template_yaml_defines_the_reset_table_exactly_as_the_code_does() {
    let t = load(&repo().join("template.yaml"));
    let with_ttl = tables_with_ttl(&t);
    assert_eq!(
        with_ttl.len(),
        1,
        "exactly one AWS::DynamoDB::Table with a TimeToLiveSpecification (the reset table); \
         found {:?}",
        of_type(&t, "AWS::DynamoDB::Table")
            .iter()
            .map(|(name, _)| name)
            .collect::<Vec<_>>()
    );
    let (name, table) = with_ttl[0];
    let differences = differences_from_the_code(table);
    assert!(
        differences.is_empty(),
        "template.yaml's {name} differs from shared::store::dynamodb::schema: {differences:#?}"
    );
}

#[test]
fn the_table_comparison_sees_drift_in_block_and_flow_style() {
    let block_style = "\
AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Environment: { Variables: { T: !Ref Table } }
  Table:
    Type: AWS::DynamoDB::Table # the reset table
    Properties:
      TableName: !Sub '${AWS::StackName}-reset'
      KeySchema:
        - AttributeName: pk
          KeyType: HASH
        - AttributeName: sk
          KeyType: RANGE
      AttributeDefinitions:
        - AttributeName: \"pk\"
          AttributeType: S
        - { AttributeName: sk, AttributeType: S }
      TimeToLiveSpecification:
        Enabled: true
        AttributeName: expires_at
Outputs:
  X:
    Value: !GetAtt Table.Arn
";
    let differences = |src: &str| {
        let t = long_form(serde_yaml_ng::from_str(src).expect("YAML"));
        let tables = tables_with_ttl(&t);
        assert_eq!(tables.len(), 1, "{src}");
        differences_from_the_code(tables[0].1)
    };
    assert_eq!(differences(block_style), Vec::<String>::new());

    let drifted = block_style.replace("AttributeName: expires_at", "AttributeName: ttl");
    assert_eq!(differences(&drifted).len(), 1);
    let disabled = block_style.replace("Enabled: true", "Enabled: false");
    assert_eq!(differences(&disabled), vec!["TTL is not enabled"]);
    let swapped = block_style
        .replace("KeyType: HASH", "KeyType: X")
        .replace("KeyType: RANGE", "KeyType: HASH")
        .replace("KeyType: X", "KeyType: RANGE");
    assert_eq!(differences(&swapped).len(), 1);
    let renamed = block_style
        .replace("AttributeName: sk\n", "AttributeName: sort\n")
        .replace("AttributeName: sk,", "AttributeName: sort,");
    assert_eq!(
        differences(&renamed).len(),
        2,
        "key schema and attribute definitions"
    );
}
