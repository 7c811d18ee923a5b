//! Secrets read once per execution environment: a value given directly in the environment,
//! or a reference to SSM Parameter Store or Secrets Manager.
//!
//! For a configuration value `NAME` the lookup order is:
//!
//! 1. `NAME` itself, when set and not blank (local runs, tests);
//! 2. `NAME_SSM_PARAMETER`: a parameter name or ARN, read with decryption (SecureString);
//! 3. `NAME_SECRET_ID`: a Secrets Manager secret name or ARN, its `SecretString` as a whole.
//!
//! Two ways to read references:
//!
//! - **Parameter Store's API** (the default): the first reference asked for reads every
//!   reference in the environment with one `GetParameters` (ten names a request), decrypted;
//!   Secrets Manager secrets come through Parameter Store's `/aws/reference/secretsmanager/`
//!   names. This works during INIT, so a function reads its configuration before it asks for
//!   its first event (the cold-start figures in docs/benchmarks.md).
//! - **The AWS "Parameters and Secrets Lambda Extension"**, when
//!   `PARAMETERS_SECRETS_EXTENSION_HTTP_PORT` is set (a layer someone added):
//!   `GET /systemsmanager/parameters/get?name=…&withDecryption=true` → `{"Parameter":{"Value":…}}`
//!   and `GET /secretsmanager/get?secretId=…` → `{"SecretString":…}`, both with the header
//!   `X-Aws-Parameters-Secrets-Token: $AWS_SESSION_TOKEN` (its guard against SSRF). It answers
//!   only during invocations, so such a function reads its configuration on its first event.
//!   It passes AWS errors on as 4xx with the AWS error text; that text names the parameter,
//!   never its value, so it is kept in errors.
//!
//! Values are trimmed: a trailing newline pasted into the console is the usual way a key
//! "stops working".

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bridge_domain::deadline::Deadline;
use reqwest::{Client, StatusCode};
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::http::{self, Replay, RetryPolicy};
use bridge_domain::secret::Secret;

/// The extension's port unless `PARAMETERS_SECRETS_EXTENSION_HTTP_PORT` says otherwise.
pub const DEFAULT_EXTENSION_PORT: u16 = 2773;
pub const PORT_VARIABLE: &str = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT";
/// The header carrying the function's session token.
pub const TOKEN_HEADER: &str = "X-Aws-Parameters-Secrets-Token";
/// Suffix of the variable holding an SSM parameter name.
pub const SSM_PARAMETER_SUFFIX: &str = "_SSM_PARAMETER";
/// Suffix of the variable holding a Secrets Manager secret id.
pub const SECRET_ID_SUFFIX: &str = "_SECRET_ID";

/// Longest piece of an extension error body kept in an error.
const MAX_REASON_CHARS: usize = 300;

/// Reads secrets given by reference: through Parameter Store's API, or through the
/// Parameters and Secrets extension.
#[derive(Clone)]
pub struct SecretStore {
    source: Source,
}

#[derive(Clone)]
enum Source {
    Api(Arc<ParameterStore>),
    Extension(Extension),
}

/// The extension's local endpoint.
#[derive(Clone)]
struct Extension {
    /// The client, or why it could not be built (reported by [`SecretStore::resolve`], so that
    /// building the store stays infallible and a direct value still works).
    client: Result<Client, String>,
    endpoint: String,
    session_token: Secret,
    policy: RetryPolicy,
}

impl fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Source::Api(_) => f
                .debug_struct("SecretStore")
                .field("source", &"parameter store")
                .finish(),
            Source::Extension(extension) => f
                .debug_struct("SecretStore")
                .field("endpoint", &extension.endpoint)
                .field("session_token", &extension.session_token)
                .finish_non_exhaustive(),
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum SecretStoreError {
    /// The parameter or secret does not exist (or the name is not valid for AWS).
    #[error("{variable}: {reference} was not found")]
    NotFound { variable: String, reference: String },
    /// The extension or AWS refused: missing token, or no IAM permission (`ssm:GetParameter`,
    /// `secretsmanager:GetSecretValue`, `kms:Decrypt`).
    #[error("{variable}: access to {reference} was denied: {reason}")]
    Denied {
        variable: String,
        reference: String,
        reason: String,
    },
    /// The extension did not answer usefully (not running, timeout, 5xx, other errors).
    #[error("{variable}: could not read {reference}: {reason}")]
    Unavailable {
        variable: String,
        reference: String,
        reason: String,
    },
    /// The answer has no usable value (binary secret, empty value, unexpected JSON).
    #[error("{variable}: {reference} has no usable value: {reason}")]
    Malformed {
        variable: String,
        reference: String,
        reason: String,
    },
}

impl SecretStoreError {
    /// Whether a later cold start may succeed without a configuration change.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

/// What a variable points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Parameter,
    Secret,
}

struct Reference<'a> {
    kind: Kind,
    /// The variable holding the reference, e.g. `RINGOSTAT_AUTH_KEY_SSM_PARAMETER`.
    variable: &'a str,
    /// The parameter name or secret id.
    id: &'a str,
}

impl Reference<'_> {
    fn describe(&self) -> String {
        match self.kind {
            Kind::Parameter => format!("SSM parameter `{}`", self.id),
            Kind::Secret => format!("secret `{}`", self.id),
        }
    }

    fn not_found(&self) -> SecretStoreError {
        SecretStoreError::NotFound {
            variable: self.variable.to_owned(),
            reference: self.describe(),
        }
    }

    fn denied(&self, reason: String) -> SecretStoreError {
        SecretStoreError::Denied {
            variable: self.variable.to_owned(),
            reference: self.describe(),
            reason,
        }
    }

    fn unavailable(&self, reason: String) -> SecretStoreError {
        SecretStoreError::Unavailable {
            variable: self.variable.to_owned(),
            reference: self.describe(),
            reason,
        }
    }

    fn malformed(&self, reason: &str) -> SecretStoreError {
        SecretStoreError::Malformed {
            variable: self.variable.to_owned(),
            reference: self.describe(),
            reason: reason.to_owned(),
        }
    }
}

impl SecretStore {
    /// From the environment: the extension when `PARAMETERS_SECRETS_EXTENSION_HTTP_PORT` is
    /// set (endpoint `http://localhost:{port}`, token `AWS_SESSION_TOKEN`), else Parameter
    /// Store's API with the Lambda environment's credentials and region.
    pub fn from_env() -> Self {
        let Ok(raw) = std::env::var(PORT_VARIABLE) else {
            return Self::parameter_store(ParameterStore::client_from_env());
        };
        let port = raw.trim().parse::<u16>().unwrap_or_else(|_| {
            tracing::warn!(
                variable = PORT_VARIABLE,
                "not a port number; using the extension's default"
            );
            DEFAULT_EXTENSION_PORT
        });
        let token = std::env::var("AWS_SESSION_TOKEN").unwrap_or_default();
        Self::new(format!("http://localhost:{port}"), Secret::new(token))
    }

    /// Through the extension at `endpoint`.
    pub fn new(endpoint: impl Into<String>, session_token: Secret) -> Self {
        // The extension is local: 2 s is plenty, and one retry covers it starting late.
        let policy = RetryPolicy {
            request_timeout: Duration::from_secs(2),
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
            max_attempts: 2,
            service: "secrets",
        };
        let client = http::shared_client().map_err(|e| e.to_string());
        Self {
            source: Source::Extension(Extension {
                client,
                endpoint: endpoint.into().trim().trim_end_matches('/').to_owned(),
                session_token,
                policy,
            }),
        }
    }

    /// Through Parameter Store's API with `client`: every reference in the process
    /// environment is read with the first one asked for.
    pub fn parameter_store(client: aws_sdk_ssm::Client) -> Self {
        Self::parameter_store_reading(client, std::env::vars())
    }

    /// As [`Self::parameter_store`], the references taken from `variables` (name, value)
    /// instead of the process environment.
    pub fn parameter_store_reading(
        client: aws_sdk_ssm::Client,
        variables: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        let mut names: Vec<String> = variables
            .into_iter()
            .filter_map(|(variable, value)| {
                let kind = if variable.ends_with(SSM_PARAMETER_SUFFIX) {
                    Kind::Parameter
                } else if variable.ends_with(SECRET_ID_SUFFIX) {
                    Kind::Secret
                } else {
                    return None;
                };
                non_blank(Some(value)).map(|id| parameter_name(kind, &id))
            })
            .collect();
        names.sort();
        names.dedup();
        Self {
            source: Source::Api(Arc::new(ParameterStore {
                client,
                environment: names,
                read: OnceCell::new(),
            })),
        }
    }

    /// Whether references can be read before the first invocation (Parameter Store's API:
    /// yes; the extension answers only during invocations).
    pub fn reads_during_init(&self) -> bool {
        matches!(self.source, Source::Api(_))
    }

    /// Resolves configuration value `name` with `lookup` (an env-like function): `NAME` itself
    /// if set and not blank; else `NAME_SSM_PARAMETER` (fetched with decryption); else
    /// `NAME_SECRET_ID`; `Ok(None)` when none is set. Errors name the variable and the
    /// reference, never the value.
    pub async fn resolve(
        &self,
        name: &str,
        lookup: &(dyn Fn(&str) -> Option<String> + Send + Sync),
    ) -> Result<Option<Secret>, SecretStoreError> {
        if let Some(value) = non_blank(lookup(name)) {
            return Ok(Some(Secret::new(value)));
        }
        for (suffix, kind) in [
            (SSM_PARAMETER_SUFFIX, Kind::Parameter),
            (SECRET_ID_SUFFIX, Kind::Secret),
        ] {
            let variable = format!("{name}{suffix}");
            if let Some(id) = non_blank(lookup(&variable)) {
                let reference = Reference {
                    kind,
                    variable: &variable,
                    id: &id,
                };
                // Boxed: the SDK's request future is deep, and every function's `main`
                // future would carry its type (rustc's query depth limit).
                return match &self.source {
                    Source::Extension(extension) => Box::pin(extension.fetch(&reference)).await,
                    Source::Api(store) => Box::pin(store.fetch(&reference)).await,
                }
                .map(Some);
            }
        }
        Ok(None)
    }
}

impl Extension {
    async fn fetch(&self, reference: &Reference<'_>) -> Result<Secret, SecretStoreError> {
        let client = self
            .client
            .as_ref()
            .map_err(|e| reference.unavailable(e.clone()))?;
        let url = match reference.kind {
            Kind::Parameter => format!(
                "{}/systemsmanager/parameters/get?{}",
                self.endpoint,
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("name", reference.id)
                    .append_pair("withDecryption", "true")
                    .finish()
            ),
            Kind::Secret => format!(
                "{}/secretsmanager/get?{}",
                self.endpoint,
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("secretId", reference.id)
                    .finish()
            ),
        };
        // Two attempts of at most 2 s each plus a short pause.
        let deadline = Deadline::after(Duration::from_secs(5));
        let response = http::send(
            || {
                client
                    .get(&url)
                    .header(TOKEN_HEADER, self.session_token.expose())
            },
            Replay::Safe,
            &self.policy,
            deadline,
        )
        .await
        .map_err(|e| reference.unavailable(e.to_string()))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|_| reference.unavailable("could not read the answer".into()))?;
        if !status.is_success() {
            return Err(classify_failure(reference, status, &body));
        }
        let value = read_value(reference, &body)?;
        tracing::debug!(
            variable = reference.variable,
            "secret read from the Parameters and Secrets extension"
        );
        Ok(value)
    }
}

/// Parameter Store's API: one `GetParameters` for every reference in the environment.
struct ParameterStore {
    client: aws_sdk_ssm::Client,
    /// The Parameter Store names of every reference in the environment.
    environment: Vec<String>,
    /// Every reference of the environment, by the name asked for, once a read succeeded
    /// (a failed read is tried again by the next build).
    read: OnceCell<HashMap<String, Fetched>>,
}

/// What Parameter Store said of one name.
#[derive(Debug, Clone)]
enum Fetched {
    Value(Secret),
    NotFound,
    Empty,
}

/// Prefix of the Parameter Store names that read Secrets Manager secrets.
pub const SECRETS_MANAGER_REFERENCE: &str = "/aws/reference/secretsmanager/";
/// Names a `GetParameters` request takes at most.
const NAMES_PER_REQUEST: usize = 10;

impl ParameterStore {
    /// A client from the Lambda environment over the shared HTTP client, with a short bound:
    /// an unreachable SSM must fail the start in seconds, not in the SDK's default minutes.
    fn client_from_env() -> aws_sdk_ssm::Client {
        use aws_sdk_ssm::config::retry::RetryConfig;
        use aws_sdk_ssm::config::timeout::TimeoutConfig;
        let lambda = crate::aws::LambdaAws::from_env();
        let mut config = aws_sdk_ssm::Config::builder()
            .behavior_version(aws_sdk_ssm::config::BehaviorVersion::latest())
            .region(lambda.region)
            .http_client(crate::aws::http_client())
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_attempt_timeout(Duration::from_secs(2))
                    .operation_timeout(Duration::from_secs(5))
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(2));
        if let Some(credentials) = lambda.credentials {
            config = config.credentials_provider(credentials);
        }
        if let Some(endpoint) = crate::aws::endpoint_from_env("SSM") {
            config = config.endpoint_url(endpoint);
        }
        aws_sdk_ssm::Client::from_conf(config.build())
    }

    async fn fetch(&self, reference: &Reference<'_>) -> Result<Secret, SecretStoreError> {
        let name = parameter_name(reference.kind, reference.id);
        let read = self
            .read
            .get_or_try_init(|| self.read_all(&name))
            .await
            .map_err(|failure| failure.for_reference(reference))?;
        // A reference the environment did not hold at the first read (a lookup other than
        // the process's): read on its own.
        let fetched = match read.get(&name) {
            Some(fetched) => fetched.clone(),
            None => {
                let alone = self
                    .get_parameters(std::slice::from_ref(&name))
                    .await
                    .map_err(|failure| failure.for_reference(reference))?;
                alone.get(&name).cloned().unwrap_or(Fetched::NotFound)
            }
        };
        match fetched {
            Fetched::Value(value) => {
                tracing::debug!(
                    variable = reference.variable,
                    "secret read from Parameter Store"
                );
                Ok(value)
            }
            Fetched::NotFound => Err(reference.not_found()),
            Fetched::Empty => Err(reference.malformed("the value is empty")),
        }
    }

    /// Every reference in the environment, and `asked`: one request per ten names.
    async fn read_all(&self, asked: &str) -> Result<HashMap<String, Fetched>, ApiFailure> {
        let mut names = self.environment.clone();
        if !names.iter().any(|name| name == asked) {
            names.push(asked.to_owned());
        }
        let mut read = HashMap::new();
        for chunk in names.chunks(NAMES_PER_REQUEST) {
            read.extend(self.get_parameters(chunk).await?);
        }
        tracing::debug!(names = read.len(), "secrets read from Parameter Store");
        Ok(read)
    }

    async fn get_parameters(
        &self,
        names: &[String],
    ) -> Result<HashMap<String, Fetched>, ApiFailure> {
        let output = self
            .client
            .get_parameters()
            .set_names(Some(names.to_vec()))
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| ApiFailure::from_sdk(&e))?;
        let mut read: HashMap<String, Fetched> = names
            .iter()
            .map(|name| (name.clone(), Fetched::NotFound))
            .collect();
        for parameter in output.parameters() {
            let fetched = match parameter.value().map(str::trim) {
                Some(value) if !value.is_empty() => Fetched::Value(Secret::new(value)),
                _ => Fetched::Empty,
            };
            // Asked by name or by ARN: the answer carries both. A Secrets Manager reference
            // may come back under the secret's own name (moto answers so).
            let name = parameter.name().unwrap_or_default();
            let keys = [
                name.to_owned(),
                parameter.arn().unwrap_or_default().to_owned(),
                format!("{SECRETS_MANAGER_REFERENCE}{name}"),
            ];
            for key in keys {
                if let Some(slot) = read.get_mut(&key) {
                    *slot = fetched.clone();
                }
            }
        }
        Ok(read)
    }
}

/// The Parameter Store name a reference is read under.
fn parameter_name(kind: Kind, id: &str) -> String {
    match kind {
        Kind::Parameter => id.to_owned(),
        Kind::Secret => format!("{SECRETS_MANAGER_REFERENCE}{id}"),
    }
}

/// Why a `GetParameters` request failed as a whole.
#[derive(Debug, Clone)]
enum ApiFailure {
    Denied(String),
    Unavailable(String),
}

impl ApiFailure {
    fn from_sdk<E, R>(error: &aws_sdk_ssm::error::SdkError<E, R>) -> Self
    where
        E: aws_sdk_ssm::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug,
    {
        use aws_sdk_ssm::error::DisplayErrorContext;
        let reason: String = DisplayErrorContext(error)
            .to_string()
            .chars()
            .take(MAX_REASON_CHARS)
            .collect();
        let code = error
            .as_service_error()
            .and_then(|e| e.code())
            .unwrap_or("");
        let denied = [
            "AccessDenied",
            "AccessDeniedException",
            "UnrecognizedClientException",
        ]
        .contains(&code)
            || code.contains("KMS");
        if denied {
            Self::Denied(reason)
        } else {
            Self::Unavailable(reason)
        }
    }

    fn for_reference(self, reference: &Reference<'_>) -> SecretStoreError {
        match self {
            Self::Denied(reason) => reference.denied(reason),
            Self::Unavailable(reason) => reference.unavailable(reason),
        }
    }
}

/// The value in a successful answer. Reasons never quote the body: it holds the secret.
fn read_value(reference: &Reference<'_>, body: &str) -> Result<Secret, SecretStoreError> {
    let json: Value =
        serde_json::from_str(body).map_err(|_| reference.malformed("the answer is not JSON"))?;
    let value = match reference.kind {
        Kind::Parameter => json
            .pointer("/Parameter/Value")
            .and_then(Value::as_str)
            .ok_or_else(|| reference.malformed("the answer has no `Parameter.Value` string"))?,
        Kind::Secret => match json.get("SecretString").and_then(Value::as_str) {
            Some(value) => value,
            None if json.get("SecretBinary").is_some_and(|b| !b.is_null()) => {
                return Err(reference.malformed("binary secrets are not supported"));
            }
            None => return Err(reference.malformed("the answer has no `SecretString`")),
        },
    };
    match value.trim() {
        "" => Err(reference.malformed("the value is empty")),
        value => Ok(Secret::new(value)),
    }
}

/// The error an unsuccessful answer stands for. The extension answers AWS errors with 400 and
/// the AWS error text (`ParameterNotFound`, `ResourceNotFoundException`, `AccessDenied…`), so
/// the text decides between "not found" and "denied".
fn classify_failure(reference: &Reference<'_>, status: StatusCode, body: &str) -> SecretStoreError {
    let squashed: String = body
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    let reason = reason_from(status, body);
    if squashed.contains("notfound") || status == StatusCode::NOT_FOUND {
        return reference.not_found();
    }
    let denied = matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
        || squashed.contains("accessdenied")
        || squashed.contains("notauthorized")
        || squashed.contains("unauthorized");
    if denied {
        reference.denied(reason)
    } else {
        reference.unavailable(reason)
    }
}

fn reason_from(status: StatusCode, body: &str) -> String {
    let text: String = body.trim().chars().take(MAX_REASON_CHARS).collect();
    if text.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {text}")
    }
}

fn non_blank(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// `std::env::var` as a lookup for [`SecretStore::resolve`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parameter<'a>(variable: &'a str, id: &'a str) -> Reference<'a> {
        Reference {
            kind: Kind::Parameter,
            variable,
            id,
        }
    }

    #[test]
    fn values_are_read_from_both_answer_shapes() {
        let ssm = parameter("KEY_SSM_PARAMETER", "/bridge/key");
        let body = r#"{"Parameter":{"Name":"/bridge/key","Type":"SecureString","Value":"s3cr3t\n","Version":1}}"#;
        assert_eq!(read_value(&ssm, body).expect("value").expose(), "s3cr3t");
        let secret = Reference {
            kind: Kind::Secret,
            variable: "KEY_SECRET_ID",
            id: "bridge/key",
        };
        let body =
            r#"{"Name":"bridge/key","SecretString":"s3cr3t","VersionStages":["AWSCURRENT"]}"#;
        assert_eq!(read_value(&secret, body).expect("value").expose(), "s3cr3t");
        let binary = r#"{"Name":"bridge/key","SecretBinary":"AAEC"}"#;
        assert!(matches!(
            read_value(&secret, binary),
            Err(SecretStoreError::Malformed { .. })
        ));
    }

    #[test]
    fn malformed_answers_never_quote_the_value() {
        let ssm = parameter("KEY_SSM_PARAMETER", "/bridge/key");
        let error = read_value(&ssm, r#"{"Parameter":{"Value":42,"Other":"s3cr3t"}}"#)
            .expect_err("not a string");
        assert!(!error.to_string().contains("s3cr3t"), "{error}");
        assert!(error.to_string().contains("KEY_SSM_PARAMETER"), "{error}");
    }

    #[test]
    fn failures_are_told_apart_by_the_aws_error_text() {
        let ssm = parameter("KEY_SSM_PARAMETER", "/bridge/key");
        let not_found = classify_failure(
            &ssm,
            StatusCode::BAD_REQUEST,
            "ParameterNotFound: parameter /bridge/key not found",
        );
        assert!(matches!(not_found, SecretStoreError::NotFound { .. }));
        let denied = classify_failure(
            &ssm,
            StatusCode::BAD_REQUEST,
            "AccessDeniedException: User is not authorized to perform ssm:GetParameter",
        );
        assert!(matches!(denied, SecretStoreError::Denied { .. }));
        let no_token = classify_failure(&ssm, StatusCode::UNAUTHORIZED, "");
        assert!(matches!(no_token, SecretStoreError::Denied { .. }));
        let down = classify_failure(&ssm, StatusCode::BAD_GATEWAY, "");
        assert!(down.is_transient());
    }

    #[test]
    fn debug_output_hides_the_session_token() {
        let store = SecretStore::new("http://localhost:2773/", Secret::new("session-token"));
        let shown = format!("{store:?}");
        assert!(!shown.contains("session-token"), "{shown}");
        assert!(shown.contains("http://localhost:2773\""), "{shown}");
    }
}
