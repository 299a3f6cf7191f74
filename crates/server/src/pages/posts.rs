//! The Posts page: compose once for several accounts (with each platform's character limit shown as one
//! types), publish now or at a time, and the list of posts with each account's result.

use super::auth::field;
use super::icons::platform_icon;
use super::{app_page, Chrome, Section};
use crate::error::AppError;
use crate::extract::{CheckedForm, PageCaller};
use crate::pages::{local_time, see_other};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDateTime, Utc};
use iquivity_core::posts::NewPost;
use iquivity_core::{Caller, CoreError};
use iquivity_domain::{Account, AccountId, Platform};
use iquivity_platforms::{descriptor, MediaLimits, MediaRule, PlatformDescriptor, TextCounting};
use iquivity_store::{MediaRecord, PostRecord, PostVariant, TargetState, ThreadPart};
use maud::{html, Markup};

fn limit_of(platform: Platform) -> Option<usize> {
    descriptor(platform).content.max_text_chars
}

/// What the platform takes in media, as the page's script warns before submitting: `not_supported`,
/// `optional` or `required` (with what it needs).
fn media_rule_of(platform: Platform) -> (&'static str, Option<&'static str>) {
    match descriptor(platform).content.media {
        MediaRule::NotSupported => ("not_supported", None),
        MediaRule::Optional => ("optional", None),
        MediaRule::Required(what) => ("required", Some(what)),
    }
}

fn limits_of(platform: Platform) -> MediaLimits {
    descriptor(platform).content.media_limits
}

/// How the page's script counts the platform's text, as the server does (`TextCounting`).
fn counting_of(platform: Platform) -> &'static str {
    match descriptor(platform).content.counting {
        TextCounting::CodePoints => "code_points",
        TextCounting::XWeighted => "x_weighted",
    }
}

/// The platforms of the accounts a post can go to, each once, in the platforms' order.
fn platforms_of(accounts: &[Account]) -> Vec<Platform> {
    Platform::ALL
        .into_iter()
        .filter(|p| accounts.iter().any(|a| a.platform == *p))
        .collect()
}

/// The networks whose descriptor passes `test`, as a field's label names them: "Instagram and TikTok".
fn networks_where(test: impl Fn(&PlatformDescriptor) -> bool) -> String {
    let names: Vec<&str> = Platform::ALL
        .into_iter()
        .map(descriptor)
        .filter(|d| test(d))
        .map(|d| d.short_name)
        .collect();
    match names.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

async fn chrome(state: &AppState, caller: &Caller, session: &str) -> Result<Chrome, AppError> {
    let summary = state.core.account_summary(caller).await?;
    Chrome::of(state, caller, session, &summary).await
}

pub(crate) fn state_label(state: TargetState) -> &'static str {
    match state {
        TargetState::Scheduled => "Scheduled",
        TargetState::Publishing => "Publishing",
        TargetState::Published => "Published",
        TargetState::Failed => "Failed",
        TargetState::Cancelled => "Cancelled",
    }
}

/// What the person typed into the form, shown again when it comes back with errors.
#[derive(Default)]
struct Draft {
    text: String,
    link: String,
    media_url: String,
    accounts: Vec<String>,
    publish_at: String,
    tz: String,
    first_comment: String,
    /// The thread's parts after the post, separated by a line `---`.
    thread: String,
    /// The versions written for one network or one account, each by its key (the platform's name or the
    /// account's id) as its fields name it.
    variants: Vec<(String, VersionDraft)>,
}

/// One network's or one account's version as typed: `variant_<key>` (text), `variant_link_<key>`,
/// `variant_media_<key>` (URLs, one per line) and `variant_no_media_<key>`.
#[derive(Default, Clone)]
struct VersionDraft {
    text: String,
    link: String,
    media: String,
    no_media: bool,
}

impl VersionDraft {
    fn from_form(fields: &[(String, String)], key: &str) -> Option<VersionDraft> {
        let value = |name: String| field(fields, &name).unwrap_or_default().trim().to_string();
        let version = VersionDraft {
            text: value(format!("variant_{key}")),
            link: value(format!("variant_link_{key}")),
            media: value(format!("variant_media_{key}")),
            no_media: field(fields, &format!("variant_no_media_{key}")).is_some(),
        };
        let written = !version.text.is_empty()
            || !version.link.is_empty()
            || !version.media.is_empty()
            || version.no_media;
        written.then_some(version)
    }

    /// The version to store: without a text of its own it takes the post's, so that a version can change
    /// only the link or the media.
    fn to_variant(&self, key: &str, base_text: &str) -> PostVariant {
        let media = if self.no_media {
            Some(Vec::new())
        } else {
            Some(media_of(&self.media)).filter(|m| !m.is_empty())
        };
        PostVariant {
            platform: key.parse().ok(),
            account: key.parse().ok(),
            text: if self.text.is_empty() {
                base_text.to_string()
            } else {
                self.text.clone()
            },
            link: Some(self.link.clone()).filter(|l| !l.is_empty()),
            media,
        }
    }
}

/// A thread as typed: its parts separated by a line `---`, empty parts left out.
fn thread_of(typed: &str) -> Vec<ThreadPart> {
    typed
        .replace("\r\n", "\n")
        .split("\n---")
        .map(|part| part.trim_start_matches("---").trim())
        .filter(|part| !part.is_empty())
        .map(|text| ThreadPart {
            text: text.to_string(),
            media: Vec::new(),
        })
        .collect()
}

/// Media typed as URLs, one per line; a URL ending in a video file's extension is a video.
fn media_of(urls: &str) -> Vec<MediaRecord> {
    urls.lines()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|url| {
            let lower = url.to_lowercase();
            let video = [".mp4", ".mov", ".webm"]
                .iter()
                .any(|ext| lower.ends_with(ext));
            MediaRecord {
                url: url.to_string(),
                kind: if video { "video" } else { "image" }.to_string(),
            }
        })
        .collect()
}

impl Draft {
    fn from_form(fields: &[(String, String)]) -> Self {
        let value = |name: &str| field(fields, name).unwrap_or_default().to_string();
        Draft {
            text: value("text"),
            link: value("link"),
            media_url: value("media_url"),
            accounts: fields
                .iter()
                .filter(|(k, _)| k == "accounts")
                .map(|(_, v)| v.clone())
                .collect(),
            publish_at: value("publish_at"),
            tz: value("tz"),
            first_comment: value("first_comment"),
            thread: value("thread"),
            variants: Platform::ALL
                .into_iter()
                .map(|p| p.to_string())
                .chain(fields.iter().filter_map(|(name, _)| {
                    let key = name.strip_prefix("variant_")?;
                    key.parse::<AccountId>().ok().map(|_| key.to_string())
                }))
                .filter_map(|key| VersionDraft::from_form(fields, &key).map(|v| (key, v)))
                .collect(),
        }
    }
}

/// A form error: the field it belongs to (its input's id), and what is wrong.
struct FormError {
    field: &'static str,
    message: String,
}

/// The input a core validation error points at: `accounts[2]` is the accounts fieldset.
fn form_field_of(api_field: &str) -> &'static str {
    match api_field.split(['[', '.']).next().unwrap_or_default() {
        "text" => "text",
        "link" => "link",
        "media" => "media_url",
        "variants" => "variants",
        "publish_at" => "publish_at",
        "thread" => "thread",
        _ => "accounts",
    }
}

/// The messages for one input, in one element its `aria-describedby` points at.
fn field_errors(errors: &[FormError], field: &str) -> Markup {
    let messages: Vec<&str> = errors
        .iter()
        .filter(|e| e.field == field)
        .map(|e| e.message.as_str())
        .collect();
    html! {
        @if !messages.is_empty() {
            p.field-error id={ (field) "-error" } { (messages.join(" ")) }
        }
    }
}

fn described_by(errors: &[FormError], field: &str) -> Option<String> {
    errors
        .iter()
        .any(|e| e.field == field)
        .then(|| format!("{field}-error"))
}

/// The fields of one network's (`kind` "platform") or one account's version, keyed as the form names them.
fn version_fields(
    key: &str,
    name: &str,
    kind: &str,
    draft: &Draft,
    errors: &[FormError],
) -> Markup {
    let written = draft
        .variants
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let is_written = draft.variants.iter().any(|(k, _)| k == key);
    let [text, link, media, no_media] = [
        "variant_",
        "variant_link_",
        "variant_media_",
        "variant_no_media_",
    ]
    .map(|prefix| format!("{prefix}{key}"));
    html! {
        details.variant data-platform=[(kind == "platform").then_some(key)]
            data-account=[(kind == "account").then_some(key)] open[is_written] {
            summary { "Version for " (name) }
            label for=(text) { "Text for " (name) " (empty: the text above)" }
            textarea id=(text) name=(text) rows="3" maxlength="5000"
                aria-describedby=[described_by(errors, "variants")] { (written.text) }
            label for=(link) { "Link for " (name) " (empty: the link above)" }
            input id=(link) name=(link) type="url" placeholder="https://" value=(written.link);
            label for=(media) { "Image or video URLs for " (name) ", one per line (empty: the media below)" }
            textarea id=(media) name=(media) rows="2" { (written.media) }
            div.account-choice {
                input type="checkbox" id=(no_media) name=(no_media) value="1" checked[written.no_media];
                label for=(no_media) { "No media for " (name) }
            }
        }
    }
}

fn compose(accounts: &[Account], csrf: &str, draft: &Draft, errors: &[FormError]) -> Markup {
    html! {
        section aria-labelledby="compose-heading" {
            h2 #compose-heading { "New post" }
            @if !errors.is_empty() {
                div.notice.error role="alert" { ul { @for e in errors { li { (e.message) } } } }
            }
            form #compose.stack.wide-form method="post" action="/posts" {
                input type="hidden" name="csrf" value=(csrf);
                label for="text" { "Text" }
                textarea #text name="text" rows="5" required maxlength="5000"
                    aria-describedby=[described_by(errors, "text")] { (draft.text) }
                (field_errors(errors, "text"))
                p #counters.muted aria-live="polite" {}
                @let platforms = platforms_of(accounts);
                @if !platforms.is_empty() {
                    fieldset.variants {
                        legend { "A different version for one network (optional)" }
                        @for platform in &platforms {
                            (version_fields(&platform.to_string(), descriptor(*platform).short_name, "platform", draft, errors))
                        }
                        details.variant-accounts open[accounts.iter().any(|a| draft.variants.iter().any(|(k, _)| *k == a.id.to_string()))] {
                            summary { "A different version for one account" }
                            @for account in accounts {
                                (version_fields(&account.id.to_string(), &account.display_name, "account", draft, errors))
                            }
                        }
                        (field_errors(errors, "variants"))
                    }
                }
                section #previews aria-label="Previews" hidden {
                    h3 { "Previews" }
                    div.preview-list {}
                }
                label for="link" { "Link (optional)" }
                input #link type="url" name="link" placeholder="https://" value=(draft.link)
                    aria-describedby=[described_by(errors, "link")];
                (field_errors(errors, "link"))
                label for="media_url" {
                    "Image or video URLs, one per line (optional"
                    @let needing = networks_where(|d| matches!(d.content.media, MediaRule::Required(_)));
                    @if !needing.is_empty() { "; " (needing) " need one" }
                    ")"
                }
                textarea #media_url name="media_url" rows="2" placeholder="https://cdn.example.com/picture.jpg"
                    aria-describedby=[described_by(errors, "media_url")] { (draft.media_url) }
                (field_errors(errors, "media_url"))
                label for="first_comment" { "First comment (optional): added under the post once it is out, on " (networks_where(|d| d.first_comment)) }
                textarea #first_comment name="first_comment" rows="2" maxlength="5000"
                    aria-describedby=[described_by(errors, "first_comment")] { (draft.first_comment) }
                (field_errors(errors, "first_comment"))
                label for="thread" { "A thread on X (optional): the parts after the post, each after a line of three dashes (---)" }
                textarea #thread name="thread" rows="3" maxlength="20000"
                    aria-describedby=[described_by(errors, "thread")] { (draft.thread) }
                (field_errors(errors, "thread"))
                label for="media_file" { "…or upload one (up to 50 MB)" }
                input #media_file type="file" accept="image/jpeg,image/png,image/gif,image/webp,video/mp4,video/quicktime";
                p #upload-status.muted aria-live="polite" {}
                fieldset aria-describedby=[described_by(errors, "accounts")] {
                    legend { "Accounts" }
                    (field_errors(errors, "accounts"))
                    @if accounts.is_empty() { p.muted { "No active account can receive posts yet. " a href="/" { "Connect one" } "." } }
                    @for account in accounts {
                        @let id = format!("account-{}", account.id);
                        @let value = account.id.to_string();
                        div.account-choice {
                            input type="checkbox" name="accounts" id=(id) value=(value)
                                checked[draft.accounts.contains(&value)]
                                data-platform=(account.platform) data-platform-name=(descriptor(account.platform).short_name)
                                data-account-name=(account.display_name)
                                data-limit=[limit_of(account.platform)]
                                data-counting=(counting_of(account.platform))
                                data-max-hashtags=[descriptor(account.platform).content.max_hashtags]
                                data-media=(media_rule_of(account.platform).0)
                                data-media-needs=[media_rule_of(account.platform).1]
                                data-max-media=(limits_of(account.platform).max_items)
                                data-max-videos=(limits_of(account.platform).max_videos)
                                data-mixed-media=(limits_of(account.platform).mixed)
                                data-max-image-bytes=(limits_of(account.platform).max_image_bytes)
                                data-max-video-bytes=(limits_of(account.platform).max_video_bytes)
                                data-gif-alone=(limits_of(account.platform).gif_alone);
                            label for=(id) { (platform_icon(account.platform, 18)) " " (account.display_name) }
                        }
                    }
                }
                label for="publish_at" { "Publish at (leave empty to publish now; your local time)" }
                input #publish_at type="datetime-local" name="publish_at" value=(draft.publish_at)
                    aria-describedby=[described_by(errors, "publish_at")];
                (field_errors(errors, "publish_at"))
                input #tz type="hidden" name="tz" value=(if draft.tz.is_empty() { "0" } else { draft.tz.as_str() });
                div.form-actions {
                    button type="submit" { "Publish" }
                    button.secondary type="submit" name="intent" value="queue" { "Add to queue" }
                    button.secondary type="submit" name="intent" value="draft" formnovalidate { "Save as draft" }
                }
            }
        }
    }
}

fn post_list(posts: &[PostRecord], names: &[(iquivity_domain::AccountId, String)]) -> Markup {
    html! {
        section aria-labelledby="posts-heading" {
            h2 #posts-heading { "Posts" }
            @if posts.is_empty() { p.muted { "No posts yet." } }
            ol.posts {
                @for post in posts {
                    li.post data-id=(post.id) {
                        @if post.draft_accounts.is_some() { span.tag.requested { "Draft" } }
                        p.post-text { (post.text) }
                        p { a href={ "/posts/" (post.id) "?back=/posts" } { "Open this post" } }
                        p.muted { "Publish at " (local_time(post.publish_at)) }
                        ul.results {
                            @for target in &post.targets {
                                @let name = names.iter().find(|(id, _)| *id == target.account_id);
                                li class={ "result result-" (target.state.as_str()) } {
                                    (platform_icon(target.platform, 18)) " "
                                    (name.map(|(_, n)| n.as_str()).unwrap_or("a removed account")) ": "
                                    strong.result-state { (state_label(target.state)) }
                                    @if let Some(url) = &target.url { " " a href=(url) rel="noopener" { "view" } }
                                    @if let Some(message) = &target.error_message { span.reason { (message) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn render(
    state: &AppState,
    caller: &Caller,
    session: &str,
    draft: &Draft,
    errors: &[FormError],
    status: StatusCode,
) -> Result<Response, AppError> {
    let chrome = chrome(state, caller, session).await?;
    let active = state.core.postable_accounts(caller).await?;
    let posts = state.core.posts(caller).await?;
    let names = state.core.target_account_names(caller, &posts).await?;
    let body = html! {
        p { a href="/" { "← Platforms" } }
        h1 { "Posts" }
        (compose(&active, &chrome.csrf, draft, errors))
        (post_list(&posts, &names))
    };
    let mut response = app_page(StatusCode::OK, "Posts", Section::Posts, &chrome, body);
    *response.status_mut() = status;
    Ok(response)
}

/// `GET /posts`.
pub async fn index(
    State(state): State<AppState>,
    PageCaller { caller, session }: PageCaller,
) -> Result<Response, AppError> {
    render(
        &state,
        &caller,
        &session,
        &Draft::default(),
        &[],
        StatusCode::OK,
    )
    .await
}

/// The browser's offset from UTC in minutes, as the page's script fills it in (`0` without script).
/// Offsets in use run from −12:00 to +14:00; ±14:00 is accepted both ways.
pub(crate) fn parse_tz(raw: Option<&str>) -> Result<i64, String> {
    const MAX_MINUTES: i64 = 14 * 60;
    match raw.filter(|t| !t.is_empty()) {
        None => Ok(0),
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|m| (-MAX_MINUTES..=MAX_MINUTES).contains(m))
            .ok_or_else(|| {
                "Publish at: the time zone offset sent with it is not valid (it must be whole minutes between −14:00 and +14:00); reload the page and try again".to_string()
            }),
    }
}

/// `POST /posts` from the compose form.
pub async fn create(
    State(state): State<AppState>,
    session_caller: CheckedForm,
) -> Result<Response, AppError> {
    let fields = &session_caller.fields;
    let draft = Draft::from_form(fields);
    let mut errors = Vec::new();
    let accounts = draft
        .accounts
        .iter()
        .filter_map(|v| {
            v.parse()
                .map_err(|_| {
                    errors.push(FormError {
                        field: "accounts",
                        message: format!("{v:?} is not an account"),
                    })
                })
                .ok()
        })
        .collect();
    let publish_at: Option<DateTime<Utc>> = match (
        Some(draft.publish_at.as_str()).filter(|v| !v.is_empty()),
        parse_tz(Some(draft.tz.as_str())),
    ) {
        (None, _) => None,
        (Some(_), Err(message)) => {
            errors.push(FormError {
                field: "publish_at",
                message,
            });
            None
        }
        (Some(local), Ok(tz_minutes)) => {
            match NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M") {
                Ok(at) => {
                    let at = at
                        .and_utc()
                        .checked_sub_signed(chrono::Duration::minutes(tz_minutes));
                    if at.is_none() {
                        errors.push(FormError {
                            field: "publish_at",
                            message: "Publish at is too far ahead".into(),
                        });
                    }
                    at
                }
                Err(_) => {
                    errors.push(FormError {
                        field: "publish_at",
                        message: "Publish at must be a date and time".into(),
                    });
                    None
                }
            }
        }
    };
    let media = media_of(&draft.media_url);
    if errors.is_empty() {
        let new = NewPost {
            text: draft.text.clone(),
            link: Some(draft.link.clone()).filter(|l| !l.is_empty()),
            media,
            privacy_level: None,
            accounts,
            publish_at,
            first_comment: Some(draft.first_comment.clone()).filter(|c| !c.trim().is_empty()),
            thread: thread_of(&draft.thread),
            variants: draft
                .variants
                .iter()
                .map(|(key, version)| version.to_variant(key, &draft.text))
                .collect(),
        };
        // "Save as draft" keeps it without scheduling it; "Add to queue" takes each account's next posting
        // time; "Publish" schedules it.
        let caller = &session_caller.caller;
        let created = match field(fields, "intent") {
            Some("draft") => state.core.save_draft(caller, new).await,
            Some("queue") => state.core.queue_post(caller, new).await,
            _ => state.core.create_post(caller, new).await,
        };
        match created {
            Ok(post) => {
                let to = if post.draft_accounts.is_some() {
                    format!("/posts/{}?back=/posts", post.id)
                } else {
                    "/posts".to_string()
                };
                return Ok(see_other(&to));
            }
            Err(CoreError::Validation(found)) => {
                errors.extend(found.into_iter().map(|e| FormError {
                    field: form_field_of(&e.field),
                    message: e.message,
                }))
            }
            Err(other) => return Err(other.into()),
        }
    }
    render(
        &state,
        &session_caller.caller,
        &session_caller.session,
        &draft,
        &errors,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_zone_offsets_are_whole_minutes_within_fourteen_hours() {
        assert_eq!(parse_tz(None), Ok(0));
        assert_eq!(parse_tz(Some("")), Ok(0));
        assert_eq!(parse_tz(Some("120")), Ok(120));
        assert_eq!(parse_tz(Some("-840")), Ok(-840));
        assert_eq!(parse_tz(Some("840")), Ok(840));
        for bad in [
            "abc",
            "841",
            "-841",
            "9223372036854775807",
            "-100000000000",
            "1.5",
            " 60",
        ] {
            assert!(parse_tz(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_thread_is_typed_as_parts_between_lines_of_three_dashes() {
        let parts = thread_of("2/3 The colours\r\n---\r\n3/3 The shop\n---\n\n---\n");
        let texts: Vec<&str> = parts.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(texts, ["2/3 The colours", "3/3 The shop"]);
        assert!(thread_of("  ").is_empty());
    }

    #[test]
    fn core_error_fields_point_at_the_form_inputs() {
        assert_eq!(form_field_of("accounts[2]"), "accounts");
        assert_eq!(form_field_of("media[0].url"), "media_url");
        assert_eq!(form_field_of("publish_at"), "publish_at");
        assert_eq!(form_field_of("text"), "text");
    }
}
