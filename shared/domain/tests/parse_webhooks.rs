//! Parser tests: one Ringostat webhook variant per test, through the public API only.
//!
//! Payload shapes follow the reference notes on Ringostat's wire formats (Webhooks 2.0 is
//! configured per customer, so the same call arrives as JSON, a form, XML or URL parameters, under
//! canonical `calls/list` names or under the aliases seen in real receivers).

use bridge_domain::PhoneNumber;
use bridge_domain::ringostat::fields;
use bridge_domain::ringostat::{
    BodyFormat, CallEvent, CallStatus, CallType, Direction, Disposition, EventError, EventKind,
    Fields, ParseOptions, PayloadError,
};
use serde_json::{Value, json};

const JSON: Option<&str> = Some("application/json");
const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

const CALL_ID: &str = "ua0_-1731315881.12669683";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn parse(
    kind: EventKind,
    content_type: Option<&str>,
    body: &[u8],
    query: Option<&str>,
) -> Result<CallEvent, EventError> {
    CallEvent::from_request(kind, content_type, body, query, &ParseOptions::default())
}

fn parse_ok(
    kind: EventKind,
    content_type: Option<&str>,
    body: &[u8],
    query: Option<&str>,
) -> CallEvent {
    parse(kind, content_type, body, query).unwrap_or_else(|e| {
        panic!(
            "expected {:?} to parse, got error: {e}",
            String::from_utf8_lossy(body)
        )
    })
}

fn parse_err(
    kind: EventKind,
    content_type: Option<&str>,
    body: &[u8],
    query: Option<&str>,
) -> EventError {
    match parse(kind, content_type, body, query) {
        Ok(event) => panic!(
            "expected {:?} to be rejected, got {event:?}",
            String::from_utf8_lossy(body)
        ),
        Err(e) => e,
    }
}

/// A JSON webhook of `kind`, sent as `application/json`.
fn event_json(kind: EventKind, body: &Value) -> CallEvent {
    parse_ok(kind, JSON, body.to_string().as_bytes(), None)
}

/// An "after call" (incoming) JSON webhook.
fn after_call(body: &Value) -> CallEvent {
    event_json(EventKind::AfterCall, body)
}

fn error_json(kind: EventKind, body: &Value) -> EventError {
    parse_err(kind, JSON, body.to_string().as_bytes(), None)
}

/// The smallest valid incoming call, plus `extra` fields (which replace the base ones).
fn incoming(extra: Value) -> Value {
    let mut body = json!({
        "uniqueid": CALL_ID,
        "caller": "380671112233",
        "dst": "380441112233",
    });
    merge(&mut body, extra);
    body
}

/// The smallest valid outgoing call (client in `dst`), plus `extra` fields.
fn outgoing(extra: Value) -> Value {
    let mut body = json!({
        "uniqueid": CALL_ID,
        "call_type": "out",
        "caller": "\"itrixcom_Kontakt\" <itrixcom_Kontakt>",
        "dst": "0501234567",
    });
    merge(&mut body, extra);
    body
}

fn merge(body: &mut Value, extra: Value) {
    let (Value::Object(base), Value::Object(extra)) = (body, extra) else {
        panic!("test payloads are JSON objects");
    };
    base.extend(extra);
}

fn phone(raw: &str) -> PhoneNumber {
    PhoneNumber::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
}

fn started_at(event: &CallEvent) -> Option<String> {
    event.started_at.map(|ts| ts.to_string())
}

// ---------------------------------------------------------------------------------------------
// Transport: content types, query strings, sniffing
// ---------------------------------------------------------------------------------------------

#[test]
fn json_body_with_application_json() {
    let event = parse_ok(
        EventKind::AfterCall,
        Some("application/json"),
        br#"{"uniqueid":"ua0_-1.1","caller":"380671112233","dst":"380441112233","disposition":"ANSWERED","billsec":11}"#,
        None,
    );
    assert_eq!(event.call_id, "ua0_-1.1");
    assert_eq!(event.client_phone.e164(), "+380671112233");
    assert_eq!(event.disposition, Some(Disposition::Answered));
    assert_eq!(event.durations.talk, Some(11));
    assert_eq!(event.status(), CallStatus::Answered);
}

#[test]
fn json_body_with_charset_parameter_in_content_type() {
    let event = parse_ok(
        EventKind::AfterCall,
        Some("application/json; charset=utf-8"),
        r#"{"uniqueid":"ua0_-1.2","caller":"0671112233","employee_fio":"Іван Петренко"}"#
            .as_bytes(),
        None,
    );
    assert_eq!(event.call_id, "ua0_-1.2");
    assert_eq!(event.client_phone.e164(), "+380671112233");
    assert_eq!(event.employee.name.as_deref(), Some("Іван Петренко"));
}

#[test]
fn form_encoded_body() {
    // `+` is a space in forms, so a `+` in the number arrives as %2B; the status uses `+`.
    let event = parse_ok(
        EventKind::AfterCall,
        FORM,
        b"uniqueid=ua0_-1.3&caller=%2B380671112233&dst=380441112233&disposition=NO+ANSWER\
          &duration=36&waittime=36&billsec=0&employee_fio=%D0%86%D0%B2%D0%B0%D0%BD",
        None,
    );
    assert_eq!(event.call_id, "ua0_-1.3");
    assert_eq!(event.client_phone.e164(), "+380671112233");
    assert_eq!(
        event.line_phone.as_ref().map(PhoneNumber::e164),
        Some("+380441112233")
    );
    assert_eq!(event.disposition, Some(Disposition::NoAnswer));
    assert_eq!(event.durations.total, Some(36));
    assert_eq!(event.durations.talk, Some(0));
    assert_eq!(event.employee.name.as_deref(), Some("Іван"));
    assert_eq!(event.status(), CallStatus::Missed);
}

#[test]
fn query_string_only_webhook_with_empty_body() {
    // GET webhook: every field in the URL, next to the static `event` and token parameters.
    let event = parse_ok(
        EventKind::AfterCall,
        None,
        b"",
        Some(
            "?event=after_call&t=secret&uniqueid=ua0_-1.4&caller=380671112233&dst=380441112233&disposition=ANSWERED&billsec=42&utm_source=google",
        ),
    );
    assert_eq!(event.call_id, "ua0_-1.4");
    assert_eq!(event.client_phone.e164(), "+380671112233");
    assert_eq!(event.disposition, Some(Disposition::Answered));
    assert_eq!(event.durations.talk, Some(42));
    assert_eq!(event.utm.source.as_deref(), Some("google"));
}

#[test]
fn query_string_only_webhook_with_whitespace_body_and_json_content_type() {
    let event = parse_ok(
        EventKind::BeforeCall,
        JSON,
        b"  \r\n",
        Some("uniqueid=ua0_-1.5&caller=0671112233"),
    );
    assert_eq!(event.call_id, "ua0_-1.5");
    assert_eq!(event.client_phone.e164(), "+380671112233");
    assert_eq!(event.direction, Direction::Incoming);
}

#[test]
fn query_and_json_body_are_merged_and_the_body_wins() {
    let event = parse_ok(
        EventKind::AfterCall,
        JSON,
        br#"{"uniqueid":"from-body","caller":"380671112233","disposition":"ANSWERED"}"#,
        Some("uniqueid=from-query&caller=380501234567&pool_name=From+query&disposition=BUSY"),
    );
    assert_eq!(event.call_id, "from-body");
    assert_eq!(event.client_phone.e164(), "+380671112233");
    assert_eq!(event.disposition, Some(Disposition::Answered));
    // Keys only in the query are kept.
    assert_eq!(event.pool_name.as_deref(), Some("From query"));
}

#[test]
fn query_and_form_body_are_merged_and_the_body_wins() {
    let event = parse_ok(
        EventKind::AfterCall,
        FORM,
        b"uniqueid=from-body&caller=380671112233",
        Some("uniqueid=from-query&caller=380501234567&utm_campaign=brand"),
    );
    assert_eq!(event.call_id, "from-body");
    assert_eq!(event.client_phone.e164(), "+380671112233");
    assert_eq!(event.utm.campaign.as_deref(), Some("brand"));
}

#[test]
fn body_without_content_type_starting_with_brace_is_read_as_json() {
    let event = parse_ok(
        EventKind::AfterCall,
        None,
        b"  {\"uniqueid\":\"ua0_-1.6\",\"caller\":\"380671112233\",\"billsec\":7}",
        None,
    );
    assert_eq!(event.call_id, "ua0_-1.6");
    assert_eq!(event.durations.talk, Some(7));
}

#[test]
fn body_without_content_type_otherwise_is_read_as_a_form() {
    let event = parse_ok(
        EventKind::AfterCall,
        None,
        b"uniqueid=ua0_-1.7&caller=380671112233&disposition=BUSY",
        None,
    );
    assert_eq!(event.call_id, "ua0_-1.7");
    assert_eq!(event.client_phone.e164(), "+380671112233");
    assert_eq!(event.disposition, Some(Disposition::Busy));
}

#[test]
fn text_plain_body_holding_json_is_read_as_json() {
    let event = parse_ok(
        EventKind::AfterCall,
        Some("text/plain; charset=UTF-8"),
        br#"{"uniqueid":"ua0_-1.8","caller":"380671112233","disposition":"PROPER"}"#,
        None,
    );
    assert_eq!(event.call_id, "ua0_-1.8");
    assert_eq!(event.disposition, Some(Disposition::Proper));
}

#[test]
fn content_type_is_case_insensitive() {
    let event = parse_ok(
        EventKind::AfterCall,
        Some("Application/JSON"),
        br#"{"uniqueid":"ua0_-1.9","caller":"380671112233"}"#,
        None,
    );
    assert_eq!(event.call_id, "ua0_-1.9");
}

// ---------------------------------------------------------------------------------------------
// Body format by content: what the body holds decides before what the header says
// ---------------------------------------------------------------------------------------------

#[test]
fn json_body_under_a_form_content_type_is_read_as_json() {
    // `curl -d '{…}'` sends exactly this: JSON labelled as a form.
    let body = br#"{"uniqueid":"ua0_-1.10","caller":"380671112233","billsec":3}"#;
    let event = parse_ok(EventKind::AfterCall, FORM, body, None);
    assert_eq!(event.call_id, "ua0_-1.10");
    assert_eq!(event.client_phone.e164(), "+380671112233");
    assert_eq!(event.durations.talk, Some(3));
    assert_eq!(BodyFormat::detect(FORM, body), Ok(BodyFormat::Json));
    assert!(BodyFormat::Json.contradicts(FORM));
}

#[test]
fn json_body_under_a_form_content_type_keeps_the_form_query() {
    let (fields, format) = Fields::read_request(
        FORM,
        br#"{"caller":"380501234567"}"#,
        Some("token=t&call_id=from-query"),
    )
    .expect("readable");
    assert_eq!(format, BodyFormat::Json);
    assert_eq!(fields.get(&fields::CALLER), Some("380501234567"));
    assert_eq!(fields.get(&fields::CALL_ID), Some("from-query"));
}

#[test]
fn form_body_under_a_json_content_type_is_read_as_a_form() {
    let body = b"uniqueid=ua0_-1.11&caller=%2B380671112233&disposition=NO+ANSWER";
    let event = parse_ok(EventKind::AfterCall, JSON, body, None);
    assert_eq!(event.call_id, "ua0_-1.11");
    assert_eq!(event.client_phone.e164(), "+380671112233");
    assert_eq!(event.disposition, Some(Disposition::NoAnswer));
    assert_eq!(BodyFormat::detect(JSON, body), Ok(BodyFormat::Form));
    assert!(BodyFormat::Form.contradicts(JSON));
}

#[test]
fn json_body_with_no_content_type_is_read_as_json() {
    let body = br#"{"uniqueid":"ua0_-1.12","caller":"380671112233"}"#;
    let event = parse_ok(EventKind::AfterCall, None, body, None);
    assert_eq!(event.call_id, "ua0_-1.12");
    assert_eq!(BodyFormat::detect(None, body), Ok(BodyFormat::Json));
    assert!(
        !BodyFormat::Json.contradicts(None),
        "no header says nothing to contradict"
    );
}

#[test]
fn form_body_under_an_unknown_content_type_is_read_as_a_form() {
    for content_type in [
        "text/html",
        "multipart/form-data; boundary=x",
        "application/foo",
    ] {
        let event = parse_ok(
            EventKind::AfterCall,
            Some(content_type),
            b"uniqueid=ua0_-1.13&caller=380671112233",
            None,
        );
        assert_eq!(event.call_id, "ua0_-1.13", "{content_type}");
        assert!(BodyFormat::Form.contradicts(Some(content_type)));
    }
}

#[test]
fn json_body_under_an_unknown_content_type_is_read_as_json() {
    let event = parse_ok(
        EventKind::AfterCall,
        Some("text/html"),
        br#"{"uniqueid":"ua0_-1.14","caller":"380671112233"}"#,
        None,
    );
    assert_eq!(event.call_id, "ua0_-1.14");
}

#[test]
fn broken_json_under_a_form_content_type_is_still_read_as_the_header_says() {
    // Not a JSON object, so the header decides: a form (whose one key is the broken text).
    let body = br#"{"uniqueid":"x","caller":"#;
    assert_eq!(BodyFormat::detect(FORM, body), Ok(BodyFormat::Form));
    let err = parse_err(EventKind::AfterCall, FORM, body, None);
    assert!(
        matches!(
            err,
            EventError::MissingField {
                field: "uniqueid",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_json_body_that_is_not_an_object_follows_the_header() {
    assert_eq!(BodyFormat::detect(FORM, b"[1,2]"), Ok(BodyFormat::Form));
    assert_eq!(
        BodyFormat::detect(JSON, b"[1,2]"),
        Err(PayloadError::JsonNotAnObject("an array"))
    );
}

#[test]
fn body_format_decisions_and_when_they_contradict_the_header() {
    const XML: Option<&str> = Some("application/xml");
    let cases: [(Option<&str>, &[u8], BodyFormat, bool); 14] = [
        (JSON, br#"{"a":1}"#, BodyFormat::Json, false),
        (
            Some("application/vnd.ringostat+json"),
            br#"{"a":1}"#,
            BodyFormat::Json,
            false,
        ),
        (FORM, br#"{"a":1}"#, BodyFormat::Json, true),
        (XML, br#"{"a":1}"#, BodyFormat::Json, true),
        (Some("text/plain"), br#"{"a":1}"#, BodyFormat::Json, false),
        (FORM, b"a=1&b=2", BodyFormat::Form, false),
        (JSON, b"a=1&b=", BodyFormat::Form, true),
        (XML, b"a=1", BodyFormat::Form, true),
        (None, b"a=1", BodyFormat::Form, false),
        (
            Some("application/octet-stream"),
            b"a",
            BodyFormat::Form,
            false,
        ),
        (XML, b"<root><a>1</a></root>", BodyFormat::Xml, false),
        (
            Some("text/xml; charset=utf-8"),
            b"<r/>",
            BodyFormat::Xml,
            false,
        ),
        (FORM, b"<root><a>1</a></root>", BodyFormat::Xml, true),
        (JSON, b" \r\n", BodyFormat::Empty, false),
    ];
    for (content_type, body, format, contradicts) in cases {
        let shown = (content_type, String::from_utf8_lossy(body));
        assert_eq!(
            BodyFormat::detect(content_type, body),
            Ok(format),
            "{shown:?}"
        );
        let (_, read) = Fields::read_request(content_type, body, None).expect("readable");
        assert_eq!(read, format, "{shown:?}");
        assert_eq!(format.contradicts(content_type), contradicts, "{shown:?}");
    }
    assert_eq!(BodyFormat::declared(XML), Some(BodyFormat::Xml));
    assert_eq!(BodyFormat::declared(Some("Text/Plain")), None);
    assert_eq!(BodyFormat::Xml.to_string(), "xml");
}

#[test]
fn a_utf8_byte_order_mark_is_skipped() {
    let event = parse_ok(
        EventKind::AfterCall,
        JSON,
        "\u{feff}{\"uniqueid\":\"ua0_-1.15\",\"caller\":\"380671112233\"}".as_bytes(),
        None,
    );
    assert_eq!(event.call_id, "ua0_-1.15");
}

// ---------------------------------------------------------------------------------------------
// XML bodies: a root element (any name) of key/value elements, as Ringostat's demo receiver reads
// ---------------------------------------------------------------------------------------------

const XML: Option<&str> = Some("application/xml");

#[test]
fn flat_xml_body_is_read_like_json() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<root>
  <uniqueid>ua0_-1.20</uniqueid>
  <calldate>2024-04-05 14:30:00</calldate>
  <call_type>in</call_type>
  <caller>380671112233</caller>
  <dst>380441112233</dst>
  <disposition>NO ANSWER</disposition>
  <duration>36</duration>
  <billsec>0</billsec>
  <waittime>36</waittime>
  <employee_number>-1</employee_number>
  <employee_fio>Олена Коваленко</employee_fio>
  <utm_source>google</utm_source>
  <utm_content>(not set)</utm_content>
  <connected_with/>
</root>"#;
    let event = parse_ok(EventKind::AfterCall, XML, xml.as_bytes(), None);
    let json = after_call(&json!({
        "uniqueid": "ua0_-1.20",
        "calldate": "2024-04-05 14:30:00",
        "call_type": "in",
        "caller": "380671112233",
        "dst": "380441112233",
        "disposition": "NO ANSWER",
        "duration": 36,
        "billsec": 0,
        "waittime": "36",
        "employee_number": -1,
        "employee_fio": "Олена Коваленко",
        "utm_source": "google",
        "utm_content": "(not set)",
        "connected_with": "",
    }));
    assert_eq!(event, json);
    assert_eq!(event.client_phone.e164(), "+380671112233");
    assert_eq!(event.status(), CallStatus::Missed);
    assert_eq!(event.durations.total, Some(36));
    assert_eq!(event.employee.name.as_deref(), Some("Олена Коваленко"));
    assert_eq!(started_at(&event).as_deref(), Some("2024-04-05T11:30:00Z"));
}

#[test]
fn xml_root_may_have_any_name_and_the_header_any_xml_type_or_none() {
    let body = b"<webhook><uniqueid>ua0_-1.21</uniqueid><caller>0671112233</caller></webhook>";
    for content_type in [
        XML,
        Some("text/xml; charset=UTF-8"),
        Some("application/vnd.ringostat+xml"),
        None,
        Some("text/plain"),
        JSON,
        FORM,
    ] {
        let event = parse_ok(EventKind::BeforeCall, content_type, body, None);
        assert_eq!(event.call_id, "ua0_-1.21", "{content_type:?}");
        assert_eq!(
            event.client_phone.e164(),
            "+380671112233",
            "{content_type:?}"
        );
    }
}

#[test]
fn xml_keys_are_normalised_like_the_others() {
    let event = parse_ok(
        EventKind::AfterCall,
        XML,
        b"<root><CDR_ID>ua0_-1.22</CDR_ID><callerId>0671112233</callerId><UTM-Source>fb</UTM-Source></root>",
        None,
    );
    assert_eq!(event.call_id, "ua0_-1.22");
    assert_eq!(event.client_phone.e164(), "+380671112233");
    assert_eq!(event.utm.source.as_deref(), Some("fb"));
}

#[test]
fn xml_nested_additional_call_data_with_the_root_winning() {
    let event = parse_ok(
        EventKind::AfterCall,
        XML,
        b"<root>\
            <uniqueid>root-id</uniqueid>\
            <additional_call_data>\
              <uniqueid>nested-id</uniqueid>\
              <caller>0501234567</caller>\
              <call_type>in</call_type>\
              <pool_name>Nested pool</pool_name>\
            </additional_call_data>\
            <caller>0671112233</caller>\
            <pool_name>  </pool_name>\
          </root>",
        None,
    );
    assert_eq!(event.call_id, "root-id");
    assert_eq!(event.client_phone.e164(), "+380671112233");
    assert_eq!(
        event.pool_name.as_deref(),
        Some("Nested pool"),
        "a blank root value does not hide a filled nested one"
    );
}

#[test]
fn xml_additional_call_data_as_a_json_string() {
    let event = parse_ok(
        EventKind::AfterCall,
        XML,
        br#"<root><uniqueid>ua0_-1.23</uniqueid><additional_call_data>{"caller":"0501234567","billsec":"9"}</additional_call_data></root>"#,
        None,
    );
    assert_eq!(event.client_phone.e164(), "+380501234567");
    assert_eq!(event.durations.talk, Some(9));
}

#[test]
fn xml_cdata_and_entities_are_decoded() {
    let event = parse_ok(
        EventKind::AfterCall,
        XML,
        "<root>\
            <uniqueid>ua0_-1.24</uniqueid>\
            <caller><![CDATA[\"Олена\" <0671112233>]]></caller>\
            <employee_fio>&#1054;&#x43B;ена &amp; &quot;Co&quot; &lt;1&gt; &apos;x&apos;</employee_fio>\
            <pool_name>Google <![CDATA[Ads & <more>]]></pool_name>\
          </root>"
            .as_bytes(),
        None,
    );
    assert_eq!(event.client_phone.e164(), "+380671112233");
    assert_eq!(
        event.employee.name.as_deref(),
        Some("Олена & \"Co\" <1> 'x'")
    );
    assert_eq!(event.pool_name.as_deref(), Some("Google Ads & <more>"));
}

#[test]
fn xml_attributes_comments_and_other_elements_are_ignored() {
    let fields = Fields::from_xml(
        br#"<!-- Ringostat --><root version="2" caller="0991112233">
              <?php echo 1; ?>
              <uniqueid kind="id">ua0_-1.25</uniqueid>
              <!-- <caller>0991112233</caller> -->
              <caller>0671112233</caller>
              <employee><name>not a field</name></employee>
            </root>"#,
    )
    .expect("well-formed");
    assert_eq!(fields.get(&fields::CALL_ID), Some("ua0_-1.25"));
    assert_eq!(fields.get(&fields::CALLER), Some("0671112233"));
    assert_eq!(fields.len(), 2, "{fields:?}");
}

#[test]
fn xml_without_fields_is_read_as_an_empty_body() {
    for body in [&b"<root/>"[..], b"<root>text only</root>", b"<root></root>"] {
        let fields = Fields::from_request(XML, body, Some("uniqueid=q&caller=0671112233"))
            .expect("well-formed");
        assert_eq!(fields.get(&fields::CALL_ID), Some("q"));
    }
}

#[test]
fn malformed_xml_is_invalid_xml_naming_the_problem() {
    let cases: [(&[u8], &str); 11] = [
        (b"<root><uniqueid>x</caller></root>", "uniqueid"),
        (b"<root><uniqueid>x</uniqueid>", "ends inside `<root>`"),
        (b"<root><uniqueid>x", "uniqueid"),
        (b"<root/><root/>", "after the root element"),
        (b"<root/>trailing", "text outside the root element"),
        (b"<root><a>&nbsp;</a></root>", "unknown entity `&nbsp;`"),
        (b"<root><a>&#0;</a></root>", "a"),
        (b"<root><a>x & y</a></root>", "reference not closed"),
        (b"<root a=1><b>2</b></root>", "attribute"),
        (b"<", "byte"),
        (
            br#"<?xml version="1.0" encoding="windows-1251"?><root/>"#,
            "windows-1251",
        ),
    ];
    for (body, problem) in cases {
        let shown = String::from_utf8_lossy(body);
        let err = parse_err(EventKind::AfterCall, XML, body, None);
        let EventError::Payload(PayloadError::InvalidXml(message)) = &err else {
            panic!("{shown}: {err:?}");
        };
        assert!(message.contains(problem), "{shown}: {message}");
        assert!(message.contains("byte"), "{shown}: {message}");
        assert_eq!(err.field(), None);
    }
}

#[test]
fn xml_error_positions_count_from_the_start_of_the_body() {
    let err = Fields::from_request(XML, b"  \n<root><a></b></root>", None).unwrap_err();
    let PayloadError::InvalidXml(message) = err else {
        panic!("{err:?}");
    };
    assert!(message.contains("byte 12"), "{message}");
    let err = Fields::from_request(XML, b"<root/><second/>", None).unwrap_err();
    assert_eq!(
        err,
        PayloadError::InvalidXml("`<second>` after the root element (at byte 7)".to_owned())
    );
}

#[test]
fn xml_header_with_a_body_that_is_neither_xml_nor_a_form_is_invalid_xml() {
    let err = parse_err(EventKind::AfterCall, XML, b"hello world", None);
    assert!(
        matches!(err, EventError::Payload(PayloadError::InvalidXml(_))),
        "{err:?}"
    );
}

#[test]
fn xml_body_that_is_not_utf8_is_refused() {
    let err = parse_err(EventKind::AfterCall, XML, b"<root><a>\xff</a></root>", None);
    assert_eq!(err, EventError::Payload(PayloadError::NotUtf8));
}

#[test]
fn xml_nested_deeper_than_json_may_be_is_refused_without_overflowing_the_stack() {
    let depth = 20_000;
    let body = format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
    let err = Fields::from_request(XML, body.as_bytes(), None).unwrap_err();
    let PayloadError::InvalidXml(message) = err else {
        panic!("{err:?}");
    };
    assert!(message.contains("nested deeper than 128"), "{message}");
    // As deep as allowed, it is read (the fields deeper than a nested object are ignored).
    let body = format!("<r>{}x{}</r>", "<a>".repeat(127), "</a>".repeat(127));
    assert!(Fields::from_request(XML, body.as_bytes(), None).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Ringostat's own examples (reference §1.4 a) and the reconstructed after-call (§1.5)
// ---------------------------------------------------------------------------------------------

const RINGOSTAT_EXAMPLE: &str = r#"{"calldate":"2019-06-02T09:30:47+0300","caller":"380441112233","dst":"380931112233",
 "pool_name":"Simple nums pool","disposition":"ANSWERED","category_mark":0,"duration":23,
 "call_type":"in","waittime":"12","billsec":11,"connected_with":"380671112233",
 "call_counter":2,"proper_flag":0,"repeated_flag":0,"utm_source":"(direct)","utm_medium":"(none)",
 "utm_campaign":"(direct)","utm_content":"(not set)","utm_term":"(none)","uniqueid":"unique_call_id",
 "category_number":-1,"employee_number":-1,"employee_mark":0,"client_id":"1169999034.15555555108",
 "remote_ip":"10.10.10.10","refferrer":"http://localhost:3000/","landing":"localhost/",
 "recording":"https://app.ringostat.com/recordings/unique_call_id.ogg?token=unique_audiofile_token",
 "call_card":"https://app.ringostat.com/project/callcards/card/unique_call_id/?project_id=11111",
 "additional_number":"","has_recording":"1","scheme_name":"test schema","duration_ms":"23000"}"#;

#[test]
fn ringostat_own_example_answered() {
    let event = parse_ok(
        EventKind::AfterCall,
        JSON,
        RINGOSTAT_EXAMPLE.as_bytes(),
        None,
    );
    assert_eq!(event.kind, EventKind::AfterCall);
    assert_eq!(event.call_id, "unique_call_id");
    assert_eq!(event.call_type, Some(CallType::In));
    assert_eq!(event.direction, Direction::Incoming);
    assert_eq!(event.client_phone.e164(), "+380441112233");
    assert_eq!(
        event.line_phone.as_ref().map(PhoneNumber::e164),
        Some("+380931112233")
    );
    assert_eq!(started_at(&event).as_deref(), Some("2019-06-02T06:30:47Z"));
    assert_eq!(event.disposition, Some(Disposition::Answered));
    assert_eq!(event.durations.total, Some(23));
    assert_eq!(event.durations.wait, Some(12));
    assert_eq!(event.durations.talk, Some(11));
    assert_eq!(event.status(), CallStatus::Answered);
    assert!(!event.is_in_progress());
    assert_eq!(
        event.recording_url.as_deref(),
        Some(
            "https://app.ringostat.com/recordings/unique_call_id.ogg?token=unique_audiofile_token"
        )
    );
    assert_eq!(
        event.call_card_url.as_deref(),
        Some("https://app.ringostat.com/project/callcards/card/unique_call_id/?project_id=11111")
    );
    assert_eq!(event.pool_name.as_deref(), Some("Simple nums pool"));
    // employee_number -1 means "no employee".
    assert_eq!(event.employee.id, None);
    assert_eq!(
        event.employee.connected_with.as_deref(),
        Some("380671112233")
    );
    assert_eq!(event.utm.source.as_deref(), Some("(direct)"));
    assert_eq!(event.utm.medium.as_deref(), Some("(none)"));
    assert_eq!(event.utm.campaign.as_deref(), Some("(direct)"));
    assert_eq!(event.utm.term.as_deref(), Some("(none)"));
    assert_eq!(event.utm.content, None, "(not set) is not a tag");
    assert_eq!(event.client_id.as_deref(), Some("1169999034.15555555108"));
    assert_eq!(event.landing.as_deref(), Some("localhost/"));
    assert!(event.analysis.is_empty());
    assert!(
        event.ignored_fields.is_empty(),
        "{:?}",
        event.ignored_fields
    );
}

#[test]
fn ringostat_own_example_no_answer() {
    let body = RINGOSTAT_EXAMPLE
        .replace(
            r#""disposition":"ANSWERED""#,
            r#""disposition":"NO ANSWER""#,
        )
        .replace(r#""duration":23"#, r#""duration":36"#)
        .replace(r#""waittime":"12""#, r#""waittime":"36""#)
        .replace(r#""billsec":11"#, r#""billsec":0"#)
        .replace(
            r#""connected_with":"380671112233""#,
            r#""connected_with":"""#,
        );
    assert!(
        body.contains(r#""billsec":0"#),
        "the replacement must apply"
    );
    let event = parse_ok(EventKind::AfterCall, JSON, body.as_bytes(), None);
    assert_eq!(event.call_id, "unique_call_id");
    assert_eq!(event.disposition, Some(Disposition::NoAnswer));
    assert_eq!(event.durations.total, Some(36));
    assert_eq!(event.durations.wait, Some(36));
    assert_eq!(event.durations.talk, Some(0));
    assert_eq!(event.status(), CallStatus::Missed);
    assert_eq!(event.employee.connected_with, None, "blank means absent");
    assert_eq!(event.client_phone.e164(), "+380441112233");
}

#[test]
fn reconstructed_after_call_example() {
    let body = r#"{
  "uniqueid": "ua0_-1731315881.12669683",
  "calldate": "2025-01-10 12:34:56",
  "call_type": "in",
  "caller": "380671112233",
  "dst": "380441112233",
  "disposition": "ANSWERED",
  "duration": 95, "waittime": 12, "billsec": 83,
  "employee_number": 111111, "employee_fio": "Іван Петренко", "department": "Sales",
  "has_recording": "1",
  "recording": "https://app.ringostat.com/recordings/ua0_-1731315881.12669683.wav?token=…",
  "pool_name": "Google Ads", "utm_source": "google", "utm_medium": "cpc",
  "utm_campaign": "brand", "utm_term": "…", "utm_content": "…",
  "call_card": "https://app.ringostat.com/project/callcards/card/ua0_-…/?project_id=12345"
}"#;
    let event = parse_ok(
        EventKind::AfterCall,
        JSON,
        body.as_bytes(),
        Some("event=after_call&t=secret"),
    );
    assert_eq!(event.call_id, "ua0_-1731315881.12669683");
    assert_eq!(event.direction, Direction::Incoming);
    assert_eq!(event.client_phone.e164(), "+380671112233");
    assert_eq!(event.client_phone.digits(), "380671112233");
    assert_eq!(
        event.line_phone.as_ref().map(PhoneNumber::e164),
        Some("+380441112233")
    );
    // No offset: Kyiv time, UTC+2 in January.
    assert_eq!(started_at(&event).as_deref(), Some("2025-01-10T10:34:56Z"));
    assert_eq!(event.status(), CallStatus::Answered);
    assert_eq!(
        (
            event.durations.total,
            event.durations.wait,
            event.durations.talk
        ),
        (Some(95), Some(12), Some(83))
    );
    assert_eq!(event.employee.id.as_deref(), Some("111111"));
    assert_eq!(event.employee.name.as_deref(), Some("Іван Петренко"));
    assert_eq!(event.employee.department.as_deref(), Some("Sales"));
    assert!(event.employee.is_known());
    assert_eq!(
        event.recording_url.as_deref(),
        Some("https://app.ringostat.com/recordings/ua0_-1731315881.12669683.wav?token=…")
    );
    assert!(event.call_card_url.is_some());
    assert_eq!(event.pool_name.as_deref(), Some("Google Ads"));
    assert_eq!(event.utm.source.as_deref(), Some("google"));
    assert_eq!(event.utm.medium.as_deref(), Some("cpc"));
    assert_eq!(event.utm.campaign.as_deref(), Some("brand"));
    assert!(
        event.ignored_fields.is_empty(),
        "{:?}",
        event.ignored_fields
    );
}

#[test]
fn classic_key_names_from_the_node_test_payload() {
    // Reference §1.4 c: the "classic" names (`call_id`, `callee`, `status`, `dialog`, …).
    let event = after_call(&json!({
        "call_id": "1111111111.1111",
        "caller": "\"Support PhonerLite\" <380671234567>",
        "callee": "380441112233",
        "status": "ANSWERED",
        "date": "2025-01-10 12:34:56",
        "call_duration": "40",
        "waiting": "10",
        "dialog": "30",
        "type": "in",
        "record": "https://app.ringostat.com/recordings/1111111111.1111.mp3?token=t",
        "has_recording": "1",
        "employee_fio": "Олена Петренко",
        "department": "Support",
        "staffid": "4242",
    }));
    assert_eq!(event.call_id, "1111111111.1111");
    assert_eq!(event.client_phone.e164(), "+380671234567");
    assert_eq!(
        event.line_phone.as_ref().map(PhoneNumber::e164),
        Some("+380441112233")
    );
    assert_eq!(event.disposition, Some(Disposition::Answered));
    assert_eq!(started_at(&event).as_deref(), Some("2025-01-10T10:34:56Z"));
    assert_eq!(
        (
            event.durations.total,
            event.durations.wait,
            event.durations.talk
        ),
        (Some(40), Some(10), Some(30))
    );
    assert_eq!(event.call_type, Some(CallType::In));
    assert_eq!(
        event.recording_url.as_deref(),
        Some("https://app.ringostat.com/recordings/1111111111.1111.mp3?token=t")
    );
    assert_eq!(event.employee.id.as_deref(), Some("4242"));
    assert_eq!(event.employee.name.as_deref(), Some("Олена Петренко"));
    assert_eq!(event.employee.department.as_deref(), Some("Support"));
}

#[test]
fn current_cabinet_names_with_userfield_as_the_client_number() {
    // Reference §0 and §1.4 c: the cabinet suggests `cdr_id`, `dst`, `userfield`, `disposition`,
    // `billsec`, `duration`, `recording_wav`; `userfield` is the client's number.
    let event = parse_ok(
        EventKind::AfterCall,
        FORM,
        b"cdr_id=ua18_-1791545397.2215926&dst=380441112233&userfield=380671112233\
          &disposition=NO+ANSWER&duration=20&billsec=0\
          &recording_wav=https%3A%2F%2Fapp.ringostat.com%2Frecordings%2Fx.wav%3Ftoken%3Dt",
        None,
    );
    assert_eq!(event.call_id, "ua18_-1791545397.2215926");
    assert_eq!(event.client_phone.e164(), "+380671112233");
    assert_eq!(
        event.line_phone.as_ref().map(PhoneNumber::e164),
        Some("+380441112233")
    );
    assert_eq!(event.status(), CallStatus::Missed);
    assert_eq!(
        event.recording_url.as_deref(),
        Some("https://app.ringostat.com/recordings/x.wav?token=t")
    );
}

// ---------------------------------------------------------------------------------------------
// Canonical names, aliases and key spellings
// ---------------------------------------------------------------------------------------------

#[test]
fn caller_under_camel_case_caller_id() {
    let event = after_call(&json!({"uniqueid": CALL_ID, "callerId": "0501234567"}));
    assert_eq!(event.client_phone.e164(), "+380501234567");
}

#[test]
fn caller_under_snake_case_caller_id() {
    let event = after_call(&json!({"uniqueid": CALL_ID, "caller_id": "0501234567"}));
    assert_eq!(event.client_phone.e164(), "+380501234567");
}

#[test]
fn caller_under_phone() {
    let event = after_call(&json!({"uniqueid": CALL_ID, "phone": "+380501234567"}));
    assert_eq!(event.client_phone.e164(), "+380501234567");
}

#[test]
fn caller_under_spelling_variant_caller_dash_id() {
    let event = after_call(&json!({"uniqueid": CALL_ID, "Caller-ID": "380501234567"}));
    assert_eq!(event.client_phone.e164(), "+380501234567");
}

#[test]
fn call_id_under_call_id() {
    let event = after_call(&json!({"call_id": "1111111111.1111", "caller": "0501234567"}));
    assert_eq!(event.call_id, "1111111111.1111");
}

#[test]
fn call_id_under_cdr_id() {
    let event = after_call(&json!({"cdr_id": "pl5_-1700000000.42", "caller": "0501234567"}));
    assert_eq!(event.call_id, "pl5_-1700000000.42");
}

#[test]
fn key_names_in_upper_case_and_other_spellings() {
    let event = after_call(&json!({
        "UNIQUEID": "kz1_-1700000000.7",
        "CALLER": "0501234567",
        "Call-Type": "IN",
        "Bill_Sec": "12",
        "UTM Source": "google",
    }));
    assert_eq!(event.call_id, "kz1_-1700000000.7");
    assert_eq!(event.client_phone.e164(), "+380501234567");
    assert_eq!(event.call_type, Some(CallType::In));
    assert_eq!(event.durations.talk, Some(12));
    assert_eq!(event.utm.source.as_deref(), Some("google"));
}

#[test]
fn nethunt_seed_names_map_to_utm_tags() {
    let event = after_call(&incoming(json!({
        "source": "google",
        "medium": "cpc",
        "campaign": "spring_sale",
        "keyword": "crm ukraine",
    })));
    assert_eq!(event.utm.source.as_deref(), Some("google"));
    assert_eq!(event.utm.medium.as_deref(), Some("cpc"));
    assert_eq!(event.utm.campaign.as_deref(), Some("spring_sale"));
    assert_eq!(event.utm.term.as_deref(), Some("crm ukraine"));
    assert_eq!(event.utm.content, None);
}

#[test]
fn canonical_caller_wins_over_its_aliases() {
    // `Fields::get` tries the canonical name first, then the aliases in order.
    let event = after_call(&json!({
        "uniqueid": CALL_ID,
        "phone": "0631112233",
        "callerId": "0671112233",
        "caller": "0501234567",
    }));
    assert_eq!(event.client_phone.e164(), "+380501234567");

    let event = after_call(&json!({
        "uniqueid": CALL_ID,
        "phone": "0631112233",
        "callerId": "0671112233",
    }));
    assert_eq!(
        event.client_phone.e164(),
        "+380671112233",
        "callerId is listed before phone"
    );
}

#[test]
fn canonical_call_id_wins_over_call_id_and_cdr_id() {
    let event = after_call(&json!({
        "cdr_id": "from-cdr-id",
        "call_id": "from-call-id",
        "uniqueid": "from-uniqueid",
        "caller": "0501234567",
    }));
    assert_eq!(event.call_id, "from-uniqueid");
}

#[test]
fn blank_canonical_value_falls_back_to_an_alias() {
    let event = after_call(&json!({
        "uniqueid": "  ",
        "call_id": "from-call-id",
        "caller": "",
        "phone": "0501234567",
    }));
    assert_eq!(event.call_id, "from-call-id");
    assert_eq!(event.client_phone.e164(), "+380501234567");
}

#[test]
fn canonical_utm_names_win_over_nethunt_names() {
    let event = after_call(&incoming(json!({
        "utm_source": "facebook",
        "source": "google",
        "utm_term": "bridge",
        "keyword": "crm",
    })));
    assert_eq!(event.utm.source.as_deref(), Some("facebook"));
    assert_eq!(event.utm.term.as_deref(), Some("bridge"));
}

// ---------------------------------------------------------------------------------------------
// Nested `additional_call_data`
// ---------------------------------------------------------------------------------------------

#[test]
fn nested_additional_call_data_object() {
    let event = after_call(&json!({
        "uniqueid": CALL_ID,
        "calldate": "2025-01-10 12:34:56",
        "additional_call_data": {
            "caller": "0501234567",
            "dst": "0441112233",
            "call_type": "in",
            "billsec": 5,
            "disposition": "ANSWERED",
        },
    }));
    assert_eq!(event.call_id, CALL_ID);
    assert_eq!(event.client_phone.e164(), "+380501234567");
    assert_eq!(
        event.line_phone.as_ref().map(PhoneNumber::e164),
        Some("+380441112233")
    );
    assert_eq!(event.durations.talk, Some(5));
    assert_eq!(event.status(), CallStatus::Answered);
}

#[test]
fn nested_additional_call_data_with_userfield_as_in_the_fastapi_receiver() {
    // Reference §1.4 c: top-level `uniqueid`, `calldate`; nested `userfield`, `dst`,
    // `call_type`, `action`.
    let event = after_call(&json!({
        "uniqueid": CALL_ID,
        "calldate": "2025-01-10T10:34:56Z",
        "additional_call_data": {
            "userfield": "380501234567",
            "dst": "380441112233",
            "call_type": "in",
            "action": "after_call",
        },
    }));
    assert_eq!(event.client_phone.e164(), "+380501234567");
    assert_eq!(event.direction, Direction::Incoming);
}

#[test]
fn nested_additional_call_data_as_a_json_string_inside_json() {
    let inner = json!({"caller": "0501234567", "call_type": "out", "dst": "0671112233"});
    let event = after_call(&json!({
        "uniqueid": CALL_ID,
        "additional_call_data": inner.to_string(),
    }));
    // The nested call_type says outgoing, so the client is `dst`.
    assert_eq!(event.direction, Direction::Outgoing);
    assert_eq!(event.client_phone.e164(), "+380671112233");
    assert_eq!(event.employee.connected_with.as_deref(), Some("0501234567"));
}

#[test]
fn nested_additional_call_data_as_a_json_string_in_a_form() {
    let inner = r#"{"caller":"0501234567","billsec":"9","utm_source":"google"}"#;
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("uniqueid", CALL_ID)
        .append_pair("additional_call_data", inner)
        .finish();
    let event = parse_ok(EventKind::AfterCall, FORM, body.as_bytes(), None);
    assert_eq!(event.call_id, CALL_ID);
    assert_eq!(event.client_phone.e164(), "+380501234567");
    assert_eq!(event.durations.talk, Some(9));
    assert_eq!(event.utm.source.as_deref(), Some("google"));
}

#[test]
fn root_keys_win_over_nested_ones_in_json() {
    let event = after_call(&json!({
        "additional_call_data": {
            "uniqueid": "nested-id",
            "caller": "0671112233",
            "disposition": "NO ANSWER",
            "pool_name": "Nested pool",
        },
        "uniqueid": "root-id",
        "caller": "0501234567",
        "disposition": "ANSWERED",
    }));
    assert_eq!(event.call_id, "root-id");
    assert_eq!(event.client_phone.e164(), "+380501234567");
    assert_eq!(event.disposition, Some(Disposition::Answered));
    assert_eq!(
        event.pool_name.as_deref(),
        Some("Nested pool"),
        "nested keys without a root twin are still read"
    );
}

#[test]
fn root_keys_win_over_nested_ones_in_a_form_whatever_the_order() {
    let nested = r#"{"uniqueid":"nested-id","caller":"0671112233"}"#;
    let nested_first: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("additional_call_data", nested)
        .append_pair("uniqueid", "root-id")
        .append_pair("caller", "0501234567")
        .finish();
    let nested_last: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("uniqueid", "root-id")
        .append_pair("caller", "0501234567")
        .append_pair("additional_call_data", nested)
        .finish();
    for (name, body) in [("nested first", nested_first), ("nested last", nested_last)] {
        let event = parse_ok(EventKind::AfterCall, FORM, body.as_bytes(), None);
        assert_eq!(event.call_id, "root-id", "{name}");
        assert_eq!(event.client_phone.e164(), "+380501234567", "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Dispositions and call status
// ---------------------------------------------------------------------------------------------

/// One test per disposition spelling: the raw value (in JSON), the parsed disposition, and the
/// status the CRM records when nobody talked (`billsec` 0).
macro_rules! disposition_cases {
    ($($name:ident: $raw:expr => $expected:expr, $status:expr;)+) => {$(
        #[test]
        fn $name() {
            let event = after_call(&incoming(json!({"disposition": $raw, "billsec": 0})));
            assert_eq!(event.disposition, Some($expected), "disposition {:?}", $raw);
            assert_eq!(event.status(), $status, "status of disposition {:?}", $raw);
        }
    )+};
}

disposition_cases! {
    disposition_answered_upper_case: "ANSWERED" => Disposition::Answered, CallStatus::Answered;
    disposition_answered_lower_case: "answered" => Disposition::Answered, CallStatus::Answered;
    disposition_no_answer_with_space: "NO ANSWER" => Disposition::NoAnswer, CallStatus::Missed;
    disposition_no_answer_with_literal_plus: "NO+ANSWER" => Disposition::NoAnswer, CallStatus::Missed;
    disposition_no_answer_percent_encoded: "NO%20ANSWER" => Disposition::NoAnswer, CallStatus::Missed;
    disposition_no_answer_snake_case: "no_answer" => Disposition::NoAnswer, CallStatus::Missed;
    disposition_no_answer_kebab_mixed_case: "No-Answer" => Disposition::NoAnswer, CallStatus::Missed;
    disposition_proper: "PROPER" => Disposition::Proper, CallStatus::Answered;
    disposition_repeated: "REPEATED" => Disposition::Repeated, CallStatus::Answered;
    disposition_busy: "BUSY" => Disposition::Busy, CallStatus::Missed;
    disposition_voicemail: "VOICEMAIL" => Disposition::Voicemail, CallStatus::Missed;
    disposition_failed: "FAILED" => Disposition::Failed, CallStatus::Missed;
    disposition_no_forward_with_dash: "NO-FORWARD" => Disposition::NoForward, CallStatus::Missed;
    disposition_client_no_answer: "CLIENT NO ANSWER" => Disposition::ClientNoAnswer, CallStatus::Missed;
    disposition_unknown_value_is_kept: "something  new" => Disposition::Other("SOMETHING NEW".to_owned()), CallStatus::Missed;
}

#[test]
fn disposition_no_answer_with_plus_in_a_form_body() {
    // In a form `+` is a space; `%2B` is a literal plus that Ringostat did not decode.
    for (name, body) in [
        (
            "plus",
            &b"uniqueid=1&caller=0501234567&disposition=NO+ANSWER"[..],
        ),
        (
            "%2B",
            &b"uniqueid=1&caller=0501234567&disposition=NO%2BANSWER"[..],
        ),
        (
            "%20",
            &b"uniqueid=1&caller=0501234567&disposition=NO%20ANSWER"[..],
        ),
    ] {
        let event = parse_ok(EventKind::AfterCall, FORM, body, None);
        assert_eq!(event.disposition, Some(Disposition::NoAnswer), "{name}");
    }
}

#[test]
fn disposition_under_status_and_call_status_aliases() {
    let event = after_call(&incoming(json!({"status": "BUSY"})));
    assert_eq!(event.disposition, Some(Disposition::Busy));
    let event = after_call(&incoming(json!({"call_status": "PROPER"})));
    assert_eq!(event.disposition, Some(Disposition::Proper));
}

#[test]
fn talk_time_makes_a_call_answered_despite_a_no_answer_disposition() {
    let event = after_call(&incoming(
        json!({"disposition": "NO ANSWER", "billsec": 14}),
    ));
    assert_eq!(event.disposition, Some(Disposition::NoAnswer));
    assert_eq!(event.status(), CallStatus::Answered);
}

#[test]
fn talk_time_makes_a_call_answered_without_any_disposition() {
    let event = after_call(&incoming(json!({"billsec": "3"})));
    assert_eq!(event.disposition, None);
    assert_eq!(event.status(), CallStatus::Answered);
}

#[test]
fn talk_time_makes_a_call_answered_with_a_custom_disposition() {
    let event = after_call(&incoming(json!({"disposition": "Успішний", "dialog": 61})));
    assert_eq!(
        event.disposition,
        Some(Disposition::Other("УСПІШНИЙ".to_owned()))
    );
    assert_eq!(event.status(), CallStatus::Answered);
}

#[test]
fn no_answer_with_zero_talk_time_is_missed() {
    let event = after_call(&incoming(
        json!({"disposition": "NO ANSWER", "billsec": 0, "waittime": 36}),
    ));
    assert_eq!(event.status(), CallStatus::Missed);
    assert!(!event.is_in_progress());
}

#[test]
fn no_disposition_and_no_talk_time_is_missed() {
    let event = after_call(&incoming(json!({})));
    assert_eq!(event.disposition, None);
    assert_eq!(event.durations.talk, None);
    assert_eq!(event.status(), CallStatus::Missed);
    assert!(!event.is_in_progress());
}

#[test]
fn in_progress_disposition_is_detected() {
    for raw in ["IN PROGRESS", "in_progress", "IN+PROGRESS"] {
        let event = after_call(&incoming(json!({"disposition": raw})));
        assert_eq!(event.disposition, Some(Disposition::InProgress), "{raw}");
        assert!(event.is_in_progress(), "{raw}");
    }
}

#[test]
fn calling_disposition_is_in_progress() {
    let event = after_call(&incoming(json!({"disposition": "CALLING"})));
    assert_eq!(event.disposition, Some(Disposition::Calling));
    assert!(event.is_in_progress());
}

#[test]
fn answered_call_is_not_in_progress() {
    let event = after_call(&incoming(json!({"disposition": "ANSWERED", "billsec": 3})));
    assert!(!event.is_in_progress());
}

// ---------------------------------------------------------------------------------------------
// Numbers and durations
// ---------------------------------------------------------------------------------------------

#[test]
fn durations_as_json_numbers() {
    let event = after_call(&incoming(
        json!({"duration": 95, "waittime": 12, "billsec": 83}),
    ));
    assert_eq!(
        (
            event.durations.total,
            event.durations.wait,
            event.durations.talk
        ),
        (Some(95), Some(12), Some(83))
    );
}

#[test]
fn durations_as_strings() {
    let event = after_call(&incoming(
        json!({"duration": "95", "waittime": " 12 ", "billsec": "83"}),
    ));
    assert_eq!(
        (
            event.durations.total,
            event.durations.wait,
            event.durations.talk
        ),
        (Some(95), Some(12), Some(83))
    );
}

#[test]
fn durations_as_decimal_strings_and_floats() {
    let event = after_call(&incoming(
        json!({"duration": "23.0", "waittime": 12.0, "billsec": "11.4"}),
    ));
    assert_eq!(
        (
            event.durations.total,
            event.durations.wait,
            event.durations.talk
        ),
        (Some(23), Some(12), Some(11))
    );
    assert!(
        event.ignored_fields.is_empty(),
        "{:?}",
        event.ignored_fields
    );
}

#[test]
fn total_duration_is_derived_from_wait_and_talk() {
    let event = after_call(&incoming(json!({"waittime": 12, "billsec": 11})));
    assert_eq!(event.durations.total, Some(23));
}

#[test]
fn talk_time_is_derived_from_total_minus_wait() {
    let event = after_call(&incoming(json!({"duration": 23, "waittime": "12"})));
    assert_eq!(event.durations.talk, Some(11));
    assert_eq!(event.status(), CallStatus::Answered);
}

#[test]
fn wait_time_is_derived_from_total_minus_talk() {
    let event = after_call(&incoming(json!({"call_duration": "40", "dialog": "30"})));
    assert_eq!(event.durations.wait, Some(10));
}

#[test]
fn unusable_duration_is_left_out_and_reported() {
    let event = after_call(&incoming(
        json!({"duration": "abc", "billsec": 11, "disposition": "ANSWERED"}),
    ));
    assert_eq!(event.durations.total, None);
    assert_eq!(event.durations.talk, Some(11));
    assert_eq!(event.ignored_fields, vec!["duration"]);
    assert_eq!(event.status(), CallStatus::Answered);
}

#[test]
fn negative_wait_time_is_left_out_and_reported() {
    let event = after_call(&incoming(json!({"waittime": "-5", "billsec": 3})));
    assert_eq!(event.durations.wait, None);
    assert_eq!(event.durations.talk, Some(3));
    assert_eq!(event.ignored_fields, vec!["waittime"]);
}

#[test]
fn phone_numbers_sent_as_json_numbers() {
    let event = after_call(&json!({
        "uniqueid": 1736505296.12345,
        "caller": 380501234567_u64,
        "dst": 380441112233_u64,
    }));
    assert_eq!(event.call_id, "1736505296.12345");
    assert_eq!(event.client_phone.e164(), "+380501234567");
    assert_eq!(
        event.line_phone.as_ref().map(PhoneNumber::e164),
        Some("+380441112233")
    );
}

// ---------------------------------------------------------------------------------------------
// call_type and direction
// ---------------------------------------------------------------------------------------------

/// One test per `call_type` value: parsed type and the direction it implies. The client's
/// number is in `caller` on incoming calls and in `dst` on outgoing ones.
macro_rules! call_type_cases {
    ($($name:ident: $kind:expr, $raw:expr => $expected:expr, $direction:expr;)+) => {$(
        #[test]
        fn $name() {
            let body = json!({
                "uniqueid": CALL_ID,
                "call_type": $raw,
                "caller": "0501234567",
                "dst": "0671112233",
            });
            let event = event_json($kind, &body);
            assert_eq!(event.call_type, Some($expected), "call_type {:?}", $raw);
            assert_eq!(event.direction, $direction, "direction of call_type {:?}", $raw);
            let client = match $direction {
                Direction::Incoming => "+380501234567",
                Direction::Outgoing => "+380671112233",
            };
            assert_eq!(event.client_phone.e164(), client, "client of call_type {:?}", $raw);
        }
    )+};
}

call_type_cases! {
    call_type_in: EventKind::AfterCall, "in" => CallType::In, Direction::Incoming;
    call_type_out: EventKind::AfterOutgoingCall, "out" => CallType::Out, Direction::Outgoing;
    call_type_callback_is_incoming: EventKind::AfterCall, "callback" => CallType::Callback, Direction::Incoming;
    call_type_transitin_is_incoming: EventKind::AfterCall, "transitin" => CallType::TransitIn, Direction::Incoming;
    call_type_transitout_is_outgoing: EventKind::AfterOutgoingCall, "transitout" => CallType::TransitOut, Direction::Outgoing;
    call_type_upper_case_out: EventKind::AfterOutgoingCall, "OUT" => CallType::Out, Direction::Outgoing;
    call_type_upper_case_callback: EventKind::AfterCall, "CALLBACK" => CallType::Callback, Direction::Incoming;
    call_type_out_beats_an_after_call_event: EventKind::AfterCall, "out" => CallType::Out, Direction::Outgoing;
    call_type_in_beats_an_after_outgoing_call_event: EventKind::AfterOutgoingCall, "in" => CallType::In, Direction::Incoming;
    call_type_unknown_falls_back_to_the_event_kind: EventKind::AfterOutgoingCall, "weird" => CallType::Other("weird".to_owned()), Direction::Outgoing;
}

#[test]
fn missing_call_type_takes_the_direction_of_the_event_kind() {
    let body = json!({"uniqueid": CALL_ID, "caller": "0501234567", "dst": "0671112233"});
    for (kind, direction, client) in [
        (EventKind::AfterCall, Direction::Incoming, "+380501234567"),
        (EventKind::BeforeCall, Direction::Incoming, "+380501234567"),
        (
            EventKind::AfterOutgoingCall,
            Direction::Outgoing,
            "+380671112233",
        ),
    ] {
        let event = event_json(kind, &body);
        assert_eq!(event.kind, kind);
        assert_eq!(event.call_type, None, "{kind:?}");
        assert_eq!(event.direction, direction, "{kind:?}");
        assert_eq!(event.client_phone.e164(), client, "{kind:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Outgoing calls and SIP parties
// ---------------------------------------------------------------------------------------------

#[test]
fn outgoing_call_with_sip_login_as_display_name() {
    let event = event_json(
        EventKind::AfterOutgoingCall,
        &json!({
            "uniqueid": CALL_ID,
            "caller": "\"itrixcom_Kontakt\" <itrixcom_Kontakt>",
            "dst": "380501234567",
            "disposition": "ANSWERED",
            "billsec": 20,
        }),
    );
    assert_eq!(event.direction, Direction::Outgoing);
    assert_eq!(event.client_phone.e164(), "+380501234567");
    assert_eq!(event.line_phone, None);
    assert_eq!(
        event.employee.sip_login.as_deref(),
        Some("itrixcom_Kontakt")
    );
    assert_eq!(event.employee.name.as_deref(), Some("itrixcom_Kontakt"));
    assert!(event.employee.is_known());
}

#[test]
fn outgoing_call_with_cyrillic_display_name_and_no_employee_fio() {
    let event = event_json(
        EventKind::AfterOutgoingCall,
        &json!({
            "uniqueid": CALL_ID,
            "caller": "\"Олена Петренко\" <mycompanycom_olena>",
            "dst": "0501234567",
        }),
    );
    assert_eq!(event.client_phone.e164(), "+380501234567");
    assert_eq!(
        event.employee.sip_login.as_deref(),
        Some("mycompanycom_olena")
    );
    assert_eq!(event.employee.name.as_deref(), Some("Олена Петренко"));
}

#[test]
fn outgoing_call_employee_fio_wins_over_the_display_name() {
    let event = event_json(
        EventKind::AfterOutgoingCall,
        &json!({
            "uniqueid": CALL_ID,
            "caller": "\"Olena\" <mycompanycom_olena>",
            "dst": "0501234567",
            "employee_fio": "Олена Петренко",
            "employee_number": "777",
        }),
    );
    assert_eq!(event.employee.name.as_deref(), Some("Олена Петренко"));
    assert_eq!(
        event.employee.sip_login.as_deref(),
        Some("mycompanycom_olena")
    );
    assert_eq!(event.employee.id.as_deref(), Some("777"));
}

#[test]
fn outgoing_call_caller_as_sip_uri() {
    let event = parse_ok(
        EventKind::AfterOutgoingCall,
        FORM,
        b"uniqueid=1&caller=%22Ivan%22+%3Csip%3Amycompanycom_ivan%40sip.ringostat.com%3E&dst=0501234567",
        None,
    );
    assert_eq!(
        event.employee.sip_login.as_deref(),
        Some("mycompanycom_ivan")
    );
    assert_eq!(event.employee.name.as_deref(), Some("Ivan"));
    assert_eq!(event.client_phone.e164(), "+380501234567");
}

#[test]
fn outgoing_call_from_an_employee_mobile_number() {
    let event = event_json(
        EventKind::AfterOutgoingCall,
        &outgoing(json!({"caller": "380671112233"})),
    );
    assert_eq!(event.employee.sip_login, None);
    assert_eq!(
        event.employee.connected_with.as_deref(),
        Some("380671112233")
    );
    assert_eq!(event.client_phone.e164(), "+380501234567");
}

#[test]
fn incoming_caller_wrapped_in_a_display_name_still_yields_the_client_phone() {
    let event = after_call(&incoming(
        json!({"caller": "\"Support PhonerLite\" <380671234567>"}),
    ));
    assert_eq!(event.client_phone.e164(), "+380671234567");
    assert_eq!(event.client_phone.digits(), "380671234567");
    assert_eq!(
        event.employee.sip_login, None,
        "no employee on the caller side"
    );
    assert_eq!(event.employee.name, None);
}

// ---------------------------------------------------------------------------------------------
// Phone numbers
// ---------------------------------------------------------------------------------------------

macro_rules! client_phone_cases {
    ($($name:ident: $raw:expr;)+) => {$(
        #[test]
        fn $name() {
            let event = after_call(&incoming(json!({"caller": $raw})));
            assert_eq!(event.client_phone.e164(), "+380501234567", "caller {:?}", $raw);
            assert_eq!(event.client_phone.digits(), "380501234567", "caller {:?}", $raw);
            assert_eq!(event.client_phone, phone("+380501234567"));
        }
    )+};
}

client_phone_cases! {
    client_phone_national_format: "0501234567";
    client_phone_international_without_plus: "380501234567";
    client_phone_formatted_with_plus_brackets_and_dashes: "+38 (050) 123-45-67";
    client_phone_soviet_trunk_prefix_with_spaces: "8 050 123 45 67";
}

#[test]
fn tracking_line_is_read_from_dst_on_incoming_calls() {
    let event = after_call(&incoming(json!({"dst": "+38 (044) 111-22-33"})));
    assert_eq!(
        event.line_phone.as_ref().map(PhoneNumber::e164),
        Some("+380441112233")
    );
}

#[test]
fn unusable_tracking_line_does_not_fail_the_call() {
    let event = after_call(&incoming(json!({"dst": "mycompanycom_line"})));
    assert_eq!(event.line_phone, None);
    assert_eq!(event.client_phone.e164(), "+380671112233");
}

// ---------------------------------------------------------------------------------------------
// Employee, recording, UTM, links
// ---------------------------------------------------------------------------------------------

#[test]
fn employee_number_minus_one_is_absent() {
    for raw in [json!(-1), json!("-1"), json!("0")] {
        let event = after_call(&incoming(json!({"employee_number": raw.clone()})));
        assert_eq!(event.employee.id, None, "employee_number {raw}");
        assert!(!event.employee.is_known(), "employee_number {raw}");
    }
    let event = after_call(&incoming(json!({"employee_number": 111111})));
    assert_eq!(event.employee.id.as_deref(), Some("111111"));
}

#[test]
fn employee_id_under_staffid_and_email() {
    let event = after_call(&incoming(json!({
        "staffid": "4242",
        "employee_email": "olena@example.com",
        "connected_with": "mycompanycom_olena",
    })));
    assert_eq!(event.employee.id.as_deref(), Some("4242"));
    assert_eq!(event.employee.email.as_deref(), Some("olena@example.com"));
    assert_eq!(
        event.employee.connected_with.as_deref(),
        Some("mycompanycom_olena")
    );
}

#[test]
fn has_recording_zero_drops_the_recording_link() {
    for flag in [
        json!("0"),
        json!(0),
        json!(false),
        json!("false"),
        json!("no"),
    ] {
        let event = after_call(&incoming(json!({
            "has_recording": flag.clone(),
            "recording": "https://app.ringostat.com/recordings/x.ogg?token=t",
        })));
        assert_eq!(event.recording_url, None, "has_recording {flag}");
        assert!(event.ignored_fields.is_empty(), "has_recording {flag}");
    }
}

#[test]
fn recording_without_has_recording_is_kept() {
    let event = after_call(&incoming(
        json!({"recording": "http://app.ringostat.com/recordings/x.ogg?token=t"}),
    ));
    assert_eq!(
        event.recording_url.as_deref(),
        Some("http://app.ringostat.com/recordings/x.ogg?token=t")
    );
}

#[test]
fn recording_that_is_not_a_url_is_ignored_and_reported() {
    let event = after_call(&incoming(json!({
        "has_recording": "1",
        "recording": "/recordings/x.ogg",
        "disposition": "ANSWERED",
    })));
    assert_eq!(event.recording_url, None);
    assert_eq!(event.ignored_fields, vec!["recording"]);
    assert_eq!(event.disposition, Some(Disposition::Answered));
}

#[test]
fn call_card_that_is_not_a_url_is_ignored_and_reported() {
    let event = after_call(&incoming(json!({"call_card": "card/123"})));
    assert_eq!(event.call_card_url, None);
    assert_eq!(event.ignored_fields, vec!["call_card"]);
}

#[test]
fn utm_content_not_set_is_none() {
    let event = after_call(&incoming(json!({
        "utm_content": "(not set)",
        "utm_term": "(NOT SET)",
        "utm_source": "google",
    })));
    assert_eq!(event.utm.content, None);
    assert_eq!(event.utm.term, None);
    assert_eq!(event.utm.source.as_deref(), Some("google"));
    assert!(!event.utm.is_empty());
}

// ---------------------------------------------------------------------------------------------
// calldate formats
// ---------------------------------------------------------------------------------------------

/// One test per date format: the raw `calldate` and the instant it names (UTC).
macro_rules! calldate_cases {
    ($($name:ident: $raw:expr => $expected:expr;)+) => {$(
        #[test]
        fn $name() {
            let event = after_call(&incoming(json!({"calldate": $raw})));
            assert_eq!(started_at(&event).as_deref(), Some($expected), "calldate {}", $raw);
            assert!(event.ignored_fields.is_empty(), "calldate {}: {:?}", $raw, event.ignored_fields);
        }
    )+};
}

calldate_cases! {
    calldate_iso_with_basic_offset: "2019-06-02T09:30:47+0300" => "2019-06-02T06:30:47Z";
    calldate_rfc3339_utc: "2025-01-10T10:34:56Z" => "2025-01-10T10:34:56Z";
    calldate_rfc3339_with_offset: "2025-01-10T12:34:56+02:00" => "2025-01-10T10:34:56Z";
    calldate_without_offset_is_kyiv_time_in_winter: "2025-01-10 12:34:56" => "2025-01-10T10:34:56Z";
    calldate_without_offset_is_kyiv_time_in_summer: "2025-07-10 12:34:56" => "2025-07-10T09:34:56Z";
    calldate_day_month_year: "10.01.2025 12:34:56" => "2025-01-10T10:34:56Z";
    calldate_epoch_seconds_string: "1736505296" => "2025-01-10T10:34:56Z";
    calldate_epoch_seconds_number: 1736505296_u64 => "2025-01-10T10:34:56Z";
    calldate_epoch_milliseconds: "1736505296000" => "2025-01-10T10:34:56Z";
    calldate_with_space_and_basic_offset: "2025-01-10 12:34:56+0200" => "2025-01-10T10:34:56Z";
    calldate_with_space_before_the_offset: "2025-01-10 12:34:56 +0200" => "2025-01-10T10:34:56Z";
    calldate_iso_without_offset_is_kyiv_time: "2025-01-10T12:34:56" => "2025-01-10T10:34:56Z";
    calldate_day_month_year_without_seconds: "10.01.2025 12:34" => "2025-01-10T10:34:00Z";
}

#[test]
fn calldate_under_call_date_alias() {
    let event = after_call(&incoming(json!({"call_date": "2025-01-10 12:34:56"})));
    assert_eq!(started_at(&event).as_deref(), Some("2025-01-10T10:34:56Z"));
}

#[test]
fn unparseable_calldate_is_left_out_and_reported() {
    for raw in ["yesterday", "2025-13-45 12:00:00", "17365"] {
        let event = after_call(&incoming(json!({"calldate": raw, "billsec": 5})));
        assert_eq!(event.started_at, None, "calldate {raw}");
        assert_eq!(event.ignored_fields, vec!["calldate"], "calldate {raw}");
        assert_eq!(event.durations.talk, Some(5), "the rest still parses");
    }
}

#[test]
fn calldate_without_offset_uses_the_configured_time_zone() {
    let options = ParseOptions {
        time_zone: jiff::tz::TimeZone::UTC,
    };
    let body = incoming(json!({"calldate": "2025-01-10 12:34:56"})).to_string();
    let event =
        CallEvent::from_request(EventKind::AfterCall, JSON, body.as_bytes(), None, &options)
            .unwrap();
    assert_eq!(started_at(&event).as_deref(), Some("2025-01-10T12:34:56Z"));
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[test]
fn missing_uniqueid_is_a_missing_field_error() {
    let err = error_json(
        EventKind::AfterCall,
        &json!({"caller": "0501234567", "dst": "0441112233"}),
    );
    assert!(
        matches!(
            err,
            EventError::MissingField {
                field: "uniqueid",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.field(), Some("uniqueid"));
    assert!(err.to_string().contains("`uniqueid`"), "{err}");
}

#[test]
fn blank_uniqueid_is_missing() {
    let err = parse_err(
        EventKind::AfterCall,
        FORM,
        b"uniqueid=++&caller=0501234567",
        None,
    );
    assert_eq!(err.field(), Some("uniqueid"));
}

#[test]
fn uniqueid_with_control_characters_is_invalid() {
    let err = error_json(
        EventKind::AfterCall,
        &json!({"uniqueid": "ua0_-1.1\u{0}x", "caller": "0501234567"}),
    );
    assert!(
        matches!(
            err,
            EventError::InvalidField {
                field: "uniqueid",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn missing_caller_on_an_incoming_call() {
    let err = error_json(
        EventKind::AfterCall,
        &json!({"uniqueid": CALL_ID, "dst": "0441112233"}),
    );
    assert!(
        matches!(
            err,
            EventError::MissingField {
                field: "caller",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.field(), Some("caller"));
    assert!(err.to_string().contains("missing field `caller`"), "{err}");
}

#[test]
fn missing_dst_on_an_outgoing_call() {
    let err = error_json(
        EventKind::AfterOutgoingCall,
        &json!({"uniqueid": CALL_ID, "caller": "\"Олена\" <mycompanycom_olena>"}),
    );
    assert!(
        matches!(err, EventError::MissingField { field: "dst", .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("`dst`"), "{err}");
}

#[test]
fn caller_that_is_not_a_number_is_invalid() {
    for raw in ["abc", "12", "anonymous", "\"Name\" <>"] {
        let err = error_json(
            EventKind::AfterCall,
            &json!({"uniqueid": CALL_ID, "caller": raw}),
        );
        assert!(
            matches!(
                err,
                EventError::InvalidField {
                    field: "caller",
                    ..
                }
            ),
            "caller {raw:?}: {err:?}"
        );
        assert_eq!(err.field(), Some("caller"));
        assert!(err.to_string().contains("`caller`"), "{err}");
    }
}

#[test]
fn dst_that_is_not_a_number_on_an_outgoing_call_is_invalid() {
    let err = error_json(
        EventKind::AfterOutgoingCall,
        &outgoing(json!({"dst": "mycompanycom_olena"})),
    );
    assert!(
        matches!(err, EventError::InvalidField { field: "dst", .. }),
        "{err:?}"
    );
}

#[test]
fn invalid_json_is_a_payload_error() {
    let err = parse_err(
        EventKind::AfterCall,
        JSON,
        br#"{"uniqueid": "x", "caller": "#,
        None,
    );
    assert!(
        matches!(err, EventError::Payload(PayloadError::InvalidJson(_))),
        "{err:?}"
    );
    assert_eq!(err.field(), None);
}

#[test]
fn invalid_json_without_content_type_is_a_payload_error() {
    let err = parse_err(EventKind::AfterCall, None, b"{uniqueid: x}", None);
    assert!(
        matches!(err, EventError::Payload(PayloadError::InvalidJson(_))),
        "{err:?}"
    );
}

#[test]
fn json_array_body_is_rejected() {
    let err = parse_err(
        EventKind::AfterCall,
        JSON,
        br#"[{"uniqueid":"x","caller":"0501234567"}]"#,
        None,
    );
    assert_eq!(
        err,
        EventError::Payload(PayloadError::JsonNotAnObject("an array"))
    );
    assert!(err.to_string().contains("an array"), "{err}");
}

#[test]
fn json_header_with_a_body_that_is_neither_json_nor_a_form_is_invalid_json() {
    for body in [
        &b"hello world"[..],
        b"caller: 0501234567",
        b"\"text\" and=more",
    ] {
        let err = parse_err(EventKind::AfterCall, JSON, body, None);
        assert!(
            matches!(err, EventError::Payload(PayloadError::InvalidJson(_))),
            "{:?}: {err:?}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn unknown_content_type_with_a_body_that_is_not_json_xml_or_a_form_is_unsupported() {
    let err = parse_err(
        EventKind::AfterCall,
        Some("text/html; charset=utf-8"),
        b"hello world",
        None,
    );
    assert_eq!(
        err,
        EventError::Payload(PayloadError::UnsupportedContentType("text/html".to_owned()))
    );
    assert!(err.to_string().contains("text/html"), "{err}");
}

#[test]
fn non_utf8_body_without_content_type_is_rejected_without_panic() {
    let err = parse_err(
        EventKind::AfterCall,
        None,
        &[0xff, 0xfe, b'u', 0x80, 0xc3],
        None,
    );
    assert_eq!(err, EventError::Payload(PayloadError::NotUtf8));
}

#[test]
fn non_utf8_json_body_is_rejected_without_panic() {
    let err = parse_err(EventKind::AfterCall, JSON, b"{\"uniqueid\":\"\xff\"}", None);
    assert!(
        matches!(err, EventError::Payload(PayloadError::InvalidJson(_))),
        "{err:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// "Call processed by AI"
// ---------------------------------------------------------------------------------------------

#[test]
fn call_processed_by_ai_fills_the_analysis() {
    let event = event_json(
        EventKind::CallAnalysis,
        &json!({
            "uniqueid": CALL_ID,
            "callerId": "380671112233",
            "Summary": "The client asked about delivery to Lviv.",
            "client_mood": "positive",
            "employee_mood": "neutral",
            "recommendations": "Send the price list by e-mail.",
            "vtt_url": "https://app.ringostat.com/recordings/ua0_-1731315881.12669683.vtt?token=t",
        }),
    );
    assert_eq!(event.kind, EventKind::CallAnalysis);
    assert_eq!(event.call_id, CALL_ID);
    assert_eq!(event.direction, Direction::Incoming);
    assert_eq!(event.client_phone.e164(), "+380671112233");
    assert_eq!(
        event.analysis.summary.as_deref(),
        Some("The client asked about delivery to Lviv.")
    );
    assert_eq!(event.analysis.client_mood.as_deref(), Some("positive"));
    assert_eq!(event.analysis.employee_mood.as_deref(), Some("neutral"));
    assert_eq!(event.analysis.overall_mood, None);
    assert_eq!(
        event.analysis.recommendations.as_deref(),
        Some("Send the price list by e-mail.")
    );
    assert_eq!(
        event.analysis.transcript_url.as_deref(),
        Some("https://app.ringostat.com/recordings/ua0_-1731315881.12669683.vtt?token=t")
    );
    assert!(!event.analysis.is_empty());
}

#[test]
fn call_processed_by_ai_under_alias_names() {
    let event = event_json(
        EventKind::CallAnalysis,
        &json!({
            "call_id": CALL_ID,
            "phone": "0671112233",
            "brief_summary": "Short call.",
            "customer_mood": "angry",
            "mood": "tense",
            "recommended_actions": "Escalate.",
        }),
    );
    assert_eq!(event.analysis.summary.as_deref(), Some("Short call."));
    assert_eq!(event.analysis.client_mood.as_deref(), Some("angry"));
    assert_eq!(event.analysis.overall_mood.as_deref(), Some("tense"));
    assert_eq!(event.analysis.recommendations.as_deref(), Some("Escalate."));
}

#[test]
fn call_processed_by_ai_without_ai_fields_has_an_empty_analysis() {
    let event = event_json(
        EventKind::CallAnalysis,
        &json!({"uniqueid": CALL_ID, "callerId": "380671112233", "summary": "  "}),
    );
    assert!(event.analysis.is_empty(), "{:?}", event.analysis);
    assert_eq!(event.client_phone.e164(), "+380671112233");
}
