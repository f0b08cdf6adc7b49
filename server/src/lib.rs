//! distd, the dist release server: configuration, the SQLite database and its migrations, the
//! content-addressed blob store, tokens, the hash-chained audit log, the business rules
//! (releases, artifacts, channels) and the HTTP API v1 that serves them.
//!
//! It owns storage and policy, not platform knowledge: every artifact is read by a target
//! found through `platform::registry()`, and this crate never names a target. It must never
//! execute or unpack what it stores, never buffer a whole blob in memory, and never log a
//! token secret or a query string.

pub mod access;
pub mod audit;
pub mod auth;
pub mod blobs;
pub mod bootstrap;
pub mod caches;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod fsck;
pub mod gc;
pub mod grants;
pub mod healthcheck;
pub mod http;
pub mod listener;
pub mod logfile;
pub mod partials;
pub mod perms;
pub mod preflight;
pub mod reinspect;
pub mod reserve;
pub mod restore;
pub mod retention;
pub mod services;
pub mod sessions;
pub mod startup;
pub mod util;

pub use http::app;
pub use services::AppState;
