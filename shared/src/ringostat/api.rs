//! Ringostat's own API, called by the bridge: click-to-call and Smart Phone contact sync.
