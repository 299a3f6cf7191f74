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

/// What the Platforms page tells a person about a platform before they connect it (seed: "Platform-Specific
/// Setup"); each platform's descriptor in `iquivity-platforms` fills it in.
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

    /// The platform's name as people know it. It stays with the enum, beside its serialised name, because
    /// the domain (plan limits) and the sandbox (page titles) name platforms too; every other fact about a
    /// platform is in its descriptor in `iquivity-platforms`.
    pub fn display_name(self) -> &'static str {
        match self {
            Platform::Facebook => "Facebook",
            Platform::Instagram => "Instagram",
            Platform::X => "X (Twitter)",
            Platform::Linkedin => "LinkedIn",
            Platform::Tiktok => "TikTok",
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
                let names: Vec<&str> = Platform::ALL.iter().map(|p| p.as_str()).collect();
                ValidationError::new(
                    "platform",
                    format!(
                        "unknown platform {s:?}; expected one of {}",
                        names.join(", ")
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
        assert!(
            err.message
                .ends_with("expected one of facebook, instagram, x, linkedin, tiktok"),
            "{}",
            err.message
        );
    }
}
