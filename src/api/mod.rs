//! The ModelArts images API: response types, AK/SK signing, credentials and the HTTP client.

pub mod auth;
pub mod client;
pub mod regions;
pub mod sign;
pub mod types;
