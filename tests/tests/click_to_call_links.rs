//! Nobody dials on a link alone: click-to-call's signed links, browser credentials and
//! confirmations, checked through the real handler (counters on DynamoDB via moto, Ringostat's
//! sandbox). A forged, expired or altered link, the webhook token, a GET, a cross-site form or
//! a wrong method never reaches Ringostat; and neither secret opens the other's door.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use bridge_core::config::{LOCAL_CLICK_TO_CALL_KEY, LOCAL_WEBHOOK_TOKEN};
use bridge_core::ports::CrmKind;
use bridge_core::secret::Secret;
use bridge_core::services::LinkKey;
use bridge_core::services::click_to_call::Purpose;
use bridge_tests::click_to_call::{
    MANAGER, call, confirm, form_of, get, key, now, post, ringostat_calls, set_up, set_up_link,
};
use bridge_tests::rig::{Answer, Rig, event};
use lambda_http::RequestExt;
use std::collections::HashMap;

const CLIENT: &str = "0501234567";

fn pairs(owned: &[(String, String)]) -> Vec<(&str, &str)> {
    owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn assert_refused(answer: &Answer, status: u16, error: &str) {
    assert_eq!(answer.status, status, "{:?}", answer.json);
    assert_eq!(answer.field("error"), error, "{:?}", answer.json);
    assert!(!answer.field("message").is_empty(), "{:?}", answer.json);
}

fn another_key() -> LinkKey {
    LinkKey::new(&Secret::new("another-deployment-click-to-call-key-0123")).unwrap()
}

/// Set-up links: a forged, expired or altered one sets no browser up.
async fn forged_expired_or_altered_set_up_links_are_refused(kind: CrmKind) {
    let rig = Rig::new(kind).await;
    let valid = set_up_link(MANAGER, now() + 600);

    let forged = vec![
        ("enrol".to_owned(), MANAGER.to_owned()),
        ("exp".to_owned(), (now() + 600).to_string()),
        (
            "sig".to_owned(),
            another_key().sign(Purpose::Enrol, &[MANAGER], now() + 600),
        ),
    ];
    let expired = set_up_link(MANAGER, now() - 1);
    let mut altered = valid.clone();
    altered[0].1 = "ivan@smart-crm.example".into();
    let mut later = valid.clone();
    later[1].1 = (now() + 86_400 * 365).to_string();
    for (link, error) in [
        (&forged, "invalid_link"),
        (&expired, "link_expired"),
        (&altered, "invalid_link"),
        (&later, "invalid_link"),
    ] {
        assert_refused(&rig.send(get(&pairs(link), None)).await, 401, error);
        // Its button, posted anyway.
        let mut fields = vec![("step", "enrol"), ("manager", link[0].1.as_str())];
        fields.extend(pairs(&link[1..]));
        let answer = rig.send(post(&fields)).await;
        assert_refused(&answer, 401, error);
        assert!(answer.header("set-cookie").is_none());
    }
    assert_eq!(ringostat_calls(&rig), 0);
}

/// The CRM button needs a browser set up with a credential this deployment signed.
async fn the_crm_button_needs_a_genuine_browser_credential(kind: CrmKind) {
    let rig = Rig::new(kind).await;
    assert_refused(&confirm(&rig, "", CLIENT).await, 401, "not_enrolled");
    let cookie = set_up(&rig, MANAGER).await;
    let (name, value) = cookie.split_once('=').unwrap();

    let forged = format!(
        "{name}={}",
        value.replace(
            value.rsplit('|').next().unwrap(),
            &another_key().sign(Purpose::Device, &[MANAGER], now() + 600)
        )
    );
    let other_manager = format!("{name}={}", value.replacen("olena", "ivano", 1));
    for cookie in [forged, other_manager] {
        assert_refused(&confirm(&rig, &cookie, CLIENT).await, 401, "invalid_link");
    }
    let page = confirm(&rig, &cookie, CLIENT).await;
    assert_eq!(page.status, 200, "{:?}", page.json);
    assert_eq!(page.field("outcome"), "confirm");
    assert_eq!(page.field("phone"), "+380501234567");
    assert_eq!(
        ringostat_calls(&rig),
        0,
        "the confirmation page never dials"
    );
}

/// A confirmation dials once, only as signed, only by POST, only before it expires.
async fn forged_expired_or_altered_confirmations_never_reach_ringostat(kind: CrmKind) {
    let rig = Rig::new(kind).await;
    let cookie = set_up(&rig, MANAGER).await;
    let page = confirm(&rig, &cookie, CLIENT).await;
    let form = form_of(&page);
    let with = |name: &str, value: &str| -> Vec<(String, String)> {
        form.iter()
            .map(|(k, v)| {
                let v = if *k == name { value } else { v };
                ((*k).to_owned(), v.to_owned())
            })
            .collect()
    };
    for altered in [
        with("phone", "+380671110021"),
        with("manager", "ivan@smart-crm.example"),
        with("exp", &(now() + 3600).to_string()),
        with("nonce", "another-nonce"),
        with("sig", &"0".repeat(64)),
        with("sig", "not-hex"),
    ] {
        assert_refused(&rig.send(post(&pairs(&altered))).await, 401, "invalid_link");
    }
    // A token signed with the real key but already expired.
    let expired_at = now() - 1;
    let sig = key().sign(Purpose::Dial, &[MANAGER, "+380501234567", "n1"], expired_at);
    let expired = [
        ("step", "call"),
        ("manager", MANAGER),
        ("phone", "+380501234567"),
        ("exp", &expired_at.to_string()),
        ("nonce", "n1"),
        ("sig", &sig),
    ];
    assert_refused(&rig.send(post(&expired)).await, 401, "link_expired");
    // The genuine confirmation as a GET link: GET never dials.
    assert_refused(&rig.send(get(&form, None)).await, 401, "invalid_link");
    assert_eq!(ringostat_calls(&rig), 0);

    let calling = rig.send(post(&form)).await;
    assert_eq!(calling.field("outcome"), "calling", "{:?}", calling.json);
    assert_eq!(ringostat_calls(&rig), 1);
    assert_refused(&rig.send(post(&form)).await, 409, "already_used");
    assert_eq!(ringostat_calls(&rig), 1);
}

/// An integration that holds the key may sign call links itself: they open the confirmation
/// page, never the call.
async fn integrations_sign_call_links_that_still_need_the_confirmation(kind: CrmKind) {
    let rig = Rig::new(kind).await;
    let exp = now() + 300;
    let link = |manager: &str, phone: &str, key: &LinkKey| {
        vec![
            ("manager".to_owned(), manager.to_owned()),
            ("phone".to_owned(), phone.to_owned()),
            ("exp".to_owned(), exp.to_string()),
            (
                "sig".to_owned(),
                key.sign(Purpose::Call, &[manager, phone], exp),
            ),
        ]
    };
    let page = rig
        .send(get(&pairs(&link(MANAGER, CLIENT, &key())), None))
        .await;
    assert_eq!(page.field("outcome"), "confirm", "{:?}", page.json);
    let mut altered = link(MANAGER, CLIENT, &key());
    altered[1].1 = "0671110021".into();
    assert_refused(
        &rig.send(get(&pairs(&altered), None)).await,
        401,
        "invalid_link",
    );
    let forged = link(MANAGER, CLIENT, &another_key());
    assert_refused(
        &rig.send(get(&pairs(&forged), None)).await,
        401,
        "invalid_link",
    );
    assert_eq!(ringostat_calls(&rig), 0);
    rig.send(post(&form_of(&page)))
        .await
        .assert_outcome("calling");
    assert_eq!(ringostat_calls(&rig), 1);
}

/// The webhook token never opens click-to-call, the click-to-call key never opens a webhook.
async fn neither_secret_opens_the_others_door(kind: CrmKind) {
    let rig = Rig::new(kind).await;
    let cookie = set_up(&rig, MANAGER).await;
    // The webhook token, in every place a webhook reads it, next to a valid credential.
    let bearer = format!("Bearer {LOCAL_WEBHOOK_TOKEN}");
    for (header, value) in [
        ("x-bridge-token", LOCAL_WEBHOOK_TOKEN),
        ("authorization", bearer.as_str()),
    ] {
        let mut request = get(&[("phone", CLIENT)], Some(&cookie));
        request.headers_mut().insert(header, value.parse().unwrap());
        assert_refused(&rig.send(request).await, 401, "token_not_accepted");
    }
    let query = get(
        &[("token", LOCAL_WEBHOOK_TOKEN), ("phone", CLIENT)],
        Some(&cookie),
    );
    assert_refused(&rig.send(query).await, 401, "token_not_accepted");
    let old_link = rig.invoke("click-to-call-webhook-token.json").await;
    assert_eq!(old_link.status, 401, "{}", old_link.text);
    assert_eq!(
        old_link.header("x-bridge-decision"),
        Some("token_not_accepted")
    );

    // The click-to-call key on the webhooks and the webhook number, as `?token=` and as the
    // header.
    for file in [
        "after-call-1-answered-existing.json",
        "before-call-existing-client.json",
        "smart-forward-known-client.json",
    ] {
        let in_query = with_query_token(event(file), LOCAL_CLICK_TO_CALL_KEY);
        let mut in_header = with_query_token(event(file), "");
        in_header
            .headers_mut()
            .insert("x-bridge-token", LOCAL_CLICK_TO_CALL_KEY.parse().unwrap());
        for request in [in_query, in_header] {
            let answer = rig.send(request).await;
            assert_eq!(answer.status, 401, "{file}: {:?}", answer.json);
            assert_eq!(answer.field("error"), "unauthorized", "{file}");
        }
    }
    assert_eq!(ringostat_calls(&rig), 0);
    assert_eq!(rig.crm().call_count(), 0, "no webhook wrote anything");
}

/// `request` with its `?token=` replaced by `token` (dropped when empty).
fn with_query_token(request: lambda_http::Request, token: &str) -> lambda_http::Request {
    let mut pairs: HashMap<String, String> = request
        .query_string_parameters()
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    pairs.remove("token");
    if !token.is_empty() {
        pairs.insert("token".into(), token.into());
    }
    request.with_query_string_parameters(pairs)
}

/// A form another site makes the manager's browser post is refused: a confirmation is only
/// ever posted from its own page.
async fn cross_site_forms_are_refused(kind: CrmKind) {
    let rig = Rig::new(kind).await;
    let cookie = set_up(&rig, MANAGER).await;
    let page = confirm(&rig, &cookie, CLIENT).await;
    let form = form_of(&page);
    for (header, value) in [
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
        ("origin", "https://evil.example"),
        ("origin", "null"),
    ] {
        let mut request = post(&form);
        request.headers_mut().insert(header, value.parse().unwrap());
        assert_refused(&rig.send(request).await, 403, "cross_site");
    }
    assert_eq!(ringostat_calls(&rig), 0);
    let mut own_page = post(&form);
    own_page
        .headers_mut()
        .insert("sec-fetch-site", "same-origin".parse().unwrap());
    own_page.headers_mut().insert(
        "origin",
        "https://abc123.execute-api.eu-central-1.amazonaws.com"
            .parse()
            .unwrap(),
    );
    rig.send(own_page).await.assert_outcome("calling");
}

/// Each function answers only the methods its callers use; any other gets 405 JSON with
/// `Allow`, before any token is looked at.
async fn wrong_methods_get_405(kind: CrmKind) {
    let rig = Rig::new(kind).await;
    let with_method = |file: &str, method: &str| {
        let mut request = event(file);
        *request.method_mut() = method.parse().unwrap();
        request
    };
    for (file, method, allow) in [
        ("click-to-call-start.json", "PUT", "GET, POST"),
        ("click-to-call.json", "DELETE", "GET, POST"),
        ("after-call-1-answered-existing.json", "PUT", "GET, POST"),
        ("before-call-existing-client.json", "DELETE", "GET, POST"),
        ("after-call-no-token.json", "PATCH", "GET, POST"),
        (
            "smart-forward-known-client.json",
            "PATCH",
            "GET, POST, PUT, DELETE",
        ),
    ] {
        let answer = rig.send(with_method(file, method)).await;
        assert_refused(&answer, 405, "method_not_allowed");
        assert_eq!(answer.header("allow"), Some(allow), "{file}");
    }
    // The webhook number keeps every method Ringostat documents for it.
    for method in ["PUT", "DELETE"] {
        let answer = rig
            .send(with_method("smart-forward-unknown-client.json", method))
            .await;
        assert_eq!(answer.status, 200, "{method}: {:?}", answer.json);
    }
    assert_eq!(rig.crm().call_count(), 0);
    assert_eq!(ringostat_calls(&rig), 0);
}

/// Without a key of its own click-to-call does not start, and answers nobody.
async fn click_to_call_needs_a_key_of_its_own(kind: CrmKind) {
    const SHARED: &str = "one-long-random-value-used-for-both-0123456789";
    for overrides in [
        vec![("CLICK_TO_CALL_KEY", "")],
        vec![("WEBHOOK_TOKEN", SHARED), ("CLICK_TO_CALL_KEY", SHARED)],
    ] {
        let rig = Rig::with(kind, &overrides).await;
        assert!(rig.apps.click_to_call.is_none(), "{overrides:?}");
        let answer = rig.send(get(&[("phone", CLIENT)], None)).await;
        assert_eq!(answer.status, 401, "{overrides:?}");
    }
}

/// Everything together once more: a set-up browser calls.
async fn a_set_up_browser_calls(kind: CrmKind) {
    let rig = Rig::new(kind).await;
    let cookie = set_up(&rig, MANAGER).await;
    call(&rig, &cookie, CLIENT).await.assert_outcome("calling");
    assert_eq!(
        rig.sandbox.state().ringostat.outward_calls(),
        [("380441112233".to_owned(), "380501234567".to_owned())]
    );
}

bridge_tests::for_both_crms!(
    forged_expired_or_altered_set_up_links_are_refused,
    the_crm_button_needs_a_genuine_browser_credential,
    forged_expired_or_altered_confirmations_never_reach_ringostat,
    integrations_sign_call_links_that_still_need_the_confirmation,
    neither_secret_opens_the_others_door,
    cross_site_forms_are_refused,
    wrong_methods_get_405,
    click_to_call_needs_a_key_of_its_own,
    a_set_up_browser_calls,
);
