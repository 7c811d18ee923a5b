//! Benchmarks of the bridge, run by `bench/run` (see `docs/benchmarks.md`):
//!
//! - `benches/parse_map.rs`: criterion benchmarks of one webhook's parse + map
//!   (`CallEvent::from_request` + `call_activity`), the CPU work of every call event;
//! - `src/entropy_probe.rs`: the one-off cost of aws-lc's first random bytes in a new process
//!   (what the first TLS handshake of a cold start pays), built with and without
//!   `AWS_LC_SYS_NO_JITTER_ENTROPY`.
