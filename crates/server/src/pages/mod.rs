//! Server-rendered pages. Every page is plain HTML with the stylesheet from /assets; no inline script.

pub mod api_docs;
pub mod auth;
pub mod connect;
mod flash;
mod icons;
mod layout;
pub mod platforms;
pub mod posts;
pub mod settings;

pub use layout::{app_page, csrf_token, page, Chrome, ASSETS_CSS, ASSETS_ICON, ASSETS_JS};
