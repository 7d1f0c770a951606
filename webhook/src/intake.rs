//! What every request to the admission port passes before the handler: the body size
//! limit and the guard for reviews nested deeper than the handler's JSON reader.

use crate::{admission, deep_review, state::AppState};
use axum::{Router, middleware};

/// The admission router with its intake layers.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    admission::router(state.clone(), max_body_bytes).layer(middleware::from_fn_with_state(
        (state, max_body_bytes),
        deep_review::guard,
    ))
}
