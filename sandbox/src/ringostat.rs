//! Ringostat API as the bridge calls it.
