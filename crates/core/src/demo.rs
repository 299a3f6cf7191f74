//! `iquivity demo-data`: a workspace on the professional plan with the seed's 15 example accounts.

use crate::accounts::NewConnection;
use crate::auth::SignUp;
use crate::secrets::new_secret;
use crate::{Core, CoreError};
use iquivity_domain::TokenSet;
use iquivity_domain::{AccountKind, Plan, Platform, WorkspaceId};
use secrecy::{ExposeSecret, SecretString};

/// Name, handle, platform, kind, labels: Mason Carter and Isabella Morgan are the seed's own examples.
const DEMO_ACCOUNTS: [(&str, &str, Platform, AccountKind, &[&str]); 15] = [
    (
        "Mason Carter",
        "masoncarter",
        Platform::Facebook,
        AccountKind::Page,
        &["business"],
    ),
    (
        "Isabella Morgan",
        "isabella.morgan",
        Platform::Instagram,
        AccountKind::Business,
        &["business"],
    ),
    (
        "Ethan Brooks",
        "ethanbrooks",
        Platform::X,
        AccountKind::Profile,
        &["personal"],
    ),
    (
        "Olivia Bennett",
        "olivia-bennett",
        Platform::Linkedin,
        AccountKind::Profile,
        &["personal"],
    ),
    (
        "Liam Foster",
        "liamfoster",
        Platform::Tiktok,
        AccountKind::Business,
        &["client: Foster & Co"],
    ),
    (
        "Harbor Coffee Roasters",
        "harborcoffee",
        Platform::Facebook,
        AccountKind::Page,
        &["client: Harbor Coffee"],
    ),
    (
        "Sophia Reyes",
        "sophia.reyes",
        Platform::Instagram,
        AccountKind::Creator,
        &["personal"],
    ),
    (
        "Noah Whitaker",
        "noahwhitaker",
        Platform::X,
        AccountKind::Profile,
        &["business"],
    ),
    (
        "Brightline Studio",
        "brightline-studio",
        Platform::Linkedin,
        AccountKind::Organization,
        &["client: Brightline"],
    ),
    (
        "Ava Sullivan",
        "avasullivan",
        Platform::Tiktok,
        AccountKind::Creator,
        &["personal"],
    ),
    (
        "Greenleaf Market",
        "greenleafmarket",
        Platform::Facebook,
        AccountKind::Page,
        &["client: Greenleaf"],
    ),
    (
        "Lucas Hayes",
        "lucas.hayes",
        Platform::Instagram,
        AccountKind::Business,
        &["business"],
    ),
    (
        "Mia Donovan",
        "miadonovan",
        Platform::X,
        AccountKind::Profile,
        &["client: Donovan Law"],
    ),
    (
        "Northwind Logistics",
        "northwind-logistics",
        Platform::Linkedin,
        AccountKind::Organization,
        &["business"],
    ),
    (
        "Chloe Ramirez",
        "chloeramirez",
        Platform::Tiktok,
        AccountKind::Business,
        &["client: Ramirez Fitness"],
    ),
];

pub struct DemoWorkspace {
    pub email: String,
    pub password: SecretString,
    pub workspace_id: WorkspaceId,
    pub accounts: usize,
}

impl Core {
    pub async fn create_demo_workspace(&self) -> Result<DemoWorkspace, CoreError> {
        let suffix = &new_secret("").expose_secret()[..6].to_lowercase();
        let email = format!("demo-{suffix}@demo.iquivity.local");
        let password = new_secret("");
        let session = self
            .sign_up(SignUp {
                email: &email,
                password: password.expose_secret(),
                workspace_name: Some("Demo Agency"),
                invitation: None,
            })
            .await?;
        let caller = session.caller;
        self.store
            .set_plan(caller.workspace_id, Plan::Professional)
            .await?;
        for (name, handle, platform, kind, labels) in DEMO_ACCOUNTS {
            let scopes = platform
                .info()
                .permissions
                .iter()
                .filter(|p| p.required)
                .map(|p| p.scope.to_string())
                .collect();
            self.record_connection(
                &caller,
                NewConnection {
                    platform,
                    kind,
                    platform_account_id: format!("demo-{platform}-{handle}"),
                    display_name: name.to_string(),
                    handle: Some(handle.to_string()),
                    avatar_url: None,
                    scopes,
                    labels: labels.iter().map(|l| l.to_string()).collect(),
                    tokens: TokenSet {
                        access_token: new_secret("demo_"),
                        refresh_token: Some(new_secret("demo_")),
                        expires_at: None,
                        refresh_expires_at: None,
                        grant_token: None,
                        issued_at: None,
                    },
                    sandbox: true,
                },
            )
            .await?;
        }
        Ok(DemoWorkspace {
            email,
            password,
            workspace_id: caller.workspace_id,
            accounts: DEMO_ACCOUNTS.len(),
        })
    }
}
