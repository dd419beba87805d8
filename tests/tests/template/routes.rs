//! The dialects' routes in the templates (issue 12): each Stack Auth, Supabase-style and
//! Zitadel v2 path is an HTTP API route of the function that runs its use case, with that use
//! case's throttling, and the Lambda edge answers it in its dialect on that function.

use serde_json::Value;
use shared::http::dialect::stack::{CHECK_CODE_PATH, RESET_PATH, SEND_RESET_CODE_PATH};
use shared::http::dialect::supabase::SEND_PASSWORD_RESET_PATH;
use shared::http::dialect::zitadel::{PASSWORD_RESET_ROUTE, PASSWORD_ROUTE};
use shared::http::dialect::{Dialect, Route, lambda_route};
use shared::service::Operation;

use super::{load, repo, resources, synthesized};

const STACK_ROUTES: [(&str, &str, Operation); 3] = [
    (SEND_RESET_CODE_PATH, "RequestFunction", Operation::Request),
    (CHECK_CODE_PATH, "CheckFunction", Operation::Check),
    (RESET_PATH, "ConsumeFunction", Operation::Consume),
];

/// The Supabase-style and Zitadel routes as API Gateway writes them, their function, their use
/// case, their dialect and a path a client sends.
const OTHER_ROUTES: [(&str, &str, Operation, Dialect, &str); 3] = [
    (
        SEND_PASSWORD_RESET_PATH,
        "RequestFunction",
        Operation::Request,
        Dialect::Supabase,
        SEND_PASSWORD_RESET_PATH,
    ),
    (
        PASSWORD_RESET_ROUTE,
        "RequestFunction",
        Operation::Request,
        Dialect::Zitadel,
        "/v2/users/user-ada/password_reset",
    ),
    (
        PASSWORD_ROUTE,
        "ConsumeFunction",
        Operation::Consume,
        Dialect::Zitadel,
        "/v2/users/user-ada/password",
    ),
];

/// The functions of template.yaml that have a `POST path` HttpApi event.
fn sam_functions_routing(t: &Value, path: &str) -> Vec<String> {
    resources(t)
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .filter(|(_, r)| {
            r["Properties"]["Events"]
                .as_object()
                .into_iter()
                .flat_map(|events| events.values())
                .any(|e| {
                    e["Type"] == "HttpApi"
                        && e["Properties"]["Method"] == "POST"
                        && e["Properties"]["Path"] == path
                        && e["Properties"]["PayloadFormatVersion"] == "2.0"
                })
        })
        .map(|(name, _)| name.clone())
        .collect()
}

#[test]
fn template_yaml_routes_each_stack_auth_path_to_the_function_of_its_operation() {
    let t = load(&repo().join("template.yaml"));
    let route_settings = &resources(&t)["HttpApi"]["Properties"]["RouteSettings"];
    for (path, function, op) in STACK_ROUTES {
        assert_eq!(
            sam_functions_routing(&t, path),
            [function],
            "POST {path} goes to {function} alone"
        );
        assert!(
            route_settings.get(format!("POST {path}")).is_some(),
            "POST {path} has its own throttling"
        );
        assert_eq!(
            lambda_route(op, path),
            Route {
                dialect: Dialect::Stack,
                op
            },
            "{function} answers {path} in Stack's dialect"
        );
    }
    // A native path stays native, and the consume function still serves revoke.
    assert_eq!(
        lambda_route(Operation::Consume, "/password-reset/revoke"),
        Route::native(Operation::Revoke)
    );
    // A Stack path that reached another function is answered as that function's native route.
    assert_eq!(
        lambda_route(Operation::Check, RESET_PATH),
        Route::native(Operation::Check)
    );
}

#[test]
fn template_yaml_routes_the_supabase_and_zitadel_paths_to_the_function_of_their_operation() {
    let t = load(&repo().join("template.yaml"));
    let route_settings = &resources(&t)["HttpApi"]["Properties"]["RouteSettings"];
    for (path, function, op, dialect, sent) in OTHER_ROUTES {
        assert_eq!(
            sam_functions_routing(&t, path),
            [function],
            "POST {path} goes to {function} alone"
        );
        assert!(
            route_settings.get(format!("POST {path}")).is_some(),
            "POST {path} has its own throttling"
        );
        assert_eq!(
            lambda_route(op, sent),
            Route { dialect, op },
            "{function} answers {sent} in its dialect"
        );
    }
    // A Zitadel path that reached another function is that function's native route.
    assert_eq!(
        lambda_route(Operation::Request, "/v2/users/u/password"),
        Route::native(Operation::Request)
    );
}

#[test]
fn template_yaml_lets_browsers_send_the_stack_headers() {
    let t = load(&repo().join("template.yaml"));
    let cors = resources(&t)["HttpApi"]["Properties"]["CorsConfiguration"].to_string();
    for header in ["x-stack-project-id", "x-stack-publishable-client-key"] {
        assert!(cors.contains(header), "CORS allows {header}");
    }
}

#[test]
fn cdk_synth_routes_each_dialect_path_to_the_function_of_its_operation() {
    let Some(t) = synthesized("CDK_TEMPLATE") else {
        eprintln!("CDK_TEMPLATE unset: scripts/test.d/20-deploy runs this against the synth");
        return;
    };
    let res = resources(&t);
    let paths = STACK_ROUTES
        .iter()
        .map(|(path, function, _)| (*path, *function))
        .chain(
            OTHER_ROUTES
                .iter()
                .map(|(path, function, ..)| (*path, *function)),
        );
    for (path, function) in paths {
        let route = res
            .values()
            .find(|r| {
                r["Type"] == "AWS::ApiGatewayV2::Route"
                    && r["Properties"]["RouteKey"] == format!("POST {path}")
            })
            .unwrap_or_else(|| panic!("the synth has POST {path}"));
        // Target: "integrations/<integration>"; the integration's URI names the function.
        let target = route["Properties"]["Target"].to_string();
        let integration = res
            .iter()
            .find(|(name, r)| {
                r["Type"] == "AWS::ApiGatewayV2::Integration" && target.contains(name.as_str())
            })
            .map(|(_, r)| r["Properties"]["IntegrationUri"].to_string())
            .unwrap_or_else(|| panic!("POST {path} has an integration"));
        let fn_prefix = function.trim_end_matches("Function").to_ascii_lowercase();
        assert!(
            integration.to_ascii_lowercase().contains(&fn_prefix),
            "POST {path} integrates {function}: {integration}"
        );
    }
}

#[test]
fn template_yaml_routes_the_productflame_path_to_the_request_function_with_its_throttling() {
    use shared::http::dialect::productflame::RESET_PASSWORD_PATH;
    let t = load(&repo().join("template.yaml"));
    assert_eq!(
        sam_functions_routing(&t, RESET_PASSWORD_PATH),
        ["RequestFunction"],
        "POST {RESET_PASSWORD_PATH} goes to RequestFunction alone"
    );
    let route_settings = &resources(&t)["HttpApi"]["Properties"]["RouteSettings"];
    assert_eq!(
        route_settings[format!("POST {RESET_PASSWORD_PATH}")],
        route_settings["POST /password-reset/request"],
        "request's throttling"
    );
    assert_eq!(
        lambda_route(Operation::Request, RESET_PASSWORD_PATH),
        Route {
            dialect: Dialect::ProductFlame,
            op: Operation::Request
        },
        "the request function answers it in ProductFlame's dialect"
    );
    // Reaching another function, it is that function's native route.
    assert_eq!(
        lambda_route(Operation::Consume, RESET_PASSWORD_PATH),
        Route::native(Operation::Consume)
    );
    // Its mails that fail are in the MailFailed alarm.
    let alarm = resources(&t)["MailFailedAlarm"].to_string();
    assert!(
        alarm.contains("productflame"),
        "MailFailed counts dialect productflame"
    );
}

#[test]
fn cdk_synth_routes_the_productflame_path_to_the_request_function() {
    use shared::http::dialect::productflame::RESET_PASSWORD_PATH;
    let Some(t) = synthesized("CDK_TEMPLATE") else {
        eprintln!("CDK_TEMPLATE unset: scripts/test.d/20-deploy runs this against the synth");
        return;
    };
    let res = resources(&t);
    let route = res
        .values()
        .find(|r| {
            r["Type"] == "AWS::ApiGatewayV2::Route"
                && r["Properties"]["RouteKey"] == format!("POST {RESET_PASSWORD_PATH}")
        })
        .expect("the synth has the ProductFlame route");
    let target = route["Properties"]["Target"].to_string();
    let integration = res
        .iter()
        .find(|(name, r)| {
            r["Type"] == "AWS::ApiGatewayV2::Integration" && target.contains(name.as_str())
        })
        .map(|(_, r)| r["Properties"]["IntegrationUri"].to_string())
        .expect("an integration");
    assert!(
        integration.to_ascii_lowercase().contains("request"),
        "integrates the request function: {integration}"
    );
}
