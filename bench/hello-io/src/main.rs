//! The yardstick of `bench/run`: clients built at INIT as cargo-lambda's templates and the SDK
//! examples build them, then on every request `HELLO_DYNAMODB_READS` DynamoDB `GetItem`s
//! (`CACHE_TABLE`, key `pk` = `hello`; default 1), `HELLO_DYNAMODB_WRITES` conditional
//! `PutItem`s of new keys (a claim's shape; default 0) and `HELLO_HTTP_REQUESTS` HTTP `GET`s
//! (`HELLO_HTTP_URL`; default 1), one after the other as a function makes them, answering what
//! it got. bench/run gives each function a yardstick with its own everyday request counts.

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let http = reqwest::Client::new();
    let table = std::env::var("CACHE_TABLE")?;
    let url = std::env::var("HELLO_HTTP_URL")?;
    let count = |name: &str, default: usize| -> Result<usize, Error> {
        Ok(std::env::var(name).map_or(Ok(default), |v| v.parse())?)
    };
    let reads = count("HELLO_DYNAMODB_READS", 1)?;
    let writes = count("HELLO_DYNAMODB_WRITES", 0)?;
    let gets = count("HELLO_HTTP_REQUESTS", 1)?;
    // New keys for every write, as a claim's: this process's id and a counter.
    let written = &*Box::leak(Box::new(std::sync::atomic::AtomicUsize::new(0)));
    let process = std::process::id();
    // The clients live as long as the process, as in the bridge's functions.
    let (dynamodb, http, table, url): (&'static _, &'static _, &'static String, &'static String) = (
        Box::leak(Box::new(dynamodb)),
        Box::leak(Box::new(http)),
        Box::leak(Box::new(table)),
        Box::leak(Box::new(url)),
    );
    lambda_http::run(service_fn(move |_request: Request| async move {
        let mut items = 0;
        for _ in 0..reads {
            let item = dynamodb
                .get_item()
                .table_name(table)
                .key("pk", AttributeValue::S("hello".into()))
                .send()
                .await?;
            items += usize::from(item.item().is_some());
        }
        for _ in 0..writes {
            let n = written.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            dynamodb
                .put_item()
                .table_name(table)
                .item("pk", AttributeValue::S(format!("hello#{process}#{n}")))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await?;
        }
        let mut statuses = Vec::new();
        for _ in 0..gets {
            statuses.push(http.get(url).send().await?.status().as_u16());
        }
        Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Body::from(format!(
                r#"{{"items":{items},"http":{statuses:?}}}"#
            )))
            .map_err(Error::from)
    }))
    .await
}
