//! `bridge-ops smoke`: one synthetic call through the deployed API, checked in the CRM, then
//! removed.
//!
//! The call is an "after call" webhook, signed with the webhook token like Ringostat's own
//! (`x-bridge-token`), for a missed incoming call from the reserved test number
//! ([`DEFAULT_PHONE`], `SMOKE_PHONE`), its call id starting `bridge-smoke-test-` and its
//! pool name (shown in the call record's "Line" row) being the test marker ([`DEFAULT_MARKER`],
//! `SMOKE_MARKER`). A missed call hands nothing to a manager. Click-to-call is never exercised:
//! it rings a real phone.
//!
//! The smoke passes when the webhook answers `call_logged`, the CRM adapter finds the
//! contact by the test number, the call record on it carries the call id and the marker, and
//! the deal exists when the answer names one. Then the call record, the deal and the contact
//! are removed; what the CRM cannot remove (NetHunt: no delete action) is listed with how to
//! find it, and does not fail the run. A removal that fails does.

use std::sync::Arc;
use std::time::Duration;

use bridge_core::Deadline;
use bridge_core::adapters::http::RetryPolicy;
use bridge_core::adapters::registry::{self, ReadSection};
use bridge_core::adapters::test_records::{Removal, TestRecord, TestRecords};
use bridge_core::adapters::{Dataverse, DataverseConfig, NetHunt, NetHuntConfig};
use bridge_core::config::{Config, process_lookup};
use bridge_core::doctor::readable_error;
use bridge_core::phone::PhoneNumber;
use bridge_core::ports::{Crm, CrmKind};
use bridge_core::secret::Secret;
use bridge_core::secret_store::SecretStore;
use jiff::Timestamp;
use serde_json::{Value, json};

/// The reserved test number: a Kyiv landline whose local part starts with 0, which is the
/// trunk prefix in Ukraine, so no subscriber can have it; valid for the bridge's number
/// parsing all the same. `SMOKE_PHONE` overrides it.
pub const DEFAULT_PHONE: &str = "+380440000001";
/// What marks every text a smoke test writes. `SMOKE_MARKER` overrides it.
pub const DEFAULT_MARKER: &str = "[bridge smoke test]";
/// How every smoke call id starts (the `Ringostat ID:` line of the call record).
pub const CALL_ID_PREFIX: &str = "bridge-smoke-test-";

/// Time for each request (the webhook includes the bridge's cold start).
const STEP_TIME: Duration = Duration::from_secs(30);

/// What the command line and the environment said.
pub struct Options {
    /// The API's base URL (stack output `BaseUrl`).
    pub url: String,
    /// The webhook token; `None`: the configuration's `WEBHOOK_TOKEN`.
    pub token: Option<String>,
    pub phone: String,
    pub marker: String,
}

/// One check of the run.
struct Step {
    name: &'static str,
    ok: bool,
    detail: String,
}

/// A record left in the CRM, and why.
struct Left {
    record: TestRecord,
    why: String,
}

/// The whole run.
pub struct Report {
    crm: Option<CrmKind>,
    url: String,
    call_id: String,
    phone: String,
    marker: String,
    steps: Vec<Step>,
    removed: Vec<TestRecord>,
    left: Vec<Left>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.steps.iter().all(|s| s.ok)
    }

    fn step(&mut self, name: &'static str, ok: bool, detail: impl Into<String>) -> bool {
        self.steps.push(Step {
            name,
            ok,
            detail: detail.into(),
        });
        ok
    }

    pub fn json(&self) -> Value {
        json!({
            "ok": self.ok(),
            "crm": self.crm.map(CrmKind::as_str),
            "url": self.url,
            "call_id": self.call_id,
            "phone": self.phone,
            "marker": self.marker,
            "steps": self.steps.iter().map(|s| json!({
                "name": s.name, "ok": s.ok, "detail": s.detail,
            })).collect::<Vec<_>>(),
            "removed": self.removed.iter().map(|r| json!({
                "kind": r.kind(), "record": r.describe(),
            })).collect::<Vec<_>>(),
            "left": self.left.iter().map(|l| json!({
                "kind": l.record.kind(), "record": l.record.describe(), "why": l.why,
            })).collect::<Vec<_>>(),
        })
    }

    pub fn text(&self) -> String {
        let crm = self.crm.map_or("the CRM", CrmKind::as_str);
        let mut out = format!(
            "smoke test of {} ({crm}), call {}, number {}\n",
            self.url, self.call_id, self.phone
        );
        for step in &self.steps {
            let mark = if step.ok { " ok " } else { "FAIL" };
            out.push_str(&format!("[{mark}] {}: {}\n", step.name, step.detail));
        }
        for record in &self.removed {
            out.push_str(&format!("removed: {}\n", record.describe()));
        }
        if !self.left.is_empty() {
            out.push_str(&format!(
                "left in {crm} (find them by the number {} and the marker \"{}\"):\n",
                self.phone, self.marker
            ));
            for left in &self.left {
                out.push_str(&format!("  - {}: {}\n", left.record.describe(), left.why));
            }
        }
        let verdict = if self.ok() { "ok" } else { "FAILED" };
        out.push_str(&format!("smoke: {verdict}\n"));
        out
    }
}

/// The CRM adapter twice: as the bridge uses it, and for test records.
struct Target {
    crm: Arc<dyn Crm>,
    records: Arc<dyn TestRecords>,
}

/// Runs the smoke test; the report says how it went.
pub async fn run(options: Options) -> Report {
    let call_id = format!("{CALL_ID_PREFIX}{}", Timestamp::now().as_millisecond());
    let mut report = Report {
        crm: None,
        url: options.url.trim_end_matches('/').to_owned(),
        call_id: call_id.clone(),
        phone: options.phone.clone(),
        marker: options.marker.clone(),
        steps: Vec::new(),
        removed: Vec::new(),
        left: Vec::new(),
    };
    let phone = match PhoneNumber::parse(&options.phone) {
        Ok(phone) => phone,
        Err(error) => {
            report.step(
                "test number",
                false,
                format!("SMOKE_PHONE `{}` {error}", options.phone),
            );
            return report;
        }
    };
    report.phone = phone.e164().to_owned();
    let config = match Config::from_env().await {
        Ok(config) => config,
        Err(error) => {
            report.step(
                "configuration",
                false,
                format!(
                    "{}; `bridge-ops doctor` lists every problem",
                    readable_error(&error.to_string())
                ),
            );
            return report;
        }
    };
    let target = match target().await {
        Ok((kind, target)) => {
            report.crm = Some(kind);
            target
        }
        Err(error) => {
            report.step("configuration", false, error);
            return report;
        }
    };
    let token = options
        .token
        .map(Secret::new)
        .unwrap_or_else(|| config.tokens.webhook.clone());
    let since = Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_mins(1))
        .unwrap_or(Timestamp::UNIX_EPOCH);

    let answer = send_webhook(&report.url, &token, &phone, &call_id, &options.marker).await;
    let answered = match answer {
        Ok(answer) => answer,
        Err(error) => {
            report.step("webhook", false, error);
            clean_up(&mut report, &target, &phone, None, &config).await;
            return report;
        }
    };
    let outcome = answered["outcome"].as_str().unwrap_or_default();
    let logged = report.step(
        "webhook",
        outcome == "call_logged",
        format!("after-call answered 200 `{outcome}`"),
    );
    let contact_id = answered["contact_id"].as_str().map(str::to_owned);
    if logged {
        check_records(
            &mut report,
            &target,
            &phone,
            &call_id,
            contact_id.as_deref(),
            answered["deal_id"].as_str(),
            since,
        )
        .await;
    }
    clean_up(&mut report, &target, &phone, contact_id.as_deref(), &config).await;
    report
}

/// The adapter of the configured CRM, built from its own section (as `doctor` does).
async fn target() -> Result<(CrmKind, Target), String> {
    let lookup = process_lookup();
    let secrets = SecretStore::from_env();
    let kind = registry::module_from(&lookup)
        .map_err(|e| e.to_string())?
        .profile()
        .kind;
    let policy = RetryPolicy::default();
    let unreadable = |e: &dyn std::fmt::Display| readable_error(&e.to_string());
    let target = match kind {
        CrmKind::NetHunt => {
            let config = NetHuntConfig::read(&lookup, &secrets)
                .await
                .map_err(|e| unreadable(&e))?;
            let adapter = Arc::new(NetHunt::new(config, policy).map_err(|e| unreadable(&e))?);
            Target {
                crm: adapter.clone(),
                records: adapter,
            }
        }
        CrmKind::Dataverse => {
            let config = DataverseConfig::read(&lookup, &secrets)
                .await
                .map_err(|e| unreadable(&e))?;
            let adapter = Arc::new(Dataverse::new(config, policy).map_err(|e| unreadable(&e))?);
            Target {
                crm: adapter.clone(),
                records: adapter,
            }
        }
    };
    Ok((kind, target))
}

/// The synthetic "after call" event: a missed incoming call from the test number.
fn event_body(phone: &PhoneNumber, call_id: &str, marker: &str) -> Value {
    let now = Timestamp::now()
        .round(jiff::Unit::Second)
        .unwrap_or(Timestamp::now());
    json!({
        "uniqueid": call_id,
        "calldate": now.to_string(),
        "call_type": "in",
        "caller": phone.digits(),
        // The "Line" row shows the pool name only next to a line: the test number serves.
        "dst": phone.digits(),
        "disposition": "NO ANSWER",
        "duration": 5,
        "billsec": 0,
        "waittime": "5",
        "employee_number": -1,
        "pool_name": marker,
    })
}

/// POSTs the event to `<url>/ringostat/after-call`; the answer's JSON on 200.
async fn send_webhook(
    url: &str,
    token: &Secret,
    phone: &PhoneNumber,
    call_id: &str,
    marker: &str,
) -> Result<Value, String> {
    let endpoint = format!("{url}/ringostat/after-call");
    let client = reqwest::Client::builder()
        .timeout(STEP_TIME)
        .build()
        .map_err(|e| format!("no HTTP client: {e}"))?;
    let response = client
        .post(&endpoint)
        .header("x-bridge-token", token.expose())
        .json(&event_body(phone, call_id, marker))
        .send()
        .await
        .map_err(|e| format!("{endpoint} cannot be reached: {}", error_chain(&e)))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(body);
    }
    let said = body["error"]
        .as_str()
        .map(|error| {
            let message = body["message"].as_str().unwrap_or_default();
            format!("`{error}`: {message}")
        })
        .unwrap_or_else(|| text.chars().take(200).collect());
    let hint = match status.as_u16() {
        401 => " (the token is not the deployment's WEBHOOK_TOKEN)",
        404 => " (is the URL the stack's BaseUrl?)",
        502 | 503 => " (the CRM refused or failed the write; the event is parked for replay)",
        _ => "",
    };
    Err(format!("{endpoint} answered {status} {said}{hint}"))
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// The contact, its call record with the marker, and the deal the answer names.
async fn check_records(
    report: &mut Report,
    target: &Target,
    phone: &PhoneNumber,
    call_id: &str,
    answered_contact: Option<&str>,
    answered_deal: Option<&str>,
    since: Timestamp,
) {
    let found = target
        .crm
        .find_contact(phone, Deadline::after(STEP_TIME))
        .await;
    let contact_id = match found {
        Ok(Some(contact)) if answered_contact.is_none_or(|id| id == contact.id) => {
            report.step(
                "contact",
                true,
                format!("{} has the test number", contact.id),
            );
            contact.id
        }
        Ok(Some(contact)) => {
            report.step(
                "contact",
                false,
                format!(
                    "the test number belongs to {}, not to {} the webhook answered",
                    contact.id,
                    answered_contact.unwrap_or_default()
                ),
            );
            return;
        }
        Ok(None) => {
            report.step("contact", false, "no contact has the test number");
            return;
        }
        Err(error) => {
            report.step("contact", false, format!("the lookup failed: {error}"));
            return;
        }
    };
    let text = target
        .records
        .logged_call_text(&contact_id, call_id, since, Deadline::after(STEP_TIME))
        .await;
    match text {
        Ok(Some(text)) if text.contains(&report.marker) => {
            report.step(
                "call record",
                true,
                "logged on the contact, with the marker",
            );
        }
        Ok(Some(_)) => {
            report.step(
                "call record",
                false,
                format!(
                    "logged on the contact, but without the marker \"{}\"",
                    report.marker
                ),
            );
        }
        Ok(None) => {
            report.step(
                "call record",
                false,
                format!("no call record `Ringostat ID: {call_id}` on contact {contact_id}"),
            );
        }
        Err(error) => {
            report.step("call record", false, format!("the read failed: {error}"));
        }
    }
    if let Some(deal_id) = answered_deal {
        report.step(
            "deal",
            !deal_id.is_empty(),
            format!("{deal_id} created for the new contact"),
        );
    }
}

/// Removes the call record, the deal and the contact of the test number (whatever exists).
async fn clean_up(
    report: &mut Report,
    target: &Target,
    phone: &PhoneNumber,
    answered_contact: Option<&str>,
    config: &Config,
) {
    let deadline = || Deadline::after(STEP_TIME);
    let contact_id = match target.crm.find_contact(phone, deadline()).await {
        Ok(Some(contact)) => Some(contact.id),
        Ok(None) => answered_contact.map(str::to_owned),
        Err(error) => {
            report.step(
                "clean-up",
                false,
                format!("the test contact could not be looked up: {error}"),
            );
            answered_contact.map(str::to_owned)
        }
    };
    let Some(contact_id) = contact_id else {
        return;
    };
    let mut records = vec![TestRecord::Call {
        contact_id: contact_id.clone(),
        call_id: report.call_id.clone(),
    }];
    if let Some(deals) = &config.settings.deals {
        let name = deals.name_for(phone.e164());
        match target.records.deal_of(&contact_id, &name, deadline()).await {
            Ok(Some(id)) => records.push(TestRecord::Deal { id }),
            Ok(None) => {}
            Err(error) => {
                report.step(
                    "clean-up",
                    false,
                    format!("the test deal could not be looked up: {error}"),
                );
            }
        }
    }
    records.push(TestRecord::Contact { id: contact_id });
    let mut failed = Vec::new();
    for record in records {
        match target.records.remove(&record, deadline()).await {
            Removal::Removed => report.removed.push(record),
            Removal::AlreadyGone => {}
            Removal::Impossible(why) => report.left.push(Left { record, why }),
            Removal::Failed(error) => {
                failed.push(format!("{}: {error}", record.describe()));
                report.left.push(Left {
                    record,
                    why: format!("the removal failed: {error}"),
                });
            }
        }
    }
    if !failed.is_empty() {
        report.step("clean-up", false, failed.join("; "));
    } else if report.left.is_empty() {
        report.step("clean-up", true, "every test record removed");
    } else {
        report.step(
            "clean-up",
            true,
            format!(
                "{} test record(s) cannot be removed through the API and are listed below",
                report.left.len()
            ),
        );
    }
}

/// `bridge-ops smoke`: the options from the command line, else the environment (`SMOKE_URL`,
/// `SMOKE_PHONE`, `SMOKE_MARKER`; the token from `--token`, `SMOKE_WEBHOOK_TOKEN` or the
/// configuration's `WEBHOOK_TOKEN`); exit 0 when the smoke passed, 1 when not, 2 without a URL.
pub async fn command(
    url: Option<String>,
    token: Option<String>,
    phone: Option<String>,
    marker: Option<String>,
    json: bool,
) -> std::process::ExitCode {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let Some(url) = url.or_else(|| env("SMOKE_URL")) else {
        tracing::error!(
            "smoke needs the API's base URL: --url or SMOKE_URL (the stack output BaseUrl)"
        );
        return std::process::ExitCode::from(2);
    };
    let options = Options {
        url,
        token: token.or_else(|| env("SMOKE_WEBHOOK_TOKEN")),
        phone: phone
            .or_else(|| env("SMOKE_PHONE"))
            .unwrap_or_else(|| DEFAULT_PHONE.into()),
        marker: marker
            .or_else(|| env("SMOKE_MARKER"))
            .unwrap_or_else(|| DEFAULT_MARKER.into()),
    };
    let report = run(options).await;
    if json {
        crate::report::print_json(&report.json());
    } else {
        print!("{}", report.text());
    }
    if report.ok() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
