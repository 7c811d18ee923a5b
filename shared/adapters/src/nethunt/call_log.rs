//! A record's timeline: call logs (create-call-log) and comments (create-comment), each looked
//! for first when an earlier attempt may have written it (`recheck`).

use bridge_domain::activity::CallActivity;
use bridge_domain::deadline::Deadline;
use bridge_domain::ports::crm::{CrmError, LoggedCall, NewNote};
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::client::expect_record;
use super::recheck::{Mark, Timeline, since_for};
use super::{DurationUnit, NetHunt};

impl NetHunt {
    /// `Crm::log_call`: subject and details as `text`, the start time and the duration. With
    /// `recheck`, a call log of this call found on the record (new-call-log since 10 minutes
    /// before the call) is the answer, `already_existed`, and nothing is written.
    pub(super) async fn create_call_log(
        &self,
        activity: &CallActivity,
        deadline: Deadline,
    ) -> Result<LoggedCall, CrmError> {
        let text = if activity.description.is_empty() {
            activity.subject.clone()
        } else {
            format!("{}\n{}", activity.subject, activity.description)
        };
        let record_id = &activity.regarding.id;
        if activity.recheck {
            let since = since_for(activity.started_at, Timestamp::now());
            let mark = Mark::of(&activity.call_id, &text);
            if let Some(id) = self
                .find_earlier_write(Timeline::CallLogs, record_id, &mark, since, deadline)
                .await?
            {
                tracing::info!(call_log_id = ?id, "NetHunt call log found from an earlier attempt");
                return Ok(LoggedCall {
                    id,
                    already_existed: true,
                });
            }
        }
        let mut body = Map::new();
        body.insert("text".into(), json!(text));
        if let Some(started) = activity.started_at {
            body.insert("time".into(), json!(iso_utc(started)));
        }
        body.insert(
            "duration".into(),
            duration_value(activity.duration_secs, self.config.call_log_duration_unit),
        );
        let url = self.url("actions/create-call-log", record_id, &[]);
        let response = self.post(&url, &Value::Object(body), deadline).await?;
        let logged = expect_record(response, record_id).await?;
        Ok(LoggedCall {
            id: logged
                .get("callLogId")
                .and_then(Value::as_str)
                .map(str::to_owned),
            already_existed: false,
        })
    }

    /// `Crm::add_note`: title and text as one comment. With `recheck`, a comment of this call
    /// found on the record (new-comment) means it is written already.
    pub(super) async fn create_comment(
        &self,
        note: &NewNote,
        deadline: Deadline,
    ) -> Result<(), CrmError> {
        let (title, text, contact_id) = (&note.title, &note.text, &note.contact_id);
        let text = match (title.trim().is_empty(), text.trim().is_empty()) {
            (false, false) => format!("{title}\n{text}"),
            (false, true) => title.clone(),
            (true, _) => text.clone(),
        };
        if note.recheck {
            // A note carries no time: look back as far as a recheck can come.
            let since = since_for(None, Timestamp::now());
            let mark = Mark::of(&note.call_id, &text);
            if let Some(id) = self
                .find_earlier_write(Timeline::Comments, contact_id, &mark, since, deadline)
                .await?
            {
                tracing::info!(comment_id = ?id, "NetHunt comment found from an earlier attempt");
                return Ok(());
            }
        }
        let url = self.url("actions/create-comment", contact_id, &[]);
        let response = self.post(&url, &json!({ "text": text }), deadline).await?;
        expect_record(response, contact_id).await.map(drop)
    }
}

/// `2024-05-01T10:00:00.000Z`, the shape of NetHunt's own timestamps.
pub(super) fn iso_utc(at: Timestamp) -> String {
    format!("{at:.3}")
}

pub(super) fn duration_value(secs: u32, unit: DurationUnit) -> Value {
    match unit {
        DurationUnit::Seconds => json!(secs),
        // Two decimals: 95 s → 1.58; exact seconds are in the text.
        DurationUnit::Minutes => json!((f64::from(secs) / 60.0 * 100.0).round() / 100.0),
    }
}
