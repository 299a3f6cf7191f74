//! Server-rendered pages. Every page is plain HTML with the stylesheet from /assets; no inline script.

pub mod connect;
mod layout;

pub use layout::{csrf_token, page, ASSETS_CSS};
