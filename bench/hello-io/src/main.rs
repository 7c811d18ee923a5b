//! The yardstick of `bench/run`: clients built at INIT as cargo-lambda's templates and the SDK
//! examples build them, then on every request one DynamoDB `GetItem` (`CACHE_TABLE`, key
//! `pk` = `hello`) and one HTTP `GET` (`HELLO_HTTP_URL`), answering what it got.

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
    // The clients live as long as the process, as in the bridge's functions.
    let (dynamodb, http, table, url): (&'static _, &'static _, &'static String, &'static String) = (
        Box::leak(Box::new(dynamodb)),
        Box::leak(Box::new(http)),
        Box::leak(Box::new(table)),
        Box::leak(Box::new(url)),
    );
    lambda_http::run(service_fn(move |_request: Request| async move {
        let item = dynamodb
            .get_item()
            .table_name(table)
            .key("pk", AttributeValue::S("hello".into()))
            .send()
            .await?;
        let status = http.get(url).send().await?.status();
        Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Body::from(format!(
                r#"{{"item":{},"http":{}}}"#,
                item.item().is_some(),
                status.as_u16()
            )))
            .map_err(Error::from)
    }))
    .await
}
