//! Training: the network (lift → flow → head) and its batch engine, regularisers, optimisers,
//! the session (one deterministic step), events, run control and the runner thread (DESIGN §4).

pub mod background;
pub mod checkpoint;
pub mod engine;
pub mod gradcheck;
pub mod network;
pub mod optimizer;
pub mod regularizer;
pub mod runner;
pub mod session;
pub mod settings;

pub use checkpoint::{Checkpoint, Record};
pub use engine::{BatchResult, Engine};
pub use network::{Architecture, HeadSpec, LiftSpec, Network, NetworkError};
pub use runner::{
    ChannelSink, EventSink, FinishReason, RunControl, Runner, RunnerOptions, TrainEvent,
};
pub use session::{Evaluation, Session, SessionError, Snapshot, StepReport, TrainError};
pub use settings::{BatchSpec, Training};
