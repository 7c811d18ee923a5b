//! The cold start of phone numbers: a Ukrainian number never loads the whole world's metadata
//! (~69 ms of full CPU, almost a second at the 128 MB share; bench/phone-parsers.md), a foreign
//! one does. One test in its own binary: the metadata is a process-wide lazy static.
#![allow(clippy::unwrap_used)]

use bridge_domain::phone::{self, PhoneNumber, STORED_NOTATIONS};
use bridge_domain::services::DestinationPolicy;
use bridge_domain::services::click_to_call::policy::readable;
use phonenumber::metadata::DATABASE;

fn world_loaded() -> bool {
    once_cell::sync::Lazy::get(&DATABASE).is_some()
}

#[test]
fn ukrainian_numbers_leave_the_world_metadata_unloaded_until_a_foreign_one() {
    phone::warm_up();
    let mut read = Vec::new();
    for raw in STORED_NOTATIONS
        .iter()
        .chain(&["00380501234567", "0441112233", "+380 89 123 45 67"])
    {
        read.push(PhoneNumber::parse(raw).unwrap());
    }
    // Refusals of Ukrainian kinds, and the confirmation page's notation.
    let policy = DestinationPolicy::default();
    assert!(policy.check(&read[0]).is_ok());
    assert!(
        policy
            .check(&PhoneNumber::parse("0900212345").unwrap())
            .is_err()
    );
    assert_eq!(readable(&read[0]), "+380 50 123 4567");
    assert!(
        !world_loaded(),
        "a Ukrainian number loaded the world's metadata"
    );

    let warsaw = PhoneNumber::parse("48221234567").unwrap();
    assert_eq!(warsaw.e164(), "+48221234567");
    assert!(world_loaded());
    assert!(policy.check(&warsaw).is_err());
}
