//! The storage conformance suite: one set of scenarios, each run against every backend of the `Store`
//! trait. Every scenario runs on SQLite (`sqlite::<scenario>`) and on PostgreSQL (`postgres::<scenario>`),
//! the latter on a fresh schema of the server named by `IQUIVITY_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). When that server cannot be reached the PostgreSQL tests say
//! so on stderr and pass, unless `IQUIVITY_REQUIRE_POSTGRES=1`, which makes them fail.
//!
//! `cargo test -p iquivity-store --test conformance postgres::` runs one backend's half.

#[path = "conformance/accounts.rs"]
mod accounts;
#[path = "conformance/alerts.rs"]
mod alerts;
#[path = "conformance/clients.rs"]
mod clients;
#[path = "conformance/flows.rs"]
mod flows;
#[path = "conformance/harness.rs"]
mod harness;
#[path = "conformance/lifecycle.rs"]
mod lifecycle;
#[path = "conformance/links.rs"]
mod links;
#[path = "conformance/listing.rs"]
mod listing;
#[path = "conformance/misc.rs"]
mod misc;
#[path = "conformance/people.rs"]
mod people;
#[path = "conformance/posts.rs"]
mod posts;
#[path = "support/scratch.rs"]
mod scratch;

/// For each `module::scenario`, a `sqlite::scenario` and a `postgres::scenario` test.
macro_rules! conformance {
    ($($module:ident :: $scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $scenario() {
                    crate::harness::run_sqlite(crate::$module::$scenario).await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $scenario() {
                    crate::harness::run_postgres(stringify!($scenario), crate::$module::$scenario).await;
                }
            )*
        }
    };
}

conformance! {
    people::users_and_workspaces_refuse_duplicate_emails,
    people::memberships_and_members_are_oldest_first,
    people::sessions_expire_and_are_deleted,
    people::api_tokens_identify_their_holder_and_record_use,
    people::invitations_are_accepted_once_and_not_after_expiry,
    people::concurrent_acceptances_admit_one_member,
    people::login_attempts_are_counted_in_a_window_forgotten_and_cleared,
    people::concurrent_login_attempts_each_get_their_own_count,
    people::a_user_created_through_an_invitation_exists_only_with_the_membership,
    accounts::upsert_creates_then_a_reconnect_updates_the_same_account,
    accounts::plan_limits_refuse_new_accounts_but_not_reconnects,
    accounts::plan_limit_holds_under_concurrent_connections,
    accounts::account_counts_follow_inserts_status_changes_and_deletes,
    accounts::profile_updates_set_labels_and_a_name_override,
    accounts::refresh_records_credentials_and_profile,
    accounts::delete_removes_the_account_and_its_credential,
    accounts::concurrent_connections_of_one_account_make_one_account,
    listing::pages_cover_every_account_once_in_each_order,
    listing::search_matches_fragments_case_insensitively_and_literally,
    listing::filters_by_platform_status_creation_owner_and_label,
    listing::label_filter_ignores_case_beyond_ascii,
    listing::search_treats_quotes_and_operators_literally,
    flows::flow_state_is_claimed_once_and_stages_advance_in_order,
    flows::concurrent_callbacks_claim_the_state_once,
    lifecycle::due_accounts_get_one_open_job_of_each_kind,
    lifecycle::enqueue_respects_its_limit,
    lifecycle::claimed_jobs_have_one_owner_until_the_lease_runs_out,
    lifecycle::concurrent_claimers_take_each_job_exactly_once,
    lifecycle::concurrent_enqueuers_queue_one_job_per_due_account,
    lifecycle::refresh_lease_is_exclusive_until_it_runs_out_or_is_released,
    lifecycle::a_write_probe_extends_only_its_holders_lease,
    lifecycle::failure_runs_count_from_the_first_and_clear,
    lifecycle::expiring_accounts_without_a_scheduled_refresh_are_found,
    alerts::alerts_are_deduplicated_and_fan_out_to_each_webhook,
    alerts::deliveries_are_leased_and_settled_by_their_owner,
    alerts::concurrent_alerts_with_one_dedupe_key_record_one,
    alerts::each_delivery_failure_class_is_kept,
    alerts::webhooks_take_their_events_rotate_secrets_and_are_disabled_once,
    clients::clients_are_unique_by_name_and_their_removal_keeps_the_accounts,
    accounts::an_accounts_picture_is_kept_per_workspace_replaced_and_removed_with_it,
    posts::due_targets_are_claimed_once_and_finished_by_their_owner,
    posts::abandoned_targets_are_settled_only_after_their_lease_ran_out,
    posts::unsent_targets_go_back_on_the_schedule_when_their_lease_ends,
    posts::a_post_has_one_target_per_account,
    posts::cancelling_touches_only_scheduled_targets,
    posts::scheduled_posts_can_be_rewritten_until_publishing_starts,
    posts::post_counts_and_accounts_at_risk,
    posts::concurrent_claimers_publish_each_target_exactly_once,
    posts::one_worker_at_a_time_publishes_to_an_account,
    misc::credential_rotation_is_compare_and_swap,
    misc::audit_events_are_listed_newest_first,
    misc::metrics_count_accounts_and_open_jobs,
    links::links_are_used_within_their_allowance_revoked_once_and_logged,
    links::racing_holders_of_a_single_use_link_get_one_use,
    posts::drafts_queues_versions_and_the_calendar_read,
}
