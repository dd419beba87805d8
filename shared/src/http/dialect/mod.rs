//! The dialects at the edge: each seed's routes, headers, bodies and error shapes, parsed into
//! the SAME commands and run by the SAME use cases as the native API (DESIGN.md, "Turn 2").
//! Only the edge knows which dialect called; a route path names its dialect and operation.

pub mod productflame;
pub mod stack;
pub mod supabase;
pub mod zitadel;

pub use crate::config::Dialect;
use crate::service::Operation;

/// One served route: whose wire contract, which use case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The wire contract the answer is written in.
    pub dialect: Dialect,
    /// The use case the route runs.
    pub op: Operation,
}

impl Route {
    /// A native route.
    pub fn native(op: Operation) -> Self {
        Self {
            dialect: Dialect::Native,
            op,
        }
    }
}

/// Every route of every dialect, by path (a trailing `/` ignored); `None` for no route.
pub fn route(path: &str) -> Option<Route> {
    let dialect = |dialect: Dialect| move |op| Route { dialect, op };
    super::route(path)
        .map(Route::native)
        .or_else(|| stack::route(path).map(dialect(Dialect::Stack)))
        .or_else(|| productflame::route(path).map(dialect(Dialect::ProductFlame)))
        .or_else(|| supabase::route(path).map(dialect(Dialect::Supabase)))
        .or_else(|| zitadel::route(path).map(dialect(Dialect::Zitadel)))
}

/// The route a Lambda function answers for `path`: a dialect's route when the path is one of
/// the function's own operation, else the function's native operation (what the native edge
/// always did, so `sam local invoke` events with any path still reach it).
pub fn lambda_route(function: Operation, path: &str) -> Route {
    match route(path) {
        Some(r) if r.dialect != Dialect::Native && r.op == function => r,
        _ => Route::native(super::lambda::operation_for(function, path)),
    }
}
