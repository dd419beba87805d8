//! The deployed permissions and edge, read from the templates themselves: template.yaml (SAM)
//! always, and the CDK app's synthesized templates when scripts/test.d/20-deploy names them
//! (`CDK_TEMPLATE`: default settings; `CDK_EDGE_TEMPLATE`: `enableCloudFront=true`). A named
//! file that is missing fails the test: the CDK side is never skipped silently.
//!
//! Held here (issue 20, findings 5 and 8): no function may read the users table without the
//! `dynamodb:Attributes` + `dynamodb:Select` conditions, or read the password attribute; the
//! users table is queried only through its index; writes to it are limited to the same few
//! attributes plus the password, with `ReturnValues` NONE; every `ses:SendEmail` is bound to
//! the sender by `ses:FromAddress` and no statement names `identity/*`; logs go only to the
//! function's own log group; the CloudFront distribution and the WAF rate rule exist under
//! their condition (off by default); the API alarms exist. Finding 6: no function's
//! environment holds the token key (only `TOKEN_HMAC_KEY_SECRET_ARN`), and each function role
//! may `secretsmanager:GetSecretValue` on that one secret and nothing else of Secrets Manager.

use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

/// A template as JSON, with YAML short tags (`!Ref`, `!Sub`, `!If` ...) turned into their long
/// forms (`{"Ref": ..}`, `{"Fn::Sub": ..}`, `{"Fn::GetAtt": [..]}`).
pub(crate) fn load(path: &Path) -> Value {
    let src = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&src)
        .unwrap_or_else(|e| panic!("{} is not YAML/JSON: {e}", path.display()));
    long_form(yaml)
}

pub(crate) fn long_form(v: serde_yaml_ng::Value) -> Value {
    use serde_yaml_ng::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(&n).expect("a YAML number is a JSON number"),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(long_form).collect()),
        Y::Mapping(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Y::String(s) => s,
                        other => serde_yaml_ng::to_string(&other)
                            .expect("a scalar key")
                            .trim()
                            .to_owned(),
                    };
                    (key, long_form(v))
                })
                .collect(),
        ),
        Y::Tagged(t) => {
            let name = t.tag.to_string();
            let name = name.trim_start_matches('!');
            let inner = long_form(t.value);
            match name {
                "Ref" | "Condition" => json!({ name: inner }),
                "GetAtt" => match inner {
                    Value::String(s) => {
                        let (res, attr) = s.split_once('.').expect("!GetAtt Resource.Attribute");
                        json!({ "Fn::GetAtt": [res, attr] })
                    }
                    other => json!({ "Fn::GetAtt": other }),
                },
                other => json!({ format!("Fn::{other}"): inner }),
            }
        }
    }
}

pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub(crate) fn resources(t: &Value) -> &Map<String, Value> {
    t["Resources"].as_object().expect("Resources is a mapping")
}

pub(crate) fn as_list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// The environment each function gets: for SAM's functions, `Globals` merged with the
/// function's own variables (SAM merges them, the function's winning); for plain Lambda
/// functions (the CDK synth), their own. `Globals` alone when no function is declared.
pub(crate) fn environments(t: &Value) -> Vec<(String, Map<String, Value>)> {
    let globals = t["Globals"]["Function"]["Environment"]["Variables"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut out = Vec::new();
    for (name, r) in resources(t) {
        let own = r["Properties"]["Environment"]["Variables"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        match r["Type"].as_str() {
            Some("AWS::Serverless::Function") => {
                let mut vars = globals.clone();
                vars.extend(own);
                out.push((name.clone(), vars));
            }
            Some("AWS::Lambda::Function") => out.push((name.clone(), own)),
            _ => {}
        }
    }
    if out.is_empty() && !globals.is_empty() {
        out.push(("Globals".to_owned(), globals));
    }
    out
}

pub(crate) fn of_type<'a>(t: &'a Value, ty: &str) -> Vec<(&'a String, &'a Value)> {
    resources(t)
        .iter()
        .filter(|(_, r)| r["Type"] == ty)
        .collect()
}

pub(crate) fn assert_alarms(t: &Value, what: &str) {
    let alarms: Vec<String> = of_type(t, "AWS::CloudWatch::Alarm")
        .into_iter()
        .map(|(_, r)| r["Properties"].to_string())
        .collect();
    for metric in ["\"4xx\"", "\"5xx\"", "\"Http429\""] {
        assert!(
            alarms.iter().any(|a| a.contains(metric)),
            "{what}: no alarm on {metric}"
        );
    }
    assert!(
        !of_type(t, "AWS::Logs::MetricFilter").is_empty(),
        "{what}: no 429 metric filter"
    );
}

/// A template named by an environment variable: required when the variable is set.
pub(crate) fn synthesized(var: &str) -> Option<Value> {
    let path = std::env::var_os(var)?;
    let path = PathBuf::from(path);
    assert!(
        path.is_file(),
        "{var}={} names no file: the CDK synth did not run",
        path.display()
    );
    Some(load(&path))
}

mod edge;
mod observe;
mod permissions;
mod reset_table;
mod routes;
