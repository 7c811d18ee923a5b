//! Logs that cannot leak. Lambda's log level (`AWS_LAMBDA_LOG_LEVEL`, from the template's
//! `LogLevel`) applies to the bridge's own crates only: the Lambda runtime logs every raw event
//! (token query, `X-Bridge-Token` and `Authorization` headers, full numbers) at TRACE, and the
//! HTTP and AWS clients log URLs (NetHunt's carry the number) at DEBUG, so every other crate
//! logs warnings and errors only. TRACE is read as DEBUG: nothing of ours needs it.
//! The texts the bridge logs itself pass `bridge_domain::redact::log_text` where they can
//! hold a vendor's echo.

use std::io::Write;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};

use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::fmt::MakeWriter;

/// The crates whose events follow the configured level.
const OWN_CRATES: [&str; 4] = [
    "bridge_domain",
    "bridge_adapters",
    "bridge_lambda",
    "bridge_core",
];

/// The level the functions log at: `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG` (a level name),
/// else INFO; never more verbose than DEBUG.
pub fn level_from_env() -> LevelFilter {
    let word = std::env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG"));
    level_named(word.as_deref().unwrap_or("INFO"))
}

/// The level a word names (`TRACE`, `debug`, …), at most DEBUG; INFO for anything else.
pub fn level_named(word: &str) -> LevelFilter {
    LevelFilter::from_str(word.trim())
        .unwrap_or(LevelFilter::INFO)
        .min(LevelFilter::DEBUG)
}

/// WARN for every crate, `level` (at most DEBUG) for the bridge's own.
pub fn filter(level: LevelFilter) -> EnvFilter {
    let level = level.min(LevelFilter::DEBUG);
    OWN_CRATES.iter().fold(
        EnvFilter::default().add_directive(LevelFilter::WARN.into()),
        |filter, krate| match format!("{krate}={level}").parse() {
            Ok(directive) => filter.add_directive(directive),
            Err(_) => filter,
        },
    )
}

/// Installs the functions' subscriber on stdout: JSON when Lambda's log format is JSON (the
/// template's `LogFormat: JSON`), plain text otherwise.
pub fn init() {
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    init_with_writer(std::io::stdout, json, level_from_env());
}

/// The same subscriber over `writer` (tests read what the functions log). A second call is
/// ignored: the first subscriber stays.
pub fn init_with_writer<W>(writer: W, json: bool, level: LevelFilter)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_ansi(false)
        .with_env_filter(filter(level))
        .with_writer(writer);
    let _ = if json {
        // Each line carries the event's span once (`span`: function, event, call id), not
        // also the list of its parents.
        builder.json().with_span_list(false).try_init()
    } else {
        builder.try_init()
    };
}

/// What the functions log, kept in memory: tests read it (`init_with_writer(move ||
/// capture.clone(), …)`, then [`LogCapture::text`]).
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    pub fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for LogCapture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_is_read_as_debug_and_other_crates_log_warnings_only() {
        let text = filter(LevelFilter::TRACE).to_string();
        assert!(text.contains("bridge_adapters=debug"), "{text}");
        assert!(!text.contains("trace"), "{text}");
        assert!(text.contains("warn"), "{text}");
    }
}
