//! The edge the templates deploy: CloudFront and WAF off by default and complete when on, the
//! API alarms, and the empty `AWS_ENDPOINT_URL` every function declares for sam local.

use super::permissions::{CDK, assert_clean};
use super::*;

fn assert_edge(t: &Value, what: &str, condition: Option<(&str, &str)>) {
    let dists = of_type(t, "AWS::CloudFront::Distribution");
    let acls = of_type(t, "AWS::WAFv2::WebACL");
    assert_eq!(dists.len(), 1, "{what}: one CloudFront distribution");
    assert_eq!(acls.len(), 1, "{what}: one WAF web ACL");
    let (_, acl) = acls[0];
    assert_eq!(
        acl["Properties"]["Scope"], "CLOUDFRONT",
        "{what}: web ACL scope"
    );
    let rules = acl["Properties"]["Rules"].to_string();
    assert!(
        rules.contains("RateBasedStatement") && rules.contains(r#""AggregateKeyType":"IP""#),
        "{what}: no per-IP rate-based rule: {rules}"
    );
    let cfg = dists[0].1["Properties"]["DistributionConfig"].to_string();
    assert!(
        cfg.contains("WebACLId"),
        "{what}: distribution without web ACL"
    );
    assert!(
        cfg.contains("X-Origin-Verify"),
        "{what}: origin without the X-Origin-Verify secret header"
    );
    if let Some((dist_cond, acl_cond)) = condition {
        assert_eq!(
            dists[0].1["Condition"], dist_cond,
            "{what}: distribution condition"
        );
        assert_eq!(
            acls[0].1["Condition"], acl_cond,
            "{what}: web ACL condition"
        );
    }
}

#[test]
fn template_yaml_offers_cloudfront_and_waf_off_by_default_and_alarms() {
    let t = load(&repo().join("template.yaml"));
    assert_eq!(t["Parameters"]["EnableCloudFront"]["Default"], "false");
    assert_eq!(
        t["Conditions"]["UseCloudFront"],
        json!({"Fn::Equals": [{"Ref": "EnableCloudFront"}, "true"]})
    );
    assert_edge(&t, "template.yaml", Some(("UseCloudFront", "CreateWebAcl")));
    let rule = t["Rules"]["WebAclInUsEast1"].to_string();
    assert!(
        rule.contains("AWS::Region") && rule.contains("us-east-1"),
        "template.yaml: the in-stack web ACL must be asserted to us-east-1: {rule}"
    );
    let stage = &resources(&t)["HttpApi"]["Properties"]["RouteSettings"];
    for route in ["request", "check", "consume"] {
        assert!(
            stage.get(format!("POST /password-reset/{route}")).is_some(),
            "template.yaml: no throttling of its own for {route}"
        );
    }
    assert_alarms(&t, "template.yaml");
}

#[test]
fn cdk_synth_with_cloudfront_has_the_distribution_and_waf() {
    let Some(t) = synthesized("CDK_EDGE_TEMPLATE") else {
        eprintln!("CDK_EDGE_TEMPLATE unset: scripts/test.d/20-deploy runs this against the synth");
        return;
    };
    assert_clean(&t, &CDK, "CDK synth (enableCloudFront)");
    assert_edge(&t, "CDK synth (enableCloudFront)", None);
}

/// `sam local invoke --env-vars` overrides only variables the template declares: every
/// function declares `AWS_ENDPOINT_URL`, empty (the SDK's own endpoints on AWS), so the local
/// run (scripts/test.d/50-sam-local) can point each one at moto.
#[test]
fn every_function_declares_an_empty_aws_endpoint_url_for_sam_local() {
    let t = load(&repo().join("template.yaml"));
    let envs = environments(&t);
    let functions: Vec<_> = envs
        .iter()
        .filter(|(name, _)| name.ends_with("Function") && name != "ViewerAddressFunction")
        .collect();
    assert_eq!(functions.len(), 3, "request, check and consume: {envs:?}");
    for (name, vars) in functions {
        assert_eq!(
            vars.get("AWS_ENDPOINT_URL"),
            Some(&json!("")),
            "{name} must declare AWS_ENDPOINT_URL: \"\""
        );
    }
}
