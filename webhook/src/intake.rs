//! What every request to the admission port passes before the handler: the body budget
//! and deadline, the body size limit, and the guard for reviews nested deeper than the
//! handler's JSON reader.

use crate::{admission, body_budget::Budget, deep_review, state::AppState};
use axum::{Router, middleware};

/// The admission router with its intake layers (outermost first: budget, depth guard).
pub fn router(state: AppState, max_body_bytes: usize, budget: Budget) -> Router {
    admission::router(state.clone(), max_body_bytes)
        .layer(middleware::from_fn_with_state(
            (state, max_body_bytes),
            deep_review::guard,
        ))
        .layer(middleware::from_fn_with_state(budget, crate::body_budget::limit))
}
