//! The records the store reads and writes, one file per area. They are storage types: the API's JSON is
//! defined in the server's views. Enums stored as text are declared with their stored names by
//! `named_enum!`.

mod accounts;
mod alerts;
mod connections;
mod lifecycle;
mod metrics;
mod people;
mod posts;

pub use accounts::*;
pub use alerts::*;
pub use connections::*;
pub use lifecycle::*;
pub use metrics::*;
pub use people::*;
pub use posts::*;
