//! The AWS SDK as a function uses it: region and credentials from the Lambda environment, and
//! every request through the process's one HTTP client ([`crate::http::shared_client`]: one
//! connection pool, one TLS configuration).
//!
//! Lambda hands a function its credentials in `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`
//! and `AWS_SESSION_TOKEN` and its region in `AWS_REGION`, so the functions need none of
//! `aws-config`'s provider chain (profiles, SSO, STS, the instance metadata service): reading
//! the variables costs nothing at cold start and can never reach for 169.254.169.254. The
//! operator's CLI, which runs with profiles and SSO, enables the `credential-chain` feature
//! and gets the whole chain when the variables are not set
//! ([`crate::dynamodb::DynamoDbCache::client_for`]).

use std::time::Duration;

use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_types::region::Region;

/// What the Lambda environment says about AWS: region and static credentials. `None` fields:
/// the variable is not set.
#[derive(Debug, Clone)]
pub struct LambdaAws {
    pub region: Option<Region>,
    pub credentials: Option<Credentials>,
}

impl LambdaAws {
    /// From the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// From `lookup` (an env-like function).
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let region = get("AWS_REGION")
            .or_else(|| get("AWS_DEFAULT_REGION"))
            .map(Region::new);
        let credentials = match (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) {
            (Some(key), Some(secret)) => Some(Credentials::new(
                key,
                secret,
                get("AWS_SESSION_TOKEN"),
                None,
                "lambda-environment",
            )),
            _ => None,
        };
        Self {
            region,
            credentials,
        }
    }
}

/// The endpoint the SDK's own variables name for `service` (`AWS_ENDPOINT_URL_<SERVICE>`,
/// else `AWS_ENDPOINT_URL`): a loopback API in local runs and tests.
pub fn endpoint_from_env(service_variable: &str) -> Option<String> {
    [
        format!("AWS_ENDPOINT_URL_{service_variable}"),
        "AWS_ENDPOINT_URL".to_owned(),
    ]
    .iter()
    .filter_map(|name| std::env::var(name).ok())
    .map(|value| value.trim().to_owned())
    .find(|value| !value.is_empty())
}

/// The SDK's HTTP client: the shared reqwest client. When that cannot be built (it never
/// fails with the compiled-in roots), every request fails with the reason.
pub fn http_client() -> SharedHttpClient {
    SharedHttpClient::new(ReqwestHttpClient {
        client: crate::http::shared_client().map_err(|e| e.to_string()),
    })
}

#[derive(Debug, Clone)]
struct ReqwestHttpClient {
    client: Result<reqwest::Client, String>,
}

impl HttpClient for ReqwestHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(ReqwestConnector {
            client: self.client.clone(),
            read_timeout: settings.read_timeout(),
        })
    }
}

#[derive(Debug, Clone)]
struct ReqwestConnector {
    client: Result<reqwest::Client, String>,
    /// The SDK's per-attempt bound, when it sets one (its operation timeouts apply anyway).
    read_timeout: Option<Duration>,
}

impl HttpConnector for ReqwestConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let connector = self.clone();
        HttpConnectorFuture::new(async move { connector.send(request).await })
    }
}

impl ReqwestConnector {
    async fn send(self, request: HttpRequest) -> Result<HttpResponse, ConnectorError> {
        let client = self
            .client
            .map_err(|e| ConnectorError::other(e.into(), None))?;
        let method = reqwest::Method::from_bytes(request.method().as_bytes())
            .map_err(|e| ConnectorError::user(e.into()))?;
        // The SDK's requests to DynamoDB and SSM are small JSON documents held in memory.
        let body = request
            .body()
            .bytes()
            .ok_or_else(|| {
                ConnectorError::user("a streaming request body is not supported".into())
            })?
            .to_vec();
        let mut builder = client.request(method, request.uri());
        for (name, value) in request.headers() {
            builder = builder.header(name, value);
        }
        if let Some(timeout) = self.read_timeout {
            builder = builder.timeout(timeout);
        }
        let response = builder.body(body).send().await.map_err(connector_error)?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.map_err(connector_error)?;
        let mut answer = HttpResponse::new(status.into(), SdkBody::from(bytes));
        for (name, value) in &headers {
            if let Ok(value) = value.to_str() {
                answer
                    .headers_mut()
                    .try_append(name.as_str().to_owned(), value.to_owned())
                    .map_err(|e| ConnectorError::other(e.into(), None))?;
            }
        }
        Ok(answer)
    }
}

/// The SDK retries timeouts and I/O errors as transient; anything else is final.
fn connector_error(error: reqwest::Error) -> ConnectorError {
    if error.is_timeout() {
        ConnectorError::timeout(error.into())
    } else if error.is_connect() || error.is_request() || error.is_body() {
        ConnectorError::io(error.into())
    } else {
        ConnectorError::other(error.into(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_region_come_from_the_lambda_variables() {
        let env = |name: &str| {
            match name {
                "AWS_REGION" => Some("eu-central-1"),
                "AWS_ACCESS_KEY_ID" => Some("AKIDEXAMPLE"),
                "AWS_SECRET_ACCESS_KEY" => Some("secret"),
                "AWS_SESSION_TOKEN" => Some(" token "),
                _ => None,
            }
            .map(str::to_owned)
        };
        let aws = LambdaAws::from_lookup(&env);
        assert_eq!(
            aws.region.as_ref().map(Region::as_ref),
            Some("eu-central-1")
        );
        let credentials = aws.credentials.expect("credentials");
        assert_eq!(credentials.access_key_id(), "AKIDEXAMPLE");
        assert_eq!(credentials.session_token(), Some("token"));
    }

    #[test]
    fn missing_keys_mean_no_credentials_and_the_default_region_variable_counts() {
        let env = |name: &str| {
            (name == "AWS_DEFAULT_REGION" || name == "AWS_ACCESS_KEY_ID")
                .then(|| "eu-west-1".to_owned())
        };
        let aws = LambdaAws::from_lookup(&env);
        assert!(aws.credentials.is_none());
        assert_eq!(aws.region.as_ref().map(Region::as_ref), Some("eu-west-1"));
    }
}
