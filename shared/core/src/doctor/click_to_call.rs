//! Click-to-call's own configuration, read as the click-to-call function reads it: only when
//! the environment names its key (the template deploys the function only then).

use bridge_adapters::env::ConfigError;
use tracing::instrument::WithSubscriber;
use tracing::subscriber::NoSubscriber;

use super::{Check, Inputs, readable_error};
use crate::config::ClickToCallConfig;

const NAME: &str = "Click-to-call";
const KEY_VARIABLES: [&str; 3] = [
    "CLICK_TO_CALL_KEY",
    "CLICK_TO_CALL_KEY_SSM_PARAMETER",
    "CLICK_TO_CALL_KEY_SECRET_ID",
];
const STALE_VARIABLES: [&str; 3] = [
    "CLICK_TO_CALL_TOKEN",
    "CLICK_TO_CALL_TOKEN_SSM_PARAMETER",
    "CLICK_TO_CALL_TOKEN_SECRET_ID",
];
const KEY_FIX: &str = "store a random value of at least 32 characters (`openssl rand -hex 32`), \
    different from WEBHOOK_TOKEN, in CLICK_TO_CALL_KEY (template: ClickToCallKeyParameter); \
    outside Lambda export the value itself";

pub(super) async fn check(inputs: &Inputs<'_, '_>) -> Check {
    let env = inputs.env();
    if let Some(stale) = STALE_VARIABLES.iter().find(|v| env.get(v).is_some()) {
        return Check::warning(
            NAME,
            format!(
                "{stale} is no longer read: click-to-call takes no token, its links are signed \
                 with CLICK_TO_CALL_KEY"
            ),
        )
        .variable(*stale)
        .fix("remove it, and set CLICK_TO_CALL_KEY (setup guide, section 4.2)");
    }
    if !KEY_VARIABLES.iter().any(|v| env.get(v).is_some()) {
        return Check::skipped(NAME, "no CLICK_TO_CALL_KEY: no click-to-call")
            .variable("CLICK_TO_CALL_KEY");
    }
    let loading = ClickToCallConfig::load(inputs.lookup, inputs.secrets)
        .with_subscriber(NoSubscriber::default());
    let config = match loading.await {
        Ok(config) => config,
        Err(error) => {
            let variable = match &error {
                ConfigError::Missing { variable, .. } | ConfigError::Invalid { variable, .. } => {
                    *variable
                }
                _ => "CLICK_TO_CALL_KEY",
            };
            let detail = readable_error(&error.to_string());
            let detail = detail.strip_prefix("configuration: ").unwrap_or(&detail);
            let fix = if variable == "CLICK_TO_CALL_KEY" {
                KEY_FIX.to_owned()
            } else {
                format!("correct {variable} (docs/configuration.md, “Click-to-call”)")
            };
            return Check::failed(NAME, format!("click-to-call cannot start: {detail}"))
                .variable(variable)
                .fix(fix);
        }
    };
    // The function cannot read the webhook token's parameter; the operator's shell can.
    if let Ok(Some(token)) = inputs.secrets.resolve("WEBHOOK_TOKEN", inputs.lookup).await
        && token.expose().trim() == config.key.expose().trim()
    {
        return Check::failed(NAME, "CLICK_TO_CALL_KEY is the webhook token")
            .variable("CLICK_TO_CALL_KEY")
            .fix(KEY_FIX);
    }
    let settings = &config.settings;
    let countries: Vec<&str> = settings
        .policy
        .countries()
        .iter()
        .map(|c| c.as_ref())
        .collect();
    let refused: Vec<&str> = settings
        .policy
        .refused()
        .iter()
        .map(|k| k.as_str())
        .collect();
    let limits = settings.limits;
    Check::ok(
        NAME,
        format!(
            "dials {} numbers, refuses {}; {} calls per manager and {} in all per {} min; \
             browsers stay set up {} days",
            countries.join(", "),
            if refused.is_empty() {
                "no kind".to_owned()
            } else {
                refused.join(", ")
            },
            limits.per_manager,
            limits.per_deployment,
            limits.window.as_secs() / 60,
            settings.device_lifetime.as_secs() / 86_400,
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::local_defaults;
    use crate::doctor::Verdict;
    use bridge_adapters::secret_store::SecretStore;
    use bridge_domain::secret::Secret;

    async fn check_with(changes: &[(&str, &str)]) -> Check {
        let mut vars = local_defaults("nethunt");
        for (name, value) in changes {
            vars.insert((*name).into(), (*value).into());
        }
        let lookup = move |name: &str| vars.get(name).cloned().filter(|v| !v.is_empty());
        let secrets = SecretStore::new("http://127.0.0.1:9", Secret::new("unused"));
        let inputs = Inputs {
            lookup: &lookup,
            secrets: &secrets,
            crm: None,
            broken: Vec::new(),
        };
        check(&inputs).await
    }

    #[tokio::test]
    async fn the_local_configuration_passes_and_says_what_it_allows() {
        let check = check_with(&[]).await;
        assert_eq!(check.verdict, Verdict::Ok, "{check:?}");
        assert!(check.detail.contains("dials UA numbers"), "{check:?}");
        assert!(check.detail.contains("30 calls per manager"), "{check:?}");
        assert!(
            !check.detail.contains("local-click-to-call-key"),
            "{check:?}"
        );
    }

    #[tokio::test]
    async fn a_missing_short_shared_or_stale_key_is_named() {
        let shared = "one-long-random-value-used-for-both-0123456789";
        for (changes, verdict, variable) in [
            (
                vec![("CLICK_TO_CALL_KEY", "")],
                Verdict::Skipped,
                "CLICK_TO_CALL_KEY",
            ),
            (
                vec![("CLICK_TO_CALL_KEY", "short")],
                Verdict::Failed,
                "CLICK_TO_CALL_KEY",
            ),
            (
                vec![("CLICK_TO_CALL_KEY", shared), ("WEBHOOK_TOKEN", shared)],
                Verdict::Failed,
                "CLICK_TO_CALL_KEY",
            ),
            (
                vec![("CLICK_TO_CALL_COUNTRIES", "Ukraine")],
                Verdict::Failed,
                "CLICK_TO_CALL_COUNTRIES",
            ),
            (
                vec![("CLICK_TO_CALL_TOKEN", "old-token-0123456789")],
                Verdict::Warning,
                "CLICK_TO_CALL_TOKEN",
            ),
        ] {
            let check = check_with(&changes).await;
            assert_eq!(check.verdict, verdict, "{changes:?}: {check:?}");
            assert_eq!(check.variable.as_deref(), Some(variable), "{check:?}");
            assert!(!check.detail.contains(shared), "{check:?}");
        }
    }
}
