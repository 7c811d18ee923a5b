//! The route table (`bridge_core::webhook::routes::ROUTES`) is the one source of truth: the
//! SAM template, the `functions/` folders, the `events/` fixtures and the test rig must agree
//! with it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bridge_core::webhook::routes::{ROUTES, RouteTarget, route_for_path, route_of};
use bridge_tests::rig::events_dir;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One `AWS::Serverless::Function` of the template: its code folder and HTTP path.
#[derive(Debug, Default, PartialEq, Eq)]
struct TemplateFunction {
    code_uri: Option<String>,
    path: Option<String>,
    method: Option<String>,
}

/// The functions of `template.yaml`, read line by line: resources are two-space indented keys
/// under `Resources:`, and a function's `CodeUri`, `Path` and `Method` are unique in its block.
/// (CloudFormation's `!Ref`/`!Sub` tags rule out a plain YAML parser without a schema.)
fn template_functions(template: &str) -> BTreeMap<String, TemplateFunction> {
    let mut functions = BTreeMap::new();
    let mut in_resources = false;
    let mut current: Option<(String, TemplateFunction, bool)> = None;
    let mut flush = |current: &mut Option<(String, TemplateFunction, bool)>| {
        if let Some((name, function, true)) = current.take() {
            functions.insert(name, function);
        }
    };
    for line in template.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() && !line.starts_with('#') {
            flush(&mut current);
            in_resources = line.trim_end() == "Resources:";
            continue;
        }
        if !in_resources {
            continue;
        }
        let trimmed = line.trim();
        if line.starts_with("  ") && !line.starts_with("   ") && trimmed.ends_with(':') {
            flush(&mut current);
            let name = trimmed.trim_end_matches(':').to_owned();
            current = Some((name, TemplateFunction::default(), false));
            continue;
        }
        let Some((_, function, is_function)) = current.as_mut() else {
            continue;
        };
        let value = |key: &str| {
            trimmed
                .strip_prefix(key)
                .map(|rest| rest.trim().trim_matches('"').to_owned())
        };
        if trimmed == "Type: AWS::Serverless::Function" {
            *is_function = true;
        } else if let Some(v) = value("CodeUri:") {
            function.code_uri = Some(v);
        } else if let Some(v) = value("Path:") {
            function.path = Some(v);
        } else if let Some(v) = value("Method:") {
            function.method = Some(v);
        }
    }
    flush(&mut current);
    functions
}

#[test]
fn the_template_declares_exactly_the_routes_of_the_table() {
    let template =
        std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml readable");
    let functions = template_functions(&template);
    assert_eq!(
        functions.len(),
        ROUTES.len(),
        "template functions {:?}",
        functions.keys().collect::<Vec<_>>()
    );
    for route in ROUTES {
        let function = functions
            .get(route.resource)
            .unwrap_or_else(|| panic!("template.yaml has no {}", route.resource));
        assert_eq!(
            function.code_uri.as_deref(),
            Some(format!("./functions/{}", route.function).as_str()),
            "{}",
            route.resource
        );
        assert_eq!(function.path.as_deref(), route.path, "{}", route.resource);
        if route.path.is_some() {
            assert!(
                function.method.is_some(),
                "{} has no method",
                route.resource
            );
        }
    }
}

#[test]
fn every_function_folder_is_a_route_and_every_route_a_function_folder() {
    let dir = root().join("functions");
    let mut folders: Vec<String> = std::fs::read_dir(&dir)
        .expect("functions/ readable")
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("Cargo.toml").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    let mut routed: Vec<String> = ROUTES.iter().map(|r| r.function.to_owned()).collect();
    routed.sort();
    assert_eq!(folders, routed);
    for folder in &folders {
        let route = route_of(folder).expect("routed");
        let main = std::fs::read_to_string(dir.join(folder).join("src/main.rs"))
            .expect("main.rs readable");
        // The binary serves what the table says it serves.
        let expected = match route.target {
            RouteTarget::CallEvent(kind) => format!("EventKind::{kind:?}"),
            RouteTarget::SmartForward => "smart_forward".into(),
            RouteTarget::ClickToCall => "click_to_call".into(),
            RouteTarget::Replay => "replay".into(),
            RouteTarget::Reconcile => "reconcile".into(),
        };
        assert!(
            main.contains(&expected),
            "{folder}/src/main.rs lacks {expected}"
        );
        assert!(
            main.lines().count() < 30,
            "{folder}/src/main.rs is over 30 lines"
        );
    }
}

#[test]
fn every_event_fixture_targets_a_routed_path() {
    for entry in std::fs::read_dir(events_dir()).expect("events/ readable") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let event: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("readable")).expect("JSON");
        let raw_path = event["rawPath"]
            .as_str()
            .or_else(|| event["path"].as_str())
            .unwrap_or_default();
        assert!(
            route_for_path(raw_path).is_some(),
            "{}: {raw_path} is no route",
            file_name(&path)
        );
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
