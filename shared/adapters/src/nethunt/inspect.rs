//! What `bridge-ops doctor` asks of the workspace before the first call needs it: the folders
//! the API user can read and write (`/triggers/readable-folder`, `/triggers/writable-folder`)
//! and each folder's field names (`/triggers/folder-field/{folderId}`, `docs/vendor-contracts.md`
//! NH3), and whether the grouped search of a number's other notations is accepted (NH31).
//! Read-only.

use bridge_domain::deadline::Deadline;
use bridge_domain::phone::PhoneNumber;
use bridge_domain::ports::crm::CrmError;
use serde_json::Value;

use super::NetHunt;
use super::contacts::{any_of_query, other_notations};

/// A folder as the folder triggers list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderFacts {
    pub id: String,
    pub name: String,
}

/// A field as `/triggers/folder-field` lists it; `kind` only when the answer says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldFacts {
    pub name: String,
    pub kind: Option<String>,
}

impl NetHunt {
    /// The Integration API root, for messages.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The folders the API user can read.
    pub async fn readable_folders(&self, deadline: Deadline) -> Result<Vec<FolderFacts>, CrmError> {
        self.folders("readable-folder", deadline).await
    }

    /// The folders the API user can write to.
    pub async fn writable_folders(&self, deadline: Deadline) -> Result<Vec<FolderFacts>, CrmError> {
        self.folders("writable-folder", deadline).await
    }

    async fn folders(
        &self,
        trigger: &str,
        deadline: Deadline,
    ) -> Result<Vec<FolderFacts>, CrmError> {
        let url = self.url("triggers", trigger, &[]);
        let items = self.get_list(trigger, &url, false, deadline).await?;
        Ok(items
            .iter()
            .filter_map(|folder| {
                Some(FolderFacts {
                    id: text(folder.get("id")?)?,
                    name: folder.get("name").and_then(text).unwrap_or_default(),
                })
            })
            .collect())
    }

    /// The fields of `folder_id`; `None` when NetHunt knows no such folder (404).
    pub async fn folder_fields(
        &self,
        folder_id: &str,
        deadline: Deadline,
    ) -> Result<Option<Vec<FieldFacts>>, CrmError> {
        let url = self.url("triggers/folder-field", folder_id, &[]);
        match self.get_list("folder-field", &url, false, deadline).await {
            Ok(items) => Ok(Some(
                items
                    .iter()
                    .filter_map(|field| {
                        Some(FieldFacts {
                            name: text(field.get("name")?)?,
                            kind: ["type", "fieldType", "kind"]
                                .iter()
                                .find_map(|key| field.get(*key).and_then(text)),
                        })
                    })
                    .collect(),
            )),
            Err(CrmError::NotFound(_)) => Ok(None),
            Err(error) => Err(error),
        }
    }
}

impl NetHunt {
    /// The grouped find-record of `phone`'s other notations, as a lookup sends it when the
    /// E.164 search finds nothing, without the fallback: `Err` when NetHunt refuses it.
    pub async fn probe_other_notations(
        &self,
        phone: &PhoneNumber,
        deadline: Deadline,
    ) -> Result<(), CrmError> {
        let query = any_of_query(&self.config.fields.phone, &other_notations(phone));
        self.find_records(&[("query", &query), ("limit", "1")], deadline)
            .await
            .map(drop)
    }
}

/// A string, or a number written as one (folder ids may come as either).
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
