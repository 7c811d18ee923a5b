//! Metrics as CloudWatch sees them: the Embedded Metric Format (EMF) backend of the `metrics`
//! facade (`metrics_cloudwatch_embedded`), installed once per process, flushed after every
//! invocation ([`flush`]) as JSON lines of their own on the functions' output, where
//! CloudWatch Logs turns them into metrics. No API call, no permission beyond the logs.
//!
//! What is counted is `bridge_domain::telemetry`. The lines go straight to the writer, not
//! through `tracing`, so the log filter never drops them, and they carry the function's
//! configured log level (`level`): Lambda's own log-level filter reads a JSON line without
//! one as INFO and would drop every metric when `LogLevel` is WARN or ERROR.
//!
//! The namespace is `METRICS_NAMESPACE` (template.yaml sets `RingostatBridge/<stack name>`:
//! two stacks in one account never mix), else [`DEFAULT_NAMESPACE`].

use std::io::Write;
use std::sync::OnceLock;

use metrics_cloudwatch_embedded::{Builder, Collector};

/// The namespace when `METRICS_NAMESPACE` is not set (local runs).
pub const DEFAULT_NAMESPACE: &str = "RingostatBridge";

type MakeWriter = Box<dyn Fn() -> Box<dyn Write> + Send + Sync>;

struct Backend {
    collector: &'static Collector,
    writer: MakeWriter,
}

static BACKEND: OnceLock<Backend> = OnceLock::new();

/// `METRICS_NAMESPACE`, else [`DEFAULT_NAMESPACE`].
pub fn namespace_from_env() -> String {
    std::env::var("METRICS_NAMESPACE")
        .ok()
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned())
}

/// The `level` every metrics line carries: Lambda's configured application log level
/// (`AWS_LAMBDA_LOG_LEVEL`), so its filter keeps the line whatever that level is; `None`
/// when Lambda filters nothing.
pub fn level_from_env() -> Option<String> {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok()?;
    let level = level.trim().to_ascii_uppercase();
    ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
        .contains(&level.as_str())
        .then_some(level)
}

/// Installs the backend on stdout, with the namespace and level of the environment.
pub fn init() {
    init_with_writer(&namespace_from_env(), level_from_env(), || {
        Box::new(std::io::stdout()) as Box<dyn Write>
    });
}

/// Installs the backend over `writer` (tests read what the functions write). A second call
/// is ignored: the first backend stays, as with the log subscriber.
pub fn init_with_writer<F>(namespace: &str, level: Option<String>, writer: F)
where
    F: Fn() -> Box<dyn Write> + Send + Sync + 'static,
{
    if BACKEND.get().is_some() {
        return;
    }
    let collector = match Builder::new()
        .cloudwatch_namespace(namespace.to_owned())
        .init()
    {
        Ok(collector) => collector,
        Err(error) => {
            tracing::warn!(%error, "metrics not installed");
            return;
        }
    };
    if let Some(level) = level {
        collector.set_property("level", level);
    }
    if BACKEND
        .set(Backend {
            collector,
            writer: Box::new(writer),
        })
        .is_ok()
    {
        bridge_domain::telemetry::describe();
        // Long runs (replay, reconcile) write their metrics as they go.
        bridge_domain::telemetry::on_checkpoint(flush);
    }
}

/// Writes the metrics accumulated since the last flush, one EMF line per dimension set, in
/// one write (no log line of a concurrent invocation can land inside one). Nothing without a
/// backend or without new values.
pub fn flush() {
    let Some(backend) = BACKEND.get() else {
        return;
    };
    let mut lines = Vec::new();
    if let Err(error) = backend.collector.flush(&mut lines) {
        tracing::warn!(%error, "metrics not written");
        return;
    }
    if lines.is_empty() {
        return;
    }
    let mut writer = (backend.writer)();
    if let Err(error) = writer.write_all(&lines).and_then(|()| writer.flush()) {
        tracing::warn!(%error, "metrics not written");
    }
}
