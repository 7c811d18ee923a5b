//! Reading an API Gateway request: query parameters, content type, and the deadline.

use std::time::Duration;

use bridge_domain::deadline::Deadline;
use lambda_http::http::header;
use lambda_http::{Request, RequestExt};

use crate::auth::TOKEN_PARAMETER;

/// Kept free at the end of the Lambda's time for answering and logging.
const DEADLINE_MARGIN: Duration = Duration::from_millis(300);

/// Query parameters: API Gateway's parsed ones, else those of the URI.
pub fn query_pairs(request: &Request) -> Vec<(String, String)> {
    if let Some(params) = request
        .query_string_parameters_ref()
        .filter(|p| !p.is_empty())
    {
        return params
            .iter()
            .flat_map(|(k, _)| {
                params
                    .all(k)
                    .unwrap_or_default()
                    .into_iter()
                    .map(move |v| (k.to_owned(), v.to_owned()))
            })
            .collect();
    }
    request
        .uri()
        .query()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// The query string as sent, for the payload parser.
pub fn raw_query(request: &Request) -> Option<String> {
    encode_query(query_pairs(request))
}

/// The query string without the shared secret.
pub fn query_without_token(request: &Request) -> Option<String> {
    let mut pairs = query_pairs(request);
    pairs.retain(|(k, _)| k != TOKEN_PARAMETER);
    encode_query(pairs)
}

fn encode_query(pairs: Vec<(String, String)>) -> Option<String> {
    (!pairs.is_empty()).then(|| {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    })
}

pub fn content_type(request: &Request) -> Option<&str> {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

/// The Lambda's deadline less a margin, or `budget` from now where there is none (local runs,
/// tests with a default context).
pub fn deadline_of(request: &Request, budget: Duration) -> Deadline {
    request
        .lambda_context_ref()
        .and_then(|context| Deadline::from_epoch_ms(context.deadline))
        .map_or_else(|| Deadline::after(budget), |d| d.less(DEADLINE_MARGIN))
}
