//! Integration tests: the real `macat` binary against the real simulator over loopback HTTP,
//! with real SQLite files in a temp dir per test.

mod util;

mod auth;
mod bad_input;
mod crash;
mod faults;
mod history;
mod points;
mod schema;
mod search;
mod security;
mod serve;
mod soak;
mod walk;
mod watch;
