//! The pieces of the network's ODE: activations, vector fields, constraints, the flat parameter
//! buffer and the small dense kernels they run on (with the block size).

pub mod activation;
pub mod constraint;
pub mod field;
pub mod kernels;
pub mod params;

pub use activation::Activation;
pub use constraint::Constraint;
pub use field::{Field, FieldKind};
pub use params::ParamLayout;
