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
    pub target: RouteTarget,
}

pub const ROUTES: &[Route] = &[
    Route {
        function: "before-call",
        resource: "BeforeCallFunction",
        path: Some("/ringostat/before-call"),
        target: RouteTarget::CallEvent(EventKind::BeforeCall),
    },
    Route {
        function: "after-call",
        resource: "AfterCallFunction",
        path: Some("/ringostat/after-call"),
        target: RouteTarget::CallEvent(EventKind::AfterCall),
    },
    Route {
        function: "after-outgoing-call",
        resource: "AfterOutgoingCallFunction",
        path: Some("/ringostat/after-outgoing-call"),
        target: RouteTarget::CallEvent(EventKind::AfterOutgoingCall),
    },
    Route {
        function: "call-analysis",
        resource: "CallAnalysisFunction",
        path: Some("/ringostat/call-analysis"),
        target: RouteTarget::CallEvent(EventKind::CallAnalysis),
    },
    Route {
        function: "smart-forward",
        resource: "SmartForwardFunction",
        path: Some("/ringostat/smart-forward"),
        target: RouteTarget::SmartForward,
    },
    Route {
        function: "click-to-call",
        resource: "ClickToCallFunction",
        path: Some("/click-to-call"),
        target: RouteTarget::ClickToCall,
    },
    Route {
        function: "replay",
        resource: "ReplayFunction",
        path: None,
        target: RouteTarget::Replay,
    },
    Route {
        function: "reconcile",
        resource: "ReconcileFunction",
        path: None,
        target: RouteTarget::Reconcile,
    },
];

/// The route of `path` (an HTTP function), if any.
pub fn route_for_path(path: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|route| route.path == Some(path))
}

/// The route of the function in `functions/<function>`.
pub fn route_of(function: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|route| route.function == function)
}
