//! Logs on stderr (tracing, `RUST_LOG` or the command's default level) and, on a terminal, a
//! progress bar that the log lines print above. The bar counts the events a run claims (the
//! ledger wrapped in [`CountingLedger`]); reconciliation learns its length from the call log
//! ([`SizedCallLog`]).

use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use bridge_core::Deadline;
use bridge_core::doctor::readable_error;
use bridge_core::ports::ledger::{Claim, Held, Owner, ParkedEvent, StoredAnswer};
use bridge_core::ports::{CacheError, Ledger, RingostatCallLog};
use bridge_core::ringostat::{CallRow, CallWindow, RingostatApiError};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing_subscriber::EnvFilter;

/// The bar of this run, once one is shown; log lines are written around it.
static BAR: OnceLock<ProgressBar> = OnceLock::new();

/// Logs to stderr at `default_level` unless `RUST_LOG` says otherwise.
pub fn init_logging(default_level: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| LogWriter)
        .with_ansi(io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

/// stderr, with the bar (if any) lifted while a line is written, and the AWS SDK's `Debug`
/// dumps cut from error texts.
struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let lines: Vec<String> = text
            .split_inclusive('\n')
            .map(|line| match line.strip_suffix('\n') {
                Some(line) => format!("{}\n", readable_error(line)),
                None => readable_error(line),
            })
            .collect();
        let cleaned = lines.concat();
        match BAR.get() {
            Some(bar) if !bar.is_finished() => {
                bar.suspend(|| io::stderr().write_all(cleaned.as_bytes()))?;
            }
            _ => io::stderr().write_all(cleaned.as_bytes())?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// The run's progress: a bar on a terminal, nothing otherwise.
#[derive(Clone)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar when `wanted` and stderr is a terminal.
    pub fn start(wanted: bool, message: &str) -> Self {
        if !wanted || !io::stderr().is_terminal() {
            return Self { bar: None };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{spinner} {msg} [{elapsed_precise}] {wide_bar} {pos}/{len} (eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(message.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        let _ = BAR.set(bar.clone());
        Self { bar: Some(bar) }
    }

    pub fn set_length(&self, length: usize) {
        if let Some(bar) = &self.bar {
            bar.set_length(length as u64);
        }
    }

    fn tick(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// Removes the bar; the report follows on stdout.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The ledger, counting one step per event claimed.
pub struct CountingLedger {
    pub inner: Arc<dyn Ledger>,
    pub progress: Progress,
}

#[async_trait]
impl Ledger for CountingLedger {
    async fn claim(&self, key: &str, owner: &Owner, until_ms: i64) -> Result<Claim, CacheError> {
        self.progress.tick();
        self.inner.claim(key, owner, until_ms).await
    }

    async fn complete(
        &self,
        key: &str,
        owner: &Owner,
        answer: &StoredAnswer,
        ttl: Duration,
    ) -> Result<Held, CacheError> {
        self.inner.complete(key, owner, answer, ttl).await
    }

    async fn release(&self, key: &str, owner: &Owner, ambiguous: bool) -> Result<Held, CacheError> {
        self.inner.release(key, owner, ambiguous).await
    }

    async fn park(&self, event: &ParkedEvent) -> Result<(), CacheError> {
        self.inner.park(event).await
    }

    async fn parked(&self, limit: usize) -> Result<Vec<ParkedEvent>, CacheError> {
        self.inner.parked(limit).await
    }

    async fn unpark(&self, key: &str) -> Result<(), CacheError> {
        self.inner.unpark(key).await
    }
}

/// Ringostat's call log, setting the bar's length to the calls it lists.
pub struct SizedCallLog {
    pub inner: Arc<dyn RingostatCallLog>,
    pub progress: Progress,
}

#[async_trait]
impl RingostatCallLog for SizedCallLog {
    async fn calls_in_slices(
        &self,
        window: CallWindow,
        deadline: Deadline,
    ) -> Result<Vec<CallRow>, RingostatApiError> {
        let calls = self.inner.calls_in_slices(window, deadline).await?;
        self.progress.set_length(calls.len());
        Ok(calls)
    }
}
