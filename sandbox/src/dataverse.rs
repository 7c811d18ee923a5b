//! Dataverse Web API (`/api/data/v9.2`) and the Entra token endpoint. To be written.

use axum::Router;

use crate::AppState;

#[derive(Debug, Default)]
pub struct DataverseState {}

pub fn routes() -> Router<AppState> {
    Router::new()
}

pub fn html_section(_state: &DataverseState) -> String {
    String::new()
}
