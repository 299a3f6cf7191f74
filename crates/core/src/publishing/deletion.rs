//! Deleting a published post on its platform, where the platform lets apps do so (its descriptor's
//! `deletes_posts`). The target stays in the history, published and marked deleted.

use super::TargetRef;
use crate::{Caller, Core, CoreError};
use iquivity_platforms::{descriptor, ActingAs};
use iquivity_store::PostRecord;

impl Core {
    /// Deletes what one target published, on its platform; the post as it is now.
    pub async fn delete_published(
        &self,
        caller: &Caller,
        at: TargetRef,
    ) -> Result<PostRecord, CoreError> {
        let (_, published) = self.target_to_manage(caller, at).await?;
        let platform = published.platform.display_name();
        let post_id = match published.published_id() {
            _ if published.deleted_at.is_some() => {
                return Err(CoreError::Conflict(format!(
                    "this post was already deleted from {platform}"
                )))
            }
            Some(id) => id.to_string(),
            None => {
                return Err(CoreError::Conflict(format!(
                    "only a published post can be deleted from {platform}; cancel what is still scheduled"
                )))
            }
        };
        if !descriptor(published.platform).deletes_posts {
            return Err(CoreError::Conflict(format!(
                "{platform} does not let apps delete posts: delete it on {platform} itself"
            )));
        }
        let account = self
            .store
            .account(caller.workspace_id, published.account_id)
            .await?
            .ok_or_else(|| {
                CoreError::Conflict(format!(
                    "the account was removed, so the post cannot be deleted through it: delete it on {platform} itself"
                ))
            })?;
        let tokens = self.tokens_of(account.id).await?.ok_or_else(|| {
            CoreError::Conflict("the account has no credentials: refresh it, then try again".into())
        })?;
        self.adapter(account.platform)?
            .delete_post(ActingAs::account(&account, &tokens), &post_id)
            .await
            .map_err(|e| {
                CoreError::Conflict(format!("{platform} did not delete the post: {}", e.message))
            })?;
        self.store
            .mark_target_deleted(caller.workspace_id, at.target, self.clock.now())
            .await?;
        tracing::info!(post_id = %at.post, target_id = %at.target, "published post deleted on its platform");
        self.post(caller, at.post).await
    }
}
