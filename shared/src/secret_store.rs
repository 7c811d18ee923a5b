//! Secrets read once per cold start from SSM Parameter Store or Secrets Manager.
