//! `iquivity demo-data`: a workspace on the professional plan with the product page's example accounts
//! that the platforms contribute (Mason Carter on Facebook, Isabella Morgan on Instagram, ...), each connected through the sandbox's real
//! OAuth flow so that it holds real sandbox tokens.

use crate::App;
use anyhow::{anyhow, bail};
use iquivity_core::auth::SignUp;
use iquivity_core::connections::Callback;
use iquivity_domain::{Plan, Platform, WorkspaceId};
use iquivity_platforms::{descriptor, DemoAccount};
use iquivity_sandbox::Consent;
use iquivity_store::FlowStage;

/// Who signs in on the sandbox, on which platform, which of their targets to connect, and its labels: each
/// platform's demo accounts (from its descriptor), taken one platform after another so the list reads
/// Facebook, Instagram, X, LinkedIn, TikTok, Facebook, ...
fn demo_accounts() -> Vec<(Platform, DemoAccount)> {
    let per_platform: Vec<(Platform, &[DemoAccount])> = Platform::ALL
        .into_iter()
        .map(|p| (p, descriptor(p).demo_accounts))
        .collect();
    let rounds = per_platform.iter().map(|(_, a)| a.len()).max().unwrap_or(0);
    (0..rounds)
        .flat_map(|i| {
            per_platform
                .iter()
                .filter_map(move |(p, accounts)| accounts.get(i).map(|a| (*p, *a)))
        })
        .collect()
}

pub struct DemoWorkspace {
    pub email: String,
    pub password: String,
    pub workspace_id: WorkspaceId,
    pub accounts: usize,
}

pub async fn create(app: &App) -> anyhow::Result<DemoWorkspace> {
    if app.sandbox.is_none() {
        bail!("demo data is connected through the sandbox, and every platform has real credentials configured");
    }
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let email = format!("demo-{}@demo.iquivity.local", &suffix[..8]);
    let password = uuid::Uuid::new_v4().simple().to_string();
    let session = app
        .core
        .sign_up(SignUp::owner(&email, &password, "Demo Agency"))
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let caller = session.caller;
    app.store
        .set_plan(caller.workspace_id, Plan::Professional)
        .await?;
    let mut clients = std::collections::HashMap::new();
    for (
        platform,
        DemoAccount {
            person,
            kind,
            label,
        },
    ) in demo_accounts()
    {
        let started = app
            .core
            .start_connection(&caller, None, platform, None)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        let consent = Consent {
            user: Some(person.to_string()),
            ..Consent::default()
        };
        let approval = iquivity_sandbox::approve(&started.authorize_url, &consent)
            .await
            .map_err(|e| anyhow!("{platform} sandbox consent for {person}: {e}"))?;
        let flow = app
            .core
            .finish_connection(
                &caller,
                None,
                Callback::approved(
                    platform,
                    approval.state.as_deref(),
                    approval.code.as_deref(),
                ),
            )
            .await
            .map_err(|e| anyhow!("{e}"))?;
        let account_ids = match flow.stage {
            FlowStage::Done => flow.connected.clone(),
            FlowStage::Selecting => {
                let view = app
                    .core
                    .connection(&caller, flow.id)
                    .await
                    .map_err(|e| anyhow!("{e}"))?;
                let fitting: Vec<_> = view
                    .candidates
                    .iter()
                    .filter(|c| c.kind == kind && c.unavailable.is_none())
                    .collect();
                let pick = fitting
                    .iter()
                    .find(|c| c.display_name == person)
                    .or_else(|| fitting.iter().find(|c| c.display_name.starts_with(person)))
                    .ok_or_else(|| {
                        anyhow!(
                            "the {platform} sandbox offered no {} for {person}",
                            kind.as_str()
                        )
                    })?;
                let accounts = app
                    .core
                    .select_targets(
                        &caller,
                        flow.id,
                        std::slice::from_ref(&pick.platform_account_id),
                    )
                    .await
                    .map_err(|e| anyhow!("{e}"))?;
                accounts.into_iter().map(|a| a.id).collect()
            }
            _ => bail!(
                "connecting {person} on {platform} failed: {}",
                flow.error.unwrap_or_default()
            ),
        };
        // A "client: Name" label of the seed is a client here; other labels stay labels.
        let (labels, client_id) = match label.strip_prefix("client: ") {
            Some(name) => (
                Vec::new(),
                Some(demo_client(app, &caller, &mut clients, name).await?),
            ),
            None => (vec![label.to_string()], None),
        };
        for id in account_ids {
            app.core
                .update_account(
                    &caller,
                    id,
                    iquivity_core::accounts::AccountPatch {
                        labels: Some(labels.clone()),
                        display_name: None,
                        client_id: Some(client_id),
                    },
                )
                .await
                .map_err(|e| anyhow!("{e}"))?;
        }
    }
    let accounts = app.store.count_accounts(caller.workspace_id, None).await? as usize;
    Ok(DemoWorkspace {
        email,
        password,
        workspace_id: caller.workspace_id,
        accounts,
    })
}

/// Colours the demo's clients take in turn.
const CLIENT_COLOURS: [&str; 4] = ["#0b57d0", "#1a7f37", "#8250df", "#bf3989"];

/// The demo client of that name, created the first time it is needed.
async fn demo_client(
    app: &App,
    caller: &iquivity_core::Caller,
    clients: &mut std::collections::HashMap<String, iquivity_domain::ClientId>,
    name: &str,
) -> anyhow::Result<iquivity_domain::ClientId> {
    if let Some(id) = clients.get(name) {
        return Ok(*id);
    }
    let colour = CLIENT_COLOURS[clients.len() % CLIENT_COLOURS.len()];
    let client = app
        .core
        .create_client(caller, name, Some(colour))
        .await
        .map_err(|e| anyhow!("{e}"))?;
    clients.insert(name.to_string(), client.id);
    Ok(client.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_accounts_take_one_platform_after_another() {
        let accounts = demo_accounts();
        assert_eq!(accounts.len(), 15);
        let first: Vec<(Platform, &str)> = accounts
            .iter()
            .take(6)
            .map(|(p, a)| (*p, a.person))
            .collect();
        assert_eq!(
            first,
            [
                (Platform::Facebook, "Mason Carter"),
                (Platform::Instagram, "Isabella Morgan"),
                (Platform::X, "Ethan Brooks"),
                (Platform::Linkedin, "Olivia Bennett"),
                (Platform::Tiktok, "Liam Foster"),
                (Platform::Facebook, "Harbor Coffee"),
            ]
        );
        let last = accounts.last().map(|(p, a)| (*p, a.person, a.label));
        assert_eq!(
            last,
            Some((Platform::Tiktok, "Chloe Ramirez", "client: Ramirez Fitness"))
        );
    }
}
