//! Metrics CSV and NPZ export.
