//! The domain model of iQuivity Social: what an account, a platform, a status and a plan are.
//! Values here are parsed once at the edge ("parse, don't validate"); this crate does no I/O.

mod account;
mod alert;
mod client;
mod ids;
mod link;
mod named;
mod people;
mod plan;
mod platform;
mod tokens;
mod validation;

pub use account::{Account, AccountKind, AccountStatus, Label, Labels, NameOverride, StatusReason};
pub use alert::{AlertEmail, AlertKind};
pub use client::{Client, ClientName, Colour};
pub use ids::{AccountId, ClientId, InvitationId, LinkId, TokenId, UserId, WorkspaceId};
pub use link::{LinkKind, LinkNote, LINK_DEFAULT_DAYS, LINK_MAX_DAYS};
pub use people::{Email, Password, Role, WorkspaceName};
pub use plan::{Plan, PlanLimits};
pub use platform::{PermissionInfo, Platform, PlatformInfo};
pub use tokens::TokenSet;
pub use validation::ValidationError;

/// For `named_enum!` used in other crates: its schema implementation names utoipa through this crate.
#[doc(hidden)]
pub use utoipa;
