//! Integration tests: the real server on 127.0.0.1:0 with a fresh data directory each, driven over HTTP.

mod accounts;
mod admin_cli;
mod alerts;
mod auth;
mod bad_input;
mod browser;
mod connections;
mod crash;
mod disk_full;
mod hardening;
mod helpers;
mod instances;
mod key_rotation;
mod lifecycle;
mod login_limits;
mod lost_answers;
mod metrics;
mod pages;
mod permissions;
mod posts;
mod readiness;
mod secrets;
mod secrets_flow;
mod views;
mod webhooks;
