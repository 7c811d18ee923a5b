//! Ports: what the core needs from the outside world, as traits.

pub mod cache;

pub use cache::{Cache, CacheError, ManagerRoute};
