//! Built-in demo organization and synthetic generator (placeholder).
