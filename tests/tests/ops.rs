//! `bridge-ops doctor` against the sandbox and moto: a good configuration passes; wrong CRM
//! credentials, a wrong Ringostat key and parked events are each reported in plain words.

use bridge_core::doctor::{Check, Verdict, doctor};
use bridge_core::ports::CrmKind;
use bridge_tests::rig::{Rig, config};
use crm_sandbox::Fault;

async fn checks_with(rig: &Rig, changes: &[(&str, &str)]) -> Vec<Check> {
    let mut vars = rig.vars.clone();
    for (name, value) in changes {
        vars.insert((*name).into(), (*value).into());
    }
    doctor(config(&rig.sandbox, &vars).await).await
}

fn verdict_of<'a>(checks: &'a [Check], name: &str) -> &'a Check {
    checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no `{name}` check in {checks:?}"))
}

async fn doctor_reports_each_problem(kind: CrmKind) {
    let rig = Rig::new(kind).await;
    let healthy = checks_with(&rig, &[]).await;
    assert!(
        healthy.iter().all(|c| c.verdict == Verdict::Ok),
        "{healthy:?}"
    );

    let secret = match kind {
        CrmKind::NetHunt => "NETHUNT_API_KEY",
        CrmKind::Dataverse => "DATAVERSE_CLIENT_SECRET",
    };
    let checks = checks_with(&rig, &[(secret, "not-the-key")]).await;
    let crm = verdict_of(&checks, "CRM");
    assert_eq!(crm.verdict, Verdict::Failed);
    assert!(
        crm.detail.starts_with("the CRM refused the credentials"),
        "{crm:?}"
    );
    assert!(
        !crm.detail.contains("not-the-key"),
        "no secret in the report"
    );

    let checks = checks_with(&rig, &[("RINGOSTAT_AUTH_KEY", "not-the-key")]).await;
    let ringostat = verdict_of(&checks, "Ringostat API");
    assert_eq!(ringostat.verdict, Verdict::Failed);
    assert!(
        ringostat
            .detail
            .starts_with("Ringostat refused the Auth-key"),
        "{ringostat:?}"
    );

    let checks = checks_with(&rig, &[("SYSTEM_USER_ID", "")]).await;
    assert_eq!(checks.len(), 1, "nothing else runs without a configuration");
    assert!(
        checks[0].detail.contains("`SYSTEM_USER_ID` is required"),
        "{checks:?}"
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
    let checks = checks_with(&rig, &[]).await;
    let tables = verdict_of(&checks, "DynamoDB tables");
    assert_eq!(tables.verdict, Verdict::Warning);
    assert!(tables.detail.starts_with("1 parked events"), "{tables:?}");
}

#[tokio::test]
async fn nethunt_doctor_reports_each_problem() {
    doctor_reports_each_problem(CrmKind::NetHunt).await;
}

#[tokio::test]
async fn dataverse_doctor_reports_each_problem() {
    doctor_reports_each_problem(CrmKind::Dataverse).await;
}
