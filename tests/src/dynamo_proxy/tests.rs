//! The proxy against moto: each seam does what it says.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

//! Needs the moto server of `scripts/test` (`BRIDGE_TEST_DYNAMODB_ENDPOINT`).

use std::time::Instant;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};

use super::*;
use crate::{dynamodb_client, dynamodb_endpoint, unique_table_name};

/// The test client, with the SDK's default 3 attempts but short backoffs so retried
/// failures do not slow the suite.
fn client(endpoint: &str) -> Client {
    let base = dynamodb_client(endpoint);
    let config = base
        .config()
        .to_builder()
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(5)),
        )
        .build();
    Client::from_conf(config)
}

/// A fresh table on moto itself (not through the proxy, so counts start at zero).
async fn table() -> (Client, String) {
    let upstream = client(&dynamodb_endpoint());
    let name = unique_table_name("proxy");
    upstream
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    (upstream, name)
}

async fn put(client: &Client, table: &str, pk: &str) -> Result<(), String> {
    client
        .put_item()
        .table_name(table)
        .item("pk", AttributeValue::S(pk.to_owned()))
        .item("n", AttributeValue::N("1".into()))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("{:?}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))
}

async fn stored(client: &Client, table: &str, pk: &str) -> bool {
    client
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .is_some()
}

#[tokio::test]
async fn a_put_through_the_proxy_lands_in_moto() {
    let (upstream, table) = table().await;
    let proxy = DynamoProxy::start(&dynamodb_endpoint()).await;
    let through = client(&proxy.endpoint());

    put(&through, &table, "contact#+380501234567")
        .await
        .unwrap();

    assert!(stored(&upstream, &table, "contact#+380501234567").await);
    assert!(stored(&through, &table, "contact#+380501234567").await);
    assert_eq!(proxy.count("PutItem"), 1);
    assert_eq!(proxy.count("DynamoDB_20120810.GetItem"), 1);
    assert_eq!(proxy.forwarded("PutItem"), 1);
}

#[tokio::test]
async fn a_fail_rule_gives_the_sdk_an_error_and_only_for_matching_requests() {
    let (upstream, table) = table().await;
    let proxy = DynamoProxy::start(&dynamodb_endpoint()).await;
    let through = client(&proxy.endpoint());
    proxy.rule(
        Rule::op("PutItem")
            .table(table.clone())
            .body_contains("contact#")
            .action(Action::Fail { times: 3 }),
    );

    // Another key: not matched, goes through.
    put(&through, &table, "lock#+380501234567").await.unwrap();
    let failed = put(&through, &table, "contact#+380501234567").await;

    let error = failed.unwrap_err();
    assert!(error.contains("InternalServerError"), "{error}");
    assert_eq!(
        proxy.count("PutItem"),
        4,
        "one pass, then 3 attempts failed"
    );
    assert_eq!(proxy.forwarded("PutItem"), 1);
    assert!(!stored(&upstream, &table, "contact#+380501234567").await);
    // The rule is used up: the next attempt lands.
    put(&through, &table, "contact#+380501234567")
        .await
        .unwrap();
    assert!(stored(&upstream, &table, "contact#+380501234567").await);

    // A non-retryable type fails at once.
    proxy.rule(Rule::op("DeleteItem").action(Action::FailWith {
        times: 1,
        status: 400,
        error_type: "ValidationException",
    }));
    let delete = through
        .delete_item()
        .table_name(&table)
        .key("pk", AttributeValue::S("contact#+380501234567".into()))
        .send()
        .await;
    let error = delete.unwrap_err().into_service_error();
    assert_eq!(error.meta().code(), Some("ValidationException"));
    assert_eq!(proxy.count("DeleteItem"), 1);
}

#[tokio::test]
async fn a_fail_after_forward_rule_lands_the_write_and_still_fails_the_call() {
    let (upstream, table) = table().await;
    let proxy = DynamoProxy::start(&dynamodb_endpoint()).await;
    let through = client(&proxy.endpoint());
    proxy.rule(Rule::op("UpdateItem").action(Action::FailAfterForward { times: 3 }));

    let update = through
        .update_item()
        .table_name(&table)
        .key("pk", AttributeValue::S("ledger#1".into()))
        .update_expression("ADD n :one")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .send()
        .await;

    let error = update.unwrap_err().into_service_error();
    assert!(error.is_internal_server_error(), "{error:?}");
    let item = upstream
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S("ledger#1".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(
        item["n"],
        AttributeValue::N("3".into()),
        "every attempt landed"
    );
}

#[tokio::test]
async fn delays_delay() {
    let (_upstream, table) = table().await;
    let proxy = DynamoProxy::start(&dynamodb_endpoint()).await;
    let through = client(&proxy.endpoint());
    put(&through, &table, "a").await.unwrap();
    proxy.rule(Rule::op("GetItem").action(Action::Delay(Duration::from_millis(300))));

    let started = Instant::now();
    assert!(stored(&through, &table, "a").await);
    assert!(started.elapsed() >= Duration::from_millis(300));

    proxy.clear_rules();
    proxy.delay_all(Duration::from_millis(200));
    let started = Instant::now();
    put(&through, &table, "b").await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(200));
    proxy.delay_all(Duration::ZERO);
}

#[tokio::test]
async fn a_hold_gate_holds_until_released() {
    let (upstream, table) = table().await;
    let proxy = DynamoProxy::start(&dynamodb_endpoint()).await;
    let through = client(&proxy.endpoint());
    let gate = Gate::new();
    proxy.rule(Rule {
        op: Some("PutItem"),
        body_contains: Some("held#".into()),
        action: Action::Hold(gate.clone()),
        ..Rule::default()
    });

    let held = {
        let through = through.clone();
        let table = table.clone();
        tokio::spawn(async move { put(&through, &table, "held#1").await })
    };
    tokio::time::timeout(Duration::from_secs(10), gate.wait_for_arrivals(1))
        .await
        .unwrap();
    // Other requests pass while one is held.
    put(&through, &table, "free#1").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!held.is_finished(), "held until released");
    assert!(!stored(&upstream, &table, "held#1").await);
    assert_eq!(proxy.forwarded("PutItem"), 1);

    gate.release();
    tokio::time::timeout(Duration::from_secs(10), held)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(stored(&upstream, &table, "held#1").await);
    assert_eq!(gate.arrivals(), 1);
}

#[tokio::test]
async fn dropped_connections_are_errors_before_or_after_the_write() {
    let (upstream, table) = table().await;
    let proxy = DynamoProxy::start(&dynamodb_endpoint()).await;
    let through = client(&proxy.endpoint());

    // Dropped before forwarding, once: the SDK retries and the write lands once.
    proxy.rule(Rule::op("PutItem").action(Action::Drop { times: 1 }));
    put(&through, &table, "once").await.unwrap();
    assert_eq!(proxy.count("PutItem"), 2);
    assert_eq!(proxy.forwarded("PutItem"), 1);

    // Dropped after forwarding, on every attempt: an error, yet the item is there.
    proxy.rule(Rule::op("PutItem").action(Action::DropAfterForward { times: 3 }));
    let error = put(&through, &table, "ambiguous").await.unwrap_err();
    assert!(
        error.contains("DispatchFailure") || error.contains("dispatch failure"),
        "{error}"
    );
    assert!(stored(&upstream, &table, "ambiguous").await);
    assert_eq!(proxy.count("PutItem"), 5);
}
