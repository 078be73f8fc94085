//! Training: losses, regularisers, optimisers, the session, events and the runner.

pub mod optimizer;
