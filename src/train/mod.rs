//! Training: regularisers, optimisers, the session (one deterministic step), events, run
//! control and the runner thread (DESIGN §4).

pub mod gradcheck;
pub mod optimizer;
pub mod regularizer;
pub mod runner;
pub mod session;

pub use runner::{
    ChannelSink, EventSink, FinishReason, RunControl, Runner, RunnerOptions, TrainEvent,
};
pub use session::{Evaluation, Session, SessionError, Snapshot, StepReport, TrainError};
