//! Threads: on a platform that takes them (its descriptor's `threads`, X), the parts after a post go out
//! in order once it is published, each a reply to the one before. Each published part is recorded at once,
//! so when one fails the thread stops there, the parts out stay out, and a retry continues from the next
//! part without repeating one.

use super::TargetRef;
use crate::{Caller, Core, CoreError};
use iquivity_platforms::{descriptor, ActingAs, PostContent};
use iquivity_store::{PostRecord, TargetRecord, ThreadProgress};

impl Core {
    /// Publishes the parts of `post`'s thread that `progress` has not, under `root` (what `target`
    /// published), recording each as it goes out; nothing when the post has no thread or the platform
    /// takes none.
    pub(crate) async fn continue_thread(
        &self,
        target: &TargetRecord,
        post: &PostRecord,
        root: &str,
        mut progress: ThreadProgress,
    ) -> Result<ThreadProgress, CoreError> {
        let rules = descriptor(target.platform);
        if post.thread.is_empty() || !rules.threads {
            return Ok(progress);
        }
        let total = post.thread.len() + 1;
        let stop = |progress: &mut ThreadProgress, part: usize, why: String| {
            progress.error = Some(format!("stopped at part {part} of {total}: {why}"));
        };
        let account = self
            .store
            .account(post.workspace_id, target.account_id)
            .await?;
        let tokens = match &account {
            Some(account) => self.tokens_of(account.id).await?,
            None => None,
        };
        let (Some(account), Some(tokens)) = (account, tokens) else {
            let next = progress.published.len() + 2;
            stop(
                &mut progress,
                next,
                "the account was removed or has no credentials".into(),
            );
            self.store
                .record_thread_progress(target.id, &progress, self.clock.now())
                .await?;
            return Ok(progress);
        };
        let adapter = self.adapter(account.platform)?;
        progress.error = None;
        for (i, part) in post
            .thread
            .iter()
            .enumerate()
            .skip(progress.published.len())
        {
            let number = i + 2;
            let parent = progress
                .published
                .last()
                .cloned()
                .unwrap_or_else(|| root.to_string());
            let mut content = PostContent {
                text: part.text.clone(),
                media: super::media_to_send(&part.media),
                ..PostContent::default()
            };
            if rules.content.takes_files {
                if let Err((_, why)) = self
                    .read_media_files(&mut content, &rules.content.media_limits)
                    .await
                {
                    stop(&mut progress, number, why);
                    break;
                }
            }
            match adapter
                .reply(ActingAs::account(&account, &tokens), &parent, &content)
                .await
            {
                Ok(published) => progress.published.push(published.platform_post_id),
                Err(err) => {
                    let why = if err.may_have_taken_effect() {
                        format!(
                            "{} (it may have been published: look at the account before continuing)",
                            err.message
                        )
                    } else {
                        err.message
                    };
                    stop(&mut progress, number, why);
                }
            }
            self.store
                .record_thread_progress(target.id, &progress, self.clock.now())
                .await?;
            if progress.error.is_some() {
                tracing::warn!(target_id = %target.id, part = number, "a thread stopped");
                return Ok(progress);
            }
        }
        self.store
            .record_thread_progress(target.id, &progress, self.clock.now())
            .await?;
        Ok(progress)
    }

    /// Continues a published target's thread from the part where it stopped; the post as it is now.
    pub async fn continue_thread_of(
        &self,
        caller: &Caller,
        at: TargetRef,
    ) -> Result<PostRecord, CoreError> {
        let (current, published) = self.target_to_manage(caller, at).await?;
        let Some(root) = published.published_id() else {
            return Err(super::not_published_yet("its thread"));
        };
        if !descriptor(published.platform).threads
            || published.thread.published.len() >= current.thread.len()
        {
            return Err(CoreError::Conflict(
                "there is no more of this thread to publish".into(),
            ));
        }
        self.continue_thread(&published, &current, root, published.thread.clone())
            .await?;
        self.post(caller, at.post).await
    }
}
