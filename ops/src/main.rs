//! `bridge-ops`: the operator's side of the bridge, reading the same environment variables as
//! the functions (docs/configuration.md).
//!
//! ```text
//! bridge-ops doctor [--json]                          check everything a call will need
//! bridge-ops replay [--limit 200] [--json]            re-drive parked events
//! bridge-ops reconcile [--from WHEN] [--to WHEN]      recover calls whose webhooks never arrived
//! bridge-ops smoke --url URL [--json]                 one test call through the deployed API
//! bridge-ops status [--stack NAME] [--hours 24] [--json]  the last hours at a glance
//! ```
//!
//! Exit codes: 0 done, 1 a check failed or the run could not read or write something, 2 a
//! wrong command line. `status`: 0 nothing needs attention, 1 something does, 3 a source could
//! not be read (the picture is incomplete), 2 a wrong command line. Reports go to stdout, logs
//! (and a progress bar on a terminal) to stderr.

mod progress;
mod report;
mod smoke;
mod status;
mod when;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bridge_core::Deadline;
use bridge_core::bootstrap::{Adapters, BuildError, Stack};
use bridge_core::config::Config;
use bridge_core::doctor::{doctor_from_env, readable_error};
use bridge_core::services::ReconcileError;
use clap::{Parser, Subcommand};
use jiff::Timestamp;

use progress::{CountingLedger, Progress, SizedCallLog};
use when::When;

const ENVIRONMENT: &str = "\
Environment (the functions' own variables, docs/configuration.md):
  CRM, WEBHOOK_TOKEN, SYSTEM_USER_ID, STAFF, CREATE_DEAL, WRITE_UTM, TIME_ZONE, …
  NETHUNT_* (NetHunt) or DATAVERSE_* (Smart CRM); RINGOSTAT_AUTH_KEY, RINGOSTAT_PROJECT_ID,
  RINGOSTAT_API_URL; CACHE_TABLE, PARKED_TABLE;
  RECONCILE_WINDOW_MINUTES, RECONCILE_LAG_MINUTES (reconcile without --from)
Secrets: NAME itself, or NAME_SSM_PARAMETER / NAME_SECRET_ID, read with Parameter Store's
  API and the credentials in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN); with
  a profile or SSO instead, export the value itself (doctor prints how).
AWS: AWS_REGION, AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL_DYNAMODB.
status: METRICS_NAMESPACE (RingostatBridge/<stack>; or --stack), PARKED_TABLE, TIME_ZONE,
  AWS_ENDPOINT_URL_CLOUDWATCH or AWS_ENDPOINT_URL; IAM: cloudwatch:GetMetricData and
  dynamodb:Scan on the parked-events table (no CRM or Ringostat secret needed).
BRIDGE_PROFILE=local fills whatever is unset with the local run's defaults (the sandbox).
RUST_LOG sets the log level on stderr (default: warn for doctor, info for replay/reconcile).

Exit codes: 0 done; 1 a check failed, or the run could not read or write something;
2 a wrong command line. status: 0 nothing needs attention; 1 something does; 3 a source
could not be read.";

#[derive(Parser)]
#[command(
    version,
    about = "Operations CLI of the Ringostat ⇄ CRM bridge: doctor, replay, reconcile",
    after_long_help = ENVIRONMENT
)]
struct Cli {
    /// No progress bar (it is shown only when stderr is a terminal anyway).
    #[arg(long, global = true)]
    no_progress: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Checks everything the first call will need: every variable (all problems at once),
    /// the CRM credentials, folders, fields, tables, columns and users, the Ringostat key,
    /// the DynamoDB tables and the events waiting for replay. Writes nothing.
    #[command(after_long_help = ENVIRONMENT)]
    Doctor {
        /// Print the report as JSON on stdout ({"ok", "failures", "warnings", "checks": [{"name",
        /// "verdict", "detail", "variable", "fix"}]}).
        #[arg(long)]
        json: bool,
    },
    /// Runs the parked events (webhooks whose CRM write failed) again; each lands at most once.
    #[command(after_long_help = ENVIRONMENT)]
    Replay {
        /// Parked events to read at most (oldest first).
        #[arg(long, default_value_t = 200)]
        limit: usize,
        /// Print the report as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Recovers the calls of a window from Ringostat's call log: each finished call whose
    /// webhook never arrived is written now; one already in the CRM is never written twice.
    #[command(after_long_help = ENVIRONMENT)]
    Reconcile {
        /// Start of the window: an RFC 3339 instant (2026-12-01T08:00:00Z,
        /// 2026-12-01T10:00:00+02:00), a time or date in TIME_ZONE (2026-12-01 08:00,
        /// 2026-12-01), now, today, yesterday, or a time before now (-2h, -90m, -1d, 2h ago).
        /// Without it: the scheduled window (RECONCILE_WINDOW_MINUTES ending
        /// RECONCILE_LAG_MINUTES ago).
        #[arg(long, allow_hyphen_values = true, value_name = "WHEN")]
        from: Option<When>,
        /// End of the window, in the same forms as --from; default: now.
        #[arg(
            long,
            allow_hyphen_values = true,
            value_name = "WHEN",
            requires = "from"
        )]
        to: Option<When>,
        /// Print the report as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Sends one signed test call (an "after call" webhook from a reserved test number, its
    /// texts marked) through the deployed API, checks that the CRM shows the contact and the
    /// call record, then removes them (NetHunt cannot delete: what is left is listed).
    #[command(after_long_help = SMOKE_ENVIRONMENT)]
    Smoke {
        /// The API's base URL, the stack output BaseUrl (or SMOKE_URL).
        #[arg(long)]
        url: Option<String>,
        /// The webhook token (or SMOKE_WEBHOOK_TOKEN; default: the configuration's
        /// WEBHOOK_TOKEN).
        #[arg(long)]
        token: Option<String>,
        /// The test number (or SMOKE_PHONE; default +380440000001, which no subscriber has).
        #[arg(long)]
        phone: Option<String>,
        /// The marker in the test texts (or SMOKE_MARKER; default "[bridge smoke test]").
        #[arg(long)]
        marker: Option<String>,
        /// Print the report as JSON on stdout ({"ok", "crm", "call_id", "steps": [{"name",
        /// "ok", "detail"}], "removed", "left": [{"kind", "record", "why"}]}).
        #[arg(long)]
        json: bool,
    },
    /// The last hours of a deployed stack at a glance, worst news first: the parked events
    /// with their age and error, call events by outcome, smart-forward reasons, the last
    /// reconcile run, read from CloudWatch (GetMetricData) and the parked-events table.
    /// Writes nothing. Exit code 0: nothing needs attention; 1: something does; 3: a source
    /// could not be read.
    #[command(after_long_help = ENVIRONMENT)]
    Status {
        /// The stack's name: its metrics are in the namespace RingostatBridge/NAME. Default:
        /// METRICS_NAMESPACE.
        #[arg(long, value_name = "NAME")]
        stack: Option<String>,
        /// Hours to look back (1 to 336).
        #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=336))]
        hours: u32,
        /// Print the status as JSON on stdout ({"ok", "verdict", "findings", "parked",
        /// "metrics", …}).
        #[arg(long)]
        json: bool,
    },
}

const SMOKE_ENVIRONMENT: &str = "\
Smoke test: SMOKE_URL, SMOKE_WEBHOOK_TOKEN, SMOKE_PHONE, SMOKE_MARKER (the options' defaults),
and the functions' own variables for the CRM (CRM, NETHUNT_* or DATAVERSE_*, WEBHOOK_TOKEN,
CREATE_DEAL, DEAL_NAME, …), as for doctor.

Exit codes: 0 the call was logged and found (and removed where the CRM allows); 1 it was not,
or a removal failed; 2 no URL.";

/// A manual run may take its time; the functions have their own limits.
const RUN_TIME: Duration = Duration::from_secs(15 * 60);

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let wants_bar = !cli.no_progress;
    match cli.command {
        Command::Doctor { json } => {
            progress::init_logging("warn");
            let report = doctor_from_env().await;
            if json {
                report::print_json(&serde_json::to_value(&report).unwrap_or_default());
            } else {
                print!("{}", report::doctor_text(&report));
            }
            exit(report.ok)
        }
        Command::Replay { limit, json } => {
            progress::init_logging("info");
            replay(limit, json, wants_bar).await
        }
        Command::Reconcile { from, to, json } => {
            progress::init_logging("info");
            reconcile(from, to, json, wants_bar).await
        }
        Command::Smoke {
            url,
            token,
            phone,
            marker,
            json,
        } => {
            progress::init_logging("warn");
            smoke::command(url, token, phone, marker, json).await
        }
        Command::Status { stack, hours, json } => {
            progress::init_logging("warn");
            let Some(namespace) = status::namespace(stack.as_deref()) else {
                tracing::error!(
                    "name the stack: --stack NAME (its metrics are in RingostatBridge/NAME) or \
                     METRICS_NAMESPACE"
                );
                return ExitCode::from(2);
            };
            status::run(status::Options {
                namespace,
                hours,
                json,
            })
            .await
        }
    }
}

fn exit(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn replay(limit: usize, json: bool, wants_bar: bool) -> ExitCode {
    let Some(config) = configuration().await else {
        return ExitCode::FAILURE;
    };
    match (&config.tables.cache, &config.tables.parked) {
        (Some(cache), Some(parked)) if cache == parked => {
            tracing::error!(
                table = %parked,
                "PARKED_TABLE equals CACHE_TABLE: the parked events cannot be told from the \
                 cache; set PARKED_TABLE to the parked-events table (stack output \
                 ParkedEventsTableName)"
            );
            return ExitCode::FAILURE;
        }
        (Some(_), Some(_)) => {}
        _ => {
            tracing::error!(
                "replay needs CACHE_TABLE and PARKED_TABLE: without them parked events live \
                 only in the memory of each function, out of reach"
            );
            return ExitCode::FAILURE;
        }
    }
    let progress = Progress::start(wants_bar, "replaying parked events");
    let Some(stack) = start(config, &progress).await else {
        progress.finish();
        return ExitCode::FAILURE;
    };
    let parked_before = match stack.adapters.ledger.parked(limit).await {
        Ok(parked) => {
            tracing::info!(parked = parked.len(), limit, "parked events found");
            progress.set_length(parked.len());
            Some(parked.len())
        }
        Err(_) => None,
    };
    let mut report = stack
        .delivery
        .replay(limit, Deadline::after(RUN_TIME))
        .await;
    progress.finish();
    report.unreadable = report.unreadable.as_deref().map(readable_error);
    let problems = report::replay_problems(&report, parked_before);
    if json {
        report::print_json(&report::replay_json(&report, &problems));
    } else {
        print!("{}", report::replay_text(&report, &problems));
    }
    exit(problems.is_empty())
}

async fn reconcile(from: Option<When>, to: Option<When>, json: bool, wants_bar: bool) -> ExitCode {
    let Some(config) = configuration().await else {
        return ExitCode::FAILURE;
    };
    let zone = config.settings.parse.time_zone.clone();
    let now = Timestamp::now();
    let window = match &from {
        None => {
            let span = |d: Duration| jiff::SignedDuration::try_from(d).unwrap_or_default();
            let to = now
                .saturating_sub(span(config.settings.reconcile_lag))
                .unwrap_or(now);
            let from = to
                .saturating_sub(span(config.settings.reconcile_window))
                .unwrap_or(to);
            Ok((from, to))
        }
        Some(from) => from.resolve(now, &zone).and_then(|from| {
            let to = to.as_ref().unwrap_or(&When::Now).resolve(now, &zone)?;
            Ok((from, to))
        }),
    };
    // Ringostat's call log counts whole seconds.
    let second = |t: Timestamp| t.round(jiff::Unit::Second).unwrap_or(t);
    let (from, to) = match window {
        Ok((from, to)) => (second(from), second(to)),
        Err(error) => {
            tracing::error!(%error, "the window cannot be placed in time");
            return ExitCode::from(2);
        }
    };
    if from >= to {
        tracing::error!(%from, %to, "the window is empty or reversed: --from must be before --to");
        return ExitCode::from(2);
    }
    let local = |t: Timestamp| t.to_zoned_datetime(zone.clone()).to_string();
    let shown = format!("{} → {}", local(from), local(to));
    tracing::info!(window = %shown, "reconciling");
    let progress = Progress::start(wants_bar, "reconciling calls");
    let Some(stack) = start(config, &progress).await else {
        progress.finish();
        return ExitCode::FAILURE;
    };
    let result = stack
        .reconciler
        .reconcile(from, to, Deadline::after(RUN_TIME))
        .await;
    progress.finish();
    match result {
        Ok(report) => {
            let problems = report::reconcile_problems(&report);
            if json {
                report::print_json(&report::reconcile_json(
                    &local(from),
                    &local(to),
                    &report,
                    &problems,
                ));
            } else {
                print!("{}", report::reconcile_text(&shown, &report, &problems));
            }
            exit(problems.is_empty())
        }
        Err(error @ ReconcileError::NotConfigured) => {
            tracing::error!(%error, "nothing reconciled: set RINGOSTAT_AUTH_KEY");
            ExitCode::FAILURE
        }
        Err(error) => {
            let error = readable_error(&error.to_string());
            tracing::error!(%error, "nothing reconciled: Ringostat's call log could not be read");
            ExitCode::FAILURE
        }
    }
}

/// The configuration, or an error line that says to run `doctor`.
async fn configuration() -> Option<Config> {
    Config::from_env()
        .await
        .inspect_err(|error| {
            let text = error.to_string();
            let text = text.strip_prefix("configuration: ").unwrap_or(&text);
            tracing::error!(
                "the bridge cannot start: {text}; `bridge-ops doctor` lists every problem"
            );
        })
        .ok()
}

/// The stack over `config`, its ledger and call log reporting to `progress`.
async fn start(config: Config, progress: &Progress) -> Option<Stack> {
    let mut adapters = match Adapters::connect(&config).await {
        Ok(adapters) => adapters,
        Err(error) => {
            report_build_error(&error);
            return None;
        }
    };
    adapters.ledger = Arc::new(CountingLedger {
        inner: adapters.ledger,
        progress: progress.clone(),
    });
    let mut stack = Stack::wire(config, adapters);
    if let Some(call_log) = stack.reconciler.call_log.take() {
        stack.reconciler.call_log = Some(Arc::new(SizedCallLog {
            inner: call_log,
            progress: progress.clone(),
        }));
    }
    Some(stack)
}

fn report_build_error(error: &BuildError) {
    let error = readable_error(&error.to_string());
    tracing::error!(%error, "the bridge cannot start; `bridge-ops doctor` says why");
}
