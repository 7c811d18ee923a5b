//! The functions' metrics into a CloudWatch API, as CloudWatch Logs files them in AWS.
//!
//! The functions write their metrics as Embedded Metric Format lines on stdout
//! (`bridge_lambda::metrics`); in AWS, CloudWatch Logs reads each line and stores one value per
//! metric and dimension set, at the line's `_aws.Timestamp`, in the line's namespace. Tests and
//! local runs have no CloudWatch Logs: [`ship`] does that step for the lines a test captured,
//! with PutMetricData on moto (scripts/moto_server.py serves it), so `bridge-ops status` reads
//! back through GetMetricData what the functions really wrote.

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use serde_json::Value;

/// A CloudWatch client for the loopback moto endpoint, with dummy credentials.
pub fn cloudwatch_client(endpoint: &str) -> Client {
    Client::new(&crate::loopback_sdk_config(endpoint))
}

/// One metric value set of an EMF line: where CloudWatch would file it.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    pub namespace: String,
    pub name: String,
    pub dimensions: Vec<(String, String)>,
    pub unit: Option<String>,
    pub timestamp_ms: i64,
    /// One value for a counter, every recorded value for a histogram.
    pub values: Vec<f64>,
}

/// The metric values of the EMF lines among `lines` (other lines, logs, are skipped), read
/// as the specification says: per directive, each metric under each dimension set, the
/// dimension values and the metric's value(s) taken from the line's root. A malformed EMF
/// line is a bug of the functions: it panics.
pub fn data(lines: &str) -> Vec<Datum> {
    let mut data = Vec::new();
    for line in lines.lines() {
        let Ok(json) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let Some(directives) = json["_aws"]["CloudWatchMetrics"].as_array() else {
            continue;
        };
        let timestamp_ms = json["_aws"]["Timestamp"]
            .as_i64()
            .unwrap_or_else(|| panic!("EMF line without a timestamp: {line}"));
        for directive in directives {
            let namespace = directive["Namespace"]
                .as_str()
                .unwrap_or_else(|| panic!("EMF directive without a namespace: {line}"))
                .to_owned();
            let sets = directive["Dimensions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for metric in directive["Metrics"].as_array().into_iter().flatten() {
                let name = metric["Name"]
                    .as_str()
                    .unwrap_or_else(|| panic!("EMF metric without a name: {line}"));
                let values: Vec<f64> = match &json[name] {
                    Value::Array(values) => values.iter().filter_map(Value::as_f64).collect(),
                    value => value.as_f64().into_iter().collect(),
                };
                assert!(
                    !values.is_empty(),
                    "EMF metric {name} without a value: {line}"
                );
                for set in &sets {
                    let dimensions = set
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(|key| {
                            let value = json[key].as_str().unwrap_or_else(|| {
                                panic!("EMF dimension {key} without a value: {line}")
                            });
                            (key.to_owned(), value.to_owned())
                        })
                        .collect();
                    data.push(Datum {
                        namespace: namespace.clone(),
                        name: name.to_owned(),
                        dimensions,
                        unit: metric["Unit"].as_str().map(str::to_owned),
                        timestamp_ms,
                        values: values.clone(),
                    });
                }
            }
        }
    }
    data
}

/// Puts the metric values of the EMF lines among `lines` into CloudWatch (PutMetricData, one
/// request per namespace and at most 500 values); returns how many metric value sets it put.
pub async fn ship(client: &Client, lines: &str) -> usize {
    let data = data(lines);
    let mut namespaces: Vec<&str> = data.iter().map(|d| d.namespace.as_str()).collect();
    namespaces.sort_unstable();
    namespaces.dedup();
    for namespace in namespaces {
        let of_namespace: Vec<MetricDatum> = data
            .iter()
            .filter(|d| d.namespace == namespace)
            .map(metric_datum)
            .collect();
        for chunk in of_namespace.chunks(500) {
            client
                .put_metric_data()
                .namespace(namespace)
                .set_metric_data(Some(chunk.to_vec()))
                .send()
                .await
                .unwrap_or_else(|e| panic!("PutMetricData in {namespace}: {e:?}"));
        }
    }
    data.len()
}

fn metric_datum(datum: &Datum) -> MetricDatum {
    let dimensions = datum
        .dimensions
        .iter()
        .map(|(name, value)| Dimension::builder().name(name).value(value).build())
        .collect();
    let mut builder = MetricDatum::builder()
        .metric_name(&datum.name)
        .set_dimensions(Some(dimensions))
        .timestamp(DateTime::from_millis(datum.timestamp_ms))
        .set_values(Some(datum.values.clone()));
    if let Some(unit) = &datum.unit {
        builder = builder.unit(StandardUnit::from(unit.as_str()));
    }
    builder.build()
}
