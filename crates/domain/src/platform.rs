use crate::named_enum;
use crate::ValidationError;
use serde::Serialize;

named_enum! {
    /// The social networks an account can live on.
    #[derive(Hash, PartialOrd, Ord)]
    pub enum Platform {
        Facebook = "facebook",
        Instagram = "instagram",
        X = "x",
        Linkedin = "linkedin",
        Tiktok = "tiktok",
    }
    unknown = |s| {
        ValidationError::new(
            "platform",
            format!(
                "unknown platform {s:?}; expected one of {}",
                Platform::ALL.map(Platform::as_str).join(", ")
            ),
        )
    };
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

    #[test]
    fn platforms_are_shown_by_the_names_people_know() {
        let names = Platform::ALL.map(Platform::display_name);
        assert_eq!(
            names,
            ["Facebook", "Instagram", "X (Twitter)", "LinkedIn", "TikTok"]
        );
    }
}
