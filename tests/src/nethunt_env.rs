//! Builds a NetHunt adapter wired to a running CRM sandbox. To be written.
