//! Secrets by reference read with Parameter Store's API (a real one on loopback: moto), the
//! way the functions read them at INIT: one `GetParameters` for every reference of the
//! environment, Secrets Manager secrets through their `/aws/reference/secretsmanager/` name.
#![allow(clippy::unwrap_used)]

use aws_sdk_ssm::types::ParameterType;
use bridge_core::adapters::secret_store::{SecretStore, SecretStoreError};
use bridge_tests::{dynamodb_endpoint, loopback_sdk_config, unique_table_name};

fn ssm_client(endpoint: &str) -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(&loopback_sdk_config(endpoint))
}

async fn put_parameter(client: &aws_sdk_ssm::Client, name: &str, value: &str) {
    client
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .unwrap();
}

/// Creates a Secrets Manager secret in moto (same endpoint; moto checks no signature).
async fn create_secret(endpoint: &str, name: &str, value: &str) {
    let answer = reqwest::Client::new()
        .post(endpoint)
        .header("X-Amz-Target", "secretsmanager.CreateSecret")
        .header("Content-Type", "application/x-amz-json-1.1")
        .header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=test/20260101/eu-central-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(serde_json::json!({"Name": name, "SecretString": value}).to_string())
        .send()
        .await
        .unwrap();
    assert!(
        answer.status().is_success(),
        "{}",
        answer.text().await.unwrap()
    );
}

fn lookup(pairs: Vec<(String, String)>) -> impl Fn(&str) -> Option<String> + Send + Sync {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

#[tokio::test]
async fn parameters_and_secrets_manager_secrets_are_read_from_parameter_store() {
    let endpoint = dynamodb_endpoint();
    let client = ssm_client(&endpoint);
    let prefix = format!("/{}", unique_table_name("bridge-secrets"));
    let secret_name = unique_table_name("bridge-secret");
    put_parameter(&client, &format!("{prefix}/nethunt-api-key"), "nh-key\n").await;
    put_parameter(
        &client,
        &format!("{prefix}/webhook-token"),
        "a-webhook-token",
    )
    .await;
    create_secret(&endpoint, &secret_name, "rs-key").await;
    let environment = vec![
        (
            "NETHUNT_API_KEY_SSM_PARAMETER".to_owned(),
            format!("{prefix}/nethunt-api-key"),
        ),
        (
            "WEBHOOK_TOKEN_SSM_PARAMETER".to_owned(),
            format!("{prefix}/webhook-token"),
        ),
        (
            "RINGOSTAT_AUTH_KEY_SECRET_ID".to_owned(),
            secret_name.clone(),
        ),
        (
            "STAFF_SSM_PARAMETER".to_owned(),
            format!("{prefix}/never-created"),
        ),
    ];
    let store = SecretStore::parameter_store_reading(client, environment.clone());
    assert!(store.reads_during_init());
    let env = lookup(environment);

    let key = store.resolve("NETHUNT_API_KEY", &env).await.unwrap();
    assert_eq!(key.unwrap().expose(), "nh-key", "trimmed value");
    let token = store.resolve("WEBHOOK_TOKEN", &env).await.unwrap();
    assert_eq!(token.unwrap().expose(), "a-webhook-token");
    let ringostat = store.resolve("RINGOSTAT_AUTH_KEY", &env).await.unwrap();
    assert_eq!(ringostat.unwrap().expose(), "rs-key");

    let missing = store.resolve("STAFF", &env).await.unwrap_err();
    assert!(
        matches!(missing, SecretStoreError::NotFound { .. }),
        "{missing}"
    );
    assert!(
        missing.to_string().contains("STAFF_SSM_PARAMETER"),
        "{missing}"
    );
    // A value given directly wins, and an unset one is no error.
    let direct = lookup(vec![("NETHUNT_API_KEY".into(), "direct".into())]);
    let value = store.resolve("NETHUNT_API_KEY", &direct).await.unwrap();
    assert_eq!(value.unwrap().expose(), "direct");
    assert!(
        store
            .resolve("DATAVERSE_CLIENT_SECRET", &env)
            .await
            .unwrap()
            .is_none()
    );
}

/// More than ten references: Parameter Store takes ten names a request, all are read.
#[tokio::test]
async fn more_references_than_one_request_takes_are_all_read() {
    let endpoint = dynamodb_endpoint();
    let client = ssm_client(&endpoint);
    let prefix = format!("/{}", unique_table_name("bridge-many"));
    let mut environment = Vec::new();
    for i in 0..13 {
        let name = format!("{prefix}/p{i}");
        put_parameter(&client, &name, &format!("value-{i}")).await;
        environment.push((format!("SECRET_{i}_SSM_PARAMETER"), name));
    }
    let store = SecretStore::parameter_store_reading(client, environment.clone());
    let env = lookup(environment);
    for i in 0..13 {
        let value = store.resolve(&format!("SECRET_{i}"), &env).await.unwrap();
        assert_eq!(value.unwrap().expose(), format!("value-{i}"));
    }
}

/// Parameter Store unreachable: the error says so and names the variable, and a later
/// attempt (the next build) tries again rather than keeping the failure.
#[tokio::test]
async fn an_unreachable_parameter_store_is_unavailable_and_tried_again() {
    let client = ssm_client("http://127.0.0.1:9");
    let environment = vec![(
        "WEBHOOK_TOKEN_SSM_PARAMETER".to_owned(),
        "/x/token".to_owned(),
    )];
    let store = SecretStore::parameter_store_reading(client, environment.clone());
    let env = lookup(environment);
    let error = store.resolve("WEBHOOK_TOKEN", &env).await.unwrap_err();
    assert!(error.is_transient(), "{error}");
    assert!(
        error.to_string().contains("WEBHOOK_TOKEN_SSM_PARAMETER"),
        "{error}"
    );
    let again = store.resolve("WEBHOOK_TOKEN", &env).await.unwrap_err();
    assert!(again.is_transient(), "{again}");
}
