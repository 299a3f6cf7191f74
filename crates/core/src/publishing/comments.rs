//! A post's first comment: added under each published target's post where the platform takes comments
//! (its descriptor's `first_comment`; on X, a reply), right after the post went out. Its result is the
//! target's own: the post stays published when the comment fails, and the comment alone is tried again.

use super::TargetRef;
use crate::{Caller, Core, CoreError};
use iquivity_platforms::{descriptor, ActingAs};
use iquivity_store::{CommentResult, PostRecord, TargetRecord};

impl Core {
    /// Adds the post's first comment under what `target` published as `platform_post_id`, and records how
    /// it went; nothing when the post has none or the platform takes none.
    pub(crate) async fn send_first_comment(
        &self,
        target: &TargetRecord,
        post: &PostRecord,
        platform_post_id: &str,
    ) -> Result<Option<CommentResult>, CoreError> {
        let Some(text) = post.first_comment.as_deref() else {
            return Ok(None);
        };
        if !descriptor(target.platform).first_comment {
            return Ok(None);
        }
        let failed = |message: String| CommentResult::Failed { message };
        let result = match self
            .store
            .account(post.workspace_id, target.account_id)
            .await?
        {
            None => failed("the account was removed".into()),
            Some(account) => match self.tokens_of(account.id).await? {
                None => failed("the account has no credentials: refresh it, then retry".into()),
                Some(tokens) => match self
                    .adapter(account.platform)?
                    .comment(ActingAs::account(&account, &tokens), platform_post_id, text)
                    .await
                {
                    Ok(comment_id) => CommentResult::Published { comment_id },
                    Err(err) => failed(err.message),
                },
            },
        };
        if let CommentResult::Failed { message } = &result {
            tracing::warn!(target_id = %target.id, error = %message, "the first comment was not added");
        }
        self.store
            .record_comment(target.id, &result, self.clock.now())
            .await?;
        Ok(Some(result))
    }

    /// Tries a published target's first comment again (it failed, or was never tried), without posting
    /// again; the post as it is now.
    pub async fn retry_comment(
        &self,
        caller: &Caller,
        at: TargetRef,
    ) -> Result<PostRecord, CoreError> {
        let (current, published) = self.target_to_manage(caller, at).await?;
        let Some(post_id) = published.published_id() else {
            return Err(super::not_published_yet("its first comment"));
        };
        if current.first_comment.is_none() || !descriptor(published.platform).first_comment {
            return Err(CoreError::Conflict(
                "this post has no first comment there".into(),
            ));
        }
        if matches!(published.comment, Some(CommentResult::Published { .. })) {
            return Err(CoreError::Conflict(
                "the first comment was already added".into(),
            ));
        }
        self.send_first_comment(&published, &current, post_id)
            .await?;
        self.post(caller, at.post).await
    }
}
