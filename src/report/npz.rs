//! The NPZ export of a session: training data, trajectories, logits, objective, parameters
//! (raw and effective), their gradient and a JSON description. Keys, shapes and how to read
//! `meta` from Python: see the [module documentation](super).

use std::io::{self, Cursor};
use std::path::Path;

use ndarray::{Array1, ArrayViewD, IxDyn, aview0, s};
use ndarray_npy::{NpzWriter, WriteNpyError, WriteNpyExt};
use serde_json::{Value, json};

use super::Error;
use crate::experiment::Plan;
use crate::train::{HeadSpec, Network, Session};

/// Version of the archive's layout (the keys and the `meta` fields), stored in `meta`.
pub const NPZ_FORMAT_VERSION: u32 = 1;

/// Writes the NPZ archive of `session` (built from `plan`) at its current iteration to `path`,
/// replacing the file if it exists.
///
/// Everything is computed before the file is opened: a failed evaluation (an implicit solve that
/// does not converge) writes nothing.
pub fn export_npz(session: &mut Session, plan: &Plan, path: &Path) -> Result<(), Error> {
    let bytes = archive(session, plan, path)?;
    crate::experiment::files::write_atomic(path, &bytes).map_err(|error| Error::Io {
        path: path.to_owned(),
        operation: "write",
        error,
    })
}

/// The whole archive in memory; `path` only names the file in errors.
fn archive(session: &mut Session, plan: &Plan, path: &Path) -> Result<Vec<u8>, Error> {
    let evaluate_error = |error| Error::Evaluate {
        path: path.to_owned(),
        error,
    };
    // The engine borrows the session mutably, so the inputs it reads are copied first.
    let effective = session.effective_params().to_vec();
    let x = session.split().train.x.clone();
    let (states, logits) = session
        .engine_mut()
        .trajectory(&effective, x.view())
        .map_err(evaluate_error)?;
    let (loss, grad) = session.objective_and_gradient().map_err(evaluate_error)?;

    let network = session.network();
    let d = network.field.width;
    let y: Array1<i64> = session
        .split()
        .train
        .labels
        .iter()
        .map(|&label| class_index(label))
        .collect();

    let mut archive = Archive {
        writer: NpzWriter::new(Cursor::new(Vec::new())),
        path,
    };
    archive.add(
        "meta",
        &UnicodeScalar(&format!("{:#}", meta(session, plan))),
    )?;
    archive.add("x", &x)?;
    archive.add("y", &y)?;
    archive.add("z", &states.slice(s![.., .., ..d]).as_standard_layout())?;
    if network.field.kind.is_split() {
        archive.add("p", &states.slice(s![.., .., d..]).as_standard_layout())?;
    }
    archive.add("logits", &logits)?;
    archive.add("loss", &aview0(&loss))?;
    for (prefix, buffer) in [
        ("param", session.params()),
        ("effective", &effective[..]),
        ("grad", &grad[..]),
    ] {
        for block in network.layout.blocks() {
            let values = ArrayViewD::from_shape(IxDyn(&block.shape()), &buffer[block.range()])
                .expect("a block's shape has as many entries as its range");
            archive.add(&format!("{prefix}.{}", block.name), &values)?;
        }
    }
    archive.finish()
}

/// An NPZ archive being assembled in memory.
struct Archive<'a> {
    writer: NpzWriter<Cursor<Vec<u8>>>,
    path: &'a Path,
}

impl Archive<'_> {
    fn add<T: WriteNpyExt + ?Sized>(&mut self, name: &str, array: &T) -> Result<(), Error> {
        self.writer
            .add_array(name, array)
            .map_err(|error| self.error(format!("array `{name}`"), error))
    }

    fn finish(self) -> Result<Vec<u8>, Error> {
        let path = self.path;
        self.writer
            .finish()
            .map(Cursor::into_inner)
            .map_err(|error| Error::Npz {
                path: path.to_owned(),
                what: "the zip directory".into(),
                error,
            })
    }

    fn error(&self, what: String, error: ndarray_npy::WriteNpzError) -> Error {
        Error::Npz {
            path: self.path.to_owned(),
            what,
            error,
        }
    }
}

#[expect(
    clippy::cast_possible_wrap,
    reason = "a class index is below the number of classes"
)]
fn class_index(label: usize) -> i64 {
    label as i64
}

/// The JSON description stored under `meta` (fields listed in the module documentation).
fn meta(session: &Session, plan: &Plan) -> Value {
    let network = session.network();
    let train = &session.split().train;
    let layout = &network.layout;
    let ids = layout.ids();
    let mut constraints = serde_json::Map::new();
    constraints.insert(
        layout.block(ids.a).name.into(),
        network.constraints[0].name().into(),
    );
    if let Some(a2) = ids.a2 {
        constraints.insert(
            layout.block(a2).name.into(),
            network.constraints[1].name().into(),
        );
    }
    if let Some(j) = ids.j {
        constraints.insert(layout.block(j).name.into(), "skew (J = W − Wᵀ)".into());
    }
    if let Some(r) = ids.r {
        constraints.insert(layout.block(r).name.into(), "gram (R = WᵀW)".into());
    }
    let activations: Vec<String> = network.activations().iter().map(|a| a.name()).collect();
    let params: Vec<Value> = layout
        .blocks()
        .iter()
        .map(|block| json!({ "name": block.name, "shape": block.shape() }))
        .collect();
    // `Debug` of these unit enums is their spelling in experiment files.
    json!({
        "format": "flowlab-npz",
        "format_version": NPZ_FORMAT_VERSION,
        "flowlab_version": env!("CARGO_PKG_VERSION"),
        "experiment": plan.name,
        "iteration": session.iteration(),
        "data": plan.data.source.name(),
        "train_points": train.len(),
        "inputs": network.inputs,
        "classes": network.classes,
        "outputs": network.outputs,
        "class_names": train.class_names,
        "feature_names": train.feature_names,
        "field": format!("{:?}", network.field.kind),
        "activations": activations,
        "constraints": constraints,
        "integrator": network.integrator.name(),
        "gradient": network.gradient.name(),
        "h": network.h,
        "layers": network.layers,
        "final_time": network.final_time,
        "width": network.field.width,
        "hidden": network.field.hidden,
        "state_dim": network.state_dim(),
        "lift": format!("{:?}", network.lift),
        "head": format!("{:?}", network.head),
        "loss": loss_in_words(network),
        "weight_decay": plan.training.regularizer.weight_decay,
        "time_smoothness": plan.training.regularizer.time_smoothness,
        "optimizer": plan.training.optimizer.name(),
        "params": params,
    })
}

/// The head's loss, as [`Network::loss`] computes it.
fn loss_in_words(network: &Network) -> &'static str {
    match (network.head, network.outputs) {
        (HeadSpec::SoftmaxCrossEntropy, _) => "softmax cross-entropy, mean over the points",
        (HeadSpec::SigmoidSquaredError, 1) => {
            "half the squared error of sigmoid(logit) against the 0/1 label, mean over the points"
        }
        (HeadSpec::SigmoidSquaredError, _) => {
            "half the squared error of sigmoid(logits) against one-hot targets, mean over the points"
        }
        (HeadSpec::LinearMse, _) => {
            "half the squared error of the logits against one-hot targets, mean over the points"
        }
    }
}

/// A string written as a zero-dimensional numpy unicode array (dtype `<U{characters}`), the
/// form of `numpy.array("text")`: `str(array)` and `array.item()` give the text back.
/// `ndarray-npy` has no element type for numpy strings, so the `.npy` is formatted here.
struct UnicodeScalar<'a>(&'a str);

impl UnicodeScalar<'_> {
    /// The data starts at a multiple of this many bytes, as numpy writes it
    /// (`numpy.lib.format.ARRAY_ALIGN`).
    const ALIGN: usize = 64;
    /// Magic string and format version 1.0.
    const MAGIC: &'static [u8] = b"\x93NUMPY\x01\x00";
}

impl WriteNpyExt for UnicodeScalar<'_> {
    fn write_npy<W: io::Write>(&self, mut writer: W) -> Result<(), WriteNpyError> {
        // Format 1.0 (numpy.lib.format): magic, version, the header's length as a little-endian
        // u16, the header (a Python dict literal padded with spaces and ended by a new line),
        // then the data: UCS-4, one little-endian u32 per character.
        let characters = self.0.chars().count();
        let dict = format!("{{'descr': '<U{characters}', 'fortran_order': False, 'shape': (), }}");
        let unpadded = Self::MAGIC.len() + 2 + dict.len() + 1;
        let padding = unpadded.next_multiple_of(Self::ALIGN) - unpadded;
        let header_len = u16::try_from(dict.len() + padding + 1).map_err(|_| {
            io::Error::other("the .npy header of a string is longer than 65535 bytes")
        })?;
        writer.write_all(Self::MAGIC)?;
        writer.write_all(&header_len.to_le_bytes())?;
        writer.write_all(dict.as_bytes())?;
        writer.write_all(&vec![b' '; padding])?;
        writer.write_all(b"\n")?;
        for c in self.0.chars() {
            writer.write_all(&u32::from(c).to_le_bytes())?;
        }
        writer.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unicode_scalar_is_an_aligned_npy_of_ucs4() {
        let text = "Störmer–Verlet {\"h\": 0.1}";
        let mut bytes = Vec::new();
        UnicodeScalar(text)
            .write_npy(&mut bytes)
            .expect("writes to memory");
        assert_eq!(&bytes[..8], UnicodeScalar::MAGIC);
        let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
        let data_start = 10 + header_len;
        assert_eq!(data_start % UnicodeScalar::ALIGN, 0);
        let header = std::str::from_utf8(&bytes[10..data_start]).expect("ASCII header");
        assert!(header.ends_with('\n'));
        let characters = text.chars().count();
        assert!(header.starts_with(&format!(
            "{{'descr': '<U{characters}', 'fortran_order': False, 'shape': (), }}"
        )));
        let decoded: String = bytes[data_start..]
            .chunks_exact(4)
            .map(|c| {
                char::from_u32(u32::from_le_bytes([c[0], c[1], c[2], c[3]])).expect("a character")
            })
            .collect();
        assert_eq!(bytes.len() - data_start, 4 * characters);
        assert_eq!(decoded, text);
    }
}
