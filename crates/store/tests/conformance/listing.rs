//! The accounts list: keyset pagination in every order, search and filters.

use crate::harness::*;
use chrono::{DateTime, Utc};
use iquivity_domain::{
    Account, AccountId, AccountStatus, Plan, Platform, Role, StatusReason, WorkspaceId,
};
use iquivity_store::{
    cursor_after, AccountQuery, AccountSort, AuditKind, SortKey, StatusChange, Store,
};
use std::collections::HashSet;
use std::sync::Arc;

/// One account of the fixture: its name, platform, status, minutes after the base time it was connected,
/// and labels.
struct Spec {
    name: &'static str,
    platform: Platform,
    status: AccountStatus,
    minute: i64,
    labels: &'static [&'static str],
}

const fn spec(
    name: &'static str,
    platform: Platform,
    status: AccountStatus,
    minute: i64,
    labels: &'static [&'static str],
) -> Spec {
    Spec {
        name,
        platform,
        status,
        minute,
        labels,
    }
}

/// Mixed case, non-ASCII names, ties in every sort key (equal lower-cased names, equal creation times),
/// and names with LIKE's wildcards in them.
const FIXTURE: &[Spec] = {
    use AccountStatus::*;
    use Platform::*;
    &[
        spec("Émile", X, Active, 0, &["Client A"]),
        spec("zed", Facebook, Inactive, 1, &["client a"]),
        spec("Zoë", Instagram, Active, 1, &[]),
        spec("alpha", Linkedin, Failed, 2, &[]),
        spec("Alpha", X, Active, 2, &[]),
        spec("bravo", Tiktok, Active, 3, &["personal"]),
        spec("ZED", X, Failed, 3, &[]),
        spec("100% real", Facebook, Active, 4, &[]),
        spec("a_b", Instagram, Inactive, 4, &[]),
        spec("axb", Linkedin, Active, 5, &[]),
        spec("Ørsted", Tiktok, Inactive, 5, &["Client B"]),
        spec("émile", Facebook, Active, 6, &[]),
        spec("Zoe", X, Active, 6, &[]),
    ]
};

struct Fixture {
    workspace: WorkspaceId,
    base: DateTime<Utc>,
    accounts: Vec<Account>,
}

impl Fixture {
    fn ids_where(&self, keep: impl Fn(&Account) -> bool) -> HashSet<AccountId> {
        self.accounts
            .iter()
            .filter(|a| keep(a))
            .map(|a| a.id)
            .collect()
    }

    fn id_of(&self, name: &str) -> AccountId {
        self.accounts
            .iter()
            .find(|a| a.display_name == name)
            .unwrap_or_else(|| panic!("no account named {name}"))
            .id
    }
}

async fn fixture(store: &dyn Store) -> Fixture {
    let owner = tenant(store, Plan::Enterprise).await;
    let colleague = new_user("colleague", now());
    store.create_user(&colleague).await.unwrap();
    store
        .add_member(owner.workspace, colleague.id, Role::Admin)
        .await
        .unwrap();
    let base = now() - minutes(60);
    let mut accounts = Vec::new();
    for (i, spec) in FIXTURE.iter().enumerate() {
        let mut up = upsert(
            &owner,
            spec.platform,
            &format!("pid-{i}"),
            spec.name,
            base + minutes(spec.minute),
        );
        up.labels = spec.labels.iter().map(|l| l.to_string()).collect();
        if spec.name == "bravo" {
            up.connected_by = Some(colleague.id);
        }
        let mut account = connect(store, &up).await;
        if spec.status != AccountStatus::Active {
            let reason = match spec.status {
                AccountStatus::Inactive => StatusReason::TokenExpired,
                _ => StatusReason::AuthenticationFailed,
            };
            let at = base + minutes(30);
            account = store
                .set_account_status(
                    owner.workspace,
                    account.id,
                    &StatusChange {
                        status: spec.status,
                        reason: Some(reason),
                        message: None,
                        at,
                    },
                    &event(
                        owner.workspace,
                        Some(account.id),
                        AuditKind::StatusChanged,
                        at,
                    ),
                )
                .await
                .unwrap()
                .unwrap();
        }
        accounts.push(account);
    }
    // Another workspace's accounts must never show.
    let other = tenant(store, Plan::Enterprise).await;
    for spec in FIXTURE.iter().take(4) {
        connect(
            store,
            &upsert(
                &other,
                spec.platform,
                spec.name,
                spec.name,
                base + minutes(spec.minute),
            ),
        )
        .await;
    }
    Fixture {
        workspace: owner.workspace,
        base,
        accounts,
    }
}

/// The order `sort` must give: by its key, then by id, both in its direction.
fn expected_order(accounts: &[Account], sort: AccountSort) -> Vec<AccountId> {
    let key = |a: &Account| -> (String, i64, String) {
        match sort.key {
            SortKey::CreatedAt => (
                String::new(),
                a.created_at.timestamp_micros(),
                a.id.to_string(),
            ),
            SortKey::Name => (a.display_name.to_lowercase(), 0, a.id.to_string()),
            SortKey::Platform => (a.platform.as_str().to_string(), 0, a.id.to_string()),
            // By severity, most urgent first.
            SortKey::Status => (String::new(), a.status.severity_rank(), a.id.to_string()),
        }
    };
    let mut sorted: Vec<&Account> = accounts.iter().collect();
    sorted.sort_by_key(|a| key(a));
    if sort.descending {
        sorted.reverse();
    }
    sorted.into_iter().map(|a| a.id).collect()
}

/// Every page of `query`, `limit` at a time, following the cursor of each page's last account.
async fn all_pages(
    store: &dyn Store,
    workspace: WorkspaceId,
    mut query: AccountQuery,
    limit: u32,
) -> Vec<AccountId> {
    query.limit = limit;
    query.after = None;
    let mut seen = Vec::new();
    for _ in 0..100 {
        let page = store.list_accounts(workspace, &query).await.unwrap();
        assert!(
            page.len() <= limit as usize,
            "a page holds at most {limit} accounts, got {}",
            page.len()
        );
        let Some(last) = page.last() else {
            return seen;
        };
        query.after = Some(cursor_after(last, query.sort));
        seen.extend(page.iter().map(|a| a.id));
    }
    panic!("the pages never ended; seen so far: {seen:?}");
}

fn names(fixture: &Fixture, ids: &[AccountId]) -> Vec<String> {
    ids.iter()
        .map(|id| {
            fixture
                .accounts
                .iter()
                .find(|a| a.id == *id)
                .map(|a| a.display_name.clone())
                .unwrap_or_else(|| format!("<not in the fixture: {id}>"))
        })
        .collect()
}

async fn matching(store: &dyn Store, fixture: &Fixture, query: AccountQuery) -> HashSet<AccountId> {
    let ids = all_pages(store, fixture.workspace, query, 100).await;
    let set: HashSet<AccountId> = ids.iter().copied().collect();
    assert_eq!(set.len(), ids.len(), "no account twice");
    set
}

fn by_names(fixture: &Fixture, names: &[&str]) -> HashSet<AccountId> {
    names.iter().map(|n| fixture.id_of(n)).collect()
}

pub async fn pages_cover_every_account_once_in_each_order(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let fixture = fixture(s).await;
    for key in [
        SortKey::CreatedAt,
        SortKey::Name,
        SortKey::Platform,
        SortKey::Status,
    ] {
        for descending in [false, true] {
            let sort = AccountSort { key, descending };
            let expected = expected_order(&fixture.accounts, sort);
            for limit in [1, 4, 5, 13, 50] {
                let mut query = AccountQuery::all(limit);
                query.sort = sort;
                let got = all_pages(s, fixture.workspace, query, limit).await;
                assert_eq!(
                    names(&fixture, &got),
                    names(&fixture, &expected),
                    "sorted by {} {}, {limit} a page",
                    key.as_str(),
                    if descending {
                        "descending"
                    } else {
                        "ascending"
                    }
                );
            }
        }
    }

    // The name order is code-point order of the lower-cased names: "émile" after "zoë", ties by id.
    let by_name = expected_order(
        &fixture.accounts,
        AccountSort {
            key: SortKey::Name,
            descending: false,
        },
    );
    let lowered: Vec<String> = names(&fixture, &by_name)
        .iter()
        .map(|n| n.to_lowercase())
        .collect();
    assert_eq!(
        lowered,
        [
            "100% real",
            "a_b",
            "alpha",
            "alpha",
            "axb",
            "bravo",
            "zed",
            "zed",
            "zoe",
            "zoë",
            "émile",
            "émile",
            "ørsted",
        ]
    );

    // Filters page the same way.
    let mut active = AccountQuery::all(2);
    active.statuses = vec![AccountStatus::Active];
    active.sort = AccountSort {
        key: SortKey::Name,
        descending: true,
    };
    let actives: Vec<Account> = fixture
        .accounts
        .iter()
        .filter(|a| a.status == AccountStatus::Active)
        .cloned()
        .collect();
    assert_eq!(
        names(&fixture, &all_pages(s, fixture.workspace, active, 2).await),
        names(
            &fixture,
            &expected_order(
                &actives,
                AccountSort {
                    key: SortKey::Name,
                    descending: true
                }
            )
        )
    );
    // So do searches, short (a scan) and long (SQLite's trigram index).
    for (text, key, descending, limit) in [
        ("a", SortKey::CreatedAt, false, 3),
        ("a", SortKey::Name, true, 2),
        ("émile", SortKey::Platform, false, 1),
        ("zed", SortKey::Name, true, 1),
        ("zo", SortKey::Status, true, 1),
    ] {
        let sort = AccountSort { key, descending };
        let mut searched = search(text);
        searched.sort = sort;
        let hits: Vec<Account> = fixture
            .accounts
            .iter()
            .filter(|a| {
                // The search text holds the name, the handle and the labels.
                a.display_name.to_lowercase().contains(text)
                    || a.labels
                        .iter()
                        .any(|l| l.as_str().to_lowercase().contains(text))
            })
            .cloned()
            .collect();
        assert!(!hits.is_empty());
        assert_eq!(
            names(
                &fixture,
                &all_pages(s, fixture.workspace, searched, limit).await
            ),
            names(&fixture, &expected_order(&hits, sort)),
            "search {text:?} sorted by {} {}, {limit} a page",
            key.as_str(),
            if descending {
                "descending"
            } else {
                "ascending"
            }
        );
    }
}

pub async fn search_matches_fragments_case_insensitively_and_literally(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let f = fixture(s).await;
    let cases: &[(&str, &[&str])] = &[
        // Short fragments and long ones (SQLite answers those from its trigram index).
        ("ÉMILE", &["Émile", "émile"]),
        ("Émi", &["Émile", "émile"]),
        ("é", &["Émile", "émile"]),
        ("zo", &["Zoë", "Zoe"]),
        ("ZOË", &["Zoë"]),
        ("zed", &["zed", "ZED"]),
        ("ørs", &["Ørsted"]),
        ("alpha", &["alpha", "Alpha"]),
        // LIKE's wildcards are plain characters.
        ("%", &["100% real"]),
        ("0% r", &["100% real"]),
        ("_", &["a_b"]),
        ("a_b", &["a_b"]),
        ("a_", &["a_b"]),
        ("x", &["axb"]),
        ("qqq", &[]),
        ("\"", &[]),
    ];
    for (text, expected) in cases {
        assert_eq!(
            names(
                &f,
                &matching(s, &f, search(text))
                    .await
                    .into_iter()
                    .collect::<Vec<_>>()
            )
            .into_iter()
            .collect::<HashSet<_>>(),
            expected
                .iter()
                .map(|n| n.to_string())
                .collect::<HashSet<_>>(),
            "search {text:?}"
        );
    }

    // A search that also names a platform or a creation time matches any of its alternatives.
    let mut text_or_platform = search("x");
    text_or_platform.search.as_mut().unwrap().words[0].platforms = vec![Platform::X];
    assert_eq!(
        matching(s, &f, text_or_platform).await,
        f.ids_where(|a| a.platform == Platform::X || a.display_name == "axb")
    );
    let mut text_or_created = search("zzzz");
    text_or_created.search.as_mut().unwrap().created =
        vec![(f.base + minutes(4), f.base + minutes(5))];
    assert_eq!(
        matching(s, &f, text_or_created).await,
        by_names(&f, &["100% real", "a_b"])
    );
    // Each word must match, in any order; one word can match by its platform, another by the name.
    let mut words = search("tiktok émile");
    words.search.as_mut().unwrap().words[0].platforms = vec![Platform::Tiktok];
    assert_eq!(
        matching(s, &f, words).await,
        f.ids_where(
            |a| a.platform == Platform::Tiktok && a.display_name.to_lowercase().contains("émile")
        )
    );
    let mut long_text_or_platform = search("émile");
    long_text_or_platform.search.as_mut().unwrap().words[0].platforms = vec![Platform::Tiktok];
    assert_eq!(
        matching(s, &f, long_text_or_platform).await,
        by_names(&f, &["Émile", "émile", "bravo", "Ørsted"])
    );
}

pub async fn filters_by_platform_status_creation_owner_and_label(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let f = fixture(s).await;

    let mut platforms = AccountQuery::all(100);
    platforms.platforms = vec![Platform::X, Platform::Tiktok];
    assert_eq!(
        matching(s, &f, platforms).await,
        f.ids_where(|a| matches!(a.platform, Platform::X | Platform::Tiktok))
    );

    let mut statuses = AccountQuery::all(100);
    statuses.statuses = vec![AccountStatus::Inactive, AccountStatus::Failed];
    assert_eq!(
        matching(s, &f, statuses).await,
        f.ids_where(|a| a.status != AccountStatus::Active)
    );

    let mut both = AccountQuery::all(100);
    both.platforms = vec![Platform::X];
    both.statuses = vec![AccountStatus::Active];
    assert_eq!(
        matching(s, &f, both).await,
        by_names(&f, &["Émile", "Alpha", "Zoe"])
    );

    // From inclusive, before exclusive.
    let mut created = AccountQuery::all(100);
    created.created_from = Some(f.base + minutes(2));
    created.created_before = Some(f.base + minutes(4));
    assert_eq!(
        matching(s, &f, created).await,
        by_names(&f, &["alpha", "Alpha", "bravo", "ZED"])
    );
    let mut since = AccountQuery::all(100);
    since.created_from = Some(f.base + minutes(6));
    assert_eq!(
        matching(s, &f, since).await,
        by_names(&f, &["émile", "Zoe"])
    );

    let colleague = f
        .accounts
        .iter()
        .find(|a| a.display_name == "bravo")
        .unwrap()
        .connected_by;
    let mut owner = AccountQuery::all(100);
    owner.connected_by = colleague;
    assert_eq!(matching(s, &f, owner).await, by_names(&f, &["bravo"]));

    // Labels match by their beginning, case-insensitively; not by their middle.
    for (label, expected) in [
        ("Client A", &["Émile", "zed"][..]),
        ("CLIENT A", &["Émile", "zed"][..]),
        ("client b", &["Ørsted"][..]),
        ("Personal", &["bravo"][..]),
        ("client", &["Émile", "zed", "Ørsted"][..]),
        ("lient", &[][..]),
    ] {
        let mut labelled = AccountQuery::all(100);
        labelled.label = Some(label.to_string());
        assert_eq!(
            matching(s, &f, labelled).await,
            by_names(&f, expected),
            "label {label:?}"
        );
    }

    // Filters and a search together.
    let mut combined = search("e");
    combined.statuses = vec![AccountStatus::Active];
    combined.platforms = vec![Platform::X, Platform::Instagram];
    assert_eq!(
        matching(s, &f, combined).await,
        by_names(&f, &["Émile", "Zoe"]),
        "\"zoë\" has no plain e"
    );
}

pub async fn label_filter_ignores_case_beyond_ascii(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Enterprise).await;
    let t0 = now();
    let mut up = upsert(&owner, Platform::X, "x-1", "Équipe account", t0);
    up.labels = vec!["Équipe Ørsted".to_string()];
    let labelled = connect(store.as_ref(), &up).await;
    connect(
        store.as_ref(),
        &upsert(&owner, Platform::X, "x-2", "Other", t0),
    )
    .await;

    for label in ["Équipe Ørsted", "équipe ørsted", "ÉQUIPE ØRSTED"] {
        let mut query = AccountQuery::all(10);
        query.label = Some(label.to_string());
        let ids: Vec<AccountId> = store
            .list_accounts(owner.workspace, &query)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.id)
            .collect();
        assert_eq!(ids, vec![labelled.id], "label filter {label:?}");
    }
}

pub async fn search_treats_quotes_and_operators_literally(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Enterprise).await;
    let t0 = now();
    let names = [
        "say \"hi\"",
        "C++ fans",
        "AND OR NOT",
        "a*b",
        "O'Brien",
        "back\\slash",
        "plain",
    ];
    for (i, name) in names.iter().enumerate() {
        connect(
            store.as_ref(),
            &upsert(&owner, Platform::X, &format!("pid-{i}"), name, t0),
        )
        .await;
    }
    for (text, expected) in [
        ("\"hi\"", &["say \"hi\""][..]),
        ("y \"h", &["say \"hi\""][..]),
        ("\"", &["say \"hi\""][..]),
        ("c++", &["C++ fans"][..]),
        ("and or", &["AND OR NOT"][..]),
        ("not", &["AND OR NOT"][..]),
        ("a*b", &["a*b"][..]),
        ("*b", &["a*b"][..]),
        ("o'b", &["O'Brien"][..]),
        ("'", &["O'Brien"][..]),
        ("k\\s", &["back\\slash"][..]),
        ("\\", &["back\\slash"][..]),
        ("a*", &["a*b"][..]),
        ("*", &["a*b"][..]),
        ("pl*n", &[][..]),
    ] {
        let found = names_matching(store.as_ref(), owner.workspace, text).await;
        assert_eq!(found, expected, "search {text:?}");
    }
}
