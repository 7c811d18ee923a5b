//! The function → route table, once. `template.yaml`, the test rig and the local run are
//! checked against it (tests/tests/routes.rs).

use bridge_domain::ringostat::EventKind;

/// What a function serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteTarget {
    /// A call webhook of this kind.
    CallEvent(EventKind),
    SmartForward,
    ClickToCall,
    /// A scheduled function (no HTTP route).
    Replay,
    Reconcile,
}

/// One function of the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The folder under `functions/` (and the package name).
    pub function: &'static str,
    /// Logical id of the function in `template.yaml`.
    pub resource: &'static str,
    /// The HTTP API path; `None` for scheduled functions.
    pub path: Option<&'static str>,
    /// The HTTP methods the function answers; any other gets 405 (the HTTP API routes `ANY`
    /// to the function, so the refusal is the function's JSON, not API Gateway's 404).
    pub methods: &'static [&'static str],
    pub target: RouteTarget,
}

/// Ringostat's call webhooks: GET (data in the URL) or POST (data in the body), as chosen per
/// webhook (docs/vendor-contracts.md, RW3, RW7, RW16).
pub const WEBHOOK_METHODS: &[&str] = &["GET", "POST"];
/// The webhook number: the four methods its settings offer (docs/vendor-contracts.md, RN2).
pub const SMART_FORWARD_METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE"];
/// Click-to-call: GET shows a page and never dials; only POST acts.
pub const CLICK_TO_CALL_METHODS: &[&str] = &["GET", "POST"];

pub const ROUTES: &[Route] = &[
    Route {
        function: "before-call",
        resource: "BeforeCallFunction",
        path: Some("/ringostat/before-call"),
        methods: WEBHOOK_METHODS,
        target: RouteTarget::CallEvent(EventKind::BeforeCall),
    },
    Route {
        function: "after-call",
        resource: "AfterCallFunction",
        path: Some("/ringostat/after-call"),
        methods: WEBHOOK_METHODS,
        target: RouteTarget::CallEvent(EventKind::AfterCall),
    },
    Route {
        function: "after-outgoing-call",
        resource: "AfterOutgoingCallFunction",
        path: Some("/ringostat/after-outgoing-call"),
        methods: WEBHOOK_METHODS,
        target: RouteTarget::CallEvent(EventKind::AfterOutgoingCall),
    },
    Route {
        function: "call-analysis",
        resource: "CallAnalysisFunction",
        path: Some("/ringostat/call-analysis"),
        methods: WEBHOOK_METHODS,
        target: RouteTarget::CallEvent(EventKind::CallAnalysis),
    },
    Route {
        function: "smart-forward",
        resource: "SmartForwardFunction",
        path: Some("/ringostat/smart-forward"),
        methods: SMART_FORWARD_METHODS,
        target: RouteTarget::SmartForward,
    },
    Route {
        function: "click-to-call",
        resource: "ClickToCallFunction",
        path: Some("/click-to-call"),
        methods: CLICK_TO_CALL_METHODS,
        target: RouteTarget::ClickToCall,
    },
    Route {
        function: "replay",
        resource: "ReplayFunction",
        path: None,
        methods: &[],
        target: RouteTarget::Replay,
    },
    Route {
        function: "reconcile",
        resource: "ReconcileFunction",
        path: None,
        methods: &[],
        target: RouteTarget::Reconcile,
    },
];

impl Route {
    /// Whether the function answers `method`.
    pub fn allows(&self, method: &str) -> bool {
        self.methods.contains(&method)
    }
}

/// The route of `path` (an HTTP function), if any.
pub fn route_for_path(path: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|route| route.path == Some(path))
}

/// The route of the function in `functions/<function>`.
pub fn route_of(function: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|route| route.function == function)
}
