//! What the commands print on stdout: a table for people, JSON (`--json`) for pipelines.

use bridge_core::doctor::{Check, Report, Verdict};
use bridge_core::services::{ReconcileReport, ReplayReport};
use serde_json::json;

/// Prints `value` as pretty JSON.
pub fn print_json(value: &serde_json::Value) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(error) => eprintln!("report: {error}"),
    }
}

pub fn doctor_text(report: &Report) -> String {
    let mut out = String::new();
    for check in &report.checks {
        out.push_str(&check_text(check));
    }
    let verdict = if report.ok { "ok" } else { "FAILED" };
    out.push_str(&format!(
        "\ndoctor: {verdict}: {} failed, {} warnings, {} checks\n",
        report.failures,
        report.warnings,
        report.checks.len()
    ));
    out
}

fn check_text(check: &Check) -> String {
    let mark = match check.verdict {
        Verdict::Ok => " ok ",
        Verdict::Warning => "warn",
        Verdict::Failed => "FAIL",
        Verdict::Skipped => "skip",
    };
    let mut text = format!("[{mark}] {}: {}\n", check.name, check.detail);
    if let Some(variable) = &check.variable
        && check.verdict != Verdict::Ok
    {
        text.push_str(&format!("       variable: {variable}\n"));
    }
    if let Some(fix) = &check.fix {
        text.push_str(&format!("       fix: {fix}\n"));
    }
    text
}

/// Rows of a report table: label, count.
fn table(title: &str, rows: &[(&str, usize)], problems: &[String]) -> String {
    let width = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
    let mut out = format!("{title}\n");
    for (label, count) in rows {
        out.push_str(&format!("  {label:<width$}  {count:>6}\n"));
    }
    if problems.is_empty() {
        out.push_str("result: ok\n");
    } else {
        for problem in problems {
            out.push_str(&format!("result: FAILED: {problem}\n"));
        }
    }
    out
}

/// What makes a replay run a failure.
pub fn replay_problems(report: &ReplayReport, parked_before: Option<usize>) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(reason) = &report.unreadable {
        problems.push(format!(
            "the parked events could not be read ({reason}): nothing was replayed"
        ));
    }
    if report.still_failing > 0 {
        problems.push(format!(
            "{} events failed again and stay parked (their errors are in the log above)",
            report.still_failing
        ));
    }
    if report.dropped > 0 {
        problems.push(format!(
            "{} parked events could not be read and were dropped (logged above)",
            report.dropped
        ));
    }
    let handled = report.landed
        + report.already_done
        + report.still_failing
        + report.in_progress
        + report.dropped;
    if let Some(found) = parked_before
        && report.unreadable.is_none()
        && handled < found
    {
        problems.push(format!(
            "the time ran out: {} of {found} parked events were not reached; run replay again",
            found - handled
        ));
    }
    problems
}

pub fn replay_text(report: &ReplayReport, problems: &[String]) -> String {
    table(
        "replay",
        &[
            ("landed now", report.landed),
            (
                "already done (dropped from the parking)",
                report.already_done,
            ),
            ("still failing (still parked)", report.still_failing),
            ("held by a running webhook (next run)", report.in_progress),
            ("unreadable (dropped)", report.dropped),
        ],
        problems,
    )
}

pub fn replay_json(report: &ReplayReport, problems: &[String]) -> serde_json::Value {
    json!({"command": "replay", "ok": problems.is_empty(), "problems": problems, "report": report})
}

/// What makes a reconciliation a failure.
pub fn reconcile_problems(report: &ReconcileReport) -> Vec<String> {
    let mut problems = Vec::new();
    if report.failed > 0 {
        problems.push(format!(
            "{} calls could not be written to the CRM; they are parked for replay",
            report.failed
        ));
    }
    if report.not_reached > 0 {
        problems.push(format!(
            "the time ran out before {} calls; run reconcile again for the same window",
            report.not_reached
        ));
    }
    problems
}

pub fn reconcile_text(window: &str, report: &ReconcileReport, problems: &[String]) -> String {
    table(
        &format!("reconcile {window}"),
        &[
            ("calls in Ringostat's log", report.listed),
            ("recovered now (written to the CRM)", report.recovered),
            ("already in the CRM", report.already_done),
            ("left out by the event filters", report.filtered),
            ("still in progress (left for later)", report.in_progress),
            ("unreadable rows (skipped)", report.unreadable),
            ("failed (parked for replay)", report.failed),
            ("not reached (time ran out)", report.not_reached),
        ],
        problems,
    )
}

pub fn reconcile_json(
    from: &str,
    to: &str,
    report: &ReconcileReport,
    problems: &[String],
) -> serde_json::Value {
    json!({
        "command": "reconcile",
        "from": from,
        "to": to,
        "ok": problems.is_empty(),
        "problems": problems,
        "report": report,
    })
}
