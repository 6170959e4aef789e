//! The OpenAPI document of the public API, as a client sees it through the gateway.
//!
//! It is generated, not written: each service describes its own routes and bodies next to its
//! handlers (`openapi()` in its `http` module), the gateway describes its own routes, and this
//! crate merges them and applies what the gateway does to them (admin paths under
//! `/admin/<service>`, internal routes left out, the bearer token, and the answers any proxied
//! route may give before or beside its handler: 401, 429, 503, and 400/413/415 where it reads a
//! body or a query). The result is committed as `docs/openapi.json`, which the gateway serves; a test keeps
//! that file equal to what this crate generates.

use std::collections::BTreeSet;

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Ref, RefOr,
    ResponseBuilder, ServerBuilder,
};

/// The name of the bearer JWT security scheme.
pub const BEARER: &str = "bearerAuth";

/// Where `document()` is committed, relative to the workspace root.
pub const COMMITTED_PATH: &str = "docs/openapi.json";

/// Routes a service serves that the public API does not offer (method, path on the service).
const INTERNAL: &[(&str, &str)] = &[
    // The order service's call; customers never make it.
    ("post", "/payments"),
];

/// The services with an outbox (mypage has none: it only reads events).
const POSTGRES_SERVICES: [&str; 6] = [
    "order",
    "payment",
    "store",
    "delivery",
    "notification",
    "review",
];

/// The whole public API.
pub fn document() -> OpenApi {
    let mut doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Food delivery API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "The public REST API of the food-delivery platform, through its gateway. \
                     Errors are RFC 9457 problem details (`application/problem+json`) with a \
                     stable `code`.",
                ))
                .build(),
        )
        .servers(Some([ServerBuilder::new()
            .url("http://localhost:8088")
            .description(Some("the gateway of the local stack"))
            .build()]))
        .components(Some(
            ComponentsBuilder::new()
                .security_scheme(
                    BEARER,
                    SecurityScheme::Http(
                        HttpBuilder::new()
                            .scheme(HttpAuthScheme::Bearer)
                            .bearer_format("JWT")
                            .build(),
                    ),
                )
                .build(),
        ))
        .security(Some([SecurityRequirement::new(
            BEARER,
            Vec::<String>::new(),
        )]))
        .build();

    for (service, part) in [
        ("order", order_service::http::openapi()),
        ("payment", payment_service::http::openapi()),
        ("store", store_service::http::openapi()),
        ("delivery", delivery_service::http::openapi()),
        ("notification", notification_service::http::openapi()),
        ("mypage", mypage_service::http::openapi()),
        ("review", review_service::http::openapi()),
    ] {
        doc.merge(behind_gateway(service, part));
    }
    // Every PostgreSQL-backed service serves the parked outbox rows' admin routes.
    for service in POSTGRES_SERVICES {
        doc.merge(behind_gateway(service, backbone::parked::http::openapi()));
    }
    add_gateway_answers(&mut doc);
    doc.merge(named_after("gateway", gateway::openapi::openapi()));
    drop_unreferenced_schemas(&mut doc);
    doc
}

/// `document()` as committed: pretty JSON with a final newline.
pub fn pretty_json() -> Result<String, serde_json::Error> {
    let mut json = serde_json::to_string_pretty(&document())?;
    json.push('\n');
    Ok(json)
}

/// A service's document as the gateway exposes it: its admin paths under `/admin/<service>`,
/// its internal routes gone.
fn behind_gateway(service: &str, doc: OpenApi) -> OpenApi {
    let mut doc = named_after(service, doc);
    let paths = std::mem::take(&mut doc.paths.paths);
    for (path, mut item) in paths {
        for (method, internal) in INTERNAL {
            if path == *internal {
                *operation_slot(&mut item, method) = None;
            }
        }
        if operations(&mut item).next().is_none() {
            continue;
        }
        let path = match path.strip_prefix("/admin/") {
            Some(rest) => format!("/admin/{service}/{rest}"),
            None => path,
        };
        doc.paths.paths.insert(path, item);
    }
    doc
}

/// Operation ids are handler names (`list`, `accept`), unique only within one service: prefix
/// them with the service's name (`payment.list`) so that they are unique in the whole document.
fn named_after(service: &str, mut doc: OpenApi) -> OpenApi {
    for item in doc.paths.paths.values_mut() {
        for operation in operations(item) {
            if let Some(id) = operation.operation_id.as_mut() {
                *id = format!("{service}.{id}");
            }
        }
    }
    doc
}

/// What the gateway itself answers on every route it proxies, before the service sees it.
fn add_gateway_answers(doc: &mut OpenApi) {
    let problem = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build()
    };
    let components = doc.components.get_or_insert_with(Default::default);
    components.responses.insert(
        "Unauthorized".to_owned(),
        RefOr::T(problem("missing, invalid or expired token")),
    );
    for (name, description) in [
        ("TooManyRequests", "rate limited; see Retry-After"),
        (
            "MalformedRequest",
            "a body that is not JSON or not of the schema's types (`malformed_body`), or a query \
             string that does not parse (`malformed_query`)",
        ),
        (
            "PayloadTooLarge",
            "the body is larger than the gateway admits (`body_too_large`)",
        ),
        (
            "UnsupportedMediaType",
            "no `Content-Type: application/json` (`unsupported_media_type`)",
        ),
        (
            "ServiceUnavailable",
            "overloaded (`overloaded`), out of time (`deadline_exceeded`) or the service is \
             unreachable; see Retry-After",
        ),
    ] {
        components
            .responses
            .insert(name.to_owned(), RefOr::T(problem(description)));
    }
    for item in doc.paths.paths.values_mut() {
        for operation in operations(item) {
            let has_body = operation.request_body.is_some();
            let has_query = operation
                .parameters
                .iter()
                .flatten()
                .any(|p| matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Query));
            let mut answers = vec![("401", "Unauthorized"), ("429", "TooManyRequests")];
            if has_body || has_query {
                answers.push(("400", "MalformedRequest"));
            }
            if has_body {
                answers.push(("413", "PayloadTooLarge"));
                answers.push(("415", "UnsupportedMediaType"));
            }
            answers.push(("503", "ServiceUnavailable"));
            let responses = &mut operation.responses.responses;
            for (status, name) in answers {
                responses
                    .entry(status.to_owned())
                    .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
            }
        }
    }
}

/// Schemas only the left-out internal routes used.
fn drop_unreferenced_schemas(doc: &mut OpenApi) {
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    let schemas = std::mem::take(&mut components.schemas);
    let refs_in = |value: serde_json::Value| {
        let mut found = BTreeSet::new();
        collect_schema_refs(&value, &mut found);
        found
    };
    let mut wanted = refs_in(serde_json::to_value(&doc.paths).unwrap_or_default());
    if let Some(components) = doc.components.as_ref() {
        wanted.extend(refs_in(
            serde_json::to_value(&components.responses).unwrap_or_default(),
        ));
    }
    // Schemas refer to schemas: follow until nothing new turns up.
    let mut pending: Vec<String> = wanted.iter().cloned().collect();
    while let Some(name) = pending.pop() {
        if let Some(schema) = schemas.get(&name) {
            for found in refs_in(serde_json::to_value(schema).unwrap_or_default()) {
                if wanted.insert(found.clone()) {
                    pending.push(found);
                }
            }
        }
    }
    if let Some(components) = doc.components.as_mut() {
        components.schemas = schemas
            .into_iter()
            .filter(|(name, _)| wanted.contains(name))
            .collect();
    }
}

fn collect_schema_refs(value: &serde_json::Value, found: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", serde_json::Value::String(target)) => {
                        if let Some(name) = target.strip_prefix("#/components/schemas/") {
                            found.insert(name.to_owned());
                        }
                    }
                    _ => collect_schema_refs(value, found),
                }
            }
        }
        serde_json::Value::Array(values) => {
            for value in values {
                collect_schema_refs(value, found);
            }
        }
        _ => {}
    }
}

fn operation_slot<'a>(item: &'a mut PathItem, method: &str) -> &'a mut Option<Operation> {
    match method {
        "get" => &mut item.get,
        "put" => &mut item.put,
        "post" => &mut item.post,
        "delete" => &mut item.delete,
        "patch" => &mut item.patch,
        "head" => &mut item.head,
        "options" => &mut item.options,
        _ => &mut item.trace,
    }
}

/// Every operation of a path, mutably.
pub fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
        &mut item.head,
        &mut item.options,
        &mut item.trace,
    ]
    .into_iter()
    .flatten()
}
