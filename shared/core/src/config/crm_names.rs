//! `CRM_NAMES`: the CRM's field, folder and column names as one JSON object, for deployments
//! where one variable is easier to pass than many (the template's `CrmNames` parameter):
//! `{"NETHUNT_FIELD_DEAL_STAGE": "Стадія", "DATAVERSE_PHONE_COLUMN": "cr1a2_mobile"}`. A
//! variable set on its own wins over the same key here.

use std::collections::HashMap;

use bridge_adapters::env::{ConfigError, Lookup};

pub const VARIABLE: &str = "CRM_NAMES";

/// The names `CRM_NAMES` holds; empty when it is unset. Keys must be `NETHUNT_…` or
/// `DATAVERSE_…` variables that are not credentials, values strings: a typo fails loudly.
pub fn read(lookup: &Lookup<'_>) -> Result<HashMap<String, String>, ConfigError> {
    let Some(text) = lookup(VARIABLE) else {
        return Ok(HashMap::new());
    };
    let names: HashMap<String, String> = serde_json::from_str(&text).map_err(|e| {
        ConfigError::invalid(
            VARIABLE,
            format!("is not a JSON object of names to strings: {e}"),
        )
    })?;
    if let Some(key) = names.keys().find(|key| !is_name_variable(key)) {
        return Err(ConfigError::invalid(
            VARIABLE,
            format!("holds `{key}`: only NETHUNT_… and DATAVERSE_… names go here (no credentials)"),
        ));
    }
    Ok(names)
}

fn is_name_variable(key: &str) -> bool {
    let credential = [
        "_API_KEY",
        "_SECRET",
        "_SSM_PARAMETER",
        "_SECRET_ID",
        "_EMAIL",
    ]
    .iter()
    .any(|suffix| key.ends_with(suffix))
        || key.contains("CLIENT_")
        || key.contains("TENANT");
    (key.starts_with("NETHUNT_") || key.starts_with("DATAVERSE_")) && !credential
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_from(text: &str) -> Result<HashMap<String, String>, ConfigError> {
        let text = text.to_owned();
        read(&move |name: &str| (name == VARIABLE).then(|| text.clone()))
    }

    #[test]
    fn names_are_read_and_credentials_or_typos_refused() {
        let names = read_from(r#"{"NETHUNT_FIELD_DEAL_STAGE": "Стадія"}"#).unwrap();
        assert_eq!(names["NETHUNT_FIELD_DEAL_STAGE"], "Стадія");
        for (text, expected) in [
            (r#"{"NETHUNT_API_KEY": "x"}"#, "NETHUNT_API_KEY"),
            (
                r#"{"DATAVERSE_CLIENT_SECRET": "x"}"#,
                "DATAVERSE_CLIENT_SECRET",
            ),
            (r#"{"WEBHOOK_TOKEN": "x"}"#, "WEBHOOK_TOKEN"),
            (r#"{"NETHUNT_FIELD_PHONE": 1}"#, "JSON object"),
            ("Стадія", "JSON object"),
        ] {
            let error = read_from(text).unwrap_err().to_string();
            assert!(
                error.contains("CRM_NAMES") && error.contains(expected),
                "{error}"
            );
        }
    }
}
