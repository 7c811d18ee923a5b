//! `init-probe [parts|bridge] [DYNAMODB_ENDPOINT]`: times, in a fresh process, the one-off
//! costs a function pays on its first invocation, and prints them as one JSON line
//! `[["step", milliseconds], …]`. `bench/run` runs it like a function (same environment, and
//! under the 128 MB CPU quota) to explain the cold start.
//!
//! - `parts`: each ingredient alone, in the order the bridge meets them;
//! - `bridge`: `Config::from_env` and `Stack::from_config`, what a function does at INIT (or on the
//!   first invocation) before any request.

use std::time::Instant;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_sdk_dynamodb::types::AttributeValue;
use bridge_core::PhoneNumber;
use bridge_core::adapters::DynamoDbCache;
use bridge_core::bootstrap::Stack;
use bridge_core::config::Config;

struct Steps(Vec<(&'static str, f64)>);

impl Steps {
    fn time<T>(&mut self, name: &'static str, f: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let value = f();
        self.0
            .push((name, started.elapsed().as_secs_f64() * 1000.0));
        value
    }

    async fn time_async<T>(&mut self, name: &'static str, f: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let value = f.await;
        self.0
            .push((name, started.elapsed().as_secs_f64() * 1000.0));
        value
    }
}

#[tokio::main]
async fn main() {
    // The SDK must never look for real credentials or ask the metadata service: run it with
    // the environment bench/run gives a function (dummy credentials, region, loopback).
    let env = |name: &str| std::env::var(name).unwrap_or_default();
    if env("AWS_EC2_METADATA_DISABLED") != "true" || env("AWS_REGION").is_empty() {
        eprintln!(
            "init-probe: set AWS_EC2_METADATA_DISABLED=true, AWS_REGION and dummy credentials \
             (bench/run does)"
        );
        std::process::exit(2);
    }
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "parts".into());
    let endpoint = args.next();
    let mut steps = Steps(Vec::new());
    match mode.as_str() {
        "bridge" => {
            let config = steps
                .time_async("Config::from_env", Config::from_env())
                .await
                .expect("configuration");
            let stack = steps
                .time_async("Stack::from_config", Stack::from_config(config))
                .await
                .expect("bridge");
            steps
                .time_async("Adapters::prepare", stack.adapters.prepare())
                .await;
        }
        _ => {
            steps.time("tracing subscriber", || {
                lambda_http::tracing::init_default_subscriber()
            });
            // A Ukrainian number loads Ukraine's metadata alone; the first foreign one loads the
            // world's (bench/phone-parsers.md), which a function meets only for foreign clients.
            steps.time("phone number: first parse (metadata)", || {
                PhoneNumber::parse("0501234567").expect("a number")
            });
            steps.time("phone number: second parse", || {
                PhoneNumber::parse("0671110001").expect("a number")
            });
            steps.time("phone number: first foreign parse (world metadata)", || {
                PhoneNumber::parse("+48 22 123 45 67").expect("a number")
            });
            steps.time("time zone Europe/Kyiv (bundled tzdb)", || {
                jiff::tz::TimeZone::get("Europe/Kyiv").expect("a zone")
            });
            steps.time("system root certificates (rustls-native-certs)", || {
                rustls_native_certs::load_native_certs().certs.len()
            });
            steps.time("reqwest client (rustls, platform verifier)", || {
                reqwest::Client::builder().build().expect("a client")
            });
            steps.time("shared HTTP client (ring, webpki-roots)", || {
                bridge_core::adapters::http::shared_client().expect("a client")
            });
            let usual = steps
                .time_async("aws-config + DynamoDB client (the usual way)", async {
                    let mut config = aws_config::defaults(aws_config::BehaviorVersion::latest());
                    if let Some(endpoint) = &endpoint {
                        config = config.endpoint_url(endpoint);
                    }
                    aws_sdk_dynamodb::Client::new(&config.load().await)
                })
                .await;
            let client = steps
                .time_async(
                    "DynamoDB client from the Lambda environment",
                    DynamoDbCache::client_for(endpoint.as_deref()),
                )
                .await;
            if endpoint.is_some() {
                for name in ["first DynamoDB request", "second DynamoDB request"] {
                    let get = client
                        .get_item()
                        .table_name("bench-cache")
                        .key("pk", AttributeValue::S("probe#1".into()))
                        .send();
                    steps.time_async(name, get).await.expect("GetItem");
                }
                // The steady request through each HTTP client (median of 21): what sharing
                // reqwest with the SDK costs or saves per request.
                for (name, client) in [
                    (
                        "DynamoDB request, steady: the SDK's own HTTPS client",
                        &usual,
                    ),
                    (
                        "DynamoDB request, steady: the shared reqwest client",
                        &client,
                    ),
                ] {
                    let mut times = Vec::new();
                    for _ in 0..21 {
                        let started = Instant::now();
                        client
                            .get_item()
                            .table_name("bench-cache")
                            .key("pk", AttributeValue::S("probe#1".into()))
                            .send()
                            .await
                            .expect("GetItem");
                        times.push(started.elapsed().as_secs_f64() * 1000.0);
                    }
                    times.sort_by(f64::total_cmp);
                    steps.0.push((name, times[times.len() / 2]));
                }
            }
            steps.time("aws-lc: first random bytes", || {
                SystemRandom::new().fill(&mut [0u8; 32]).expect("random")
            });
            steps.time("ring: first random bytes", || {
                use ring::rand::SecureRandom;
                ring::rand::SystemRandom::new()
                    .fill(&mut [0u8; 32])
                    .expect("random")
            });
        }
    }
    let json: Vec<String> = steps
        .0
        .iter()
        .map(|(name, ms)| format!("[\"{name}\", {ms:.3}]"))
        .collect();
    println!("[{}]", json.join(", "));
}
