//! The event-kind → handler registry: a new Ringostat webhook is one [`EventHandler`] and one
//! route; delivery, parking, replay and reconciliation need no change.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::deadline::Deadline;
use crate::ports::crm::CrmError;
use crate::ringostat::{CallEvent, EventKind};
use crate::services::outcome::{Outcome, OutcomeKind};
use crate::settings::EventFilter;

/// What a handler knows about this run of the event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attempt {
    /// An earlier run failed after a write that may have happened: check the CRM before
    /// writing again.
    pub recheck: bool,
}

/// What the bridge does with one kind of call event.
#[async_trait]
pub trait EventHandler: Send + Sync {
    async fn handle(
        &self,
        event: &CallEvent,
        attempt: Attempt,
        deadline: Deadline,
    ) -> Result<Outcome, CrmError>;
}

/// The handlers of the event kinds this function serves, and the configured filters.
#[derive(Default, Clone)]
pub struct EventHandlers {
    handlers: HashMap<EventKind, Arc<dyn EventHandler>>,
    filters: HashMap<EventKind, EventFilter>,
}

/// Why an event could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error(transparent)]
    Crm(#[from] CrmError),
    /// No handler is registered for the kind (a wiring mistake, not the caller's).
    #[error("this function does not handle `{0}` events")]
    NoHandler(&'static str),
}

impl EventHandlers {
    pub fn new(filters: HashMap<EventKind, EventFilter>) -> Self {
        Self {
            handlers: HashMap::new(),
            filters,
        }
    }

    /// Registers `handler` for `kind` (replacing an earlier one).
    pub fn with(mut self, kind: EventKind, handler: Arc<dyn EventHandler>) -> Self {
        self.handlers.insert(kind, handler);
        self
    }

    /// Runs the event's handler, unless the event's filter excludes it.
    pub async fn handle(
        &self,
        event: &CallEvent,
        attempt: Attempt,
        deadline: Deadline,
    ) -> Result<Outcome, CrmError> {
        if self.filtered(event) {
            return Ok(Outcome::new(OutcomeKind::Filtered, event));
        }
        let handler = self.handlers.get(&event.kind).ok_or_else(|| {
            CrmError::Config(HandleError::NoHandler(event.kind.as_str()).to_string())
        })?;
        handler.handle(event, attempt, deadline).await
    }

    fn filtered(&self, event: &CallEvent) -> bool {
        let mut filter = self.filters.get(&event.kind).cloned().unwrap_or_default();
        // A ringing call has no status yet: only its direction can be filtered.
        if event.kind == EventKind::BeforeCall {
            filter.statuses.clear();
        }
        !filter.accepts(event.direction, event.status())
    }
}
