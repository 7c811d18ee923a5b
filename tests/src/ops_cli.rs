//! The `bridge-ops` binary, run for real by the tests (as tests/tests/ops.rs's `cli` module
//! does; it is another package's binary, so cargo does not build it for these tests itself).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

/// The `bridge-ops` executable, built once per test run.
pub fn bridge_ops() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the workspace holds tests/");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let output = Command::new(cargo)
            .current_dir(workspace)
            .args([
                "build",
                "--locked",
                "-p",
                "bridge-ops",
                "--message-format=json-render-diagnostics",
            ])
            .output()
            .expect("cargo runs");
        assert!(
            output.status.success(),
            "cargo build -p bridge-ops failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|message| {
                message["reason"] == "compiler-artifact"
                    && message["target"]["name"] == "bridge-ops"
            })
            .find_map(|message| message["executable"].as_str().map(PathBuf::from))
            .expect("cargo names the bridge-ops executable")
    })
}

/// What one run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }
}

/// Runs `bridge-ops args…` with only `vars` (an empty value left out) and dummy AWS
/// credentials in its environment.
pub async fn run(vars: &HashMap<String, String>, args: &[&str]) -> Run {
    let mut command = Command::new(bridge_ops());
    command.env_clear().args(args);
    for (name, value) in vars {
        if !value.is_empty() {
            command.env(name, value);
        }
    }
    for (name, value) in [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "eu-central-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ] {
        command.env(name, value);
    }
    // The sandbox runs on the test's runtime: wait for the child off it.
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("joined")
        .expect("bridge-ops runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
