//! Times aws-lc's first and second request for random bytes in a fresh process and prints
//! them as one JSON line: `{"first_us": …, "second_us": …, "jitter_entropy": …}`.
//!
//! The first request initialises aws-lc and seeds its DRBG: with CPU jitter entropy (aws-lc-sys
//! built without `AWS_LC_SYS_NO_JITTER_ENTROPY`) it samples the CPU timer for tens of
//! milliseconds. In a Lambda function it happens once per execution environment, at the first
//! TLS handshake (the client random and key share of the DynamoDB or CRM connection). Built
//! twice by `bench/run`, once with the variable and once without.

use std::time::Instant;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

fn main() {
    let rng = SystemRandom::new();
    let mut bytes = [0u8; 32];
    let started = Instant::now();
    rng.fill(&mut bytes).expect("random bytes");
    let first = started.elapsed();
    let started = Instant::now();
    rng.fill(&mut bytes).expect("random bytes");
    let second = started.elapsed();
    println!(
        r#"{{"first_us": {}, "second_us": {}, "jitter_entropy": {}}}"#,
        first.as_micros(),
        second.as_micros(),
        option_env!("AWS_LC_SYS_NO_JITTER_ENTROPY").is_none_or(|v| v.is_empty() || v == "0")
    );
}
