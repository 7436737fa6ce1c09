//! macat: an offline, searchable, versioned mirror of the Huawei Cloud ModelArts image catalog.
//!
//! # Layout
//! - [`cli`]: clap types and one file per subcommand; wiring only.
//! - [`api`]: the ModelArts images API — response types, AK/SK signing, auth, the HTTP client.
//! - [`catalog`]: the API's filter/sort/page semantics, shared by the simulator and `list`.
//! - [`sync`]: the walk (paging dialects, concurrency, completeness) and the sync lock.
//! - [`store`]: the SQLite mirror — schema migrations, snapshots as versions, point-in-time reads,
//!   diffs between any two runs, the history of one image.
//! - [`index`]: the tantivy search index beside the mirror — schema, image-name analysis,
//!   updates after each committed run, the query language and ranking.
//! - [`apiserver`]: the HTTP layer shared by the simulator and `serve`.
//! - [`simulate`]: the axum simulator with fixture days and fault injection.
//! - [`serve`]: the mirror served read-only as the same API.
//! - [`web`]: pages for people beside it (search, images, diffs, runs with SVG charts), and
//!   the same pages as a static report.
//! - [`when`]: points in time (`--as-of`, `--from`, `--to`).
//! - [`watch`]: saved searches, their events (an outbox in the mirror) and webhook delivery.
//! - [`feed`]: Atom feeds of the catalog's changes and of a watch's events.
//! - [`metrics`]: a sync's Prometheus metrics, written atomically for cron monitoring.
//! - [`output`]: terminal-safe rendering: one pipeline (`Tabular` + `emit`) for table, JSON,
//!   ndjson and CSV; one table engine that fits the terminal; human sizes and times.
//! - [`error`]: the error type and its exit codes.
//! - [`crash`]: what a panic shows (one line) and where its report goes.
//!
//! Dependencies point one way: `cli` -> `sync`/`store`/`index`/`simulate` -> `api`/`catalog`.

pub mod api;
pub mod apiserver;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod crash;
pub mod error;
pub mod failpoint;
pub mod feed;
pub mod index;
pub mod metrics;
pub mod output;
pub mod serve;
pub mod simulate;
pub mod store;
pub mod sync;
pub mod watch;
pub mod web;
pub mod when;
