//! Alerts, webhooks and their deliveries.

use crate::harness::*;
use chrono::{DateTime, Utc};
use iquivity_domain::{AlertKind, Plan};
use iquivity_store::{
    AlertPosition, AlertRecord, Claim, DeliveryAttempt, DeliveryRecord, DeliveryState,
    FailureClass, Store, WebhookChange, WebhookHealth, WebhookRecord,
};
use std::sync::Arc;

pub async fn alerts_are_deduplicated_and_fan_out_to_each_webhook(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Free).await;
    let other = tenant(store.as_ref(), Plan::Free).await;
    let t0 = now() - minutes(60);
    let first = webhook(owner.workspace, "https://hooks.example.test/1", t0);
    let second = webhook(
        owner.workspace,
        "https://hooks.example.test/2",
        t0 + minutes(1),
    );
    let foreign = webhook(other.workspace, "https://hooks.example.test/3", t0);
    for hook in [&second, &first, &foreign] {
        store.create_webhook(hook).await.unwrap();
    }
    let hooks = store.webhooks(owner.workspace).await.unwrap();
    assert_eq!(
        hooks.iter().map(|h| h.id).collect::<Vec<_>>(),
        vec![first.id, second.id],
        "oldest first, this workspace's only"
    );
    assert_eq!(hooks[0].url, first.url);
    assert_eq!(hooks[0].secret, first.secret);

    let expiring = alert(
        owner.workspace,
        Some("expiring:acct:2030-01-01"),
        t0 + minutes(2),
    );
    assert!(store.record_alert(&expiring).await.unwrap());
    let again = alert(
        owner.workspace,
        Some("expiring:acct:2030-01-01"),
        t0 + minutes(3),
    );
    assert!(
        !store.record_alert(&again).await.unwrap(),
        "the same dedupe key is one incident"
    );
    // Without a dedupe key alerts never collide.
    let plain = alert(owner.workspace, None, t0 + minutes(4));
    let plainer = alert(owner.workspace, None, t0 + minutes(5));
    assert!(store.record_alert(&plain).await.unwrap());
    assert!(store.record_alert(&plainer).await.unwrap());

    let alerts = store.alerts(owner.workspace, None, 10).await.unwrap();
    assert_eq!(
        alerts.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![plainer.id, plain.id, expiring.id],
        "newest first, the duplicate not recorded"
    );
    assert_eq!(alerts[2].dedupe_key, expiring.dedupe_key);
    assert_eq!(alerts[2].payload, expiring.payload);
    assert_eq!(alerts[2].kind, expiring.kind);
    assert_eq!(alerts[2].account_id, expiring.account_id);
    assert_eq!(alerts[2].read_at, None);
    assert_eq!(
        store.alerts(owner.workspace, None, 2).await.unwrap().len(),
        2
    );
    assert!(store
        .alerts(other.workspace, None, 10)
        .await
        .unwrap()
        .is_empty());
    // The history pages on from where the last page ended, missing none and repeating none.
    let after_first = AlertPosition {
        created_at: plainer.created_at,
        id: plainer.id,
    };
    let next = store
        .alerts(owner.workspace, Some(after_first), 1)
        .await
        .unwrap();
    assert_eq!(
        next.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![plain.id]
    );
    let last = AlertPosition {
        created_at: expiring.created_at,
        id: expiring.id,
    };
    assert!(store
        .alerts(owner.workspace, Some(last), 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.unread_alerts(owner.workspace).await.unwrap(), 3);
    assert_eq!(store.unread_alerts(other.workspace).await.unwrap(), 0);

    // One delivery per alert and webhook, none for the other workspace's webhook.
    for hook in [&first, &second] {
        let deliveries = store
            .deliveries(owner.workspace, hook.id, 10)
            .await
            .unwrap();
        assert_eq!(
            deliveries.iter().map(|d| d.alert_id).collect::<Vec<_>>(),
            vec![plainer.id, plain.id, expiring.id]
        );
        for d in &deliveries {
            assert_eq!(d.webhook_id, hook.id);
            assert_eq!(d.state, DeliveryState::Pending);
            assert_eq!(d.attempts, 0);
            assert_eq!(d.delivered_at, None);
        }
        assert_eq!(deliveries[2].next_attempt_at, Some(expiring.created_at));
    }
    assert!(store
        .deliveries(owner.workspace, foreign.id, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(
        store
            .deliveries(other.workspace, first.id, 10)
            .await
            .unwrap()
            .is_empty(),
        "not through another workspace"
    );
    assert_eq!(store.metrics(t0).await.unwrap().pending_deliveries, 6);

    // Removing a webhook removes its deliveries.
    assert!(!store
        .delete_webhook(other.workspace, second.id)
        .await
        .unwrap());
    assert!(store
        .delete_webhook(owner.workspace, second.id)
        .await
        .unwrap());
    assert!(!store
        .delete_webhook(owner.workspace, second.id)
        .await
        .unwrap());
    assert_eq!(store.metrics(t0).await.unwrap().pending_deliveries, 3);
    assert_eq!(store.webhooks(owner.workspace).await.unwrap().len(), 1);

    // Read marks apply to what is unread, in one workspace.
    let foreign_alert = alert(other.workspace, None, t0);
    assert!(store.record_alert(&foreign_alert).await.unwrap());
    let t1 = t0 + minutes(10);
    store.mark_alerts_read(owner.workspace, t1).await.unwrap();
    let later = alert(owner.workspace, None, t0 + minutes(11));
    assert!(store.record_alert(&later).await.unwrap());
    let t2 = t0 + minutes(20);
    store.mark_alerts_read(owner.workspace, t2).await.unwrap();
    let read: Vec<(uuid::Uuid, Option<DateTime<Utc>>)> = store
        .alerts(owner.workspace, None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.id, a.read_at))
        .collect();
    assert_eq!(
        read,
        vec![
            (later.id, Some(t2)),
            (plainer.id, Some(t1)),
            (plain.id, Some(t1)),
            (expiring.id, Some(t1)),
        ]
    );
    assert_eq!(
        store.alerts(other.workspace, None, 10).await.unwrap()[0].read_at,
        None
    );
}

/// The delivery `id` of the webhook, as stored now.
async fn stored_delivery(
    store: &dyn Store,
    hook: &WebhookRecord,
    id: uuid::Uuid,
) -> DeliveryRecord {
    let stored = store.deliveries(hook.workspace_id, hook.id, 10).await;
    let found = stored.unwrap().into_iter().find(|d| d.id == id);
    found.expect("the delivery is listed")
}

/// What `owner` claims at `at` (up to `limit` deliveries, each with its webhook and alert), leased
/// until `until`.
async fn claim(
    store: &dyn Store,
    owner: &str,
    at: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: u32,
) -> Vec<(DeliveryRecord, WebhookRecord, AlertRecord)> {
    store
        .claim_deliveries(Claim::new(owner, at, until, limit))
        .await
        .unwrap()
}

/// Whether `owner` recorded the attempt on the delivery.
async fn attempt(
    store: &dyn Store,
    delivery: uuid::Uuid,
    owner: &str,
    record: &DeliveryAttempt,
) -> bool {
    store
        .record_delivery_attempt(delivery, owner, record)
        .await
        .unwrap()
}

/// The webhook as stored now.
async fn stored_webhook(store: &dyn Store, hook: &WebhookRecord) -> WebhookRecord {
    let stored = store.webhook(hook.workspace_id, hook.id).await.unwrap();
    stored.expect("the webhook is stored")
}

pub async fn deliveries_are_leased_and_settled_by_their_owner(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Free).await;
    let s = store.as_ref();
    let t0 = now();
    let hook = webhook(
        owner.workspace,
        "https://hooks.example.test/a",
        t0 - minutes(60),
    );
    store.create_webhook(&hook).await.unwrap();
    let incident = alert(owner.workspace, Some("incident-1"), t0);
    assert!(store.record_alert(&incident).await.unwrap());
    let upcoming = alert(owner.workspace, Some("incident-2"), t0 + minutes(30));
    assert!(store.record_alert(&upcoming).await.unwrap());

    let claimed = claim(s, "A", t0, t0 + minutes(1), 10).await;
    assert_eq!(claimed.len(), 1, "only the due delivery");
    let (delivery, with_hook, with_alert) = &claimed[0];
    assert_eq!(delivery.alert_id, incident.id);
    assert_eq!(delivery.attempts, 1);
    assert_eq!(with_hook.id, hook.id);
    assert_eq!(with_hook.url, hook.url);
    assert_eq!(with_hook.secret, hook.secret);
    assert_eq!(with_alert.id, incident.id);
    assert_eq!(with_alert.payload, incident.payload);
    let id = delivery.id;

    let while_leased = t0 + chrono::Duration::seconds(10);
    let taken = claim(s, "B", while_leased, t0 + minutes(2), 10).await;
    assert!(taken.is_empty());
    let failed_attempt = DeliveryAttempt {
        state: DeliveryState::Pending,
        status: Some(500),
        failure: Some(FailureClass::HttpStatus),
        next_attempt_at: t0 + minutes(5),
        now: t0 + chrono::Duration::seconds(20),
    };
    assert!(
        !attempt(s, id, "B", &failed_attempt).await,
        "B does not hold it"
    );
    assert!(attempt(s, id, "A", &failed_attempt).await);
    let stored = stored_delivery(store.as_ref(), &hook, id).await;
    assert_eq!(stored.state, DeliveryState::Pending);
    assert_eq!(stored.last_status, Some(500));
    assert_eq!(stored.failure_class, Some(FailureClass::HttpStatus));
    assert_eq!(stored.next_attempt_at, Some(t0 + minutes(5)));
    assert_eq!(stored.attempts, 1);

    // Not due again until the next attempt time.
    assert!(claim(s, "B", t0 + minutes(4), t0 + minutes(6), 10)
        .await
        .is_empty());
    let claimed = claim(s, "B", t0 + minutes(5), t0 + minutes(6), 10).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].0.id, id);
    assert_eq!(claimed[0].0.attempts, 2);

    // B's lease runs out before it reports: C takes the delivery over and B's report is refused.
    let claimed = claim(s, "C", t0 + minutes(6), t0 + minutes(7), 10).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].0.attempts, 3);
    let delivered = DeliveryAttempt {
        state: DeliveryState::Delivered,
        status: Some(204),
        failure: None,
        next_attempt_at: t0 + minutes(6),
        now: t0 + minutes(6),
    };
    assert!(!attempt(s, id, "B", &delivered).await);
    assert!(attempt(s, id, "C", &delivered).await);
    assert!(
        !attempt(s, id, "C", &delivered).await,
        "the lease ended with the attempt"
    );
    let stored = stored_delivery(store.as_ref(), &hook, id).await;
    assert_eq!(stored.state, DeliveryState::Delivered);
    assert_eq!(stored.last_status, Some(204));
    assert_eq!(stored.failure_class, None);
    assert_eq!(stored.delivered_at, Some(t0 + minutes(6)));
    assert_eq!(stored.next_attempt_at, None);

    // Delivered is final; the other alert's delivery comes due on its own time, and can fail for good.
    let claimed = claim(s, "D", t0 + minutes(60), t0 + minutes(61), 10).await;
    assert_eq!(
        claimed
            .iter()
            .map(|(d, _, _)| d.alert_id)
            .collect::<Vec<_>>(),
        vec![upcoming.id]
    );
    let given_up = DeliveryAttempt {
        state: DeliveryState::Failed,
        status: Some(410),
        failure: Some(FailureClass::HttpStatus),
        next_attempt_at: t0 + minutes(60),
        now: t0 + minutes(60),
    };
    assert!(attempt(s, claimed[0].0.id, "D", &given_up).await);
    assert!(claim(s, "E", t0 + minutes(600), t0 + minutes(601), 10)
        .await
        .is_empty());
    assert_eq!(store.metrics(t0).await.unwrap().pending_deliveries, 0);
}

/// The delivery log keeps a class per failed attempt (and the status when an endpoint answered), which the
/// next attempt replaces.
pub async fn each_delivery_failure_class_is_kept(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Free).await;
    let s = store.as_ref();
    let t0 = now();
    let hook = webhook(owner.workspace, "https://hooks.example.test/c", t0);
    store.create_webhook(&hook).await.unwrap();
    assert!(store
        .record_alert(&alert(owner.workspace, None, t0))
        .await
        .unwrap());
    for (i, class) in FailureClass::ALL.into_iter().enumerate() {
        let at = t0 + minutes(i as i64);
        let claimed = claim(s, "A", at, at + minutes(1), 10).await;
        assert_eq!(claimed.len(), 1, "{class:?}");
        let status = matches!(class, FailureClass::Redirect | FailureClass::HttpStatus)
            .then_some(307 + i as u16);
        assert!(store
            .record_delivery_attempt(
                claimed[0].0.id,
                "A",
                &DeliveryAttempt {
                    state: DeliveryState::Pending,
                    status,
                    failure: Some(class),
                    next_attempt_at: at,
                    now: at,
                },
            )
            .await
            .unwrap());
        let stored = store
            .deliveries(owner.workspace, hook.id, 10)
            .await
            .unwrap();
        assert_eq!(stored[0].failure_class, Some(class));
        assert_eq!(stored[0].last_status, status);
        assert_eq!(
            serde_json::to_value(class).unwrap(),
            serde_json::json!(class.as_str())
        );
        assert_eq!(FailureClass::parse(class.as_str()), Some(class));
    }
}

pub async fn concurrent_alerts_with_one_dedupe_key_record_one(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Free).await;
    let t0 = now();
    let hooks = [
        webhook(owner.workspace, "https://hooks.example.test/x", t0),
        webhook(owner.workspace, "https://hooks.example.test/y", t0),
    ];
    for hook in &hooks {
        store.create_webhook(hook).await.unwrap();
    }
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        let record = alert(owner.workspace, Some("expiring:raced"), t0);
        tasks.push(tokio::spawn(async move {
            store.record_alert(&record).await.unwrap()
        }));
    }
    let mut recorded = 0;
    for task in tasks {
        recorded += usize::from(task.await.unwrap());
    }
    assert_eq!(recorded, 1);
    assert_eq!(
        store.alerts(owner.workspace, None, 10).await.unwrap().len(),
        1
    );
    for hook in &hooks {
        assert_eq!(
            store
                .deliveries(owner.workspace, hook.id, 10)
                .await
                .unwrap()
                .len(),
            1
        );
    }
}

/// How many deliveries each of `hooks` has queued.
async fn queued(store: &dyn Store, hooks: &[&WebhookRecord]) -> Vec<usize> {
    let mut counts = Vec::new();
    for hook in hooks {
        counts.push(
            store
                .deliveries(hook.workspace_id, hook.id, 100)
                .await
                .unwrap()
                .len(),
        );
    }
    counts
}

pub async fn webhooks_take_their_events_rotate_secrets_and_are_disabled_once(
    store: Arc<dyn Store>,
) {
    let owner = tenant(store.as_ref(), Plan::Free).await;
    let s = store.as_ref();
    let t0 = now();
    let all = webhook(owner.workspace, "https://hooks.example.test/all", t0);
    let mut removals = webhook(owner.workspace, "https://hooks.example.test/rm", t0);
    removals.events = Some(vec![AlertKind::Removed, AlertKind::WebhookDisabled]);
    for hook in [&all, &removals] {
        store.create_webhook(hook).await.unwrap();
    }
    let stored = store.webhook(owner.workspace, removals.id).await.unwrap();
    assert_eq!(stored.unwrap().events, removals.events, "events round-trip");
    let other = tenant(store.as_ref(), Plan::Free).await;
    assert!(
        store
            .webhook(other.workspace, removals.id)
            .await
            .unwrap()
            .is_none(),
        "another workspace's webhook is not found"
    );

    // The event filter: a status change goes to the webhook that takes every type only.
    assert!(store
        .record_alert(&alert(owner.workspace, None, t0))
        .await
        .unwrap());
    assert_eq!(queued(store.as_ref(), &[&all, &removals]).await, vec![1, 0]);
    let mut removed = alert(owner.workspace, None, t0);
    removed.kind = AlertKind::Removed;
    assert!(store.record_alert(&removed).await.unwrap());
    assert_eq!(queued(store.as_ref(), &[&all, &removals]).await, vec![2, 1]);

    // Changing the events, and back to all.
    let change = |events, enabled| WebhookChange {
        events,
        enabled,
        now: t0,
    };
    assert!(store
        .update_webhook(owner.workspace, removals.id, &change(Some(None), None))
        .await
        .unwrap());
    assert!(store
        .record_alert(&alert(owner.workspace, None, t0))
        .await
        .unwrap());
    assert_eq!(queued(store.as_ref(), &[&all, &removals]).await, vec![3, 2]);
    assert!(!store
        .update_webhook(other.workspace, removals.id, &change(Some(None), None))
        .await
        .unwrap());

    // Rotation: the current secret becomes the previous one, signing until the given time.
    let fresh = credential("key-2", "the new secret");
    assert!(store
        .rotate_webhook_secret(owner.workspace, all.id, &fresh, t0 + minutes(60))
        .await
        .unwrap());
    let rotated = stored_webhook(s, &all).await;
    assert_eq!(rotated.secret, fresh);
    let previous = rotated.previous_secret.clone().expect("kept");
    assert_eq!(previous.secret, all.secret);
    assert_eq!(previous.until, t0 + minutes(60));
    assert_eq!(rotated.previous_secret_at(t0), Some(&all.secret));
    assert_eq!(rotated.previous_secret_at(t0 + minutes(60)), None, "ended");

    // Health: failing since the first failure; disabled once it has failed long enough, and only once.
    let failed = |since| WebhookHealth::Failed {
        disable_if_failing_since: since,
    };
    assert!(!store
        .record_webhook_health(all.id, t0, failed(t0 - minutes(1)))
        .await
        .unwrap());
    assert!(!store
        .record_webhook_health(all.id, t0 + minutes(10), failed(t0 - minutes(1)))
        .await
        .unwrap());
    let failing = stored_webhook(s, &all).await;
    assert_eq!(failing.failing_since, Some(t0), "from the first failure");
    assert!(failing.disabled_at.is_none());
    assert!(store
        .record_webhook_health(all.id, t0 + minutes(20), failed(t0))
        .await
        .unwrap());
    assert!(
        !store
            .record_webhook_health(all.id, t0 + minutes(30), failed(t0))
            .await
            .unwrap(),
        "disabled once"
    );
    let disabled = stored_webhook(s, &all).await;
    assert_eq!(disabled.disabled_at, Some(t0 + minutes(20)));

    // Disabled: nothing new is queued for it, and its pending deliveries are not claimed.
    assert!(store
        .record_alert(&alert(owner.workspace, None, t0))
        .await
        .unwrap());
    assert_eq!(queued(store.as_ref(), &[&all, &removals]).await, vec![3, 3]);
    let claimed = claim(s, "me", t0 + minutes(1), t0 + minutes(2), 100).await;
    assert!(
        claimed.iter().all(|(_, hook, _)| hook.id == removals.id),
        "{claimed:?}"
    );
    assert_eq!(claimed.len(), 3);

    // Enabled again: the failure streak starts afresh and its pending deliveries go out.
    assert!(store
        .update_webhook(owner.workspace, all.id, &change(None, Some(true)))
        .await
        .unwrap());
    let enabled = stored_webhook(s, &all).await;
    assert!(enabled.disabled_at.is_none() && enabled.failing_since.is_none());
    let claimed = claim(s, "me", t0 + minutes(1), t0 + minutes(2), 100).await;
    assert_eq!(claimed.len(), 3);
    assert!(claimed.iter().all(|(_, hook, _)| hook.id == all.id));

    // A success ends a failure streak; a person can disable a webhook too.
    store
        .record_webhook_health(removals.id, t0, failed(t0 - minutes(1)))
        .await
        .unwrap();
    store
        .record_webhook_health(removals.id, t0, WebhookHealth::Succeeded)
        .await
        .unwrap();
    let healthy = stored_webhook(s, &removals).await;
    assert!(healthy.failing_since.is_none());
    assert!(store
        .update_webhook(owner.workspace, removals.id, &change(None, Some(false)))
        .await
        .unwrap());
    let paused = stored_webhook(s, &removals).await;
    assert_eq!(paused.disabled_at, Some(t0));
}
