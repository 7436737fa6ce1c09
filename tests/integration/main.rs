//! Integration tests: the real `macat` binary against the real simulator over loopback HTTP,
//! with real SQLite files in a temp dir per test.

mod util;

mod auth;
mod bad_input;
mod compare;
mod crash;
mod faults;
mod heal;
mod help;
mod history;
mod pages;
mod points;
mod reliability;
mod schema;
mod search;
mod security;
mod serve;
mod show_image;
mod soak;
mod walk;
mod watch;
