//! Drafts: a post saved without being scheduled. A draft has no targets, only the accounts it is meant
//! for, so the engine never takes it and it holds nothing of the plan's or the platforms'. Scheduling it
//! runs every check a new post gets, then gives it its targets in one transaction.

use super::{NewPost, PostEdit};
use crate::{Caller, Core, CoreError};
use chrono::{DateTime, Utc};
use iquivity_domain::{AccountId, ValidationError};
use iquivity_store::{PostRecord, TargetRecord};

impl Core {
    /// What any post needs, checked for a draft too: text, and accounts of this workspace.
    async fn draft_errors(
        &self,
        caller: &Caller,
        text: &str,
        accounts: &[AccountId],
    ) -> Result<Vec<ValidationError>, CoreError> {
        let mut errors = super::text_errors(text);
        for (i, id) in accounts.iter().enumerate() {
            if self
                .store
                .account(caller.workspace_id, *id)
                .await?
                .is_none()
            {
                errors.push(ValidationError::new(
                    format!("accounts[{i}]"),
                    "no such account in this workspace",
                ));
            }
        }
        Ok(errors)
    }

    /// Saves a draft. The platforms' rules and the time are checked when it is scheduled.
    pub async fn save_draft(&self, caller: &Caller, new: NewPost) -> Result<PostRecord, CoreError> {
        caller.require_manage_accounts()?;
        let text = new.text.replace("\r\n", "\n").trim().to_string();
        let mut errors = self.draft_errors(caller, &text, &new.accounts).await?;
        errors.extend(super::variant_errors(&new.variants, &new.accounts));
        if !errors.is_empty() {
            return Err(CoreError::Validation(errors));
        }
        let now = self.clock.now();
        let draft = PostRecord {
            id: uuid::Uuid::now_v7(),
            workspace_id: caller.workspace_id,
            author_id: Some(caller.user_id),
            text,
            link: new.link,
            media: new.media,
            privacy_level: new.privacy_level,
            publish_at: new.publish_at.unwrap_or(now),
            created_at: now,
            targets: Vec::new(),
            draft_accounts: Some(new.accounts),
            variants: new.variants,
            first_comment: super::first_comment_of(new.first_comment),
            thread: super::normalised_thread(new.thread),
        };
        self.store.create_post(&draft).await?;
        Ok(draft)
    }

    /// Edits a draft: any part, checked only as a draft is.
    pub(super) async fn update_draft(
        &self,
        caller: &Caller,
        current: PostRecord,
        edit: PostEdit,
    ) -> Result<PostRecord, CoreError> {
        let text = edit
            .text
            .map(|t| t.replace("\r\n", "\n").trim().to_string())
            .unwrap_or(current.text.clone());
        let accounts = edit
            .accounts
            .or(current.draft_accounts.clone())
            .unwrap_or_default();
        let errors = self.draft_errors(caller, &text, &accounts).await?;
        if !errors.is_empty() {
            return Err(CoreError::Validation(errors));
        }
        let variants = edit
            .variants
            .map(super::normalised_variants)
            .unwrap_or(current.variants.clone());
        let mut errors = errors;
        errors.extend(super::variant_errors(&variants, &accounts));
        if !errors.is_empty() {
            return Err(CoreError::Validation(errors));
        }
        let draft = PostRecord {
            text,
            variants,
            first_comment: edit
                .first_comment
                .map(super::first_comment_of)
                .unwrap_or(current.first_comment.clone()),
            link: edit.link.unwrap_or(current.link.clone()),
            publish_at: edit.publish_at.unwrap_or(current.publish_at),
            draft_accounts: Some(accounts),
            ..current
        };
        if !self.store.update_draft(&draft).await? {
            return Err(CoreError::Conflict("this post is no longer a draft".into()));
        }
        Ok(draft)
    }

    /// Schedules a draft for `publish_at` (now when `None`), after every check a new post gets.
    pub async fn publish_draft(
        &self,
        caller: &Caller,
        id: uuid::Uuid,
        publish_at: Option<DateTime<Utc>>,
    ) -> Result<PostRecord, CoreError> {
        let draft = self.post(caller, id).await?;
        let Some(accounts) = draft.draft_accounts.clone() else {
            return Err(CoreError::Conflict(
                "this post is not a draft: it was scheduled already".into(),
            ));
        };
        let checked = self
            .checked_post(
                caller,
                NewPost {
                    text: draft.text.clone(),
                    link: draft.link.clone(),
                    media: draft.media.clone(),
                    privacy_level: draft.privacy_level.clone(),
                    accounts,
                    publish_at,
                    variants: draft.variants.clone(),
                    first_comment: draft.first_comment.clone(),
                    thread: draft.thread.clone(),
                },
            )
            .await?;
        let post = PostRecord {
            id: draft.id,
            created_at: draft.created_at,
            author_id: draft.author_id,
            targets: checked
                .targets
                .into_iter()
                .map(|t| TargetRecord {
                    post_id: draft.id,
                    ..t
                })
                .collect(),
            draft_accounts: None,
            ..checked
        };
        if !self.store.publish_draft(&post).await? {
            return Err(CoreError::Conflict(
                "this draft was scheduled meanwhile".into(),
            ));
        }
        Ok(post)
    }

    /// A new draft with the post's text, link, media and accounts.
    pub async fn duplicate_post(
        &self,
        caller: &Caller,
        id: uuid::Uuid,
    ) -> Result<PostRecord, CoreError> {
        let source = self.post(caller, id).await?;
        let accounts = source
            .draft_accounts
            .clone()
            .unwrap_or_else(|| source.targets.iter().map(|t| t.account_id).collect());
        self.save_draft(
            caller,
            NewPost {
                text: source.text,
                link: source.link,
                media: source.media,
                privacy_level: source.privacy_level,
                accounts,
                publish_at: None,
                variants: source.variants,
                first_comment: source.first_comment,
                thread: source.thread,
            },
        )
        .await
    }
}
