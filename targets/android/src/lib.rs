//! android target (being built).
