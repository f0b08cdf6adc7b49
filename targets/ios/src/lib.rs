//! ios target (being built).
