//! The CRM registry: the one place that knows every CRM the bridge can talk to.
//!
//! Each CRM's module exports a [`CrmModule`]: its [`CrmProfile`] (name, owner rule for new
//! contacts, local defaults) and the reading of its configuration section, which builds its
//! adapter. Adding a CRM is one folder beside `nethunt/` and one line in [`module`].

#[cfg(feature = "http")]
use std::fmt::Debug;
#[cfg(feature = "http")]
use std::sync::Arc;

use async_trait::async_trait;
use bridge_domain::ports::crm::CrmKind;
#[cfg(feature = "http")]
use bridge_domain::ports::crm::{Crm, CrmError};
use bridge_domain::settings::NewContactOwner;

use crate::env::{ConfigError, Lookup};
#[cfg(feature = "http")]
use crate::http::RetryPolicy;
#[cfg(feature = "secrets")]
use crate::secret_store::SecretStore;

/// What the bridge knows about a CRM besides its adapter.
#[derive(Debug)]
pub struct CrmProfile {
    pub kind: CrmKind,
    /// For people, and Smart Phone's `origin` of synced contacts.
    pub display_name: &'static str,
    /// Who owns a contact the bridge creates, unless `NEW_CONTACT_OWNER` says otherwise.
    pub default_owner: NewContactOwner,
    /// What `SYSTEM_USER_ID` is in this CRM.
    pub system_user_hint: &'static str,
    /// This CRM's part of the local run's embedded defaults (the sandbox's credentials).
    pub local_defaults: &'static [(&'static str, &'static str)],
    /// The sandbox's seeded manager, for the local run's `STAFF`.
    pub local_manager_id: &'static str,
}

/// A CRM's configuration, read and checked: it builds the adapter.
#[cfg(feature = "http")]
pub trait CrmSection: Debug + Send + Sync {
    fn kind(&self) -> CrmKind;
    fn connect(&self, policy: &RetryPolicy) -> Result<Arc<dyn Crm>, CrmError>;
}

/// A CRM's configuration type: its profile and how it is read from the environment. Each CRM
/// implements this once; [`Module`] makes it a [`CrmModule`].
#[cfg(all(feature = "secrets", feature = "http"))]
#[async_trait]
pub trait ReadSection: CrmSection + Sized + 'static {
    const PROFILE: &'static CrmProfile;

    async fn read(lookup: &Lookup<'_>, secrets: &SecretStore) -> Result<Self, ConfigError>;
}

/// The [`CrmModule`] of the configuration type `C`.
pub struct Module<C>(std::marker::PhantomData<fn() -> C>);

impl<C> Module<C> {
    pub const NEW: Self = Self(std::marker::PhantomData);
}

#[cfg(all(feature = "secrets", feature = "http"))]
#[async_trait]
impl<C: ReadSection> CrmModule for Module<C> {
    fn profile(&self) -> &'static CrmProfile {
        C::PROFILE
    }

    async fn read_section(
        &self,
        lookup: &Lookup<'_>,
        secrets: &SecretStore,
    ) -> Result<Box<dyn CrmSection>, ConfigError> {
        Ok(Box::new(C::read(lookup, secrets).await?))
    }
}

/// One CRM as the bridge sees it.
#[async_trait]
pub trait CrmModule: Send + Sync {
    fn profile(&self) -> &'static CrmProfile;

    /// Reads and checks this CRM's variables (secrets through `secrets`).
    #[cfg(all(feature = "secrets", feature = "http"))]
    async fn read_section(
        &self,
        lookup: &Lookup<'_>,
        secrets: &SecretStore,
    ) -> Result<Box<dyn CrmSection>, ConfigError>;
}

/// The module of `kind`; an error when this build left it out (a function without CRM).
pub fn module(kind: CrmKind) -> Result<&'static dyn CrmModule, ConfigError> {
    match kind {
        #[cfg(feature = "nethunt")]
        CrmKind::NetHunt => Ok(&Module::<crate::nethunt::NetHuntConfig>::NEW),
        #[cfg(feature = "dataverse")]
        CrmKind::Dataverse => Ok(&Module::<crate::dataverse::DataverseConfig>::NEW),
        #[allow(unreachable_patterns)]
        other => Err(ConfigError::invalid(
            "CRM",
            format!(
                "is `{}`, which this function was built without",
                other.as_str()
            ),
        )),
    }
}

/// Reads `CRM` and answers its module.
pub fn module_from(lookup: &Lookup<'_>) -> Result<&'static dyn CrmModule, ConfigError> {
    let env = crate::env::Env(lookup);
    let kind: CrmKind = env.parsed("CRM")?.ok_or(ConfigError::Missing {
        variable: "CRM",
        hint: "`nethunt` or `dataverse`",
    })?;
    module(kind)
}

#[cfg(all(test, feature = "nethunt", feature = "dataverse"))]
mod tests {
    use super::*;

    #[test]
    fn every_crm_has_a_module_whose_profile_is_its_own() {
        for (kind, name) in CrmKind::ALL {
            let module = module(kind).expect("built in");
            assert_eq!(module.profile().kind, kind, "{name}");
            assert!(!module.profile().local_defaults.is_empty(), "{name}");
        }
    }
}
