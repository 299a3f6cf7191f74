//! Clients: unique names per workspace regardless of case, account counts, assignment within the
//! workspace only, and removal that keeps the accounts.

use crate::harness::*;
use iquivity_domain::{AccountStatus, Client, ClientId, ClientName, Colour, Plan, Platform};
use iquivity_store::{AuditKind, StatusTally, Store};
use std::sync::Arc;

pub(crate) fn client(workspace: iquivity_domain::WorkspaceId, name: &str) -> Client {
    Client {
        id: ClientId::new(),
        workspace_id: workspace,
        name: ClientName::parse(name).unwrap(),
        colour: None,
        created_at: now(),
    }
}

pub async fn clients_are_unique_by_name_and_their_removal_keeps_the_accounts(
    store: Arc<dyn Store>,
) {
    let owner = tenant(store.as_ref(), Plan::Enterprise).await;
    let other = tenant(store.as_ref(), Plan::Enterprise).await;
    let zed = client(owner.workspace, "Zed");
    let mut acme = client(owner.workspace, "Acme");
    acme.colour = Some(Colour::parse("#1f6feb").unwrap());
    for c in [&zed, &acme] {
        store.create_client(c).await.unwrap();
    }
    let twin = store.create_client(&client(owner.workspace, "ACME")).await;
    assert_duplicate(twin, "a name taken in another case");
    // Another workspace may use the same name.
    let foreign = client(other.workspace, "Acme");
    store.create_client(&foreign).await.unwrap();

    let account = account(store.as_ref(), &owner, Platform::X, "Acme on X").await;
    let assign = || {
        event(
            owner.workspace,
            Some(account.id),
            AuditKind::ClientChanged,
            now(),
        )
    };
    let assigned = store
        .set_account_client(owner.workspace, account.id, Some(acme.id), &assign())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(assigned.client_id, Some(acme.id));
    assert!(
        store
            .set_account_client(owner.workspace, account.id, Some(foreign.id), &assign())
            .await
            .unwrap()
            .is_none(),
        "another workspace's client is not assigned"
    );
    let listed = store.clients(owner.workspace).await.unwrap();
    let names: Vec<(&str, u32)> = listed
        .iter()
        .map(|(c, n)| (c.name.as_str(), n.total()))
        .collect();
    assert_eq!(
        names,
        [("Acme", 1), ("Zed", 0)],
        "by name, with account counts"
    );
    assert_eq!(
        listed[0].1,
        StatusTally {
            active: u32::from(account.status == AccountStatus::Active),
            inactive: u32::from(account.status == AccountStatus::Inactive),
            failed: u32::from(account.status == AccountStatus::Failed),
        },
        "counted in its status"
    );
    assert_eq!(listed[0].0.colour, acme.colour);

    // Renaming into a taken name is a duplicate; clearing the colour works.
    let taken = ClientName::parse("acme").unwrap();
    let renamed = store
        .update_client(owner.workspace, zed.id, Some(&taken), None)
        .await;
    assert_duplicate(renamed, "a rename into a taken name");
    let cleared = store
        .update_client(owner.workspace, acme.id, None, Some(None))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cleared.colour, None);
    assert!(store
        .update_client(other.workspace, acme.id, None, Some(None))
        .await
        .unwrap()
        .is_none());

    // Removing the client keeps the account, without a client.
    assert!(!store.delete_client(other.workspace, acme.id).await.unwrap());
    assert!(store.delete_client(owner.workspace, acme.id).await.unwrap());
    let kept = store
        .account(owner.workspace, account.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.client_id, None);
    assert!(store
        .client(owner.workspace, acme.id)
        .await
        .unwrap()
        .is_none());
}
