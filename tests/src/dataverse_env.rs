//! Builds a Dataverse adapter wired to a running CRM sandbox. To be written.
