//! One flat parameter buffer with named blocks and typed per-layer views.
//!
//! Per-layer blocks are stacked along a leading axis of length `K` (block-major): all `A_k`
//! first, then all `b_k`, and so on. This is the order of the NPZ export and of the
//! checkpoint's `params`.

/// A named block of parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// Name as exported: `A`, `b`, `A1`, `b1`, `A2`, `b2`, `J`, `R`, `lift.W`, `lift.b`,
    /// `head.W`, `head.b`.
    pub name: &'static str,
    /// Offset of the block in the flat buffer.
    pub offset: usize,
    /// Number of layers the block is stacked over (1 for lift and head).
    pub layers: usize,
    /// Rows of one layer's matrix (or length of a vector).
    pub rows: usize,
    /// Columns of one layer's matrix (1 for a vector).
    pub cols: usize,
    /// Whether the block is stacked per layer (`K` copies) or global.
    pub per_layer: bool,
}

impl Block {
    /// Entries of one layer's copy.
    #[must_use]
    pub fn layer_len(&self) -> usize {
        self.rows * self.cols
    }

    /// Entries of the whole block.
    #[must_use]
    pub fn len(&self) -> usize {
        self.layers * self.layer_len()
    }

    /// Whether the block has no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Range of the whole block in the flat buffer.
    #[must_use]
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.len()
    }

    /// Range of layer `k`'s copy in the flat buffer.
    #[must_use]
    pub fn layer_range(&self, k: usize) -> std::ops::Range<usize> {
        let start = self.offset + k * self.layer_len();
        start..start + self.layer_len()
    }

    /// Shape of the block as exported: `(K, rows, cols)` for per-layer matrices, `(K, rows)` for
    /// per-layer vectors, `(rows, cols)` or `(rows,)` for global ones.
    #[must_use]
    pub fn shape(&self) -> Vec<usize> {
        let mut shape = Vec::with_capacity(3);
        if self.per_layer {
            shape.push(self.layers);
        }
        shape.push(self.rows);
        if self.cols > 1
            || self.name.ends_with('W')
            || self.name.starts_with('A')
            || self.name == "J"
            || self.name == "R"
        {
            shape.push(self.cols);
        }
        shape
    }
}

/// Index of each block a network has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockIds {
    /// `A` (or `A₁`).
    pub a: usize,
    /// `b` (or `b₁`).
    pub b: usize,
    /// `A₂` of a `Hamiltonian` field.
    pub a2: Option<usize>,
    /// `b₂` of a `Hamiltonian` or `Leapfrog` field.
    pub b2: Option<usize>,
    /// The learned skew-symmetric interconnection `J` of a `PortHamiltonian` field.
    pub j: Option<usize>,
    /// The learned dissipation `R ⪰ 0` of a `PortHamiltonian` field.
    pub r: Option<usize>,
    /// Weight of a linear lift.
    pub lift_w: Option<usize>,
    /// Bias of a linear lift.
    pub lift_b: Option<usize>,
    /// Weight of the head.
    pub head_w: usize,
    /// Bias of the head.
    pub head_b: usize,
}

/// The layout of the flat parameter buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamLayout {
    blocks: Vec<Block>,
    ids: BlockIds,
    len: usize,
}

/// What [`ParamLayout::new`] needs to know about the network.
#[derive(Clone, Copy, Debug)]
pub struct LayoutShape {
    /// Layers `K`.
    pub layers: usize,
    /// State width `d`.
    pub width: usize,
    /// Hidden width `m` (rows of `A`).
    pub hidden: usize,
    /// Whether the field has a second matrix `A₂` (the `Hamiltonian` field).
    pub second_matrix: bool,
    /// Whether the field has a second bias `b₂` without a second matrix (the `Leapfrog` field).
    pub second_bias: bool,
    /// Whether each layer learns a `d × d` interconnection `J` and a dissipation `R`
    /// (`PortHamiltonian`).
    pub learned: [bool; 2],
    /// Input features, when the lift is linear.
    pub linear_lift_inputs: Option<usize>,
    /// Outputs of the head.
    pub outputs: usize,
}

impl ParamLayout {
    /// Lays out the blocks of a network of the given shape.
    #[must_use]
    pub fn new(shape: &LayoutShape) -> Self {
        let mut blocks = Vec::new();
        let mut offset = 0;
        let mut push = |name, layers, rows, cols, per_layer| {
            let block = Block {
                name,
                offset,
                layers,
                rows,
                cols,
                per_layer,
            };
            offset += block.len();
            blocks.push(block);
            blocks.len() - 1
        };
        let (k, d, m) = (shape.layers, shape.width, shape.hidden);
        let lift_w = shape
            .linear_lift_inputs
            .map(|n_in| push("lift.W", 1, d, n_in, false));
        let lift_b = shape
            .linear_lift_inputs
            .map(|_| push("lift.b", 1, d, 1, false));
        let (a, b, a2, b2) = if shape.second_matrix {
            let a = push("A1", k, m, d, true);
            let b = push("b1", k, m, 1, true);
            let a2 = push("A2", k, m, d, true);
            let b2 = push("b2", k, m, 1, true);
            (a, b, Some(a2), Some(b2))
        } else if shape.second_bias {
            let a = push("A", k, m, d, true);
            let b = push("b1", k, m, 1, true);
            let b2 = push("b2", k, d, 1, true);
            (a, b, None, Some(b2))
        } else {
            (
                push("A", k, m, d, true),
                push("b", k, m, 1, true),
                None,
                None,
            )
        };
        let j = shape.learned[0].then(|| push("J", k, d, d, true));
        let r = shape.learned[1].then(|| push("R", k, d, d, true));
        let head_w = push("head.W", 1, shape.outputs, d, false);
        let head_b = push("head.b", 1, shape.outputs, 1, false);
        Self {
            blocks,
            ids: BlockIds {
                a,
                b,
                a2,
                b2,
                j,
                r,
                lift_w,
                lift_b,
                head_w,
                head_b,
            },
            len: offset,
        }
    }

    /// Total number of parameters.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no parameters (never, for a valid network).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// All blocks in buffer order.
    #[must_use]
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    /// Block indices by role.
    #[must_use]
    pub fn ids(&self) -> BlockIds {
        self.ids
    }

    /// The block with index `id`.
    #[must_use]
    pub fn block(&self, id: usize) -> &Block {
        &self.blocks[id]
    }

    /// The block with the given export name.
    #[must_use]
    pub fn by_name(&self, name: &str) -> Option<&Block> {
        self.blocks.iter().find(|b| b.name == name)
    }

    /// Per-layer blocks (the ones stacked over `K`).
    pub fn layer_blocks(&self) -> impl Iterator<Item = &Block> {
        self.blocks.iter().filter(|b| b.per_layer)
    }

    /// Layer `k`'s matrices and biases inside `buffer` (raw or effective).
    #[must_use]
    pub fn layer<'a>(&self, buffer: &'a [f64], k: usize) -> LayerParams<'a> {
        let ids = self.ids;
        let a = &buffer[self.blocks[ids.a].layer_range(k)];
        let b = &buffer[self.blocks[ids.b].layer_range(k)];
        let a2 = ids
            .a2
            .map_or(a, |id| &buffer[self.blocks[id].layer_range(k)]);
        let b2 = ids
            .b2
            .map_or(b, |id| &buffer[self.blocks[id].layer_range(k)]);
        let square = |id: Option<usize>| id.map(|id| &buffer[self.blocks[id].layer_range(k)]);
        LayerParams {
            a: [a, a2],
            b: [b, b2],
            j: square(ids.j),
            r: square(ids.r),
        }
    }
}

/// One layer's effective parameters: `[A, A₂]` and `[b, b₂]`; a field with one matrix has it
/// in both slots, and likewise one bias.
#[derive(Clone, Copy, Debug)]
pub struct LayerParams<'a> {
    /// Matrices by slot.
    pub a: [&'a [f64]; 2],
    /// Biases by slot.
    pub b: [&'a [f64]; 2],
    /// The learned interconnection `J` (`d × d`, skew-symmetric), if the field learns one.
    pub j: Option<&'a [f64]>,
    /// The learned dissipation `R` (`d × d`, symmetric positive semidefinite), if learned.
    pub r: Option<&'a [f64]>,
}

/// One layer's gradient accumulators inside a flat gradient buffer: `(∂A, ∂b)` per slot.
#[derive(Debug)]
pub struct LayerGrad<'a> {
    /// `∂A, ∂b, ∂A₂, ∂b₂, ∂J, ∂R` (empty where the field has none).
    parts: [&'a mut [f64]; 6],
    /// Whether slot 1 has a matrix and a bias of its own.
    second: [bool; 2],
}

impl LayerGrad<'_> {
    /// `(∂A, ∂b)` of slot `slot` (0 or 1; a field with one matrix or one bias shares slot 0's).
    pub fn slot(&mut self, slot: usize) -> (&mut [f64], &mut [f64]) {
        let [ga, gb, ga2, gb2, ..] = &mut self.parts;
        let a = if slot == 1 && self.second[0] { ga2 } else { ga };
        let b = if slot == 1 && self.second[1] { gb2 } else { gb };
        (a, b)
    }

    /// `(∂J, ∂R)` of a field that learns them (`None` for what it does not learn).
    pub fn interconnection(&mut self) -> (Option<&mut [f64]>, Option<&mut [f64]>) {
        let [.., gj, gr] = &mut self.parts;
        let gj = if gj.is_empty() { None } else { Some(&mut **gj) };
        let gr = if gr.is_empty() { None } else { Some(&mut **gr) };
        (gj, gr)
    }
}

impl ParamLayout {
    /// Layer `k`'s gradient accumulators inside a flat gradient buffer laid out like the
    /// parameters. The blocks are in ascending order `A, b, A₂, b₂, J, R`, so they split apart.
    pub fn layer_grad<'a>(&self, buffer: &'a mut [f64], k: usize) -> LayerGrad<'a> {
        let ids = self.ids;
        let a = self.blocks[ids.a].layer_range(k);
        let b = self.blocks[ids.b].layer_range(k);
        let a2 = ids.a2.map(|id| self.blocks[id].layer_range(k));
        let b2 = ids.b2.map(|id| self.blocks[id].layer_range(k));
        let j = ids.j.map(|id| self.blocks[id].layer_range(k));
        let r = ids.r.map(|id| self.blocks[id].layer_range(k));
        let second = [a2.is_some(), b2.is_some()];
        let ranges = [Some(a), Some(b), a2, b2, j, r];
        let mut rest = buffer;
        let mut consumed = 0;
        let mut parts: [&'a mut [f64]; 6] = Default::default();
        for (slot, range) in ranges.into_iter().enumerate() {
            let Some(range) = range else { continue };
            let (_, tail) = rest.split_at_mut(range.start - consumed);
            let (part, tail) = tail.split_at_mut(range.len());
            parts[slot] = part;
            rest = tail;
            consumed = range.end;
        }
        LayerGrad { parts, second }
    }
}
