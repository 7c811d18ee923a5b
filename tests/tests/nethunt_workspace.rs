//! A NetHunt workspace set up otherwise than the seed: its folders have other ids and names,
//! and every field the bridge reads or writes has another Ukrainian name
//! (`crm_sandbox::nethunt::Layout::renamed`). Configured only through environment variables,
//! the functions pass the same flows as on the seeded workspace (`bridge_tests::flows`): the
//! eight seed scenarios, a new client's deal, UTM tags and Smart Phone sync, a known caller's
//! name in Smart Phone, smart forwarding by the responsible manager. The sandbox refuses every
//! seeded name there, so a name the bridge kept hard-coded fails these tests.
//!
//! `bridge-ops doctor` on that workspace: everything found with the variables, and each field
//! variable left unset is a failure that names it.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use bridge_core::doctor::Verdict;
use bridge_core::ports::CrmKind;
use bridge_tests::flows;
use bridge_tests::rig::Rig;
use crm_sandbox::nethunt::{Layout, NetHuntState};
use serde_json::json;

const DEAL_STAGE: &str = "Нова заявка";

/// The variables that describe the renamed workspace: folder ids and every field name, the
/// `utm_content` field it has, and a stage for new deals (so the stage field is written too).
fn renamed_workspace_variables() -> Vec<(&'static str, String)> {
    let layout = Layout::renamed();
    let fields = layout.fields;
    vec![
        ("NETHUNT_CONTACTS_FOLDER_ID", layout.contacts_folder_id),
        ("NETHUNT_DEALS_FOLDER_ID", layout.deals_folder_id),
        ("NETHUNT_FIELD_CONTACT_NAME", fields.contact_name),
        ("NETHUNT_FIELD_PHONE", fields.phone),
        ("NETHUNT_FIELD_OWNER", fields.manager),
        ("NETHUNT_FIELD_UTM_SOURCE", fields.source),
        ("NETHUNT_FIELD_UTM_MEDIUM", fields.medium),
        ("NETHUNT_FIELD_UTM_CAMPAIGN", fields.campaign),
        ("NETHUNT_FIELD_UTM_TERM", fields.keyword),
        (
            "NETHUNT_FIELD_UTM_CONTENT",
            fields
                .content
                .expect("the renamed workspace has a utm_content field"),
        ),
        ("NETHUNT_FIELD_DEAL_NAME", fields.deal_name),
        ("NETHUNT_FIELD_DEAL_STAGE", fields.deal_stage),
        ("NETHUNT_FIELD_DEAL_OWNER", fields.deal_manager),
        ("NETHUNT_FIELD_DEAL_CONTACT", fields.deal_contact),
        ("DEAL_STAGE", DEAL_STAGE.to_owned()),
    ]
}

/// The functions on the renamed workspace, configured by its variables and then `changes`
/// (an empty value unsets).
async fn renamed_workspace(changes: &[(&str, &str)]) -> Rig {
    let variables = renamed_workspace_variables();
    let mut overrides: Vec<(&str, &str)> = variables
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    overrides.extend_from_slice(changes);
    Rig::on_sandbox(CrmKind::NetHunt, &overrides, |sandbox| {
        sandbox.state().nethunt = NetHuntState::with_layout(Layout::renamed());
    })
    .await
}

#[tokio::test]
async fn the_eight_seed_scenarios_pass() {
    let rig = renamed_workspace(&[]).await;
    let existing = rig.seed_existing_client();
    flows::eight_seed_scenarios(&rig, &existing).await;
}

/// The same workspace with its names in one variable, `CRM_NAMES` (the template's `CrmNames`):
/// a new client's whole flow lands in the renamed fields.
#[tokio::test]
async fn the_names_can_come_in_one_json_variable() {
    let variables = renamed_workspace_variables();
    let names: serde_json::Map<String, serde_json::Value> = variables
        .iter()
        .filter(|(name, _)| name.starts_with("NETHUNT_FIELD_"))
        .map(|(name, value)| ((*name).to_owned(), json!(value)))
        .collect();
    let names = serde_json::Value::Object(names).to_string();
    // The folder ids are template parameters of their own, set directly.
    let layout = Layout::renamed();
    let rig = Rig::on_sandbox(
        CrmKind::NetHunt,
        &[
            ("CRM_NAMES", &names),
            ("NETHUNT_CONTACTS_FOLDER_ID", &layout.contacts_folder_id),
            ("NETHUNT_DEALS_FOLDER_ID", &layout.deals_folder_id),
            ("DEAL_STAGE", DEAL_STAGE),
        ],
        |sandbox| sandbox.state().nethunt = NetHuntState::with_layout(Layout::renamed()),
    )
    .await;
    flows::new_client_from_ringing_to_answered(&rig).await;
}

#[tokio::test]
async fn a_new_client_gets_contact_deal_utm_and_smart_phone_then_passes_to_the_manager() {
    flows::new_client_from_ringing_to_answered(&renamed_workspace(&[]).await).await;
}

#[tokio::test]
async fn a_known_caller_is_found_and_smart_phone_shows_the_name() {
    let rig = renamed_workspace(&[]).await;
    let existing = rig.seed_existing_client();
    flows::existing_client_rings(&rig, &existing).await;
}

#[tokio::test]
async fn smart_forwarding_reads_the_responsible_manager() {
    flows::smart_forward_routes_to_the_responsible_manager(&renamed_workspace(&[]).await).await;
}

/// Every UTM tag, the deal's name, stage, manager and link land in the workspace's own fields.
#[tokio::test]
async fn every_tag_and_deal_field_lands_in_the_workspace_own_fields() {
    let rig = renamed_workspace(&[]).await;
    let answer = rig.invoke("before-call-new-client.json").await;
    answer.assert_outcome("contact_ready");
    let (contact, deal) = (answer.field("contact_id"), answer.field("deal_id"));
    let state = rig.sandbox.state();
    let nethunt = &state.nethunt;
    let names = &nethunt.layout().fields;
    for (field, value) in [
        (&names.phone, json!(["+380671110001"])),
        (&names.source, json!("google")),
        (&names.medium, json!("cpc")),
        (&names.campaign, json!("brand")),
        (&names.keyword, json!("вікна київ")),
        (names.content.as_ref().unwrap(), json!("ad-1")),
    ] {
        assert_eq!(nethunt.field_of(contact, field), Some(value), "{field}");
    }
    assert_eq!(
        nethunt.owner_of(contact).as_deref(),
        Some(rig.system_user().as_str())
    );
    assert_eq!(
        nethunt.field_of(deal, &names.deal_name),
        Some(json!("Дзвінок з +380671110001"))
    );
    assert_eq!(
        nethunt.field_of(deal, &names.deal_stage),
        Some(json!(DEAL_STAGE))
    );
    assert_eq!(
        nethunt.field_of(deal, &names.deal_contact),
        Some(json!([contact]))
    );
    assert_eq!(
        nethunt.deal_owner_of(deal).as_deref(),
        Some(rig.system_user().as_str())
    );
}

/// The seeded names on the renamed workspace: the contact create names fields the folder does
/// not have, NetHunt refuses it, and nothing is written. What the variables above prevent.
#[tokio::test]
async fn the_seeded_field_names_are_refused_there() {
    let unset: Vec<(&str, &str)> = renamed_workspace_variables()
        .iter()
        .filter(|(name, _)| name.starts_with("NETHUNT_FIELD_"))
        .map(|(name, _)| (*name, ""))
        .collect();
    let rig = renamed_workspace(&unset).await;
    let answer = rig.invoke("before-call-new-client.json").await;
    assert_eq!(answer.status, 502, "{:?}", answer.json);
    assert_eq!(answer.field("error"), "crm_rejected", "{:?}", answer.json);
    assert!(
        answer
            .field("message")
            .contains("Unknown field(s) in folder"),
        "{:?}",
        answer.json
    );
    assert_eq!(rig.crm().contact_count(), 0);
}

#[tokio::test]
async fn doctor_finds_every_field_and_names_the_variable_of_each_missing_one() {
    let rig = renamed_workspace(&[]).await;
    let report = rig.doctor(&[]).await;
    assert!(report.ok, "{:#?}", report.checks);
    for folder in ["NetHunt Contacts fields", "NetHunt Deals fields"] {
        let check = report.check(folder).unwrap();
        assert_eq!(check.verdict, Verdict::Ok, "{check:?}");
    }
    assert_eq!(
        report.check("NetHunt phone search").map(|c| c.verdict),
        Some(Verdict::Ok)
    );

    // Left unset, each variable falls back to the seed's name, which this workspace lacks.
    // (`NETHUNT_FIELD_UTM_CONTENT` unset means no utm_content field is written: nothing to
    // find.)
    for (variable, _) in renamed_workspace_variables()
        .into_iter()
        .filter(|(name, _)| {
            name.starts_with("NETHUNT_FIELD_") && *name != "NETHUNT_FIELD_UTM_CONTENT"
        })
    {
        let report = rig.doctor(&[(variable, "")]).await;
        let failure = report
            .failed()
            .find(|check| check.variable.as_deref() == Some(variable))
            .unwrap_or_else(|| panic!("no failure names {variable}: {:#?}", report.checks));
        assert!(failure.name.ends_with(" fields"), "{failure:?}");
        let fix = failure.fix.as_deref().unwrap_or_default();
        assert!(fix.contains(variable), "{failure:?}");
        assert!(
            fix.contains("Номер телефону") || fix.contains("Назва угоди"),
            "the fix lists the folder's own fields: {failure:?}"
        );
    }
}
