//! `bridge-ops` against the sandbox and moto.
//!
//! - `doctor` in process: a good configuration passes; each broken configuration of issue 16
//!   is a failure naming its variable, every problem is reported at once, and no message
//!   carries a doubled prefix, an SDK `Debug` dump or a secret.
//! - [`cli`]: the binary run for real: exit codes, `--json`, the reports on stdout, replay's
//!   failure when it cannot read the parked events, and the instants `reconcile --from/--to`
//!   accept.

use std::collections::HashMap;

use bridge_core::doctor::{Check, Report, Verdict, doctor};
use bridge_core::ports::CrmKind;
use bridge_core::secret::Secret;
use bridge_core::secret_store::SecretStore;
use bridge_tests::rig::Rig;
use crm_sandbox::Fault;

/// The sandbox's system user and manager in Smart CRM.
const DV_SYSTEM_USER: &str = "5a0c1e2d-3b4f-4a5e-8c6d-7e8f90a1b2c1";
const DV_SYSTEM_USER_EMAIL: &str = "ringostat-bridge@smart-crm.example";

/// The rig's variables with `changes` (an empty value unsets).
fn vars_with(rig: &Rig, changes: &[(&str, &str)]) -> HashMap<String, String> {
    let mut vars = rig.vars.clone();
    for (name, value) in changes {
        vars.insert((*name).into(), (*value).into());
    }
    vars
}

async fn report_with(rig: &Rig, changes: &[(&str, &str)]) -> Report {
    let store = SecretStore::new(
        rig.sandbox.secrets_extension_url(),
        Secret::new("test-session-token"),
    );
    report_from(vars_with(rig, changes), &store).await
}

async fn report_from(vars: HashMap<String, String>, secrets: &SecretStore) -> Report {
    let lookup = move |name: &str| vars.get(name).cloned().filter(|v| !v.is_empty());
    let report = doctor(&lookup, secrets).await;
    for check in &report.checks {
        assert!(
            !check.detail.starts_with("configuration:"),
            "doubled prefix: {check:?}"
        );
        for dump in [
            "ErrorMetadata",
            "ServiceError {",
            "DispatchFailure(",
            "Some(\"",
        ] {
            assert!(!check.detail.contains(dump), "Debug dump: {check:?}");
        }
        for secret in [
            "sandbox-nethunt-key",
            "sandbox-secret",
            "sandbox-ringostat-key",
        ] {
            assert!(!check.detail.contains(secret), "secret in {check:?}");
        }
    }
    report
}

/// The failures naming `variable`; at least one, each with a fix.
fn failures_of<'a>(report: &'a Report, variable: &str) -> Vec<&'a Check> {
    let found: Vec<&Check> = report
        .failed()
        .filter(|c| c.variable.as_deref() == Some(variable))
        .collect();
    assert!(
        !found.is_empty(),
        "no failure naming {variable} in {:#?}",
        report.checks
    );
    for check in &found {
        assert!(check.fix.is_some(), "no fix: {check:?}");
    }
    assert!(!report.ok);
    found
}

fn check_named<'a>(report: &'a Report, name: &str) -> &'a Check {
    report
        .check(name)
        .unwrap_or_else(|| panic!("no `{name}` check in {:#?}", report.checks))
}

async fn a_good_configuration_passes(kind: CrmKind) {
    let rig = Rig::new(kind).await;
    let report = report_with(&rig, &[]).await;
    assert!(report.ok, "{:#?}", report.checks);
    let not_ok: Vec<&Check> = report
        .checks
        .iter()
        .filter(|c| c.verdict != Verdict::Ok)
        .collect();
    assert!(not_ok.is_empty(), "{not_ok:#?}");
    for name in [
        "configuration",
        "CRM",
        "CRM users",
        "Ringostat API",
        "DynamoDB tables",
    ] {
        check_named(&report, name);
    }
}

#[tokio::test]
async fn nethunt_a_good_configuration_passes() {
    a_good_configuration_passes(CrmKind::NetHunt).await;
}

#[tokio::test]
async fn dataverse_a_good_configuration_passes() {
    a_good_configuration_passes(CrmKind::Dataverse).await;
}

async fn credentials_key_and_parked_events_are_reported(kind: CrmKind) {
    let rig = Rig::new(kind).await;
    let secret = match kind {
        CrmKind::NetHunt => "NETHUNT_API_KEY",
        CrmKind::Dataverse => "DATAVERSE_CLIENT_SECRET",
    };
    let report = report_with(&rig, &[(secret, "not-the-key")]).await;
    let crm = check_named(&report, "CRM");
    assert_eq!(crm.verdict, Verdict::Failed);
    assert!(
        crm.detail.starts_with("the CRM refused the credentials"),
        "{crm:?}"
    );
    assert!(
        !crm.detail.contains("not-the-key"),
        "no secret in the report"
    );

    let report = report_with(&rig, &[("RINGOSTAT_AUTH_KEY", "not-the-key")]).await;
    let ringostat = failures_of(&report, "RINGOSTAT_AUTH_KEY")[0];
    assert!(
        ringostat
            .detail
            .starts_with("Ringostat refused the Auth-key"),
        "{ringostat:?}"
    );

    // A webhook that failed during an outage waits in the parking lot.
    rig.seed_existing_client();
    rig.sandbox
        .inject(Fault::ServerError { status: 503 }, 10_000);
    assert_eq!(
        rig.invoke("after-call-1-answered-existing.json")
            .await
            .status,
        503
    );
    rig.sandbox.state().faults.clear();
    let report = report_with(&rig, &[]).await;
    let tables = check_named(&report, "DynamoDB tables");
    assert_eq!(tables.verdict, Verdict::Warning);
    assert!(tables.detail.starts_with("1 parked events"), "{tables:?}");
    assert!(report.ok, "a warning is no failure");
}

#[tokio::test]
async fn nethunt_credentials_key_and_parked_events_are_reported() {
    credentials_key_and_parked_events_are_reported(CrmKind::NetHunt).await;
}

#[tokio::test]
async fn dataverse_credentials_key_and_parked_events_are_reported() {
    credentials_key_and_parked_events_are_reported(CrmKind::Dataverse).await;
}

#[tokio::test]
async fn a_nethunt_contacts_folder_that_does_not_exist_fails() {
    let rig = Rig::new(CrmKind::NetHunt).await;
    let report = report_with(&rig, &[("NETHUNT_CONTACTS_FOLDER_ID", "no-such-folder")]).await;
    let failure = failures_of(&report, "NETHUNT_CONTACTS_FOLDER_ID")[0];
    assert!(failure.detail.contains("no-such-folder"), "{failure:?}");
    let fix = failure.fix.as_deref().unwrap_or_default();
    assert!(
        fix.contains("contacts-folder"),
        "the fix lists the folders: {fix}"
    );
}

#[tokio::test]
async fn a_nethunt_deals_folder_that_does_not_exist_fails() {
    let rig = Rig::new(CrmKind::NetHunt).await;
    let report = report_with(&rig, &[("NETHUNT_DEALS_FOLDER_ID", "no-such-deals")]).await;
    let failure = failures_of(&report, "NETHUNT_DEALS_FOLDER_ID")[0];
    assert!(failure.detail.contains("no-such-deals"), "{failure:?}");
    // Creating deals without any Deals folder fails too.
    let report = report_with(&rig, &[("NETHUNT_DEALS_FOLDER_ID", "")]).await;
    failures_of(&report, "NETHUNT_DEALS_FOLDER_ID");
}

#[tokio::test]
async fn a_nethunt_field_that_does_not_exist_fails() {
    let rig = Rig::new(CrmKind::NetHunt).await;
    let report = report_with(&rig, &[("NETHUNT_FIELD_PHONE", "Phone")]).await;
    let failure = failures_of(&report, "NETHUNT_FIELD_PHONE")
        .into_iter()
        .find(|c| c.name == "NetHunt Contacts fields")
        .expect("the field check names the variable");
    assert!(failure.detail.contains("`Phone`"), "{failure:?}");
    assert!(
        failure
            .fix
            .as_deref()
            .unwrap_or_default()
            .contains("Телефон"),
        "the fix lists the folder's fields: {failure:?}"
    );
}

#[tokio::test]
async fn a_nethunt_system_user_that_is_not_an_email_fails() {
    let rig = Rig::new(CrmKind::NetHunt).await;
    let report = report_with(&rig, &[("SYSTEM_USER_ID", "Ringostat Bridge")]).await;
    let failure = failures_of(&report, "SYSTEM_USER_ID")[0];
    assert!(failure.detail.contains("not an e-mail"), "{failure:?}");
    let staff = r#"[{"crm_user_id": "olena", "sip_login": "acmeua_olena"}]"#;
    let report = report_with(&rig, &[("STAFF", staff)]).await;
    let failure = failures_of(&report, "STAFF")[0];
    assert!(failure.detail.contains("`olena`"), "{failure:?}");
}

#[tokio::test]
async fn a_dataverse_system_user_given_as_an_email_fails_with_its_guid() {
    let rig = Rig::new(CrmKind::Dataverse).await;
    let report = report_with(&rig, &[("SYSTEM_USER_ID", DV_SYSTEM_USER_EMAIL)]).await;
    let failure = failures_of(&report, "SYSTEM_USER_ID")[0];
    assert!(failure.detail.contains("not a systemuserid"), "{failure:?}");
    assert!(
        failure
            .fix
            .as_deref()
            .unwrap_or_default()
            .contains(DV_SYSTEM_USER),
        "the fix names the user's GUID: {failure:?}"
    );
}

#[tokio::test]
async fn dataverse_staff_ids_that_are_not_systemusers_fail() {
    let rig = Rig::new(CrmKind::Dataverse).await;
    let staff = serde_json::json!([
        {"crm_user_id": "olena.kovalenko@smart-crm.example", "sip_login": "acmeua_olena"},
        {"crm_user_id": "5a0c1e2d-3b4f-4a5e-8c6d-7e8f90a1b2ff", "sip_login": "acmeua_petro"},
    ])
    .to_string();
    let report = report_with(&rig, &[("STAFF", &staff)]).await;
    let failures = failures_of(&report, "STAFF");
    assert_eq!(failures.len(), 2, "{failures:#?}");
    assert!(failures[0].detail.contains("STAFF entry 0"), "{failures:?}");
    assert!(failures[1].detail.contains("no systemuser"), "{failures:?}");
    // A made-up system user is no systemuser either.
    let report = report_with(
        &rig,
        &[("SYSTEM_USER_ID", "5a0c1e2d-3b4f-4a5e-8c6d-7e8f90a1b2ff")],
    )
    .await;
    failures_of(&report, "SYSTEM_USER_ID");
}

#[tokio::test]
async fn a_dataverse_phone_column_that_does_not_exist_fails() {
    let rig = Rig::new(CrmKind::Dataverse).await;
    let report = report_with(&rig, &[("DATAVERSE_PHONE_COLUMN", "faxnumber")]).await;
    failures_of(&report, "DATAVERSE_PHONE_COLUMN");
}

#[tokio::test]
async fn parked_table_equal_to_cache_table_fails() {
    let rig = Rig::new(CrmKind::NetHunt).await;
    let cache = rig.vars["CACHE_TABLE"].clone();
    let report = report_with(&rig, &[("PARKED_TABLE", &cache)]).await;
    let failure = failures_of(&report, "PARKED_TABLE")[0];
    assert!(failure.detail.contains("both"), "{failure:?}");
}

#[tokio::test]
async fn a_table_that_does_not_exist_fails_in_plain_words() {
    let rig = Rig::new(CrmKind::NetHunt).await;
    let report = report_with(&rig, &[("PARKED_TABLE", "no-such-table")]).await;
    let failure = failures_of(&report, "PARKED_TABLE")[0];
    assert!(
        failure
            .detail
            .contains("`no-such-table` does not exist in http://127.0.0.1:"),
        "{failure:?}"
    );
}

#[tokio::test]
async fn several_missing_variables_are_reported_together() {
    let rig = Rig::new(CrmKind::NetHunt).await;
    let missing = [
        "WEBHOOK_TOKEN",
        "SYSTEM_USER_ID",
        "NETHUNT_EMAIL",
        "NETHUNT_CONTACTS_FOLDER_ID",
    ];
    let changes: Vec<(&str, &str)> = missing.iter().map(|v| (*v, "")).collect();
    let mut changes = changes;
    changes.push(("TIME_ZONE", "Europe/Atlantis"));
    let report = report_with(&rig, &changes).await;
    for variable in missing.iter().chain(&["TIME_ZONE"]) {
        let failure = failures_of(&report, variable)[0];
        assert_eq!(failure.name, "configuration");
        assert!(failure.detail.contains(variable), "{failure:?}");
    }
    // What needs none of them still ran.
    assert_eq!(check_named(&report, "Ringostat API").verdict, Verdict::Ok);
    assert_eq!(check_named(&report, "DynamoDB tables").verdict, Verdict::Ok);
}

#[tokio::test]
async fn without_crm_every_other_variable_is_still_checked() {
    let rig = Rig::new(CrmKind::Dataverse).await;
    let report = report_with(&rig, &[("CRM", "pipedrive"), ("WEBHOOK_TOKEN", "short")]).await;
    failures_of(&report, "CRM");
    failures_of(&report, "WEBHOOK_TOKEN");
    assert!(
        !report.checks.iter().any(|c| c
            .variable
            .as_deref()
            .unwrap_or_default()
            .starts_with("NETHUNT_")),
        "no NetHunt variable is blamed for an unknown CRM: {:#?}",
        report.checks
    );
}

#[tokio::test]
async fn the_ssm_hint_names_the_secret_that_could_not_be_read() {
    let rig = Rig::new(CrmKind::NetHunt).await;
    let vars = vars_with(
        &rig,
        &[
            ("RINGOSTAT_AUTH_KEY", ""),
            ("RINGOSTAT_AUTH_KEY_SSM_PARAMETER", "/bridge/ringostat-key"),
        ],
    );
    // Outside Lambda: nothing listens where the extension would.
    let nowhere = SecretStore::new("http://127.0.0.1:9", Secret::new("unused"));
    let report = report_from(vars, &nowhere).await;
    let failure = failures_of(&report, "RINGOSTAT_AUTH_KEY_SSM_PARAMETER")[0];
    let fix = failure.fix.as_deref().unwrap_or_default();
    assert!(
        fix.contains(
            "export RINGOSTAT_AUTH_KEY=\"$(aws ssm get-parameter --with-decryption --name \
             /bridge/ringostat-key"
        ),
        "{fix}"
    );
    assert!(!fix.contains("NETHUNT_API_KEY"), "{fix}");
    // The CRM does not need the key: it was checked all the same.
    assert_eq!(check_named(&report, "CRM").verdict, Verdict::Ok);
}

#[tokio::test]
async fn an_unreachable_crm_is_named_by_its_url() {
    let rig = Rig::new(CrmKind::NetHunt).await;
    let report = report_with(
        &rig,
        &[("NETHUNT_BASE_URL", "http://127.0.0.1:9/api/v1/zapier")],
    )
    .await;
    let failure = failures_of(&report, "NETHUNT_BASE_URL")[0];
    assert!(
        failure.detail.contains("http://127.0.0.1:9/api/v1/zapier"),
        "{failure:?}"
    );
}

/// The `bridge-ops` binary, run for real.
mod cli {
    use std::collections::HashMap;

    use bridge_core::ports::CrmKind;
    use bridge_tests::ops_cli::run;
    use bridge_tests::rig::Rig;
    use crm_sandbox::Fault;

    fn vars_with(rig: &Rig, changes: &[(&str, &str)]) -> HashMap<String, String> {
        let mut vars = rig.vars.clone();
        for (name, value) in changes {
            vars.insert((*name).into(), (*value).into());
        }
        vars
    }

    #[tokio::test]
    async fn doctor_json_parses_and_the_exit_code_follows_the_verdict() {
        let rig = Rig::new(CrmKind::NetHunt).await;
        let healthy = run(&rig.vars, &["doctor", "--json"]).await;
        assert_eq!(healthy.code, Some(0), "{healthy:#?}");
        let report = healthy.json();
        assert_eq!(report["ok"], true, "{report:#}");
        assert!(report["checks"].as_array().is_some_and(|c| c.len() > 5));

        let cache = rig.vars["CACHE_TABLE"].clone();
        let broken = vars_with(
            &rig,
            &[("PARKED_TABLE", &cache), ("SYSTEM_USER_ID", "bridge")],
        );
        let failed = run(&broken, &["doctor", "--json"]).await;
        assert_eq!(failed.code, Some(1), "{failed:#?}");
        let report = failed.json();
        assert_eq!(report["ok"], false);
        let blamed: Vec<&str> = report["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .filter(|c| c["verdict"] == "failed")
            .filter_map(|c| c["variable"].as_str())
            .collect();
        assert!(blamed.contains(&"PARKED_TABLE"), "{report:#}");
        assert!(blamed.contains(&"SYSTEM_USER_ID"), "{report:#}");

        // The text report: one line per finding, the variable and the fix beneath.
        let text = run(&broken, &["doctor"]).await;
        assert_eq!(text.code, Some(1));
        assert!(text.stdout.contains("[FAIL] DynamoDB tables:"), "{text:#?}");
        assert!(
            text.stdout.contains("       variable: PARKED_TABLE"),
            "{text:#?}"
        );
        assert!(!text.stdout.contains("configuration: configuration:"));
    }

    #[tokio::test]
    async fn doctor_lists_every_missing_variable_of_an_empty_environment() {
        let run = run(&HashMap::new(), &["doctor", "--json"]).await;
        assert_eq!(run.code, Some(1), "{run:#?}");
        let report = run.json();
        let blamed: Vec<&str> = report["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .filter(|c| c["verdict"] == "failed")
            .filter_map(|c| c["variable"].as_str())
            .collect();
        assert_eq!(
            blamed,
            ["CRM", "WEBHOOK_TOKEN", "SYSTEM_USER_ID"],
            "{report:#}"
        );
    }

    #[tokio::test]
    async fn replay_fails_when_the_parked_events_cannot_be_read() {
        let rig = Rig::new(CrmKind::NetHunt).await;
        let vars = vars_with(&rig, &[("PARKED_TABLE", "no-such-parked-table")]);
        let run_ = run(&vars, &["replay", "--json"]).await;
        assert_eq!(run_.code, Some(1), "{run_:#?}");
        let report = run_.json();
        assert_eq!(report["ok"], false);
        assert!(
            report["report"]["unreadable"].is_string(),
            "the report says why: {report:#}"
        );
        assert!(
            run_.stderr.contains("parked events not readable"),
            "logged on stderr: {run_:#?}"
        );
        for dump in ["ErrorMetadata", "ServiceError {"] {
            assert!(!run_.stdout.contains(dump), "no Debug dump: {run_:#?}");
            assert!(!run_.stderr.contains(dump), "no Debug dump: {run_:#?}");
        }

        let text = run(&vars, &["replay"]).await;
        assert_eq!(text.code, Some(1));
        assert!(
            text.stdout
                .contains("result: FAILED: the parked events could not be read"),
            "{text:#?}"
        );

        let cache = rig.vars["CACHE_TABLE"].clone();
        let same = run(&vars_with(&rig, &[("PARKED_TABLE", &cache)]), &["replay"]).await;
        assert_eq!(same.code, Some(1), "{same:#?}");
        assert!(
            same.stderr.contains("PARKED_TABLE equals CACHE_TABLE"),
            "{same:#?}"
        );
    }

    #[tokio::test]
    async fn replay_lands_a_parked_event_and_prints_its_table() {
        let rig = Rig::new(CrmKind::NetHunt).await;
        rig.seed_existing_client();
        rig.sandbox
            .inject(Fault::ServerError { status: 503 }, 10_000);
        let parked = rig.invoke("after-call-1-answered-existing.json").await;
        assert_eq!(parked.status, 503);
        rig.sandbox.state().faults.clear();

        let run = run(&rig.vars, &["replay"]).await;
        assert_eq!(run.code, Some(0), "{run:#?}");
        assert!(run.stdout.starts_with("replay\n"), "{run:#?}");
        let landed = run
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with("landed now"))
            .expect("a landed row");
        assert!(landed.trim_end().ends_with(" 1"), "{landed}");
        assert!(run.stdout.contains("result: ok"), "{run:#?}");
    }

    #[tokio::test]
    async fn reconcile_accepts_yesterday_relative_and_rfc3339_instants() {
        let rig = Rig::new(CrmKind::NetHunt).await;
        let yesterday = run(&rig.vars, &["reconcile", "--from", "yesterday", "--json"]).await;
        assert_eq!(yesterday.code, Some(0), "{yesterday:#?}");
        let report = yesterday.json();
        let from = report["from"].as_str().expect("from");
        assert!(
            from.contains("T00:00:00+02:00[Europe/Kyiv]")
                || from.contains("T00:00:00+03:00[Europe/Kyiv]"),
            "midnight in the project's zone: {from}"
        );

        for args in [
            &["reconcile", "--from", "-2h"][..],
            &["reconcile", "--from=-90m", "--to", "now"],
            &["reconcile", "--from", "2h ago"],
            &[
                "reconcile",
                "--from",
                "2026-12-01T08:00:00Z",
                "--to",
                "2026-12-01T12:00:00+02:00",
            ],
        ] {
            let run = run(&rig.vars, args).await;
            assert_eq!(run.code, Some(0), "{args:?}: {run:#?}");
            assert!(run.stdout.starts_with("reconcile "), "{run:#?}");
            assert!(run.stdout.contains("calls in Ringostat's log"), "{run:#?}");
        }

        let nonsense = run(&rig.vars, &["reconcile", "--from", "last tuesday"]).await;
        assert_eq!(nonsense.code, Some(2), "{nonsense:#?}");
        assert!(nonsense.stderr.contains("RFC 3339"), "{nonsense:#?}");
        let reversed = run(&rig.vars, &["reconcile", "--from", "now", "--to", "-1h"]).await;
        assert_eq!(reversed.code, Some(2), "{reversed:#?}");
    }

    #[tokio::test]
    async fn help_documents_every_flag_and_the_environment() {
        let help = run(&HashMap::new(), &["reconcile", "--help"]).await;
        assert_eq!(help.code, Some(0), "{help:#?}");
        for text in [
            "--from",
            "--to",
            "--json",
            "--no-progress",
            "yesterday",
            "-2h",
            "RFC 3339",
            "RINGOSTAT_AUTH_KEY",
            "TIME_ZONE",
            "RUST_LOG",
            "Exit codes",
        ] {
            assert!(help.stdout.contains(text), "`{text}` in {}", help.stdout);
        }
        let help = run(&HashMap::new(), &["replay", "--help"]).await;
        for text in ["--limit", "--json", "PARKED_TABLE", "CACHE_TABLE"] {
            assert!(help.stdout.contains(text), "`{text}` in {}", help.stdout);
        }
        let help = run(&HashMap::new(), &["doctor", "--help"]).await;
        assert!(help.stdout.contains("--json"), "{}", help.stdout);
    }
}
