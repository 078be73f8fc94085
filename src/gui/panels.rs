//! The central area: plot panels in a tiled layout (egui_tiles) the user can rearrange by
//! dragging tabs, resize, maximise and hide. The layout is a preference, kept in eframe storage.

use std::collections::HashMap;

use eframe::egui::{self, Rect, RichText, Ui};
use egui_tiles::{Behavior, SimplificationOptions, TileId, Tiles, Tree, UiResponse};
use serde::{Deserialize, Serialize};

use super::plots::{self, PlotContext};

/// The storage key of [`Layout`].
pub const LAYOUT_KEY: &str = "flowlab.layout";

/// One plot panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PaneKind {
    /// Training loss of the current run and of earlier runs.
    Loss,
    /// Train and test accuracy.
    Accuracy,
    /// Every run of this window: settings, colour, overlay toggle; and an open study's runs.
    Runs,
    /// An open study: its progress and a metric against its x axis per group.
    Study,
    /// The classifier's regions on a grid over the input domain, with the data.
    DecisionBoundary,
    /// Data points through the layers.
    Trajectories,
    /// Singular values of A(t) against t.
    SingularValues,
    /// One-sided Lipschitz estimate ν(t) with its bounds.
    Lipschitz,
    /// Growth of perturbations along the flow, with bounds.
    Divergence,
    /// Eigenvalues of h·J over the integrator's stability region.
    Eigenvalues,
    /// Energy error and symplecticity defect of Hamiltonian models.
    Energy,
    /// Volume change of each layer map, log |det ∂z_{k+1}/∂z_k|.
    Volume,
    /// OTD against DTO gradients, per layer.
    GradientConsistency,
    /// Accuracy under input perturbations of size ε.
    Robustness,
}

impl PaneKind {
    /// Every panel, in the View menu's order.
    pub const ALL: [Self; 14] = [
        Self::Loss,
        Self::Accuracy,
        Self::Runs,
        Self::Study,
        Self::DecisionBoundary,
        Self::Trajectories,
        Self::SingularValues,
        Self::Lipschitz,
        Self::Divergence,
        Self::Eigenvalues,
        Self::Energy,
        Self::Volume,
        Self::GradientConsistency,
        Self::Robustness,
    ];

    /// The tab title.
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Self::Loss => "Loss",
            Self::Accuracy => "Accuracy",
            Self::Runs => "Runs",
            Self::Study => "Study",
            Self::DecisionBoundary => "Decision boundary",
            Self::Trajectories => "Trajectories",
            Self::SingularValues => "Singular values",
            Self::Lipschitz => "Lipschitz ν(t)",
            Self::Divergence => "Divergence",
            Self::Eigenvalues => "Eigenvalues h·J",
            Self::Energy => "Energy",
            Self::Volume => "Volume",
            Self::GradientConsistency => "Gradients",
            Self::Robustness => "Robustness",
        }
    }

    /// What the panel shows, for tooltips and empty states.
    #[must_use]
    pub fn description(self) -> &'static str {
        match self {
            Self::Loss => {
                "The training objective (loss + regularisers) per iteration; earlier runs overlaid in their colours."
            }
            Self::Accuracy => {
                "Accuracy on the training set (solid) and the test set (dashed), where evaluated."
            }
            Self::Runs => {
                "Every model trained in this window, with its settings; tick a run to overlay it. \
                 An open study's runs follow, with their varied settings."
            }
            Self::Study => {
                "An open study (File ▸ Open study…): how its runs stand, and a metric against its \
                 x axis, one line per group (mean over seeds, bar: min–max), re-read while it runs."
            }
            Self::DecisionBoundary => {
                "The predicted class on a grid over the input domain, with training points (filled) and test points (rings)."
            }
            Self::Trajectories => {
                "Data points carried through the layers z₀ → z_K (2D directly, otherwise a fixed PCA projection)."
            }
            Self::SingularValues => {
                "All singular values σᵢ of every layer's effective A_k (A₁, A₂ for Hamiltonian fields) against t_k."
            }
            Self::Lipschitz => {
                "ν_k = max over probes of λ_max(½(J + Jᵀ)), the logarithmic 2-norm of the field's Jacobian, with the analytic bounds."
            }
            Self::Divergence => {
                "‖z_k(x+δ) − z_k(x)‖/‖δ‖ against t_k (median and max over probes, random and worst-case δ), with the bounds exp(hΣν_j) and ΠL_j."
            }
            Self::Eigenvalues => {
                "Eigenvalues of h·J at probe states, over the integrator's region of absolute stability {w : |R(w)| ≤ 1}."
            }
            Self::Energy => {
                "Per-step energy error of Hamiltonian models with θ_k frozen, the symplecticity defect ‖MᵀΩM − Ω‖ and the reversibility error."
            }
            Self::Volume => {
                "log |det ∂z_{k+1}/∂z_k| of every layer map at the probe states: 0 for a volume-preserving layer (a symplectic method on a Hamiltonian field), Σ log|1 + hλ_i| for explicit Euler."
            }
            Self::GradientConsistency => {
                "‖g_OTD − g_DTO‖/‖g_DTO‖ per layer, and both against finite differences."
            }
            Self::Robustness => {
                "Accuracy under input perturbations of size ε: random and gradient-sign directions."
            }
        }
    }
}

/// What a panel's header buttons asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PanelAction {
    /// Show only this panel.
    Maximise(PaneKind),
    /// Hide it (the View menu shows it again).
    Hide(PaneKind),
    /// Save a PNG of it.
    ExportPng(PaneKind),
}

/// The tiled layout and the maximised panel, if any.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Layout {
    tree: Tree<PaneKind>,
    maximised: Option<PaneKind>,
    /// Where each panel was drawn in the last frame (for plot exports).
    #[serde(skip)]
    rects: HashMap<PaneKind, Rect>,
}

impl Default for Layout {
    fn default() -> Self {
        use PaneKind as P;
        let mut tiles = Tiles::default();
        let tabs = |tiles: &mut Tiles<PaneKind>, kinds: &[PaneKind]| {
            let children = kinds.iter().map(|k| tiles.insert_pane(*k)).collect();
            tiles.insert_tab_tile(children)
        };
        let groups = [
            tabs(&mut tiles, &[P::Loss, P::Runs, P::Study]),
            tabs(&mut tiles, &[P::Accuracy, P::Robustness]),
            tabs(&mut tiles, &[P::DecisionBoundary, P::Trajectories]),
            tabs(&mut tiles, &[P::SingularValues, P::Eigenvalues]),
            tabs(&mut tiles, &[P::Lipschitz, P::Divergence]),
            tabs(&mut tiles, &[P::Energy, P::Volume, P::GradientConsistency]),
        ];
        let root = tiles.insert_grid_tile(groups.to_vec());
        Self {
            tree: Tree::new(egui::Id::unique("flowlab-panels"), root, tiles),
            maximised: None,
            rects: HashMap::new(),
        }
    }
}

impl Layout {
    /// Every panel on screen at once, each in its own tile of a grid (View ▸ Show every panel).
    #[must_use]
    pub fn every_panel() -> Self {
        let mut tiles = Tiles::default();
        let groups: Vec<TileId> = PaneKind::ALL
            .iter()
            .map(|kind| {
                let pane = tiles.insert_pane(*kind);
                tiles.insert_tab_tile(vec![pane])
            })
            .collect();
        let root = tiles.insert_grid_tile(groups);
        Self {
            tree: Tree::new(egui::Id::unique("flowlab-panels"), root, tiles),
            maximised: None,
            rects: HashMap::new(),
        }
    }

    /// Whether a panel is drawn in the current layout (visible and the active tab of its group,
    /// or the maximised one).
    #[must_use]
    pub fn is_on_screen(&self, kind: PaneKind) -> bool {
        if let Some(maximised) = self.maximised {
            return maximised == kind;
        }
        self.tree
            .tiles
            .find_pane(&kind)
            .is_some_and(|id| self.tree.active_tiles().contains(&id))
    }

    /// A stored layout if it holds every panel exactly once, otherwise the default one.
    #[must_use]
    pub fn checked(self) -> Self {
        let complete = PaneKind::ALL.iter().all(|kind| {
            self.tree
                .tiles
                .tiles()
                .filter(|t| matches!(t, egui_tiles::Tile::Pane(p) if p == kind))
                .count()
                == 1
        });
        if complete { self } else { Self::default() }
    }

    /// Whether a panel is shown.
    #[must_use]
    pub fn is_visible(&self, kind: PaneKind) -> bool {
        self.tree
            .tiles
            .find_pane(&kind)
            .is_some_and(|id| self.tree.tiles.is_visible(id))
    }

    /// Shows or hides a panel.
    pub fn set_visible(&mut self, kind: PaneKind, visible: bool) {
        if let Some(id) = self.tree.tiles.find_pane(&kind) {
            self.tree.tiles.set_visible(id, visible);
            if visible && let Some(parent) = self.tree.tiles.parent_of(id) {
                self.tree.tiles.set_visible(parent, true);
                if let Some(egui_tiles::Tile::Container(egui_tiles::Container::Tabs(tabs))) =
                    self.tree.tiles.get_mut(parent)
                {
                    tabs.set_active(id);
                }
            }
        }
        if !visible && self.maximised == Some(kind) {
            self.maximised = None;
        }
    }

    /// Shows only `kind` (until Restore).
    pub fn maximise(&mut self, kind: PaneKind) {
        self.set_visible(kind, true);
        self.maximised = Some(kind);
    }

    /// The maximised panel.
    #[must_use]
    pub fn maximised(&self) -> Option<PaneKind> {
        self.maximised
    }

    /// Where a panel was drawn in the last frame.
    #[must_use]
    pub fn rect(&self, kind: PaneKind) -> Option<Rect> {
        self.rects.get(&kind).copied()
    }

    /// Draws the panels (or the maximised one); returns what their buttons asked for.
    pub fn ui(&mut self, ui: &mut Ui, cx: &mut PlotContext<'_>) -> Vec<PanelAction> {
        let mut actions = Vec::new();
        if let Some(kind) = self.maximised {
            ui.horizontal(|ui| {
                ui.heading(kind.title());
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if ui
                        .button("Restore")
                        .on_hover_text("Back to the tiled layout")
                        .clicked()
                    {
                        self.maximised = None;
                    }
                    if ui
                        .button("PNG…")
                        .on_hover_text("Save a PNG of this panel")
                        .clicked()
                    {
                        actions.push(PanelAction::ExportPng(kind));
                    }
                });
            });
            ui.separator();
            self.rects.insert(kind, ui.available_rect_before_wrap());
            plots::pane_ui(ui, kind, cx);
            return actions;
        }
        let mut behavior = PanelBehavior {
            cx,
            actions: &mut actions,
            rects: &mut self.rects,
        };
        self.tree.ui(&mut behavior, ui);
        for action in &actions {
            match *action {
                PanelAction::Maximise(kind) => self.maximised = Some(kind),
                PanelAction::Hide(kind) => self.set_visible(kind, false),
                PanelAction::ExportPng(_) => {}
            }
        }
        actions
    }
}

struct PanelBehavior<'a, 'b> {
    cx: &'a mut PlotContext<'b>,
    actions: &'a mut Vec<PanelAction>,
    rects: &'a mut HashMap<PaneKind, Rect>,
}

impl Behavior<PaneKind> for PanelBehavior<'_, '_> {
    fn pane_ui(&mut self, ui: &mut Ui, _tile_id: TileId, pane: &mut PaneKind) -> UiResponse {
        self.rects.insert(*pane, ui.max_rect());
        egui::Frame::new()
            .inner_margin(egui::Margin::same(6))
            .show(ui, |ui| plots::pane_ui(ui, *pane, self.cx));
        UiResponse::None
    }

    fn tab_title_for_pane(&mut self, pane: &PaneKind) -> egui::WidgetText {
        pane.title().into()
    }

    fn top_bar_right_ui(
        &mut self,
        tiles: &Tiles<PaneKind>,
        ui: &mut Ui,
        _tile_id: TileId,
        tabs: &egui_tiles::Tabs,
        _scroll_offset: &mut f32,
    ) {
        let Some(kind) = tabs.active.and_then(|id| tiles.get_pane(&id)).copied() else {
            return;
        };
        ui.add_space(4.0);
        let small = |text: &str| egui::Button::new(RichText::new(text).small()).frame(false);
        if ui
            .add(small("Hide"))
            .on_hover_text(format!("Hide {} (View menu shows it again)", kind.title()))
            .clicked()
        {
            self.actions.push(PanelAction::Hide(kind));
        }
        if ui
            .add(small("Max"))
            .on_hover_text(format!("Show {} alone", kind.title()))
            .clicked()
        {
            self.actions.push(PanelAction::Maximise(kind));
        }
        if ui
            .add(small("PNG"))
            .on_hover_text(format!("Save a PNG of {}", kind.title()))
            .clicked()
        {
            self.actions.push(PanelAction::ExportPng(kind));
        }
    }

    fn tab_bar_height(&self, _style: &egui::Style) -> f32 {
        26.0
    }

    fn gap_width(&self, _style: &egui::Style) -> f32 {
        4.0
    }

    fn simplification_options(&self) -> SimplificationOptions {
        SimplificationOptions {
            all_panes_must_have_tabs: true,
            ..SimplificationOptions::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_layout_holds_every_panel_once() {
        let layout = Layout::default();
        for kind in PaneKind::ALL {
            assert!(layout.is_visible(kind), "{kind:?}");
        }
        let text = serde_json::to_string(&layout).expect("serialise");
        let back: Layout = serde_json::from_str(&text).expect("deserialise");
        assert!(back.checked().is_visible(PaneKind::Robustness));
    }

    #[test]
    fn every_panel_puts_each_panel_on_screen() {
        let layout = Layout::every_panel();
        for kind in PaneKind::ALL {
            assert!(layout.is_on_screen(kind), "{kind:?}");
        }
        let tabbed = Layout::default();
        assert!(tabbed.is_on_screen(PaneKind::Loss));
        assert!(!tabbed.is_on_screen(PaneKind::Runs), "an inactive tab");
    }

    #[test]
    fn hiding_and_showing_a_panel() {
        let mut layout = Layout::default();
        layout.set_visible(PaneKind::Energy, false);
        assert!(!layout.is_visible(PaneKind::Energy));
        layout.set_visible(PaneKind::Energy, true);
        assert!(layout.is_visible(PaneKind::Energy));
    }
}
