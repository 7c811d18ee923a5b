//! The Dataverse half of the sandbox against its fake-server contract (`docs/vendor-contracts.md`),
//! spoken in raw HTTP/1.1 so that nothing re-encodes the query string on the way: the token
//! endpoint and its errors, 401 without a live token, `%2B` versus a raw `+`, doubled quotes,
//! creates (204/201), duplicate keys (412), unknown navigation properties (400), ignored
//! `statecode` on create, state/status pairs, read-only closed calls, `If-Match` and upsert.

use std::io::{Read, Write};
use std::net::TcpStream;

use crm_sandbox::Sandbox;
use crm_sandbox::dataverse::{MANAGER_EMAIL, MANAGER_USER_ID, SYSTEM_USER_ID};
use serde_json::{Value, json};

const API: &str = "/api/data/v9.2";
const CALL_ID: &str = "5b1d2f0e-6a1c-5d7e-9f00-2a9c3c1e7b11";

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn error_message(&self) -> String {
        self.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// One request on its own connection, the target sent byte for byte.
async fn send(
    sandbox: &Sandbox,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let addr = sandbox.addr;
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    let raw = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream.write_all(request.as_bytes()).expect("write");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).expect("read");
        raw
    })
    .await
    .expect("joined");
    parse_reply(&raw)
}

fn parse_reply(raw: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut body = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        body.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
    body
}

async fn token_reply(sandbox: &Sandbox, form: &str) -> Reply {
    send(
        sandbox,
        "POST",
        "/sandbox-tenant/oauth2/v2.0/token",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form,
    )
    .await
}

const GOOD_FORM: &str = "grant_type=client_credentials&client_id=sandbox-client&client_secret=sandbox-secret&scope=http%3A%2F%2F127.0.0.1%2F.default";

async fn token(sandbox: &Sandbox) -> String {
    let reply = token_reply(sandbox, GOOD_FORM).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["access_token"]
        .as_str()
        .expect("a token")
        .to_owned()
}

/// An API request with the token and the OData headers.
async fn api(
    sandbox: &Sandbox,
    token: &str,
    method: &str,
    target: &str,
    extra: &[(&str, &str)],
    body: Option<Value>,
) -> Reply {
    let bearer = format!("Bearer {token}");
    let mut headers = vec![
        ("Authorization", bearer.as_str()),
        ("Accept", "application/json"),
        ("OData-MaxVersion", "4.0"),
        ("OData-Version", "4.0"),
    ];
    if body.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    headers.extend_from_slice(extra);
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    send(sandbox, method, &format!("{API}/{target}"), &headers, &body).await
}

async fn start() -> (Sandbox, String) {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let token = token(&sandbox).await;
    (sandbox, token)
}

fn phonecall_body(contact: &str) -> Value {
    json!({
        "activityid": CALL_ID,
        "subject": "Incoming call +380501234567",
        "phonenumber": "+380501234567",
        "directioncode": false,
        "actualstart": "2024-05-01T10:00:00Z",
        "actualend": "2024-05-01T10:02:15Z",
        "actualdurationminutes": 3,
        "statecode": 1,
        "statuscode": 4,
        "regardingobjectid_contact_phonecall@odata.bind": format!("/contacts({contact})"),
        "ownerid@odata.bind": format!("/systemusers({MANAGER_USER_ID})"),
        "phonecall_activity_parties": [
            {"participationtypemask": 1, "partyid_contact@odata.bind": format!("/contacts({contact})")},
            {"participationtypemask": 2, "partyid_systemuser@odata.bind": format!("/systemusers({MANAGER_USER_ID})")}
        ]
    })
}

#[tokio::test]
async fn the_token_endpoint_checks_every_credential_and_the_scope() {
    let sandbox = Sandbox::start().await.expect("sandbox starts");

    let ok = token_reply(&sandbox, GOOD_FORM).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["token_type"], "Bearer");
    assert_eq!(ok.json()["expires_in"], 3599);

    for (form, error, code) in [
        (
            GOOD_FORM.replace("sandbox-secret", "wrong"),
            "invalid_client",
            7000215,
        ),
        (
            GOOD_FORM.replace("sandbox-client", "other"),
            "unauthorized_client",
            700016,
        ),
        (
            GOOD_FORM.replace("%2F.default", "%2Fuser_impersonation"),
            "invalid_scope",
            70011,
        ),
        (
            GOOD_FORM.replace("client_credentials", "password"),
            "unsupported_grant_type",
            70003,
        ),
    ] {
        let reply = token_reply(&sandbox, &form).await;
        assert_eq!(reply.status, 400, "{form}");
        let body = reply.json();
        assert_eq!(body["error"], error);
        assert_eq!(body["error_codes"], json!([code]));
        assert!(
            body["error_description"]
                .as_str()
                .is_some_and(|d| d.starts_with(&format!("AADSTS{code}:"))),
            "{body}"
        );
    }
    let other_tenant = send(
        &sandbox,
        "POST",
        "/other/oauth2/v2.0/token",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        GOOD_FORM,
    )
    .await;
    assert_eq!(other_tenant.json()["error_codes"], json!([90002]));

    // client_secret_basic works too.
    let basic = send(
        &sandbox,
        "POST",
        "/sandbox-tenant/oauth2/v2.0/token",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            (
                "Authorization",
                "Basic c2FuZGJveC1jbGllbnQ6c2FuZGJveC1zZWNyZXQ=",
            ),
        ],
        "grant_type=client_credentials&scope=https%3A%2F%2Forg.crm4.dynamics.com%2F.default",
    )
    .await;
    assert_eq!(basic.status, 200, "{}", basic.body);
    assert_eq!(sandbox.state().dataverse.token_requests(), 7);
}

#[tokio::test]
async fn the_api_wants_a_live_bearer_token() {
    let (sandbox, token) = start().await;

    let none = send(&sandbox, "GET", &format!("{API}/contacts"), &[], "").await;
    assert_eq!(none.status, 401);
    assert!(
        none.header("www-authenticate")
            .is_some_and(|h| h.starts_with("Bearer authorization_uri="))
    );
    let forged = api(&sandbox, "forged", "GET", "contacts", &[], None).await;
    assert_eq!(forged.status, 401);
    let live = api(&sandbox, &token, "GET", "contacts", &[], None).await;
    assert_eq!(live.status, 200);

    sandbox.state().dataverse.expire_tokens();
    let revoked = api(&sandbox, &token, "GET", "contacts", &[], None).await;
    assert_eq!(revoked.status, 401);
}

#[tokio::test]
async fn a_raw_plus_is_a_space_and_percent_2b_is_a_plus() {
    let (sandbox, token) = start().await;
    let id = seed_client(&sandbox, "Shane O'Brien");

    let select = "$select=contactid,fullname,telephone1,mobilephone,telephone2,_ownerid_value";
    let encoded = api(
        &sandbox,
        &token,
        "GET",
        &format!(
            "contacts?{select}&$filter=telephone1%20eq%20'%2B380501234567'%20or%20mobilephone%20eq%20'%2B380501234567'&$top=5"
        ),
        &[],
        None,
    )
    .await;
    let raw_plus = api(
        &sandbox,
        &token,
        "GET",
        &format!("contacts?{select}&$filter=telephone1%20eq%20'+380501234567'"),
        &[],
        None,
    )
    .await;

    assert_eq!(encoded.status, 200, "{}", encoded.body);
    let body = encoded.json();
    assert!(
        body["@odata.context"]
            .as_str()
            .is_some_and(|c| c.contains("/api/data/v9.2/$metadata#contacts(contactid,"))
    );
    let row = &body["value"][0];
    assert_eq!(row["contactid"], id.as_str());
    assert_eq!(row["fullname"], "Shane O'Brien");
    assert_eq!(row["telephone1"], "+380501234567");
    assert_eq!(row["mobilephone"], Value::Null);
    assert_eq!(row["_ownerid_value"], MANAGER_USER_ID);
    assert!(
        row["@odata.etag"]
            .as_str()
            .is_some_and(|e| e.starts_with("W/\""))
    );
    assert_eq!(raw_plus.status, 200);
    assert_eq!(raw_plus.json()["value"], json!([]));

    // `''` is a quote; strings compare without case.
    let quoted = api(
        &sandbox,
        &token,
        "GET",
        "contacts?$select=fullname&$filter=fullname%20eq%20'shane%20o''brien'",
        &[],
        None,
    )
    .await;
    assert_eq!(quoted.json()["value"][0]["fullname"], "Shane O'Brien");
}

#[tokio::test]
async fn unknown_columns_and_bad_queries_are_400() {
    let (sandbox, token) = start().await;
    for target in [
        "contacts?$select=ownerid",
        "contacts?$filter=telephone9%20eq%20'1'",
        "contacts?$filter=telephone1%20%3D%20'1'",
        "contacts?$top=many",
        "contacts?$search=x",
        "contacts(not-a-guid)",
    ] {
        let reply = api(&sandbox, &token, "GET", target, &[], None).await;
        assert_eq!(reply.status, 400, "{target}: {}", reply.body);
        assert!(!reply.error_message().is_empty(), "{target}");
    }
    let unknown_set = api(&sandbox, &token, "GET", "leads", &[], None).await;
    assert_eq!(unknown_set.status, 404);
}

#[tokio::test]
async fn systemusers_are_found_by_id_and_by_email() {
    let (sandbox, token) = start().await;

    let by_email = api(
        &sandbox,
        &token,
        "GET",
        &format!(
            "systemusers?$select=systemuserid,fullname&$filter=internalemailaddress%20eq%20'{MANAGER_EMAIL}'%20and%20isdisabled%20eq%20false"
        ),
        &[],
        None,
    )
    .await;
    let by_id = api(
        &sandbox,
        &token,
        "GET",
        &format!("systemusers({SYSTEM_USER_ID})"),
        &[],
        None,
    )
    .await;
    let missing = api(
        &sandbox,
        &token,
        "GET",
        "systemusers(00000000-0000-4000-8000-000000000000)",
        &[],
        None,
    )
    .await;

    assert_eq!(by_email.json()["value"][0]["systemuserid"], MANAGER_USER_ID);
    assert_eq!(by_id.status, 200);
    assert_eq!(by_id.json()["accessmode"], 4, "the application user");
    assert_eq!(missing.status, 404);
    assert!(missing.error_message().contains("Does Not Exist"));
}

#[tokio::test]
async fn contacts_are_created_with_204_or_201_and_a_known_owner() {
    let (sandbox, token) = start().await;
    let owner = format!("/systemusers({MANAGER_USER_ID})");

    let plain = api(
        &sandbox,
        &token,
        "POST",
        "contacts",
        &[],
        Some(json!({"mobilephone": "+380501234567", "lastname": "+380501234567", "ownerid@odata.bind": owner})),
    )
    .await;
    let represented = api(
        &sandbox,
        &token,
        "POST",
        "contacts?$select=contactid,fullname,_ownerid_value",
        &[("Prefer", "return=representation")],
        Some(json!({"mobilephone": "+380671112233", "new_utmsource": "google"})),
    )
    .await;

    assert_eq!(plain.status, 204);
    let entity = plain.header("odata-entityid").expect("OData-EntityId");
    assert!(entity.contains("/api/data/v9.2/contacts("), "{entity}");
    assert_eq!(represented.status, 201, "{}", represented.body);
    let body = represented.json();
    assert_eq!(body["fullname"], "");
    // Without a bound owner, the caller (the application user) owns it.
    assert_eq!(body["_ownerid_value"], SYSTEM_USER_ID);
    assert_eq!(sandbox.state().dataverse.contact_count(), 2);

    for (bind, value) in [
        (
            "ownerid@odata.bind",
            "/systemusers(00000000-0000-4000-8000-000000000000)".to_owned(),
        ),
        ("ownerid@odata.bind", "systemusers/olena".to_owned()),
        (
            "ownerid@odata.bind",
            format!("/contacts({MANAGER_USER_ID})"),
        ),
        ("owninguser@odata.bind", owner.clone()),
    ] {
        let reply = api(
            &sandbox,
            &token,
            "POST",
            "contacts",
            &[],
            Some(json!({"lastname": "x", bind: value})),
        )
        .await;
        assert_eq!(reply.status, 400, "{bind}: {value}");
    }
    let too_long = api(
        &sandbox,
        &token,
        "POST",
        "contacts",
        &[],
        Some(json!({"mobilephone": "1".repeat(51)})),
    )
    .await;
    assert_eq!(too_long.status, 400);
    assert_eq!(sandbox.state().dataverse.contact_count(), 2);
}

#[tokio::test]
async fn phone_calls_ignore_statecode_on_create_and_refuse_duplicates() {
    let (sandbox, token) = start().await;
    let contact = seed_client(&sandbox, "Olha Petrenko");

    let created = api(
        &sandbox,
        &token,
        "POST",
        "phonecalls",
        &[],
        Some(phonecall_body(&contact)),
    )
    .await;
    let duplicate = api(
        &sandbox,
        &token,
        "POST",
        "phonecalls",
        &[],
        Some(phonecall_body(&contact)),
    )
    .await;

    assert_eq!(created.status, 204, "{}", created.body);
    let call = sandbox
        .state()
        .dataverse
        .phonecall(CALL_ID)
        .expect("stored");
    assert_eq!(
        (call["statecode"].clone(), call["statuscode"].clone()),
        (json!(0), json!(1))
    );
    assert_eq!(call["directioncode"], false);
    assert_eq!(call["_regardingobjectid_value"], contact.as_str());
    assert_eq!(
        sandbox.state().dataverse.phonecall_parties(CALL_ID),
        [
            (1, "contact".to_owned(), contact.clone()),
            (2, "systemuser".to_owned(), MANAGER_USER_ID.to_owned())
        ]
    );
    assert_eq!(duplicate.status, 412);
    assert_eq!(duplicate.error_code(), "0x80040237");
    assert_eq!(
        duplicate.error_message(),
        "A record with matching key values already exists."
    );
    assert_eq!(sandbox.state().dataverse.call_count(), 1);

    // A read with the parties expanded.
    let read = api(
        &sandbox,
        &token,
        "GET",
        &format!(
            "phonecalls({CALL_ID})?$select=statecode,statuscode&$expand=phonecall_activity_parties"
        ),
        &[],
        None,
    )
    .await;
    assert_eq!(
        read.json()["phonecall_activity_parties"][1]["participationtypemask"],
        2
    );
}

#[tokio::test]
async fn phone_call_bodies_are_checked_against_the_metadata() {
    let (sandbox, token) = start().await;
    let contact = seed_client(&sandbox, "Olha Petrenko");
    let mut typo = phonecall_body(&contact);
    let mut unsuffixed = phonecall_body(&contact);
    let mut bad_mask = phonecall_body(&contact);
    let mut bad_party = phonecall_body(&contact);
    let mut bad_type = phonecall_body(&contact);
    let mut unknown_contact = phonecall_body(&contact);
    if let (
        Some(typo),
        Some(unsuffixed),
        Some(bad_mask),
        Some(bad_party),
        Some(bad_type),
        Some(unknown_contact),
    ) = (
        typo.as_object_mut(),
        unsuffixed.as_object_mut(),
        bad_mask.as_object_mut(),
        bad_party.as_object_mut(),
        bad_type.as_object_mut(),
        unknown_contact.as_object_mut(),
    ) {
        let value = typo
            .remove("regardingobjectid_contact_phonecall@odata.bind")
            .unwrap_or_default();
        typo.insert(
            "regardingobjectid_contact_phonecal@odata.bind".into(),
            value.clone(),
        );
        unsuffixed.remove("regardingobjectid_contact_phonecall@odata.bind");
        unsuffixed.insert("regardingobjectid_contacts@odata.bind".into(), value);
        bad_mask["phonecall_activity_parties"][0]["participationtypemask"] = json!(3);
        bad_party["phonecall_activity_parties"][0] = json!({"participationtypemask": 1, "partyid_account@odata.bind": format!("/accounts({contact})")});
        bad_type.insert("directioncode".into(), json!("incoming"));
        unknown_contact.insert(
            "regardingobjectid_contact_phonecall@odata.bind".into(),
            json!("/contacts(00000000-0000-4000-8000-000000000000)"),
        );
    }
    let mut wrong_column = phonecall_body(&contact);
    wrong_column["directionCode"] = json!(true);

    for (what, body, code) in [
        ("typo in a navigation property", typo, Some("0x80060888")),
        (
            "unknown navigation property",
            unsuffixed,
            Some("0x80060888"),
        ),
        ("mask 3", bad_mask, None),
        ("account party", bad_party, Some("0x80060888")),
        ("string for a boolean", bad_type, None),
        ("contact that does not exist", unknown_contact, None),
        ("camel-case column", wrong_column, Some("0x80060888")),
    ] {
        let reply = api(&sandbox, &token, "POST", "phonecalls", &[], Some(body)).await;
        assert_eq!(reply.status, 400, "{what}: {}", reply.body);
        if let Some(code) = code {
            assert_eq!(reply.error_code(), code, "{what}");
        }
    }
    assert_eq!(sandbox.state().dataverse.call_count(), 0);
}

#[tokio::test]
async fn a_phone_call_closes_with_a_valid_pair_and_then_is_read_only() {
    let (sandbox, token) = start().await;
    let contact = seed_client(&sandbox, "Olha Petrenko");
    let target = format!("phonecalls({CALL_ID})");
    let if_match = [("If-Match", "*")];

    let missing = api(
        &sandbox,
        &token,
        "PATCH",
        &target,
        &if_match,
        Some(json!({"statecode": 1, "statuscode": 4})),
    )
    .await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.error_message(),
        format!("phonecall With Id = {CALL_ID} Does Not Exist")
    );

    api(
        &sandbox,
        &token,
        "POST",
        "phonecalls",
        &[],
        Some(phonecall_body(&contact)),
    )
    .await;
    for (state, status) in [(1, 3), (2, 2), (0, 4), (3, 1)] {
        let reply = api(
            &sandbox,
            &token,
            "PATCH",
            &target,
            &if_match,
            Some(json!({"statecode": state, "statuscode": status})),
        )
        .await;
        assert_eq!(reply.status, 400, "{state}/{status}");
    }
    let closed = api(
        &sandbox,
        &token,
        "PATCH",
        &target,
        &if_match,
        Some(json!({"statecode": 1, "statuscode": 4})),
    )
    .await;
    assert_eq!(closed.status, 204, "{}", closed.body);
    let call = sandbox
        .state()
        .dataverse
        .phonecall(CALL_ID)
        .expect("stored");
    assert_eq!(
        (call["statecode"].clone(), call["statuscode"].clone()),
        (json!(1), json!(4))
    );

    for body in [
        json!({"statecode": 1, "statuscode": 4}),
        json!({"subject": "edited"}),
    ] {
        let reply = api(&sandbox, &token, "PATCH", &target, &if_match, Some(body)).await;
        assert_eq!(reply.status, 400);
        assert_eq!(
            reply.error_message(),
            "Cannot update Closed or Cancelled Activity"
        );
    }
}

#[tokio::test]
async fn patch_without_if_match_is_an_upsert() {
    let (sandbox, token) = start().await;
    let id = "3f0e6c1a-1111-4222-8333-944455556666";

    let guarded = api(
        &sandbox,
        &token,
        "PATCH",
        &format!("contacts({id})"),
        &[("If-Match", "*")],
        Some(json!({"lastname": "Guarded"})),
    )
    .await;
    assert_eq!(guarded.status, 404);
    assert_eq!(sandbox.state().dataverse.contact_count(), 0);

    let upsert = api(
        &sandbox,
        &token,
        "PATCH",
        &format!("contacts({id})"),
        &[],
        Some(json!({"lastname": "Upserted"})),
    )
    .await;
    assert_eq!(upsert.status, 204);
    assert_eq!(sandbox.state().dataverse.contact_count(), 1);
    assert_eq!(
        sandbox.state().dataverse.contact(id).expect("created")["fullname"],
        "Upserted"
    );

    let rebind = api(
        &sandbox,
        &token,
        "PATCH",
        &format!("contacts({id})"),
        &[("If-Match", "*")],
        Some(json!({"ownerid@odata.bind": format!("/systemusers({MANAGER_USER_ID})"), "new_utmsource": "google"})),
    )
    .await;
    assert_eq!(rebind.status, 204);
    assert_eq!(
        sandbox.state().dataverse.owner_of(id).as_deref(),
        Some(MANAGER_USER_ID)
    );
}

#[tokio::test]
async fn notes_and_opportunities_hang_off_the_contact() {
    let (sandbox, token) = start().await;
    let contact = seed_client(&sandbox, "Olha Petrenko");

    let note = api(
        &sandbox,
        &token,
        "POST",
        "annotations",
        &[],
        Some(json!({"subject": "AI", "notetext": "Wants a quote", "objectid_contact@odata.bind": format!("/contacts({contact})")})),
    )
    .await;
    let deal = api(
        &sandbox,
        &token,
        "POST",
        "opportunities?$select=opportunityid",
        &[("Prefer", "return=representation")],
        Some(json!({
            "name": "New client",
            "stepname": "Qualify",
            "customerid_contact@odata.bind": format!("/contacts({contact})"),
            "ownerid@odata.bind": format!("/systemusers({MANAGER_USER_ID})")
        })),
    )
    .await;

    assert_eq!(note.status, 204, "{}", note.body);
    assert_eq!(deal.status, 201, "{}", deal.body);
    assert!(deal.json()["opportunityid"].is_string());
    let state = sandbox.state();
    assert_eq!(state.dataverse.notes_of(&contact), ["Wants a quote"]);
    assert_eq!(state.dataverse.deals_of(&contact), ["New client"]);
    let page = crm_sandbox::dataverse::html_section(&state.dataverse);
    for text in ["Olha Petrenko", "Wants a quote", "New client", "Qualify"] {
        assert!(page.contains(text), "{text}");
    }
}

#[tokio::test]
async fn client_supplied_keys_create_contacts_notes_and_deals_once() {
    let (sandbox, token) = start().await;
    let owner = seed_client(&sandbox, "Olha Petrenko");
    const CONTACT_ID: &str = "7c1d2f0e-6a1c-5d7e-9f00-2a9c3c1e7b21";
    const NOTE_ID: &str = "8d1d2f0e-6a1c-5d7e-9f00-2a9c3c1e7b31";
    const DEAL_ID: &str = "9e1d2f0e-6a1c-5d7e-9f00-2a9c3c1e7b41";
    let bind = format!("/contacts({owner})");
    let cases = [
        (
            "contacts",
            "contactid",
            CONTACT_ID,
            json!({"contactid": CONTACT_ID, "lastname": "Koval", "telephone1": "+380671112233"}),
            json!({"contactid": CONTACT_ID, "lastname": "Changed", "telephone1": "+380000000000"}),
            "lastname",
            "Koval",
        ),
        (
            "annotations",
            "annotationid",
            NOTE_ID,
            json!({"annotationid": NOTE_ID, "subject": "AI", "notetext": "Wants a quote", "objectid_contact@odata.bind": bind}),
            json!({"annotationid": NOTE_ID, "subject": "AI", "notetext": "Changed", "objectid_contact@odata.bind": bind}),
            "notetext",
            "Wants a quote",
        ),
        (
            "opportunities",
            "opportunityid",
            DEAL_ID,
            json!({"opportunityid": DEAL_ID, "name": "New client", "customerid_contact@odata.bind": bind}),
            json!({"opportunityid": DEAL_ID, "name": "Changed", "customerid_contact@odata.bind": bind}),
            "name",
            "New client",
        ),
    ];
    for (set, key, id, first, second, column, kept) in cases {
        let created = api(&sandbox, &token, "POST", set, &[], Some(first)).await;
        assert_eq!(created.status, 204, "{set}: {}", created.body);
        assert!(
            created
                .header("OData-EntityId")
                .is_some_and(|h| h.ends_with(&format!("/{set}({id})"))),
            "{set}: {:?}",
            created.headers
        );
        let before = api(&sandbox, &token, "GET", &format!("{set}({id})"), &[], None).await;
        assert_eq!(before.status, 200, "{set}: {}", before.body);

        // The same key again, even with other values: 412, nothing changes.
        let duplicate = api(&sandbox, &token, "POST", set, &[], Some(second)).await;
        assert_eq!(duplicate.status, 412, "{set}: {}", duplicate.body);
        assert_eq!(
            duplicate.json(),
            json!({"error": {"code": "0x80040237", "message": "A record with matching key values already exists."}}),
            "{set}"
        );
        let after = api(&sandbox, &token, "GET", &format!("{set}({id})"), &[], None).await;
        assert_eq!(after.json()[key], id, "{set}");
        assert_eq!(after.json()[column], kept, "{set}");
        assert_eq!(after.json(), before.json(), "{set}: unchanged");
        let all = api(&sandbox, &token, "GET", set, &[], None).await;
        let ids: Vec<Value> = all.json()["value"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|row| row[key].clone())
            .filter(|found| found == id)
            .collect();
        assert_eq!(ids.len(), 1, "{set}: one row with the key");
    }
    // An upper-case GUID is the same key.
    let shouted = api(
        &sandbox,
        &token,
        "POST",
        "contacts",
        &[],
        Some(json!({"contactid": CONTACT_ID.to_uppercase(), "lastname": "Again"})),
    )
    .await;
    assert_eq!(shouted.status, 412, "{}", shouted.body);
    assert_eq!(sandbox.state().dataverse.contact_count(), 2);
    assert_eq!(
        sandbox.state().dataverse.notes_of(&owner),
        ["Wants a quote"]
    );
    assert_eq!(sandbox.state().dataverse.deals_of(&owner), ["New client"]);
}

/// A tenant's schema is its own: a column it does not have, custom-looking or not, is refused
/// in `$select`, `$filter`, `$orderby` and in a write, until a maker adds it; the seed tenant
/// has the UTM columns.
#[tokio::test]
async fn only_the_columns_the_tenant_has_are_read_or_written() {
    let (sandbox, token) = start().await;
    let contact = seed_client(&sandbox, "Olha Petrenko");
    let reads = [
        "contacts?$select=contactid,cr1a2_mobile",
        "contacts?$filter=cr1a2_mobile%20eq%20'1'",
        "contacts?$filter=contains(cr1a2_mobile,'1')",
        "contacts?$orderby=cr1a2_mobile",
        "contacts?$select=mobile",
    ];
    let write = |column: &str| json!({ column: "+380501234567" });
    for target in reads {
        let reply = api(&sandbox, &token, "GET", target, &[], None).await;
        assert_eq!(reply.status, 400, "{target}: {}", reply.body);
        assert!(reply.error_message().contains("mobile"), "{target}");
    }
    for column in ["cr1a2_mobile", "mobile"] {
        let reply = api(
            &sandbox,
            &token,
            "PATCH",
            &format!("contacts({contact})"),
            &[("If-Match", "*")],
            Some(write(column)),
        )
        .await;
        assert_eq!(reply.status, 400, "{column}: {}", reply.body);
        assert!(
            reply.error_message().contains("Invalid property"),
            "{column}"
        );
    }
    let seeded = api(
        &sandbox,
        &token,
        "GET",
        "contacts?$select=new_utmsource",
        &[],
        None,
    )
    .await;
    assert_eq!(seeded.status, 200, "{}", seeded.body);

    sandbox
        .state()
        .dataverse
        .add_custom_column("contact", "cr1a2_mobile", 50)
        .expect("a custom column name");
    let written = api(
        &sandbox,
        &token,
        "PATCH",
        &format!("contacts({contact})"),
        &[("If-Match", "*")],
        Some(write("cr1a2_mobile")),
    )
    .await;
    assert_eq!(written.status, 204, "{}", written.body);
    for target in reads.iter().take(4) {
        let reply = api(&sandbox, &token, "GET", target, &[], None).await;
        assert_eq!(reply.status, 200, "{target}: {}", reply.body);
    }
    let mobile = sandbox.state().dataverse.contact(&contact).expect("kept")["cr1a2_mobile"].clone();
    assert_eq!(mobile, "+380501234567");
    // Standard names cannot be added, nor names without a publisher prefix.
    let mut state = sandbox.state();
    assert!(
        state
            .dataverse
            .add_custom_column("contact", "mobile", 50)
            .is_err()
    );
    assert!(
        state
            .dataverse
            .add_custom_column("contact", "mscrm_x", 50)
            .is_err()
    );
    assert!(
        state
            .dataverse
            .add_custom_column("annotation", "cr1a2_x", 50)
            .is_err()
    );
}

/// `contains`/`endswith` compare text without case and see the separators as they are: a
/// fragment matches a number stored with the same grouping only.
#[tokio::test]
async fn contains_and_endswith_match_the_stored_text() {
    let (sandbox, token) = start().await;
    let formatted = sandbox.state().dataverse.seed_contact(
        "+38 (050) 123-45-67",
        "Olha Petrenko",
        MANAGER_USER_ID,
    );
    let query = |filter: &str| {
        format!(
            "contacts?$select=contactid&$filter={}",
            percent_encoding::utf8_percent_encode(filter, percent_encoding::NON_ALPHANUMERIC)
        )
    };
    for (filter, found) in [
        ("contains(telephone1,'123-45-67')", true),
        ("endswith(telephone1,'123-45-67')", true),
        ("contains(telephone1,'1234567')", false),
        ("contains(telephone1,'123 45 67')", false),
        (
            "contains(telephone1,'(050)') and startswith(telephone1,'+38')",
            true,
        ),
        ("contains(fullname,'PETRENKO')", true),
    ] {
        let reply = api(&sandbox, &token, "GET", &query(filter), &[], None).await;
        assert_eq!(reply.status, 200, "{filter}: {}", reply.body);
        let ids: Vec<Value> = reply.json()["value"]
            .as_array()
            .map(|rows| rows.iter().map(|r| r["contactid"].clone()).collect())
            .unwrap_or_default();
        let expected = if found {
            vec![json!(formatted)]
        } else {
            vec![]
        };
        assert_eq!(ids, expected, "{filter}");
    }
}

/// A phone call, note or deal bound to a contact that was deleted is refused with 400
/// `0x80040217` naming the contact; nothing is written.
#[tokio::test]
async fn a_write_bound_to_a_deleted_contact_does_not_exist() {
    let (sandbox, token) = start().await;
    let contact = seed_client(&sandbox, "Olha Petrenko");
    assert!(sandbox.state().dataverse.delete_contact(&contact));
    let bind = format!("/contacts({contact})");
    for (set, body) in [
        ("phonecalls", phonecall_body(&contact)),
        (
            "annotations",
            json!({"notetext": "Wants a quote", "objectid_contact@odata.bind": bind}),
        ),
        (
            "opportunities",
            json!({"name": "New client", "customerid_contact@odata.bind": bind}),
        ),
    ] {
        let reply = api(&sandbox, &token, "POST", set, &[], Some(body)).await;
        assert_eq!(reply.status, 400, "{set}: {}", reply.body);
        assert_eq!(reply.error_code(), "0x80040217", "{set}");
        assert_eq!(
            reply.error_message(),
            format!("contact With Id = {contact} Does Not Exist"),
            "{set}"
        );
    }
    let state = sandbox.state();
    assert_eq!(state.dataverse.call_count(), 0);
    assert!(state.dataverse.notes().is_empty());
    assert!(state.dataverse.opportunities().is_empty());
}

/// The client `+380501234567`, named `name`, owned by the manager: its `contactid`.
fn seed_client(sandbox: &Sandbox, name: &str) -> String {
    sandbox
        .state()
        .dataverse
        .seed_contact("+380501234567", name, MANAGER_USER_ID)
}
