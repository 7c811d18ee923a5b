//! A running bridge for end-to-end tests: the CRM sandbox, fresh DynamoDB tables on moto, and
//! the functions' handlers wired from configuration exactly as the binaries wire them.

use std::collections::HashMap;
use std::path::PathBuf;

use bridge_core::adapters::{DynamoDbCache, DynamoDbLedger};
use std::sync::Arc;
use std::time::Duration;

use bridge_core::bootstrap::{Adapters, HttpApps, Stack, click_to_call_app_from};
use bridge_core::config::{ClickToCallConfig, Config, ConfigError, local_defaults};
use bridge_core::ports::Crm;
use bridge_core::ports::CrmKind;
use bridge_core::secret::Secret;
use bridge_core::secret_store::SecretStore;
use bridge_core::webhook::ClickToCallApp;
use crm_sandbox::Sandbox;
use lambda_http::Request;
use serde_json::Value;

use crate::crm_view::CrmView;
use crate::{dynamodb_client, dynamodb_endpoint, unique_table_name};

/// A running bridge: the sandbox, its view, and the handlers' dependencies.
pub struct Rig {
    pub kind: CrmKind,
    pub sandbox: Sandbox,
    pub stack: Stack,
    /// The HTTP functions over `stack`, routed by the route table.
    pub apps: HttpApps,
    pub vars: HashMap<String, String>,
}

impl Rig {
    pub async fn new(kind: CrmKind) -> Self {
        Self::with(kind, &[]).await
    }

    /// The local defaults pointed at a fresh sandbox and a fresh DynamoDB table, then
    /// `overrides` (an empty value unsets a variable).
    pub async fn with(kind: CrmKind, overrides: &[(&str, &str)]) -> Self {
        Self::with_parameters(kind, overrides, &[]).await
    }

    /// As [`Rig::with`], with SSM parameters stored behind the sandbox's Parameters and Secrets
    /// extension before the bridge starts.
    pub async fn with_parameters(
        kind: CrmKind,
        overrides: &[(&str, &str)],
        parameters: &[(&str, &str)],
    ) -> Self {
        Self::start(
            kind,
            overrides,
            |sandbox| seed_parameters(sandbox, parameters),
            |crm| crm,
        )
        .await
    }

    /// As [`Rig::with`], on a sandbox `prepare`d before the bridge starts (a workspace with
    /// other field or column names, contacts stored by hand).
    pub async fn on_sandbox(
        kind: CrmKind,
        overrides: &[(&str, &str)],
        prepare: impl FnOnce(&Sandbox),
    ) -> Self {
        Self::start(kind, overrides, prepare, |crm| crm).await
    }

    /// As [`Rig::with`], with the CRM adapter wrapped by `wrap` (a gate, a delay) before the
    /// services are wired over it.
    pub async fn with_crm(
        kind: CrmKind,
        overrides: &[(&str, &str)],
        wrap: impl FnOnce(Arc<dyn Crm>) -> Arc<dyn Crm>,
    ) -> Self {
        Self::start(kind, overrides, |_| {}, wrap).await
    }

    /// A rig whose CRM passes through a [`GatedCrm`] whose searches answer `search_delay`
    /// late, and the gate, for forcing interleavings.
    pub async fn gated(
        kind: CrmKind,
        overrides: &[(&str, &str)],
        search_delay: Duration,
    ) -> (Self, Arc<crate::gated_crm::GatedCrm>) {
        let mut gate = None;
        let rig = Self::with_crm(kind, overrides, |crm| {
            let gated = crate::gated_crm::GatedCrm::with_search_delay(crm, search_delay);
            gate = Some(Arc::clone(&gated));
            gated
        })
        .await;
        (rig, gate.expect("the rig wrapped its CRM"))
    }

    async fn start(
        kind: CrmKind,
        overrides: &[(&str, &str)],
        prepare: impl FnOnce(&Sandbox),
        wrap: impl FnOnce(Arc<dyn Crm>) -> Arc<dyn Crm>,
    ) -> Self {
        let sandbox = Sandbox::start().await.expect("sandbox starts");
        prepare(&sandbox);
        let (table, parked) = (unique_table_name("e2e"), unique_table_name("e2e-parked"));
        let client = dynamodb_client(&dynamodb_endpoint());
        DynamoDbCache::create_table(&client, &table)
            .await
            .expect("cache table created on moto");
        DynamoDbLedger::create_parked_table(&client, &parked)
            .await
            .expect("parked-events table created on moto");
        let mut vars = local_defaults(kind.as_str());
        for (name, value) in [
            ("NETHUNT_BASE_URL", sandbox.nethunt_base_url()),
            ("DATAVERSE_URL", sandbox.dataverse_url()),
            ("DATAVERSE_AUTHORITY", sandbox.authority_url()),
            ("RINGOSTAT_API_URL", sandbox.ringostat_api_url()),
            ("CACHE_TABLE", table),
            ("PARKED_TABLE", parked),
            ("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_endpoint()),
        ] {
            vars.insert(name.into(), value);
        }
        for (name, value) in overrides {
            vars.insert((*name).into(), (*value).into());
        }
        let config = config(&sandbox, &vars)
            .await
            .expect("the configuration is valid");
        let mut adapters = Adapters::connect(&config).await.expect("the bridge starts");
        adapters.crm = wrap(adapters.crm);
        let stack = Stack::wire(config, adapters);
        let apps =
            HttpApps::of(&stack).with_click_to_call(click_to_call_app(&sandbox, &vars).await);
        Self {
            kind,
            sandbox,
            stack,
            apps,
            vars,
        }
    }

    /// `bridge-ops doctor` on the rig's variables and `changes` (an empty value unsets).
    pub async fn doctor(&self, changes: &[(&str, &str)]) -> bridge_core::doctor::Report {
        let mut vars = self.vars.clone();
        for (name, value) in changes {
            vars.insert((*name).into(), (*value).into());
        }
        let lookup = move |name: &str| vars.get(name).cloned().filter(|v| !v.is_empty());
        let secrets = SecretStore::new(
            self.sandbox.secrets_extension_url(),
            Secret::new("test-session-token"),
        );
        bridge_core::doctor::doctor(&lookup, &secrets).await
    }

    pub fn crm(&self) -> CrmView<'_> {
        let view = CrmView::new(self.kind, &self.sandbox);
        match self.vars.get("DATAVERSE_UTM_SOURCE_COLUMN") {
            Some(column) if !column.is_empty() => view.with_dataverse_utm_source(column),
            _ => view,
        }
    }

    pub fn system_user(&self) -> String {
        self.vars["SYSTEM_USER_ID"].clone()
    }

    pub fn manager(&self) -> String {
        let staff: Value = serde_json::from_str(&self.vars["STAFF"]).expect("staff JSON");
        staff[0]["crm_user_id"]
            .as_str()
            .expect("manager id")
            .to_owned()
    }

    /// The existing client of the events, owned by the manager.
    pub fn seed_existing_client(&self) -> String {
        self.crm()
            .seed_contact("+380501234567", "Марія Шевченко", &self.manager())
    }

    /// Feeds `events/<file>` to the function its path routes to, as API Gateway would.
    pub async fn invoke(&self, file: &str) -> Answer {
        self.send(event(file)).await
    }

    /// Sends a request to the function its path routes to (the route table).
    pub async fn send(&self, request: Request) -> Answer {
        let path = request.uri().path().to_owned();
        let response = self
            .apps
            .serve(request)
            .await
            .unwrap_or_else(|| panic!("no function serves {path}"));
        // As each function does after an invocation: the metrics it counted, written (a no-op
        // unless the test installed the metrics backend).
        bridge_core::webhook::metrics::flush();
        let status = response.status().as_u16();
        let reason = response
            .headers()
            .get("x-bridge-reason")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body: &[u8] = response.body().as_ref();
        let json = serde_json::from_slice(body).unwrap_or(Value::Null);
        let text = String::from_utf8_lossy(body).into_owned();
        Answer {
            status,
            json,
            reason,
            text,
            headers: response.headers().clone(),
        }
    }
}

/// The configuration from `vars`, secrets by reference through the sandbox's extension.
pub async fn config(
    sandbox: &Sandbox,
    vars: &HashMap<String, String>,
) -> Result<Config, ConfigError> {
    let lookup = |name: &str| vars.get(name).cloned().filter(|v| !v.is_empty());
    let secrets = SecretStore::new(
        sandbox.secrets_extension_url(),
        Secret::new("test-session-token"),
    );
    Config::load(&lookup, &secrets).await
}

/// Click-to-call's app from `vars`, as the click-to-call function builds it (its counters on
/// the rig's DynamoDB table); `None` when its configuration is invalid.
pub async fn click_to_call_app(
    sandbox: &Sandbox,
    vars: &HashMap<String, String>,
) -> Option<ClickToCallApp> {
    let lookup = |name: &str| vars.get(name).cloned().filter(|v| !v.is_empty());
    let secrets = SecretStore::new(
        sandbox.secrets_extension_url(),
        Secret::new("test-session-token"),
    );
    let config = ClickToCallConfig::load(&lookup, &secrets).await.ok()?;
    click_to_call_app_from(config).await.ok()
}

#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub json: Value,
    pub reason: Option<String>,
    /// The body as text (an HTML page; JSON is also in `json`).
    pub text: String,
    pub headers: lambda_http::http::HeaderMap,
}

impl Answer {
    pub fn field(&self, name: &str) -> &str {
        self.json[name].as_str().unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn assert_outcome(&self, outcome: &str) -> &Self {
        assert_eq!(self.status, 200, "{:?}", self.json);
        assert_eq!(self.field("outcome"), outcome, "{:?}", self.json);
        self
    }
}

/// `events/<file>` as the request Lambda would receive.
pub fn event(file: &str) -> Request {
    let text = std::fs::read_to_string(events_dir().join(file))
        .unwrap_or_else(|e| panic!("events/{file}: {e}"));
    lambda_http::request::from_str(&text)
        .unwrap_or_else(|e| panic!("events/{file} is not an API Gateway event: {e}"))
}

/// `events/<file>` with its JSON body changed by `edit` (another call id, another number).
pub fn event_with(file: &str, edit: impl FnOnce(&mut Value)) -> Request {
    let mut request = event(file);
    let mut body: Value = serde_json::from_slice(request.body().as_ref())
        .unwrap_or_else(|e| panic!("events/{file} has no JSON body: {e}"));
    edit(&mut body);
    *request.body_mut() = lambda_http::Body::from(body.to_string());
    request
}

pub fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events")
}

fn seed_parameters(sandbox: &Sandbox, parameters: &[(&str, &str)]) {
    for (name, value) in parameters {
        sandbox.state().seed_parameter(name, value);
    }
}

/// `request` as if API Gateway had received it at `received_ms` (epoch milliseconds): its
/// `requestContext.timeEpoch`.
pub fn received_at(request: Request, received_ms: u64) -> Request {
    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;
    let mut context = request.request_context();
    let RequestContext::ApiGatewayV2(gateway) = &mut context else {
        panic!("not an HTTP API (payload 2.0) request");
    };
    gateway.time_epoch = i64::try_from(received_ms).expect("an epoch time");
    request.with_request_context(context)
}
