//! Test records in NetHunt: call logs found through the new-call-log trigger by their
//! `Ringostat ID:` line (as the recheck finds them, NH28), deals by name and contact link
//! (NH30). Nothing can be removed: the Integration API has no delete action (NH33).

use async_trait::async_trait;
use bridge_domain::deadline::Deadline;
use bridge_domain::ports::crm::CrmError;
use jiff::Timestamp;
use serde_json::Value;

use super::NetHunt;
use super::call_log::iso_utc;
use super::recheck::{Mark, is_earlier_write};
use crate::test_records::{Removal, TestRecord, TestRecords};

/// Call logs read at most: a test looks right after writing, so its own are the newest.
const CALL_LOG_PAGE: usize = 100;

#[async_trait]
impl TestRecords for NetHunt {
    async fn logged_call_text(
        &self,
        contact_id: &str,
        call_id: &str,
        since: Timestamp,
        deadline: Deadline,
    ) -> Result<Option<String>, CrmError> {
        let trigger = "triggers/new-call-log";
        let since = iso_utc(since);
        let limit = CALL_LOG_PAGE.to_string();
        let url = self.url(
            trigger,
            &self.config.contacts_folder_id,
            &[("since", &since), ("limit", &limit)],
        );
        let items = self.get_list(trigger, &url, true, deadline).await?;
        let mark = Mark::Call(call_id);
        Ok(items
            .iter()
            .find(|item| is_earlier_write(item, contact_id, &mark))
            .and_then(|item| item.get("text").and_then(Value::as_str))
            .map(str::to_owned))
    }

    async fn deal_of(
        &self,
        contact_id: &str,
        deal_name: &str,
        deadline: Deadline,
    ) -> Result<Option<String>, CrmError> {
        let Some(folder) = self.config.deals_folder_id.clone() else {
            return Ok(None);
        };
        self.find_deal_of(&folder, contact_id, deal_name, deadline)
            .await
    }

    async fn remove(&self, _record: &TestRecord, _deadline: Deadline) -> Removal {
        Removal::Impossible(
            "NetHunt's Integration API has no delete action: delete it in NetHunt by hand".into(),
        )
    }
}
