//! The resource path and the system query options (`$select`, `$filter`, `$top`,
//! `$orderby`, `$expand`) of a Web API request.

use axum::http::StatusCode;
use serde_json::Value;

use super::error::{ApiError, bad_request, dv_error, unknown_property};
use super::schema::Entity;
use super::store::parse_guid;

/// The system query options of a request.
#[derive(Default)]
pub(super) struct QueryOptions {
    pub(super) select: Option<Vec<String>>,
    pub(super) filter: Option<String>,
    pub(super) top: Option<usize>,
    pub(super) orderby: Option<String>,
    pub(super) expand: Option<String>,
}

impl QueryOptions {
    /// Decodes the query string like the real service: `%XX` escapes, and `+` as a space.
    pub(super) fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let mut options = Self::default();
        let Some(query) = query else {
            return Ok(options);
        };
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "$select" => {
                    options.select = Some(
                        value
                            .split(',')
                            .map(|c| c.trim().to_owned())
                            .filter(|c| !c.is_empty())
                            .collect(),
                    );
                }
                "$filter" => options.filter = Some(value.into_owned()),
                "$top" => {
                    options.top = Some(value.trim().parse().map_err(|_| {
                        bad_request(&format!("Invalid value '{value}' for $top query option found. The $top query option requires a non-negative integer value."))
                    })?);
                }
                "$orderby" => options.orderby = Some(value.into_owned()),
                "$expand" => options.expand = Some(value.into_owned()),
                other if other.starts_with('$') => {
                    return Err(bad_request(&format!(
                        "The query parameter '{other}' is not supported"
                    )));
                }
                _ => {}
            }
        }
        Ok(options)
    }
}

/// `contacts` or `contacts(<guid>)`.
pub(super) fn parse_resource(resource: &str) -> Result<(Entity, Option<String>), ApiError> {
    let (set, key) = match resource.split_once('(') {
        Some((set, rest)) => match rest.strip_suffix(')') {
            Some(key) => (set, Some(key)),
            None => return Err(bad_request("Bad Request - Error in query syntax.")),
        },
        None => (resource, None),
    };
    let Some(entity) = Entity::from_set(set) else {
        return Err(dv_error(
            StatusCode::NOT_FOUND,
            "0x80060888",
            &format!("Resource not found for the segment '{set}'."),
        ));
    };
    match key {
        None => Ok((entity, None)),
        Some(key) => match parse_guid(key) {
            Some(id) => Ok((entity, Some(id))),
            None => Err(bad_request(&format!(
                "The key in the request URI is not valid for resource 'Microsoft.Dynamics.CRM.{}'. Ensure that the names and number of key properties match the declared or alternate key properties for the resource 'Microsoft.Dynamics.CRM.{}'.",
                entity.spec().logical,
                entity.spec().logical
            ))),
        },
    }
}

/// Every selected column is one the table has (`known`).
pub(super) fn validate_columns(
    entity: Entity,
    columns: Option<&[String]>,
    known: &dyn Fn(&str) -> bool,
) -> Result<(), ApiError> {
    for column in columns.unwrap_or_default() {
        if !known(column) {
            return Err(unknown_property(entity, column));
        }
    }
    Ok(())
}

pub(super) fn parse_orderby(
    entity: Entity,
    orderby: Option<&str>,
    known: &dyn Fn(&str) -> bool,
) -> Result<Vec<(String, bool)>, ApiError> {
    let mut order = Vec::new();
    for item in orderby.unwrap_or_default().split(',') {
        let mut words = item.split_whitespace();
        let Some(column) = words.next() else {
            continue;
        };
        if !known(column) {
            return Err(unknown_property(entity, column));
        }
        let descending = match words.next() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(bad_request(&format!(
                    "Syntax error: unexpected '{other}' in $orderby."
                )));
            }
        };
        order.push((column.to_owned(), descending));
    }
    Ok(order)
}

pub(super) fn compare_values(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::String(x), Value::String(y)) => x.to_lowercase().cmp(&y.to_lowercase()),
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}
