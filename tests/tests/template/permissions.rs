//! Least privilege, read from the templates: the users table only through its index and its
//! attribute conditions, mail bound to the sender, logs to the function's own group, the token
//! key only as its secret's ARN.

use super::*;

/// Both branches of every `Fn::If` in a list of statements, `AWS::NoValue` dropped.
fn branches(v: &Value) -> Vec<&Value> {
    match v {
        Value::Object(o) if o.len() == 1 && o.contains_key("Fn::If") => {
            let arms = o["Fn::If"].as_array().expect("Fn::If [cond, a, b]");
            arms[1..].iter().flat_map(branches).collect()
        }
        Value::Object(o) if o.get("Ref") == Some(&json!("AWS::NoValue")) => Vec::new(),
        other => vec![other],
    }
}

/// Every IAM statement of the template, named by its resource and Sid.
pub(super) fn statements(t: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    for (name, r) in resources(t) {
        let p = &r["Properties"];
        let docs: Vec<&Value> = match r["Type"].as_str() {
            Some("AWS::IAM::Role") => as_list(&p["Policies"])
                .into_iter()
                .flat_map(branches)
                .map(|pol| &pol["PolicyDocument"])
                .collect(),
            Some("AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy") => vec![&p["PolicyDocument"]],
            Some("AWS::Serverless::Function") => as_list(&p["Policies"]),
            _ => continue,
        };
        for doc in docs {
            for s in as_list(&doc["Statement"]).into_iter().flat_map(branches) {
                let sid = s["Sid"].as_str().unwrap_or("?");
                out.push((format!("{name}/{sid}"), s));
            }
        }
    }
    out
}

pub(super) fn actions(s: &Value) -> Vec<String> {
    as_list(&s["Action"])
        .into_iter()
        .filter_map(|a| a.as_str().map(str::to_owned))
        .collect()
}

/// Resource entries as text (intrinsics serialized), both `Fn::If` arms.
pub(super) fn resource_texts(s: &Value) -> Vec<String> {
    as_list(&s["Resource"])
        .into_iter()
        .flat_map(branches)
        .map(|r| r.to_string())
        .collect()
}

fn names_users_table(resource: &str) -> bool {
    resource.contains("DemoUsersTable") || resource.contains("UsersTableName")
}

/// The users-table attribute list a statement is conditioned on, as text.
fn attribute_condition(s: &Value) -> Option<String> {
    let c = s["Condition"]["ForAllValues:StringEquals"].get("dynamodb:Attributes")?;
    Some(c.to_string())
}

/// What a template calls the password attribute: a parameter reference in template.yaml, the
/// configured name in a synthesized one.
pub(super) struct Names {
    password: &'static str,
}

const SAM: Names = Names {
    password: r#"{"Ref":"UsersPasswordAttribute"}"#,
};
pub(super) const CDK: Names = Names {
    password: r#""password_hash""#,
};

fn permissions_violations(t: &Value, names: &Names) -> Vec<String> {
    let mut bad = Vec::new();
    let reads = [
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        "dynamodb:Scan",
    ];
    for (at, s) in statements(t) {
        if s["Effect"] != "Allow" {
            continue;
        }
        let acts = actions(s);
        let res = resource_texts(s);
        let on_users = res.iter().any(|r| names_users_table(r));
        for a in &acts {
            if a.contains('*') {
                bad.push(format!("{at}: wildcard action {a}"));
            }
        }
        if on_users {
            if acts.iter().any(|a| reads.contains(&a.as_str())) {
                match attribute_condition(s) {
                    None => bad.push(format!(
                        "{at}: reads the users table without a dynamodb:Attributes condition"
                    )),
                    Some(list) if list.contains(names.password) => {
                        bad.push(format!("{at}: may read the password attribute: {list}"))
                    }
                    Some(_) => {}
                }
                if s["Condition"]["StringEqualsIfExists"]["dynamodb:Select"]
                    != "SPECIFIC_ATTRIBUTES"
                {
                    bad.push(format!(
                        "{at}: users-table read without dynamodb:Select SPECIFIC_ATTRIBUTES"
                    ));
                }
            }
            if acts
                .iter()
                .any(|a| a == "dynamodb:Query" || a == "dynamodb:Scan")
                && res.iter().any(|r| !r.contains("/index/"))
            {
                bad.push(format!("{at}: Query/Scan on the users base table: {res:?}"));
            }
            for forbidden in [
                "dynamodb:PutItem",
                "dynamodb:DeleteItem",
                "dynamodb:BatchWriteItem",
                "dynamodb:Scan",
            ] {
                if acts.iter().any(|a| a == forbidden) {
                    bad.push(format!("{at}: {forbidden} on the users table"));
                }
            }
            if acts.iter().any(|a| a == "dynamodb:UpdateItem") {
                if attribute_condition(s).is_none() {
                    bad.push(format!(
                        "{at}: UpdateItem on the users table without dynamodb:Attributes"
                    ));
                }
                if s["Condition"]["StringEqualsIfExists"]["dynamodb:ReturnValues"] != "NONE" {
                    bad.push(format!(
                        "{at}: UpdateItem on the users table without ReturnValues NONE"
                    ));
                }
            }
        }
        if acts.iter().any(|a| a.starts_with("ses:Send")) {
            if s["Condition"]["StringEquals"]
                .get("ses:FromAddress")
                .is_none()
            {
                bad.push(format!("{at}: ses:SendEmail without ses:FromAddress"));
            }
            for r in &res {
                if r.contains("identity/*") || r == "\"*\"" {
                    bad.push(format!("{at}: ses:SendEmail on {r}"));
                }
            }
        }
        if acts.iter().any(|a| a.starts_with("logs:")) {
            for r in &res {
                if !r.contains("Logs") {
                    bad.push(format!(
                        "{at}: logs actions on {r}, not the function's own log group"
                    ));
                }
            }
        }
    }
    // No function role may carry AWSLambdaBasicExecutionRole (logs:* on every log group).
    for (name, r) in resources(t) {
        if r.to_string().contains("AWSLambdaBasicExecutionRole") {
            bad.push(format!("{name}: uses AWSLambdaBasicExecutionRole"));
        }
    }
    bad
}

/// Finding 6: the token key never in an environment, only its secret's ARN; Secrets Manager
/// only as `GetSecretValue` on the token key's secret; each of the three roles has it. The
/// CAPTCHA secret likewise: never in an environment, read by the request role alone.
fn token_key_violations(t: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    let envs = environments(t);
    if envs.is_empty() {
        bad.push("no function environment found".to_owned());
    }
    for (at, vars) in &envs {
        for (var, value) in vars {
            let text = value.to_string();
            if text.contains("resolve:secretsmanager") && text.contains("TokenHmacKey") {
                bad.push(format!(
                    "{at}: {var} resolves the token key into the environment"
                ));
            }
            if var.starts_with("TOKEN_HMAC_KEY")
                && var != "TOKEN_HMAC_KEY_SECRET_ARN"
                && text != r#""""#
            {
                bad.push(format!(
                    "{at}: {var} is set ({text}): the key belongs in the secret"
                ));
            }
        }
        if let Some(secret) = vars.get("CAPTCHA_SECRET").map(Value::to_string)
            && secret != r#""""#
        {
            bad.push(format!(
                "{at}: CAPTCHA_SECRET is set ({secret}): it belongs in its secret"
            ));
        }
        match vars.get("TOKEN_HMAC_KEY_SECRET_ARN").map(Value::to_string) {
            Some(arn) if arn.contains("TokenHmacKey") && !arn.contains("resolve:") => {}
            other => bad.push(format!("{at}: TOKEN_HMAC_KEY_SECRET_ARN is {other:?}")),
        }
    }
    let mut readers = Vec::new();
    for (at, s) in statements(t) {
        let acts = actions(s);
        if !acts.iter().any(|a| a.starts_with("secretsmanager:")) {
            continue;
        }
        if acts != ["secretsmanager:GetSecretValue"] {
            bad.push(format!(
                "{at}: Secrets Manager actions {acts:?}, not GetSecretValue alone"
            ));
        }
        let res = resource_texts(s);
        // The request function may also read the CAPTCHA secret the operator names (its ARN
        // parameter), and only that.
        let captcha = at.starts_with("RequestFunctionRole/")
            && res.len() == 1
            && res[0] == r#"{"Ref":"CaptchaSecretArn"}"#;
        if captcha {
            continue;
        }
        if res.len() != 1 || !res[0].contains("TokenHmacKey") || res[0].contains('*') {
            bad.push(format!(
                "{at}: GetSecretValue on {res:?}, not the token key's secret alone"
            ));
        }
        readers.push(at);
    }
    for role in [
        "RequestFunctionRole",
        "CheckFunctionRole",
        "ConsumeFunctionRole",
    ] {
        if !readers.iter().any(|at| at.starts_with(role)) {
            bad.push(format!("{role}: cannot read the token key's secret"));
        }
    }
    bad
}

pub(super) fn assert_clean(t: &Value, names: &Names, what: &str) {
    let bad = permissions_violations(t, names);
    assert!(bad.is_empty(), "{what}: {bad:#?}");
    let bad = token_key_violations(t);
    assert!(bad.is_empty(), "{what}: token key: {bad:#?}");
    assert!(
        statements(t).len() >= 10,
        "{what}: too few IAM statements found; the reader is lost"
    );
}

#[test]
fn template_yaml_grants_users_attributes_mail_and_logs_narrowly() {
    let t = load(&repo().join("template.yaml"));
    assert_clean(&t, &SAM, "template.yaml");
    // Both kinds of user read are there (and so were checked above).
    let all: Vec<String> = statements(&t)
        .into_iter()
        .map(|(at, s)| format!("{at} {s}"))
        .collect();
    assert!(all.iter().any(|s| s.contains("FindUserByEmail")));
    assert!(
        all.iter()
            .any(|s| s.contains("ConsumeFunctionRole/SetPassword"))
    );
}

#[test]
fn cdk_synth_grants_the_same_narrow_permissions() {
    let Some(t) = synthesized("CDK_TEMPLATE") else {
        eprintln!("CDK_TEMPLATE unset: scripts/test.d/20-deploy runs this against the synth");
        return;
    };
    assert_clean(&t, &CDK, "CDK synth");
    assert!(
        of_type(&t, "AWS::CloudFront::Distribution").is_empty(),
        "CDK synth: CloudFront must be off by default"
    );
    assert_alarms(&t, "CDK synth");
}

#[test]
fn template_yaml_hands_the_functions_the_token_keys_secret_arn_and_read_access_to_it_alone() {
    let t = load(&repo().join("template.yaml"));
    assert_eq!(token_key_violations(&t), Vec::<String>::new());
    let readers: Vec<String> = statements(&t)
        .into_iter()
        .filter(|(at, _)| at.ends_with("/ReadTokenKey"))
        .map(|(at, s)| format!("{at} {}", s["Resource"]))
        .collect();
    assert_eq!(
        readers,
        [
            r#"CheckFunctionRole/ReadTokenKey {"Ref":"TokenHmacKey"}"#,
            r#"ConsumeFunctionRole/ReadTokenKey {"Ref":"TokenHmacKey"}"#,
            r#"RequestFunctionRole/ReadTokenKey {"Ref":"TokenHmacKey"}"#,
        ]
    );
}

#[test]
fn the_token_key_checks_catch_the_key_in_the_environment_and_wide_grants() {
    // Before issue 20: the key resolved into the environment at deploy; and a grant too wide.
    let old = r#"
Globals:
  Function:
    Environment:
      Variables:
        TOKEN_HMAC_KEY: !Sub "{{resolve:secretsmanager:${TokenHmacKey}:SecretString}}"
Resources:
  RequestFunctionRole:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: token-key
          PolicyDocument:
            Statement:
              - Sid: ReadSecrets
                Effect: Allow
                Action: [secretsmanager:GetSecretValue, secretsmanager:DescribeSecret]
                Resource: "*"
"#;
    let t = long_form(serde_yaml_ng::from_str(old).expect("YAML"));
    let bad = token_key_violations(&t).join("\n");
    for expected in [
        "TOKEN_HMAC_KEY resolves the token key into the environment",
        "TOKEN_HMAC_KEY is set",
        "TOKEN_HMAC_KEY_SECRET_ARN is None",
        "not GetSecretValue alone",
        "not the token key's secret alone",
        "CheckFunctionRole: cannot read the token key's secret",
    ] {
        assert!(bad.contains(expected), "missed {expected:?} in:\n{bad}");
    }
}

#[test]
fn the_checks_catch_the_old_template() {
    // The policies as they were before issue 20: a base-table Query, no attribute conditions,
    // identity/* in sandbox mode, no ses:FromAddress.
    let old = r#"
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - Statement:
            - Sid: ReadUsers
              Effect: Allow
              Action: [dynamodb:GetItem, dynamodb:Query]
              Resource:
                - !If [CreateUsersTable, !GetAtt DemoUsersTable.Arn, !Sub "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${UsersTableName}"]
            - !If
              - InSesSandbox
              - Sid: SendMailToSandboxRecipients
                Effect: Allow
                Action: ses:SendEmail
                Resource: !Sub "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*"
              - !Ref AWS::NoValue
"#;
    let t = long_form(serde_yaml_ng::from_str(old).expect("YAML"));
    let bad = permissions_violations(&t, &SAM).join("\n");
    for expected in [
        "without a dynamodb:Attributes condition",
        "without dynamodb:Select",
        "Query/Scan on the users base table",
        "without ses:FromAddress",
        "identity/*",
    ] {
        assert!(bad.contains(expected), "missed {expected:?} in:\n{bad}");
    }
}
