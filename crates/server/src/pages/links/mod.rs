//! Links for account owners: the agency's page that makes them, and the pages a link opens, which need
//! no sign-in.

mod agency;
mod visitor;

pub use agency::{create, create_access, index, reconnect_request, revoke};
pub(crate) use visitor::{after_consent, refused};
pub use visitor::{flow, open, remove_request, select, start};
