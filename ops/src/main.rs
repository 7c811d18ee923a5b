//! `bridge-ops`: the operator's side of the bridge, reading the same environment variables as
//! the functions (see docs/configuration.md).
//!
//! ```text
//! bridge-ops doctor                      check configuration, CRM, Ringostat key and tables
//! bridge-ops replay [--limit 200]        re-drive parked events
//! bridge-ops reconcile --from T --to T   recover calls whose webhooks never arrived
//! ```

use std::process::ExitCode;
use std::time::Duration;

use bridge_core::Deadline;
use bridge_core::bootstrap::Stack;
use bridge_core::config::Config;
use bridge_core::doctor::{Verdict, doctor};
use clap::{Parser, Subcommand};
use jiff::Timestamp;

#[derive(Parser)]
#[command(version, about = "Operations CLI of the Ringostat ⇄ CRM bridge")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Checks the configuration, the CRM credentials, the Ringostat key and the tables.
    Doctor,
    /// Runs the parked events (failed webhooks) again; each lands at most once.
    Replay {
        #[arg(long, default_value_t = 200)]
        limit: usize,
    },
    /// Recovers the calls of a window from Ringostat's call log (instants such as
    /// 2026-12-01T08:00:00Z or 2026-12-01T10:00:00+02:00).
    Reconcile {
        #[arg(long)]
        from: Timestamp,
        #[arg(long)]
        to: Timestamp,
    },
}

/// A manual run may take its time; the functions have their own limits.
const RUN_TIME: Duration = Duration::from_secs(15 * 60);

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Doctor => {
            let checks = doctor(Config::from_env().await).await;
            for check in &checks {
                let mark = match check.verdict {
                    Verdict::Ok => "ok  ",
                    Verdict::Warning => "warn",
                    Verdict::Failed => "FAIL",
                };
                println!("[{mark}] {}: {}", check.name, check.detail);
            }
            if checks.iter().any(|c| c.verdict == Verdict::Failed) {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Command::Replay { limit } => {
            let Some(stack) = start().await else {
                return ExitCode::FAILURE;
            };
            let report = stack
                .delivery
                .replay(limit, Deadline::after(RUN_TIME))
                .await;
            print_json(&report);
            if report.still_failing > 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Command::Reconcile { from, to } => {
            let Some(stack) = start().await else {
                return ExitCode::FAILURE;
            };
            match stack
                .reconciler
                .reconcile(from, to, Deadline::after(RUN_TIME))
                .await
            {
                Ok(report) => {
                    print_json(&report);
                    if report.failed > 0 {
                        ExitCode::FAILURE
                    } else {
                        ExitCode::SUCCESS
                    }
                }
                Err(error) => {
                    eprintln!("reconcile: {error}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// The stack from the environment, or a message saying to run `doctor`.
async fn start() -> Option<Stack> {
    Stack::from_env()
        .await
        .inspect_err(|error| {
            eprintln!("the bridge cannot start: {error} (run `bridge-ops doctor`)")
        })
        .ok()
}

fn print_json(value: &impl serde::Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(error) => eprintln!("report: {error}"),
    }
}
