//! Where click-to-call may dial: Ukraine only by default, no premium-rate, shared-cost,
//! personal or universal access numbers, decided from the numbering metadata; oversized input
//! refused before parsing. A refused destination is a 403 with a clear JSON error and makes no
//! request to Ringostat, on the confirmation page and on its button alike.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use bridge_core::ports::CrmKind;
use bridge_core::services::click_to_call::Purpose;
use bridge_tests::click_to_call::{
    MANAGER, call, confirm, key, now, post, ringostat_calls, set_up,
};
use bridge_tests::rig::Rig;

/// Refused on the page, and on a confirmation signed for it anyway (a page shown before the
/// policy changed).
async fn premium_rate_and_foreign_numbers_are_refused(kind: CrmKind) {
    let rig = Rig::new(kind).await;
    let cookie = set_up(&rig, MANAGER).await;
    for (number, e164, says) in [
        (
            "0900212345",
            "+380900212345",
            "premium_rate numbers are refused",
        ),
        (
            "+48 22 123 45 67",
            "+48221234567",
            "calls to PL numbers are not allowed",
        ),
        (
            "+7 916 123-45-67",
            "+79161234567",
            "calls to RU numbers are not allowed",
        ),
        ("+800 1234 5678", "+80012345678", "an international network"),
    ] {
        let page = confirm(&rig, &cookie, number).await;
        assert_eq!(page.status, 403, "{number}: {:?}", page.json);
        assert_eq!(page.field("error"), "destination_refused");
        assert_eq!(page.field("field"), "phone");
        assert!(page.field("message").contains(says), "{:?}", page.json);

        let exp = now() + 60;
        let sig = key().sign(Purpose::Dial, &[MANAGER, e164, "n"], exp);
        let signed = rig
            .send(post(&[
                ("step", "call"),
                ("manager", MANAGER),
                ("phone", e164),
                ("exp", &exp.to_string()),
                ("nonce", "n"),
                ("sig", &sig),
            ]))
            .await;
        assert_eq!(signed.status, 403, "{e164}: {:?}", signed.json);
        assert_eq!(signed.field("error"), "destination_refused");
    }
    assert_eq!(ringostat_calls(&rig), 0, "Ringostat was never asked");
}

/// Other countries and kinds are configuration.
async fn the_policy_is_configuration(kind: CrmKind) {
    let rig = Rig::with(
        kind,
        &[
            ("CLICK_TO_CALL_COUNTRIES", "UA,PL"),
            ("CLICK_TO_CALL_REFUSED_TYPES", "premium_rate,mobile"),
        ],
    )
    .await;
    let cookie = set_up(&rig, MANAGER).await;
    call(&rig, &cookie, "+48 22 123 45 67")
        .await
        .assert_outcome("calling");
    let mobile = confirm(&rig, &cookie, "0501234567").await;
    assert_eq!(mobile.status, 403, "{:?}", mobile.json);
    assert!(
        mobile
            .field("message")
            .contains("mobile numbers are refused")
    );
    assert_eq!(
        rig.sandbox.state().ringostat.outward_calls(),
        [("380441112233".to_owned(), "48221234567".to_owned())]
    );
}

/// A phone value longer than any number is refused before parsing, naming the field; so is
/// an oversized manager.
async fn oversized_input_is_refused_before_parsing(kind: CrmKind) {
    let rig = Rig::new(kind).await;
    let cookie = set_up(&rig, MANAGER).await;
    // A valid number drowned in separators: still refused, unparsed.
    let long = format!("+380501234567{}", "-".repeat(60));
    let page = confirm(&rig, &cookie, &long).await;
    assert_eq!(page.status, 400, "{:?}", page.json);
    assert_eq!(page.field("field"), "phone");
    assert!(
        page.field("message").contains("longer than 64"),
        "{:?}",
        page.json
    );

    let manager = "m".repeat(300);
    let answer = rig
        .send(post(&[
            ("step", "call"),
            ("manager", &manager),
            ("phone", "+380501234567"),
            ("exp", "1"),
            ("nonce", "n"),
            ("sig", &"0".repeat(64)),
        ]))
        .await;
    assert_eq!(answer.status, 400, "{:?}", answer.json);
    assert_eq!(answer.field("field"), "manager");
    let several = confirm(&rig, &cookie, "0501234567, 0671110021").await;
    assert_eq!(several.status, 400, "{:?}", several.json);
    assert_eq!(several.field("field"), "phone");
    assert_eq!(ringostat_calls(&rig), 0);
}

bridge_tests::for_both_crms!(
    premium_rate_and_foreign_numbers_are_refused,
    the_policy_is_configuration,
    oversized_input_is_refused_before_parsing,
);
