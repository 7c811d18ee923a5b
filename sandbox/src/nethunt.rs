//! NetHunt Integration API (`/api/v1/zapier`). To be written.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;

use crate::AppState;

#[derive(Debug, Default)]
pub struct NetHuntState {
    /// Answer 404 instead of `[]` when find-record matches nothing (both happen in the wild).
    pub not_found_as_404: bool,
}

pub fn routes() -> Router<AppState> {
    Router::new()
}

pub async fn set_not_found_404(State(state): State<AppState>, body: String) -> StatusCode {
    state.lock().nethunt.not_found_as_404 = body.trim() != "false";
    StatusCode::NO_CONTENT
}

pub fn html_section(_state: &NetHuntState) -> String {
    String::new()
}
