//! The network: activations, vector fields, constraints, parameters, lift and head.

pub mod activation;
pub mod constraint;
pub mod engine;
pub mod field;
pub mod kernels;
pub mod network;
pub mod params;

pub use activation::Activation;
pub use constraint::Constraint;
pub use engine::{BatchResult, Engine};
pub use field::Field;
pub use network::Network;
pub use params::ParamLayout;
