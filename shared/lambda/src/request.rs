//! Reading an API Gateway request: query parameters, content type, when it arrived, and the
//! deadline.

use std::time::{Duration, Instant};

use bridge_domain::deadline::{Deadline, epoch_ms};
use lambda_http::http::header;
use lambda_http::request::RequestContext;
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

/// When the Lambda runtime handed the request to the function: set by [`crate::run`] before
/// anything else (the app's build on a cold start included) takes time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival(pub Instant);

impl Arrival {
    pub fn now() -> Self {
        Self(Instant::now())
    }
}

/// API Gateway waits 30 s at most for a function (an HTTP API's longest integration timeout):
/// a receipt time older than that belongs to no request anybody still waits for. It is a
/// wrong clock or a stored test event, and is not believed.
const OLDEST_BELIEVABLE_ARRIVAL: Duration = Duration::from_secs(30);

/// When the request arrived, as early as is known: API Gateway's receipt time
/// (`requestContext.timeEpoch`), else the runtime's hand-over ([`Arrival`]), else now.
///
/// API Gateway's time is another machine's wall clock: a time in the future or older than any
/// request still waiting (30 s) is ignored, and it is never later than the hand-over.
pub fn arrival_of(request: &Request) -> Instant {
    let handed_over = request
        .extensions()
        .get::<Arrival>()
        .map_or_else(Instant::now, |arrival| arrival.0);
    match gateway_arrival(request) {
        Some(received) => received.min(handed_over),
        None => handed_over,
    }
}

/// API Gateway's receipt time as an instant of this machine, when believable.
fn gateway_arrival(request: &Request) -> Option<Instant> {
    let received_ms = match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => u64::try_from(context.time_epoch).ok()?,
        // Only the HTTP API (payload 2.0) is enabled and deployed; no other context is read.
        _ => return None,
    };
    let now_ms = epoch_ms();
    let age = Duration::from_millis(now_ms.checked_sub(received_ms)?);
    if age > OLDEST_BELIEVABLE_ARRIVAL {
        return None;
    }
    Instant::now().checked_sub(age)
}

/// The smart-forward lookup's deadline: `budget` after the request arrived ([`arrival_of`]),
/// and never later than the Lambda's deadline less its margin.
pub fn budget_deadline(request: &Request, arrived: Instant, budget: Duration) -> Deadline {
    let budget_ends = tokio::time::Instant::from_std(arrived + budget);
    Deadline::at(budget_ends).min(deadline_of(request, budget))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;

    use super::*;

    const BUDGET: Duration = Duration::from_millis(1500);

    /// A smart-forward request whose API Gateway receipt time is `received_ms` (epoch ms).
    fn received_at(received_ms: u64) -> Request {
        let request = lambda_http::request::from_str(include_str!(
            "../../../events/smart-forward-known-client.json"
        ))
        .unwrap();
        let mut context = request.request_context();
        let RequestContext::ApiGatewayV2(gateway) = &mut context else {
            panic!("an HTTP API event");
        };
        gateway.time_epoch = i64::try_from(received_ms).unwrap();
        request.with_request_context(context)
    }

    #[test]
    fn the_budget_counts_from_api_gateways_receipt() {
        let request = received_at(epoch_ms() - 1200);
        let left = budget_deadline(&request, arrival_of(&request), BUDGET).time_left();
        assert!(
            left > Duration::from_millis(200) && left <= Duration::from_millis(300),
            "{left:?}"
        );
    }

    #[test]
    fn a_receipt_older_than_the_budget_leaves_nothing() {
        let request = received_at(epoch_ms() - 2000);
        let deadline = budget_deadline(&request, arrival_of(&request), BUDGET);
        assert!(deadline.is_past());
    }

    /// Another machine's clock: a receipt in the future, or older than any request API Gateway
    /// still waits for, is not believed; the runtime's hand-over counts.
    #[test]
    fn unbelievable_receipt_times_fall_back_to_the_hand_over() {
        for received_ms in [epoch_ms() + 60_000, epoch_ms() - 31_000, 1_712_316_602_000] {
            let mut request = received_at(received_ms);
            let handed_over = Instant::now() - Duration::from_millis(100);
            request.extensions_mut().insert(Arrival(handed_over));
            assert_eq!(arrival_of(&request), handed_over, "{received_ms}");
        }
    }

    /// The earlier of the two is when the caller started waiting.
    #[test]
    fn the_earlier_of_receipt_and_hand_over_counts() {
        let mut request = received_at(epoch_ms() - 500);
        let handed_over = Instant::now();
        request.extensions_mut().insert(Arrival(handed_over));
        let waited = handed_over - arrival_of(&request);
        assert!(
            waited >= Duration::from_millis(499) && waited < Duration::from_millis(600),
            "{waited:?}"
        );
    }

    /// The Lambda's deadline less its margin, when it comes before the budget's end.
    #[test]
    fn the_lambdas_deadline_bounds_the_budget() {
        let mut request = received_at(epoch_ms() - 100);
        let mut context = lambda_http::Context::default();
        context.deadline = epoch_ms() + 1000;
        request = request.with_lambda_context(context);
        let left = budget_deadline(&request, arrival_of(&request), BUDGET).time_left();
        assert!(left <= Duration::from_millis(700), "{left:?}");
        assert!(left > Duration::from_millis(600), "{left:?}");
    }
}
