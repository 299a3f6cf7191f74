//! Integration tests: the real server on 127.0.0.1:0 with a fresh data directory each, driven over HTTP.

mod accounts;
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
mod lifecycle;
mod limits;
mod login_limits;
mod meta_removal;
mod pages;
mod posts;
mod renewal_timing;
mod secrets;
mod views;
mod webhooks;
