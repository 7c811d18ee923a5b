//! The Lambda apps of each function kind, built from the environment.

use std::sync::Arc;

use bridge_domain::services::ClickToCall;
use bridge_lambda::routes::{RouteTarget, route_for_path};
use bridge_lambda::{
    ClickToCallApp, SmartForwardApp, WebhookApp, call_event, click_to_call, smart_forward,
};
use lambda_http::{Body, Request, Response};

use super::{Adapters, BuildError, Stack};
use crate::config::{ClickToCallConfig, Config};

/// A call webhook's app.
pub async fn webhook_app() -> Result<WebhookApp, BuildError> {
    Ok(Stack::from_env().await?.webhook_app())
}

/// The webhook number's app: the CRM and the cache, nothing else (no ledger, no Ringostat).
pub async fn smart_forward_app() -> Result<SmartForwardApp, BuildError> {
    let mut config = Config::from_env().await?;
    // The webhook number never calls Ringostat: no client to build.
    config.ringostat = None;
    let adapters = Adapters::connect(&config).await?;
    Ok(SmartForwardApp {
        token: config.tokens.webhook,
        forwarding: super::smart_forwarding(&config.settings, &adapters),
        settings: config.settings.forward,
    })
}

/// Click-to-call's app: no CRM, no tables.
pub async fn click_to_call_app() -> Result<ClickToCallApp, BuildError> {
    click_to_call_app_from(ClickToCallConfig::from_env().await?)
}

pub fn click_to_call_app_from(config: ClickToCallConfig) -> Result<ClickToCallApp, BuildError> {
    let dialer = config
        .ringostat
        .map(|c| bridge_adapters::ringostat::RingostatApi::new(c, Default::default()))
        .transpose()?
        .map(|api| Arc::new(api) as Arc<dyn bridge_domain::ports::Dialer>);
    Ok(ClickToCallApp {
        token: config.tokens.for_click_to_call().clone(),
        service: ClickToCall {
            staff: config.staff,
            default_extension: config.default_extension,
            dialer,
        },
        budget: config.budget,
    })
}

impl Stack {
    pub fn webhook_app(&self) -> WebhookApp {
        WebhookApp {
            token: self.tokens.webhook.clone(),
            delivery: self.delivery.clone(),
            parse: self.settings.parse.clone(),
            budget: self.settings.webhook_budget,
        }
    }

    pub fn smart_forward_app(&self) -> SmartForwardApp {
        SmartForwardApp {
            token: self.tokens.webhook.clone(),
            forwarding: self.smart_forwarding(),
            settings: self.settings.forward.clone(),
        }
    }

    /// Click-to-call over this stack's settings and Ringostat client.
    pub fn click_to_call_app(&self) -> ClickToCallApp {
        ClickToCallApp {
            token: self.tokens.for_click_to_call().clone(),
            service: ClickToCall {
                staff: self.settings.staff.clone(),
                default_extension: self.settings.click_to_call_extension.clone(),
                dialer: self
                    .adapters
                    .ringostat
                    .clone()
                    .map(|api| api as Arc<dyn bridge_domain::ports::Dialer>),
            },
            budget: self.settings.webhook_budget,
        }
    }
}

/// Every HTTP function of a stack in one process, routed by the route table (the test rig,
/// one-process local tools).
pub struct HttpApps {
    pub webhook: WebhookApp,
    pub smart_forward: SmartForwardApp,
    pub click_to_call: ClickToCallApp,
}

impl HttpApps {
    pub fn of(stack: &Stack) -> Self {
        Self {
            webhook: stack.webhook_app(),
            smart_forward: stack.smart_forward_app(),
            click_to_call: stack.click_to_call_app(),
        }
    }

    /// Answers `request` as the function its path routes to would; `None` for a path no
    /// function serves.
    pub async fn serve(&self, request: Request) -> Option<Response<Body>> {
        let route = route_for_path(request.uri().path())?;
        Some(match route.target {
            RouteTarget::CallEvent(kind) => call_event(&self.webhook, kind, request).await,
            RouteTarget::SmartForward => smart_forward(&self.smart_forward, request).await,
            RouteTarget::ClickToCall => click_to_call(&self.click_to_call, request).await,
            RouteTarget::Replay | RouteTarget::Reconcile => return None,
        })
    }
}
