use crate::ValidationError;
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// The social networks an account can live on.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Facebook,
    Instagram,
    X,
    Linkedin,
    Tiktok,
}

/// What the Platforms page tells a person about a platform before they connect it (seed: "Platform-Specific Setup").
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlatformInfo {
    pub platform: Platform,
    pub display_name: &'static str,
    /// What can be connected, e.g. "Facebook Pages".
    pub connects: &'static str,
    pub requirements: &'static [&'static str],
    /// The permissions asked for, as the platform names them.
    pub permissions: &'static [PermissionInfo],
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PermissionInfo {
    pub scope: &'static str,
    pub purpose: &'static str,
    pub required: bool,
}

/// A permission literal; a macro rather than a `const fn` so the arrays below are promoted to `'static`.
macro_rules! permission {
    ($scope:literal, $purpose:literal, $required:literal) => {
        PermissionInfo {
            scope: $scope,
            purpose: $purpose,
            required: $required,
        }
    };
}

impl Platform {
    pub const ALL: [Platform; 5] = [
        Platform::Facebook,
        Platform::Instagram,
        Platform::X,
        Platform::Linkedin,
        Platform::Tiktok,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Facebook => "facebook",
            Platform::Instagram => "instagram",
            Platform::X => "x",
            Platform::Linkedin => "linkedin",
            Platform::Tiktok => "tiktok",
        }
    }

    pub fn display_name(self) -> &'static str {
        self.info().display_name
    }

    pub fn info(self) -> PlatformInfo {
        match self {
            Platform::Facebook => PlatformInfo {
                platform: self,
                display_name: "Facebook",
                connects: "Facebook Pages and Profiles",
                requirements: &[
                    "A Facebook Page (for businesses)",
                    "Admin access to the Page",
                    "A Facebook Business account",
                    "Profiles can be connected for identity only: Facebook does not let apps publish to personal profiles",
                ],
                permissions: &[
                    permission!("pages_manage_posts", "Publish to the Page", true),
                    permission!("pages_read_engagement", "Read insights", true),
                    permission!("pages_show_list", "List the Pages you administer", true),
                    permission!("business_management", "Reach Pages held in a business portfolio", false),
                    permission!("read_insights", "Page analytics", false),
                ],
            },
            Platform::Instagram => PlatformInfo {
                platform: self,
                display_name: "Instagram",
                connects: "Instagram Business or Creator accounts",
                requirements: &[
                    "An Instagram Business or Creator account",
                    "Connected to a Facebook Page",
                    "Admin access to that Page",
                ],
                permissions: &[
                    permission!("instagram_basic", "Basic profile access", true),
                    permission!("instagram_content_publish", "Publish posts", true),
                    permission!("pages_show_list", "Find the Pages your Instagram accounts are linked to", true),
                    permission!("pages_read_engagement", "Read the linked Page", true),
                    permission!("instagram_manage_insights", "View analytics", false),
                    permission!("business_management", "Reach Pages held in a business portfolio", false),
                ],
            },
            Platform::X => PlatformInfo {
                platform: self,
                display_name: "X (Twitter)",
                connects: "X profiles",
                requirements: &["An X account", "A verified email address"],
                permissions: &[
                    permission!("tweet.read", "Read posts", true),
                    permission!("tweet.write", "Publish posts", true),
                    permission!("users.read", "Read your profile", true),
                    permission!("offline.access", "Stay connected without signing in again", true),
                    permission!("media.write", "Attach images and videos to posts", false),
                    permission!("dm.read", "Direct message access (optional)", false),
                ],
            },
            Platform::Linkedin => PlatformInfo {
                platform: self,
                display_name: "LinkedIn",
                connects: "LinkedIn profiles and company pages",
                requirements: &[
                    "A LinkedIn account or Company Page",
                    "Admin rights (for company pages)",
                ],
                permissions: &[
                    permission!("w_member_social", "Share content", true),
                    permission!("openid", "Sign in with LinkedIn", true),
                    permission!("profile", "Read profile data", true),
                    permission!("r_organization_social", "Company page access (if applicable)", false),
                    permission!("w_organization_social", "Post as a company page (if applicable)", false),
                    permission!("rw_organization_admin", "List the pages you administer", false),
                ],
            },
            Platform::Tiktok => PlatformInfo {
                platform: self,
                display_name: "TikTok",
                connects: "TikTok Business accounts",
                requirements: &[
                    "A TikTok Business account",
                    "A verified account",
                    "A content creator or business profile",
                ],
                permissions: &[
                    permission!("user.info.basic", "Profile information access", true),
                    permission!("video.publish", "Video upload and publishing", true),
                    permission!("user.info.profile", "Read your username", false),
                    permission!("user.info.stats", "Analytics access", false),
                ],
            },
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Platform {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Platform::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "platform",
                    format!(
                        "unknown platform {s:?}; expected one of facebook, instagram, x, linkedin, tiktok"
                    ),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_round_trip_through_their_names() {
        for p in Platform::ALL {
            assert_eq!(p.as_str().parse::<Platform>().unwrap(), p);
        }
        let err = "myspace".parse::<Platform>().unwrap_err();
        assert!(err.message.contains("myspace"));
    }
}
