//! Options (placeholder).
