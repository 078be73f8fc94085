//! The experiment document: spec types, validation, file io.

pub mod io;
pub mod spec;
pub mod validate;

pub use io::{Error, from_ron_str, load, save, to_ron_string};
pub use spec::*;
pub use validate::{problems, validate};
