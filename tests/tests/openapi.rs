//! `openapi.yaml` held against the code: it parses, it names exactly the routes the router
//! serves, its error-code enum is exactly [`ApiError`]'s codes, every route documents 429 with
//! `Retry-After`, and the request body lists exactly the fields the edge accepts.
//! (scripts/test.d/30-schemathesis checks the running API against it.)

use std::collections::BTreeSet;

use serde_json::Value;
use shared::domain::PasswordError;
use shared::http::dialect::productflame::{
    ProductFlameError, RESET_PASSWORD_FIELDS, RESET_PASSWORD_PATH,
};
use shared::http::dialect::stack::{
    CHECK_CODE_PATH, RESET_PATH, SEND_RESET_CODE_FIELDS, SEND_RESET_CODE_PATH, StackError,
};
use shared::http::dialect::supabase::{SEND_PASSWORD_RESET_FIELDS, SEND_PASSWORD_RESET_PATH};
use shared::http::dialect::zitadel::{PASSWORD_RESET_ROUTE, PASSWORD_ROUTE};
use shared::http::dialect::{Dialect, Route};
use shared::http::{
    ApiError, CHECK_FIELDS, CONSUME_FIELDS, FieldErrors, PUBLIC_REQUEST_FIELDS, REVOKE_FIELDS,
    SERVER_ONLY_FIELDS, route,
};
use shared::service::Operation;

/// The three routes and the operation each is.
const ROUTES: [(&str, Operation); 4] = [
    ("/password-reset/request", Operation::Request),
    ("/password-reset/check", Operation::Check),
    ("/password-reset/consume", Operation::Consume),
    ("/password-reset/revoke", Operation::Revoke),
];

/// The Stack Auth dialect's routes (issue 12) and the operation each runs.
const STACK_ROUTES: [(&str, Operation); 3] = [
    (SEND_RESET_CODE_PATH, Operation::Request),
    (CHECK_CODE_PATH, Operation::Check),
    (RESET_PATH, Operation::Consume),
];

/// The Supabase-style and Zitadel routes as the spec writes them, a path a client sends, and
/// the route it is.
const OTHER_ROUTES: [(&str, &str, Dialect, Operation); 3] = [
    (
        SEND_PASSWORD_RESET_PATH,
        SEND_PASSWORD_RESET_PATH,
        Dialect::Supabase,
        Operation::Request,
    ),
    (
        PASSWORD_RESET_ROUTE,
        "/v2/users/user-1/password_reset",
        Dialect::Zitadel,
        Operation::Request,
    ),
    (
        PASSWORD_ROUTE,
        "/v2/users/user-1/password",
        Dialect::Zitadel,
        Operation::Consume,
    ),
];

fn spec() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml");
    let text = std::fs::read_to_string(path).expect("openapi.yaml at the repository root");
    serde_yaml_ng::from_str(&text).expect("openapi.yaml is valid YAML with string keys")
}

/// Follows a local `$ref` (`#/components/...`), once or as often as needed.
fn resolve<'a>(spec: &'a Value, mut node: &'a Value) -> &'a Value {
    while let Some(reference) = node.get("$ref").and_then(Value::as_str) {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("only local references are used: {reference}"));
        node = spec
            .pointer(pointer)
            .unwrap_or_else(|| panic!("dangling reference {reference}"));
    }
    node
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// Every [`ApiError`] variant. The `match` has no wildcard, so a new variant does not compile
/// until it is listed here, and then the enum test below asks for it in the spec.
fn every_api_error() -> Vec<ApiError> {
    let all = vec![
        ApiError::MalformedJson,
        ApiError::NotAnObject,
        ApiError::Validation(FieldErrors::new()),
        ApiError::InvalidCode,
        ApiError::Unauthorized,
        ApiError::Forbidden(FieldErrors::new()),
        ApiError::NotFound,
        ApiError::MethodNotAllowed,
        ApiError::PayloadTooLarge,
        ApiError::UnsupportedMediaType,
        ApiError::TooManyRequests { retry_after: 1 },
        ApiError::EmailDeliveryFailed,
        ApiError::ServiceUnavailable { retry_after: 1 },
        ApiError::Internal,
    ];
    for e in &all {
        match e {
            ApiError::MalformedJson
            | ApiError::NotAnObject
            | ApiError::Validation(_)
            | ApiError::InvalidCode
            | ApiError::Unauthorized
            | ApiError::Forbidden(_)
            | ApiError::NotFound
            | ApiError::MethodNotAllowed
            | ApiError::PayloadTooLarge
            | ApiError::UnsupportedMediaType
            | ApiError::TooManyRequests { .. }
            | ApiError::EmailDeliveryFailed
            | ApiError::ServiceUnavailable { .. }
            | ApiError::Internal => {}
        }
    }
    all
}

#[test]
fn the_spec_is_openapi_3_1_with_the_server_key_as_an_http_bearer_scheme() {
    let spec = spec();
    let version = spec["openapi"].as_str().unwrap();
    assert!(version.starts_with("3.1."), "{version}");
    let scheme = &spec["components"]["securitySchemes"]["serverKey"];
    assert_eq!(
        (&scheme["type"], &scheme["scheme"]),
        (&"http".into(), &"bearer".into())
    );
}

#[test]
fn the_spec_names_exactly_the_routes_the_router_serves() {
    let spec = spec();
    let documented = keys(&spec["paths"]);
    let served: BTreeSet<String> = ROUTES
        .iter()
        .chain(STACK_ROUTES.iter())
        .chain([(RESET_PASSWORD_PATH, Operation::Request)].iter())
        .map(|(p, _)| (*p).to_owned())
        .chain(OTHER_ROUTES.iter().map(|(p, ..)| (*p).to_owned()))
        .collect();
    assert_eq!(documented, served, "paths in openapi.yaml vs the router");
    for (path, op) in ROUTES {
        assert_eq!(route(path), Some(op), "{path}");
        assert_eq!(
            keys(&spec["paths"][path]),
            BTreeSet::from(["post".to_owned()]),
            "{path}: only POST is served"
        );
        // Public or server caller: the empty requirement makes the key optional; revoke is
        // for server callers only.
        let security = spec["paths"][path]["post"]["security"].as_array().unwrap();
        assert_eq!(
            security.contains(&serde_json::json!({})),
            op != Operation::Revoke,
            "{path}"
        );
        assert!(
            security.contains(&serde_json::json!({"serverKey": []})),
            "{path}"
        );
    }
    assert_eq!(route("/password-reset/other"), None);
    for (path, op) in STACK_ROUTES {
        assert_eq!(
            shared::http::dialect::route(path),
            Some(Route {
                dialect: Dialect::Stack,
                op
            }),
            "{path}"
        );
        assert_eq!(
            keys(&spec["paths"][path]),
            BTreeSet::from(["post".to_owned()])
        );
        assert_eq!(
            spec["paths"][path]["post"]["security"],
            serde_json::json!([{"stackProjectId": [], "stackPublishableClientKey": []}]),
            "{path}: the project and publishable key headers"
        );
    }
}

#[test]
fn the_supabase_and_zitadel_routes_are_the_dialects_routes_with_their_security() {
    let spec = spec();
    for (path, sent, dialect, op) in OTHER_ROUTES {
        assert_eq!(
            shared::http::dialect::route(sent),
            Some(Route { dialect, op }),
            "{sent}"
        );
        assert_eq!(
            keys(&spec["paths"][path]),
            BTreeSet::from(["post".to_owned()])
        );
        let security = &spec["paths"][path]["post"]["security"];
        let want = match dialect {
            // Public: no key, whatever the caller sends.
            Dialect::Supabase => serde_json::json!([{}]),
            // The server key, required.
            _ => serde_json::json!([{"serverKey": []}]),
        };
        assert_eq!(security, &want, "{path}");
    }
}

#[test]
fn the_supabase_and_zitadel_routes_document_each_status_they_can_answer() {
    let spec = spec();
    let statuses = |path: &str| keys(&spec["paths"][path]["post"]["responses"]);
    let set =
        |list: &[&str]| -> BTreeSet<String> { list.iter().map(|s| (*s).to_owned()).collect() };
    // Public and opaque: no 401, 403, 404 or 502 (a failed mail is never shown).
    assert_eq!(
        statuses(SEND_PASSWORD_RESET_PATH),
        set(&["200", "400", "405", "413", "415", "429", "500", "503"])
    );
    assert_eq!(
        statuses(PASSWORD_RESET_ROUTE),
        set(&[
            "200", "400", "401", "404", "405", "413", "415", "429", "500", "502", "503"
        ])
    );
    // Server callers: no IP limit and no cap on setting the password.
    assert_eq!(
        statuses(PASSWORD_ROUTE),
        set(&[
            "200", "400", "401", "404", "405", "413", "415", "500", "503"
        ])
    );
    for (path, status) in [
        (SEND_PASSWORD_RESET_PATH, "429"),
        (SEND_PASSWORD_RESET_PATH, "503"),
        (PASSWORD_RESET_ROUTE, "429"),
        (PASSWORD_RESET_ROUTE, "503"),
        (PASSWORD_ROUTE, "503"),
    ] {
        let response = resolve(&spec, &spec["paths"][path]["post"]["responses"][status]);
        assert_eq!(
            resolve(&spec, &response["headers"]["Retry-After"])["required"],
            true,
            "{path} {status}"
        );
    }
    let body = &spec["components"]["schemas"]["SupabaseSendPasswordResetBody"];
    assert_eq!(body["additionalProperties"], false);
    let fields: BTreeSet<String> = SEND_PASSWORD_RESET_FIELDS
        .iter()
        .map(|f| (*f).to_owned())
        .collect();
    assert_eq!(keys(&body["properties"]), fields);
    // The seed's camelCase names, nothing of the native snake_case ones.
    let error = keys(&spec["components"]["schemas"]["SupabaseError"]["properties"]);
    assert_eq!(
        error,
        set(&["code", "error", "fieldErrors", "issues", "retryAfter"])
    );
    let error = keys(&spec["components"]["schemas"]["ZitadelError"]["properties"]);
    assert_eq!(error, set(&["code", "details", "message"]));
}

/// Every [`StackError`] the Stack routes answer: its header errors, the password codes, and
/// each [`ApiError`] in Stack's shape.
fn every_stack_error() -> Vec<StackError> {
    let mut all = vec![
        StackError::ProjectNotFound,
        StackError::ClientKeyRequired,
        StackError::InvalidClientKey,
        StackError::Password(PasswordError::TooShort { min: 8 }),
        StackError::Password(PasswordError::TooLong { max: 128 }),
        StackError::Password(PasswordError::Blank),
        StackError::BreachedPassword,
    ];
    all.extend(every_api_error().into_iter().map(StackError::Api));
    all
}

#[test]
fn the_stack_error_code_enum_is_exactly_the_codes_the_stack_routes_answer() {
    let spec = spec();
    let documented: BTreeSet<&str> = spec["components"]["schemas"]["StackErrorCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let answered: BTreeSet<&str> = every_stack_error().iter().map(StackError::code).collect();
    // Never answered on a Stack route: Stack callers are public (no 401 UNAUTHORIZED, 403, 404
    // NOT_FOUND from a use case, or 502), but the enum lists every code the type can render.
    assert_eq!(documented, answered);
}

#[test]
fn every_stack_route_documents_each_status_it_can_answer_with_retry_after_on_429_and_503() {
    let spec = spec();
    for (path, op) in STACK_ROUTES {
        let responses = &spec["paths"][path]["post"]["responses"];
        let mut want: BTreeSet<String> = [
            "200", "400", "401", "405", "413", "415", "429", "500", "503",
        ]
        .map(String::from)
        .into();
        if op == Operation::Consume {
            want.insert("404".to_owned());
        }
        assert_eq!(keys(responses), want, "{path}");
        for status in ["429", "503"] {
            let response = resolve(&spec, &responses[status]);
            assert_eq!(
                resolve(&spec, &response["headers"]["Retry-After"])["required"],
                true,
                "{path} {status}"
            );
        }
    }
    let body = &spec["components"]["schemas"]["StackSendResetCodeBody"];
    assert_eq!(body["additionalProperties"], false);
    let fields: BTreeSet<String> = SEND_RESET_CODE_FIELDS
        .iter()
        .map(|f| (*f).to_owned())
        .collect();
    assert_eq!(keys(&body["properties"]), fields);
}

#[test]
fn the_error_code_enum_is_exactly_the_codes_api_error_answers() {
    let spec = spec();
    let documented: BTreeSet<&str> = spec["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let answered: BTreeSet<&str> = every_api_error().iter().map(ApiError::code).collect();
    assert_eq!(documented, answered);
}

#[test]
fn every_route_documents_each_status_it_can_answer() {
    let spec = spec();
    let common = [
        "200", "400", "401", "405", "413", "415", "429", "500", "503",
    ];
    for (path, op) in ROUTES {
        let responses = keys(&spec["paths"][path]["post"]["responses"]);
        let mut want: BTreeSet<String> = common.iter().map(|s| (*s).to_owned()).collect();
        if op == Operation::Request {
            // 403 public caller with server-only fields, 404 unknown user (server), 502 mail.
            want.extend(["403", "404", "502"].map(String::from));
        }
        if op == Operation::Revoke {
            // Server callers only: never IP-limited, 404 for an unknown user.
            want.remove("429");
            want.insert("404".to_owned());
        }
        assert_eq!(responses, want, "{path}");
    }
    // Each error status in the spec is one ApiError answers.
    let statuses: BTreeSet<String> = every_api_error()
        .iter()
        .map(|e| e.status().as_u16().to_string())
        .collect();
    for s in [
        "400", "401", "403", "404", "405", "413", "415", "429", "500", "502", "503",
    ] {
        assert!(statuses.contains(s), "{s}");
    }
}

#[test]
fn the_password_bounds_in_the_spec_are_the_policys_defaults() {
    let spec = spec();
    let password = &spec["components"]["schemas"]["NewPassword"];
    let policy = shared::domain::PasswordPolicy::default();
    assert_eq!(password["minLength"], policy.min_chars());
    assert_eq!(password["maxLength"], policy.max_chars());
    let said = password["description"].as_str().unwrap();
    for name in [
        "PASSWORD_MIN_LENGTH",
        "PASSWORD_MAX_LENGTH",
        "PWNED_PASSWORDS_URL",
    ] {
        assert!(said.contains(name), "the description names {name}");
    }
}

#[test]
fn every_route_documents_429_with_a_retry_after_header() {
    let spec = spec();
    for (path, _) in ROUTES.iter().filter(|(_, op)| *op != Operation::Revoke) {
        let response = resolve(&spec, &spec["paths"][path]["post"]["responses"]["429"]);
        let header = resolve(&spec, &response["headers"]["Retry-After"]);
        assert_eq!(header["required"], true, "{path}");
        assert_eq!(header["schema"]["type"], "integer", "{path}");
        let body = &response["content"]["application/json"]["schema"];
        let requires_retry_after = body["allOf"].as_array().is_some_and(|parts| {
            parts.iter().any(|p| {
                p["required"]
                    .as_array()
                    .is_some_and(|r| r.contains(&"retry_after".into()))
            })
        });
        assert!(requires_retry_after, "{path}: retry_after in the body");
    }
}

#[test]
fn request_bodies_list_exactly_the_fields_the_edge_accepts_and_no_others() {
    let spec = spec();
    let schemas = &spec["components"]["schemas"];
    let set = |lists: &[&[&str]]| -> BTreeSet<String> {
        lists
            .iter()
            .flat_map(|l| l.iter())
            .map(|f| (*f).to_owned())
            .collect()
    };
    // The edge's own lists, not a copy of them: a field added to the edge fails here until the
    // spec documents it.
    for (schema, fields) in [
        (
            "RequestBody",
            set(&[PUBLIC_REQUEST_FIELDS, SERVER_ONLY_FIELDS]),
        ),
        ("CheckBody", set(&[CHECK_FIELDS])),
        ("ConsumeBody", set(&[CONSUME_FIELDS])),
        ("RevokeBody", set(&[REVOKE_FIELDS])),
    ] {
        assert_eq!(
            schemas[schema]["additionalProperties"], false,
            "{schema}: unknown fields are refused"
        );
        assert_eq!(keys(&schemas[schema]["properties"]), fields, "{schema}");
    }
}

#[test]
fn the_productflame_route_is_documented_with_its_raw_key_scheme_and_seed_body() {
    let spec = spec();
    assert_eq!(
        shared::http::dialect::route(RESET_PASSWORD_PATH),
        Some(Route {
            dialect: Dialect::ProductFlame,
            op: Operation::Request
        })
    );
    let post = &spec["paths"][RESET_PASSWORD_PATH]["post"];
    assert_eq!(
        keys(&spec["paths"][RESET_PASSWORD_PATH]),
        BTreeSet::from(["post".to_owned()])
    );
    assert_eq!(
        post["security"],
        serde_json::json!([{"productflameSecretKey": []}]),
        "the raw key, required"
    );
    let scheme = &spec["components"]["securitySchemes"]["productflameSecretKey"];
    assert_eq!(
        (&scheme["type"], &scheme["in"], &scheme["name"]),
        (&"apiKey".into(), &"header".into(), &"Authorization".into())
    );
    let body = &spec["components"]["schemas"]["ProductFlameResetPasswordBody"];
    assert_eq!(body["additionalProperties"], false);
    let fields: BTreeSet<String> = RESET_PASSWORD_FIELDS
        .iter()
        .map(|f| (*f).to_owned())
        .collect();
    assert_eq!(keys(&body["properties"]), fields);
    assert_eq!(
        post["requestBody"]["content"]["application/json"]["examples"]["seed"]["value"],
        serde_json::json!({"email": "user@example.com", "maxRequests": 3, "preventEmailSending": false}),
        "seed 002's body"
    );
}

#[test]
fn the_productflame_error_enum_and_statuses_are_exactly_what_the_route_answers() {
    let spec = spec();
    let mut all = vec![ProductFlameError::Unauthorized];
    all.extend(every_api_error().into_iter().map(ProductFlameError::Api));
    let documented: BTreeSet<&str> = spec["components"]["schemas"]["ProductFlameErrorCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let answered: BTreeSet<&str> = all.iter().map(ProductFlameError::error).collect();
    assert_eq!(documented, answered);
    // Every status the route can answer (a use case's 404 is "ok", INVALID_CODE never happens
    // on request): documented, with Retry-After on 429 and 503.
    let responses = &spec["paths"][RESET_PASSWORD_PATH]["post"]["responses"];
    let want: BTreeSet<String> = [
        "200", "400", "401", "405", "413", "415", "429", "500", "502", "503",
    ]
    .map(String::from)
    .into();
    assert_eq!(keys(responses), want);
    for e in &all {
        let status = e.status().as_u16().to_string();
        if !matches!(e.error(), "NOT_FOUND") {
            assert!(want.contains(&status), "{status} {}", e.error());
        }
    }
    for status in ["429", "503"] {
        let response = resolve(&spec, &responses[status]);
        assert_eq!(
            resolve(&spec, &response["headers"]["Retry-After"])["required"],
            true,
            "{status}"
        );
    }
}
