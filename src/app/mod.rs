//! Use cases: one function per operation, over the ports of [`ports`]. A use case loads what it
//! needs, lets the pure domain decide, and hands the decision to a store that writes it as one
//! guarded D1 batch. No `worker` types here: it compiles and tests natively, with in-memory
//! fakes of the ports (`tests/app_*.rs`).

pub mod forwarding;
pub mod ports;
