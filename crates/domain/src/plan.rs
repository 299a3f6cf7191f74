use crate::named_enum;
use crate::{Platform, ValidationError};
use serde::Serialize;
use std::str::FromStr;

named_enum! {
    /// A workspace's subscription plan (seed: "Account Limits").
    #[derive(Hash)]
    pub enum Plan {
        Free = "free",
        Starter = "starter",
        Professional = "professional",
        Enterprise = "enterprise",
    }
}

/// How many accounts a plan allows; `None` means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PlanLimits {
    pub max_accounts: Option<u32>,
    pub max_accounts_per_platform: Option<u32>,
}

impl Plan {
    pub fn limits(self) -> PlanLimits {
        let (max_accounts, max_accounts_per_platform) = match self {
            Plan::Free => (Some(3), Some(1)),
            Plan::Starter => (Some(10), None),
            Plan::Professional => (Some(25), None),
            Plan::Enterprise => (None, None),
        };
        PlanLimits {
            max_accounts,
            max_accounts_per_platform,
        }
    }

    /// Whether one more account on `platform` fits, given how many the workspace has in all and on that platform.
    /// Returns the reason a person reads when it does not.
    pub fn check_room(
        self,
        platform: Platform,
        total: u32,
        on_platform: u32,
    ) -> Result<(), String> {
        let limits = self.limits();
        if let Some(max) = limits.max_accounts {
            if total >= max {
                return Err(format!(
                    "The {} plan allows {max} accounts in all and {total} are connected; upgrade the plan or remove an account.",
                    self.as_str()
                ));
            }
        }
        if let Some(max) = limits.max_accounts_per_platform {
            if on_platform >= max {
                return Err(format!(
                    "The {} plan allows {max} {} account(s); upgrade the plan or remove the one connected.",
                    self.as_str(),
                    platform.display_name()
                ));
            }
        }
        Ok(())
    }
}

impl FromStr for Plan {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Typed by people (setup, the command line): spaces and case do not matter.
        Plan::parse(&s.trim().to_ascii_lowercase()).ok_or_else(|| {
            ValidationError::new(
                "plan",
                format!(
                    "unknown plan {s:?}; expected one of free, starter, professional, enterprise"
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_follow_the_seed() {
        assert_eq!(Plan::Free.limits().max_accounts, Some(3));
        assert_eq!(Plan::Free.limits().max_accounts_per_platform, Some(1));
        assert_eq!(Plan::Starter.limits().max_accounts, Some(10));
        assert_eq!(Plan::Professional.limits().max_accounts, Some(25));
        assert_eq!(Plan::Enterprise.limits().max_accounts, None);
    }

    #[test]
    fn room_is_checked_in_all_and_per_platform() {
        assert!(Plan::Free.check_room(Platform::X, 0, 0).is_ok());
        assert!(Plan::Free.check_room(Platform::X, 1, 1).is_err());
        assert!(Plan::Free.check_room(Platform::X, 3, 0).is_err());
        assert!(Plan::Starter.check_room(Platform::X, 9, 9).is_ok());
        assert!(Plan::Starter.check_room(Platform::X, 10, 0).is_err());
        assert!(Plan::Enterprise
            .check_room(Platform::X, 10_000, 10_000)
            .is_ok());
    }
}
