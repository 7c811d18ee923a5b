//! The Web API route: authentication, header audit, and dispatch of reads and writes.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::API_PREFIX;
use super::error::{ApiError, bad_request, does_not_exist, dv_error, unknown_property};
use super::filter;
use super::query::{QueryOptions, compare_values, parse_orderby, parse_resource, validate_columns};
use super::represent::{Annotations, context_url};
use super::schema::Entity;
use super::store::{DataverseState, Record};
use crate::AppState;

/// One Web API request, as the handler sees it.
struct ApiCall<'a> {
    method: &'a Method,
    resource: &'a str,
    query: Option<&'a str>,
    headers: &'a HeaderMap,
    body: &'a [u8],
    /// `http://host:port`, for `@odata.context` and `OData-EntityId`.
    base: String,
}

pub(super) async fn api(
    State(app): State<AppState>,
    Path(resource): Path<String>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_owned();
    let call = ApiCall {
        method: &method,
        resource: &resource,
        query: query.as_deref(),
        headers: &headers,
        body: &body,
        base: format!("http://{host}"),
    };
    let mut response = {
        let mut state = app.lock();
        state.dataverse.handle(&call)
    };
    if response.status() == StatusCode::UNAUTHORIZED {
        // What Dataverse sends instead of a body: where to get a token.
        let challenge = format!(
            "Bearer authorization_uri=http://{host}/{}/oauth2/authorize, resource_id=http://{host}/",
            app.credentials.dataverse_tenant
        );
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
    }
    response
        .headers_mut()
        .insert("odata-version", HeaderValue::from_static("4.0"));
    response
}

pub(super) fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = header_text(headers, "authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl DataverseState {
    fn handle(&mut self, call: &ApiCall<'_>) -> Response {
        match bearer_token(call.headers) {
            Some(token) if self.token_is_live(token) => {}
            _ => return StatusCode::UNAUTHORIZED.into_response(),
        }
        self.audit_headers(call);
        let (entity, id) = match parse_resource(call.resource) {
            Ok(parsed) => parsed,
            Err(error) => return error.into_response(),
        };
        let options = match QueryOptions::parse(call.query) {
            Ok(options) => options,
            Err(error) => return error.into_response(),
        };
        let prefer: String = call
            .headers
            .get_all("prefer")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        let annotations = Annotations::from_prefer(&prefer);
        let representation = prefer.contains("return=representation");
        let result = match (call.method.as_str(), id) {
            ("GET", None) => self.list(entity, &options, &annotations, &call.base),
            ("GET", Some(id)) => self.get(entity, &id, &options, &annotations, &call.base),
            ("POST", None) if entity != Entity::SystemUser => {
                let body = match parse_body(call.body) {
                    Ok(body) => body,
                    Err(error) => return error.into_response(),
                };
                self.create(entity, None, &body).map(|id| {
                    self.written(
                        entity,
                        &id,
                        StatusCode::CREATED,
                        representation,
                        &options,
                        &annotations,
                        &call.base,
                    )
                })
            }
            ("PATCH", Some(id)) if entity != Entity::SystemUser => {
                let body = match parse_body(call.body) {
                    Ok(body) => body,
                    Err(error) => return error.into_response(),
                };
                self.patch(entity, &id, &body, call.headers).map(|()| {
                    self.written(
                        entity,
                        &id,
                        StatusCode::OK,
                        representation,
                        &options,
                        &annotations,
                        &call.base,
                    )
                })
            }
            ("DELETE", Some(id)) if entity != Entity::SystemUser => self.delete(entity, &id),
            _ => Err(dv_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "0x80060888",
                &format!(
                    "The HTTP method '{}' is not allowed for the resource '{}'.",
                    call.method, call.resource
                ),
            )),
        };
        result.unwrap_or_else(IntoResponse::into_response)
    }

    fn audit_headers(&mut self, call: &ApiCall<'_>) {
        let mut missing = Vec::new();
        let accept = header_text(call.headers, "accept").unwrap_or_default();
        if !accept.contains("application/json") {
            missing.push("Accept: application/json");
        }
        if header_text(call.headers, "odata-maxversion") != Some("4.0") {
            missing.push("OData-MaxVersion: 4.0");
        }
        if header_text(call.headers, "odata-version") != Some("4.0") {
            missing.push("OData-Version: 4.0");
        }
        if !call.body.is_empty()
            && !header_text(call.headers, "content-type")
                .is_some_and(|c| c.starts_with("application/json"))
        {
            missing.push("Content-Type: application/json");
        }
        if !missing.is_empty() {
            self.header_problems.push(format!(
                "{} /{}: missing {}",
                call.method,
                call.resource,
                missing.join(", ")
            ));
        }
    }

    /// The answer to a successful create (201/204) or update (200/204).
    #[allow(clippy::too_many_arguments)]
    fn written(
        &self,
        entity: Entity,
        id: &str,
        status_with_body: StatusCode,
        representation: bool,
        options: &QueryOptions,
        annotations: &Annotations,
        base: &str,
    ) -> Response {
        let set = entity.spec().set;
        let location = format!("{base}{API_PREFIX}/{set}({id})");
        let mut response = if representation {
            let record = self.find(entity, id).map(|r| {
                let mut json = self.represent(entity, r, options.select.as_deref(), annotations);
                json.insert(
                    "@odata.context".into(),
                    json!(context_url(base, set, options.select.as_deref(), true)),
                );
                Value::Object(json)
            });
            (status_with_body, axum::Json(record.unwrap_or(Value::Null))).into_response()
        } else {
            StatusCode::NO_CONTENT.into_response()
        };
        if let Ok(value) = HeaderValue::from_str(&location) {
            response.headers_mut().insert("odata-entityid", value);
        }
        response
    }

    fn list(
        &self,
        entity: Entity,
        options: &QueryOptions,
        annotations: &Annotations,
        base: &str,
    ) -> Result<Response, ApiError> {
        let known = |column: &str| self.is_readable(entity, column);
        validate_columns(entity, options.select.as_deref(), &known)?;
        let filter = match &options.filter {
            Some(text) => Some(filter::parse(text, known).map_err(|e| match e {
                filter::Error::UnknownProperty(name) => unknown_property(entity, &name),
                filter::Error::Syntax(message) => bad_request(&message),
            })?),
            None => None,
        };
        let expand_parties = self.expand_parties(entity, options)?;
        let order = parse_orderby(entity, options.orderby.as_deref(), &known)?;
        let mut rows: Vec<(&Record, Map<String, Value>)> = self
            .table(entity)
            .iter()
            .map(|r| (r, self.represent(entity, r, None, &Annotations::None)))
            .filter(|(_, full)| filter.as_ref().is_none_or(|f| f.matches(full)))
            .collect();
        for (column, descending) in order.iter().rev() {
            rows.sort_by(|(_, a), (_, b)| {
                let ordering = compare_values(
                    a.get(column).unwrap_or(&Value::Null),
                    b.get(column).unwrap_or(&Value::Null),
                );
                if *descending {
                    ordering.reverse()
                } else {
                    ordering
                }
            });
        }
        let values: Vec<Value> = rows
            .into_iter()
            .take(options.top.unwrap_or(5000))
            .map(|(record, _)| {
                let mut json =
                    self.represent(entity, record, options.select.as_deref(), annotations);
                if expand_parties {
                    json.insert(
                        "phonecall_activity_parties".into(),
                        self.parties_json(record, annotations),
                    );
                }
                Value::Object(json)
            })
            .collect();
        Ok(axum::Json(json!({
            "@odata.context": context_url(base, entity.spec().set, options.select.as_deref(), false),
            "value": values,
        }))
        .into_response())
    }

    /// `DELETE <set>(<id>)`: 204 and no body; a record that is not there is 404 like a read
    /// of it (docs/vendor-contracts.md, DV41). Nothing cascades here: what referred to the row
    /// keeps its lookup, as [`DataverseState::delete_contact`] leaves it.
    fn delete(&mut self, entity: Entity, id: &str) -> Result<Response, ApiError> {
        let id = id.to_ascii_lowercase();
        let table = self.table_mut(entity);
        let before = table.len();
        table.retain(|r| r.id != id);
        if table.len() == before {
            return Err(dv_error(
                StatusCode::NOT_FOUND,
                "0x80040217",
                &does_not_exist(entity, &id),
            ));
        }
        Ok(StatusCode::NO_CONTENT.into_response())
    }

    fn get(
        &self,
        entity: Entity,
        id: &str,
        options: &QueryOptions,
        annotations: &Annotations,
        base: &str,
    ) -> Result<Response, ApiError> {
        let known = |column: &str| self.is_readable(entity, column);
        validate_columns(entity, options.select.as_deref(), &known)?;
        let expand_parties = self.expand_parties(entity, options)?;
        let Some(record) = self.find(entity, id) else {
            return Err(dv_error(
                StatusCode::NOT_FOUND,
                "0x80040217",
                &does_not_exist(entity, id),
            ));
        };
        let mut json = self.represent(entity, record, options.select.as_deref(), annotations);
        json.insert(
            "@odata.context".into(),
            json!(context_url(
                base,
                entity.spec().set,
                options.select.as_deref(),
                true
            )),
        );
        if expand_parties {
            json.insert(
                "phonecall_activity_parties".into(),
                self.parties_json(record, annotations),
            );
        }
        Ok(axum::Json(Value::Object(json)).into_response())
    }

    fn expand_parties(&self, entity: Entity, options: &QueryOptions) -> Result<bool, ApiError> {
        let Some(expand) = &options.expand else {
            return Ok(false);
        };
        let navigation = expand.split('(').next().unwrap_or_default().trim();
        if entity == Entity::PhoneCall && navigation == "phonecall_activity_parties" {
            Ok(true)
        } else {
            Err(unknown_property(entity, navigation))
        }
    }
}

fn parse_body(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(bad_request("The request body must be a JSON object.")),
        Err(e) => Err(bad_request(&format!(
            "Error while reading the request body: {e}"
        ))),
    }
}
