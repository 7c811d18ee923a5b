//! Dataverse's (Smart CRM's) configuration section: the variables, their defaults and their
//! errors.

use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use bridge_domain::ports::crm::{Crm, CrmError, CrmKind};
use bridge_domain::settings::{NewContactOwner, UnknownWord};

use super::{Dataverse, DataverseConfig, MissedCallState};
use crate::env::{ConfigError, Env, Lookup};
use crate::http::RetryPolicy;
use crate::registry::{CrmProfile, CrmSection, ReadSection};
use crate::secret_store::SecretStore;

const SANDBOX: &str = "http://127.0.0.1:4010";

pub static PROFILE: CrmProfile = CrmProfile {
    kind: CrmKind::Dataverse,
    display_name: "Smart CRM",
    // The Smart CRM seed: new contacts belong to the system user.
    default_owner: NewContactOwner::SystemUser,
    system_user_hint: "systemuserid (GUID) of the Smart CRM user that owns new contacts",
    local_defaults: &[
        ("DATAVERSE_URL", SANDBOX),
        ("DATAVERSE_AUTHORITY", SANDBOX),
        ("DATAVERSE_TENANT_ID", "sandbox-tenant"),
        ("DATAVERSE_CLIENT_ID", "sandbox-client"),
        ("DATAVERSE_CLIENT_SECRET", "sandbox-secret"),
        ("SYSTEM_USER_ID", "5a0c1e2d-3b4f-4a5e-8c6d-7e8f90a1b2c1"),
        ("SYSTEM_USER_NAME", "# Ringostat Bridge"),
    ],
    local_manager_id: "5a0c1e2d-3b4f-4a5e-8c6d-7e8f90a1b2c2",
};

impl CrmSection for DataverseConfig {
    fn kind(&self) -> CrmKind {
        CrmKind::Dataverse
    }

    fn connect(&self, policy: &RetryPolicy) -> Result<Arc<dyn Crm>, CrmError> {
        Ok(Arc::new(Dataverse::new(self.clone(), policy.clone())?))
    }
}

impl FromStr for MissedCallState {
    type Err = UnknownWord;

    fn from_str(word: &str) -> Result<Self, Self::Err> {
        match word {
            "canceled" => Ok(Self::Canceled),
            "callback" => Ok(Self::CallBack),
            "open" => Ok(Self::Open),
            _ => Err(UnknownWord::expected("`canceled`, `callback` or `open`")),
        }
    }
}

#[async_trait]
impl ReadSection for DataverseConfig {
    const PROFILE: &'static CrmProfile = &PROFILE;

    /// Reads the Dataverse variables (the client secret through `secrets` when given by reference).
    async fn read(lookup: &Lookup<'_>, secrets: &SecretStore) -> Result<Self, ConfigError> {
        let env = Env(lookup);
        let secret = secrets
            .resolve("DATAVERSE_CLIENT_SECRET", lookup)
            .await?
            .ok_or(ConfigError::Missing {
                variable: "DATAVERSE_CLIENT_SECRET",
                hint: "the client secret of the Entra app registration; or DATAVERSE_CLIENT_SECRET_SSM_PARAMETER",
            })?;
        let mut config = DataverseConfig::new(
            env.required(
                "DATAVERSE_URL",
                "the environment URL, https://<org>.crm4.dynamics.com",
            )?,
            env.required("DATAVERSE_TENANT_ID", "the Entra directory (tenant) id")?,
            env.required(
                "DATAVERSE_CLIENT_ID",
                "the application (client) id of the app registration",
            )?,
            secret,
        );
        if let Some(authority) = env.get("DATAVERSE_AUTHORITY") {
            config.authority = authority;
        }
        if let Some(column) = env.get("DATAVERSE_PHONE_COLUMN") {
            config.contact_phone_column = column;
        }
        config.missed_call_state =
            env.parsed_or("DATAVERSE_MISSED_CALL_STATE", MissedCallState::Canceled)?;
        config.app_id = env.get("DATAVERSE_APP_ID");
        config.id_namespace = env.parsed::<uuid::Uuid>("DATAVERSE_ID_NAMESPACE")?;
        Ok(config)
    }
}
