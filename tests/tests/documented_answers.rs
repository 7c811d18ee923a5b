//! The answers `events/README.md` documents are the answers the functions give: every row of
//! its tables ("File | … | Expected answer") is run, in the README's order, through the
//! functions on the local run's data (the demo client, owned by the manager), for both CRMs,
//! and the documented status, outcome or error, JSON keys, `new_contact`, `deal_id`,
//! `x-bridge-reason` and "on the existing contact" are compared with what came back.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use bridge_core::ports::CrmKind;
use bridge_tests::rig::{Answer, Rig, events_dir};
use serde_json::Value;

/// One documented answer, as the README's last column states it.
#[derive(Debug, Default)]
struct Documented {
    status: u16,
    /// `call_logged`: the answer's `outcome` (or, for an error status, `error`).
    word: Option<String>,
    /// `{"error":"missing_field","field":"uniqueid",…}`: key/value pairs the JSON must hold.
    pairs: Vec<(String, String)>,
    new_contact: bool,
    deal: bool,
    existing_contact: bool,
    reason: Option<String>,
    /// `Set-Cookie: name=…`: the cookie the answer sets, up to its value.
    cookie: Option<String>,
}

/// The backticked spans of `cell`, in order.
fn code_spans(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

/// `"key":"value"` pairs of a documented JSON fragment (`…` stands for the rest).
fn pairs_of(fragment: &str) -> Vec<(String, String)> {
    let inner = fragment.trim_start_matches('{').trim_end_matches('}');
    inner
        .split(',')
        .filter_map(|pair| {
            let (key, value) = pair.split_once(':')?;
            let unquote = |s: &str| s.trim().trim_matches('"').to_owned();
            let value = value.trim();
            // `…` or a bare placeholder is not a value to compare.
            (value.starts_with('"')).then(|| (unquote(key), unquote(value)))
        })
        .collect()
}

fn parse(cell: &str) -> Documented {
    let status = cell
        .split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == 3)
        .and_then(|run| run.parse().ok())
        .unwrap_or_else(|| panic!("no status in `{cell}`"));
    let spans = code_spans(cell);
    let mut documented = Documented {
        status,
        new_contact: cell.contains("`new_contact: true`"),
        deal: cell.contains("`deal_id`"),
        existing_contact: cell.contains("on the existing contact")
            || cell.contains("with the existing contact"),
        ..Documented::default()
    };
    if let Some(first) = spans.first() {
        if first.starts_with('{') {
            documented.pairs = pairs_of(first);
        } else if first.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            documented.word = Some((*first).to_owned());
        }
    }
    documented.cookie = spans.iter().find_map(|span| {
        let rest = span.strip_prefix("Set-Cookie: ")?;
        Some(rest.split_once('=')?.0.to_owned() + "=")
    });
    documented.reason = spans
        .iter()
        .find_map(|span| span.strip_prefix("x-bridge-reason: "))
        .map(str::to_owned);
    documented
}

/// `(file, expected answer cell)` of every table row of events/README.md, in order.
fn documented_rows() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(events_dir().join("README.md")).unwrap();
    let rows: Vec<(String, String)> = readme
        .lines()
        .filter(|line| line.starts_with("| `") && line.contains(".json`"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
            let file = cells[0].trim().trim_matches('`').to_owned();
            (file, cells[cells.len() - 1].trim().to_owned())
        })
        .collect();
    rows.iter()
        .map(|(file, cell)| {
            // "same as `x.json`": that row's answer.
            let cell = match cell.strip_prefix("same as `") {
                Some(rest) => {
                    let other = rest.split('`').next().unwrap();
                    let (_, answer) = rows.iter().find(|(f, _)| f == other).unwrap();
                    answer.clone()
                }
                None => cell.clone(),
            };
            (file.clone(), cell)
        })
        .collect()
}

fn check(file: &str, documented: &Documented, answer: &Answer, existing: &str) {
    let context = format!("events/{file}: documented {documented:?}, answered {answer:?}");
    assert_eq!(answer.status, documented.status, "{context}");
    if let Some(word) = &documented.word {
        let key = if answer.status < 400 {
            "outcome"
        } else {
            "error"
        };
        // A page for a browser (click-to-call) names its decision in a header.
        let decision = answer
            .headers
            .get("x-bridge-decision")
            .and_then(|v| v.to_str().ok());
        let named = if answer.json.is_null() {
            decision
        } else {
            Some(answer.field(key))
        };
        assert_eq!(named, Some(word.as_str()), "{context}");
    }
    if let Some(cookie) = &documented.cookie {
        let set = answer
            .headers
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(set.starts_with(cookie.as_str()), "{context}");
    }
    for (key, value) in &documented.pairs {
        assert_eq!(answer.json[key].as_str(), Some(value.as_str()), "{context}");
    }
    if documented.new_contact {
        assert_eq!(answer.json["new_contact"], Value::Bool(true), "{context}");
    }
    if documented.deal {
        assert!(answer.json.get("deal_id").is_some(), "{context}");
    }
    if documented.existing_contact {
        assert_eq!(answer.field("contact_id"), existing, "{context}");
    }
    if let Some(reason) = &documented.reason {
        assert_eq!(answer.reason.as_deref(), Some(reason.as_str()), "{context}");
    }
}

async fn every_documented_answer_is_the_answer(kind: CrmKind) {
    let rows = documented_rows();
    let files = std::fs::read_dir(events_dir())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json")
        })
        .count();
    assert_eq!(
        rows.len(),
        files,
        "every events/ file has its documented answer"
    );
    let rig = Rig::new(kind).await;
    let existing = rig.seed_existing_client();
    for (file, cell) in rows {
        let documented = parse(&cell);
        let answer = rig.invoke(&file).await;
        check(&file, &documented, &answer, &existing);
    }
}

bridge_tests::for_both_crms!(every_documented_answer_is_the_answer);

#[test]
fn the_documented_cells_are_read_as_meant() {
    let d = parse(
        "200 `{\"destination\":\"acmeua_olena\"}`, header `x-bridge-reason: manager` (when …)",
    );
    assert_eq!(d.status, 200);
    assert_eq!(
        d.pairs,
        [("destination".to_owned(), "acmeua_olena".to_owned())]
    );
    assert_eq!(d.reason.as_deref(), Some("manager"));
    let d = parse("200 `call_logged`, `new_contact: true` (+ `deal_id`)");
    assert_eq!(d.word.as_deref(), Some("call_logged"));
    assert!(d.new_contact && d.deal && !d.existing_contact);
    let d = parse("400 `{\"error\":\"missing_field\",\"field\":\"uniqueid\",…}`; nothing written");
    assert_eq!(d.status, 400);
    assert_eq!(d.pairs.len(), 2);
}
