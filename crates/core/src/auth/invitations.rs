//! Invitations: a code, optionally bound to an email address, that joins a workspace with a role.

use super::{html_escape, NewSession, INVITATION_PREFIX};
use crate::mail::Message;
use crate::secrets::{digest, new_secret};
use crate::{Caller, Core, CoreError};
use chrono::{DateTime, Utc};
use iquivity_domain::{Email, Role, UserId};
use iquivity_store::InvitationRecord;
use secrecy::{ExposeSecret, SecretString};

pub struct CreatedInvitation {
    pub id: uuid::Uuid,
    pub code: SecretString,
    pub role: Role,
    pub email: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// Someone else accepted the invitation first, or it expired meanwhile.
/// What an invitation link offers.
#[derive(Debug, Clone)]
pub struct InvitationPreview {
    pub workspace_name: String,
    pub role: iquivity_domain::Role,
    /// The only address that can accept it, when the inviter named one.
    pub email: Option<String>,
}

pub(super) fn invitation_gone() -> CoreError {
    CoreError::invalid(
        "invitation",
        "this invitation has already been used or has expired",
    )
}

impl Core {
    /// The invitation's email: who invites, to which workspace, as what, and the link.
    async fn invitation_message(
        &self,
        caller: &Caller,
        to: &str,
        role: Role,
        code: &SecretString,
    ) -> Result<Message, CoreError> {
        let workspace = self.name_of_workspace(caller.workspace_id).await?;
        let link = format!(
            "{}/invitations/{}",
            self.settings.callback_base,
            code.expose_secret()
        );
        let role = role.as_str();
        let days = self.settings.invitation_ttl.num_days();
        Ok(Message {
            to: to.to_string(),
            subject: format!("{} invites you to {workspace} on iQuivity Social", caller.email),
            text: format!(
                "{inviter} invites you to the workspace {workspace} on iQuivity Social, as {role}.\n\n                 Accept within {days} days with this link (it works once):\n{link}",
                inviter = caller.email
            ),
            html: format!(
                "<p>{inviter} invites you to the workspace <strong>{workspace}</strong> on iQuivity Social,                  as {role}.</p><p><a href=\"{link}\">Accept the invitation</a> within {days} days (the link works once).</p>",
                inviter = html_escape(&caller.email),
                workspace = html_escape(&workspace),
                link = html_escape(&link),
            ),
            list_unsubscribe: None,
        })
    }

    /// An owner invites someone into the workspace as admin or member; the code works once, until it expires.
    pub async fn invite(
        &self,
        caller: &Caller,
        role: &str,
        email: Option<&str>,
    ) -> Result<CreatedInvitation, CoreError> {
        if !caller.role.can_invite() {
            return Err(CoreError::Forbidden(
                "only workspace owners can invite people".into(),
            ));
        }
        let role: Role = role.parse()?;
        if role == Role::Owner {
            return Err(CoreError::invalid(
                "role",
                "invitations are for admins or members",
            ));
        }
        let email = email.map(Email::parse).transpose()?;
        let code = new_secret(INVITATION_PREFIX);
        let now = Utc::now();
        let record = InvitationRecord {
            id: uuid::Uuid::now_v7(),
            token_hash: digest(code.expose_secret()),
            workspace_id: caller.workspace_id,
            role,
            email: email.map(|e| e.as_str().to_string()),
            invited_by: caller.user_id,
            created_at: now,
            expires_at: now + self.settings.invitation_ttl,
            accepted_at: None,
        };
        self.store.create_invitation(&record).await?;
        if let Some(to) = &record.email {
            self.queue_mail(
                "invitation",
                &self.invitation_message(caller, to, role, &code).await?,
            )
            .await?;
        }
        Ok(CreatedInvitation {
            id: record.id,
            code,
            role,
            email: record.email,
            expires_at: record.expires_at,
        })
    }

    /// A signed-in user accepts an invitation; their session moves to the workspace they joined.
    pub async fn accept_invitation(
        &self,
        user_id: UserId,
        code: &str,
    ) -> Result<NewSession, CoreError> {
        let user = self
            .store
            .user_by_id(user_id)
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        let email = Email::parse(&user.email)?;
        let invitation = self.usable_invitation(code, &email).await?;
        self.claim_invitation(&invitation, user.id, Utc::now())
            .await?;
        self.open_session(&user, Some(invitation.workspace_id))
            .await
    }

    /// What an invitation link offers, for the page that opens it: the workspace, the role and the
    /// address it is for. Refused like its use would be when it is not valid, used or expired.
    pub async fn invitation_preview(&self, code: &str) -> Result<InvitationPreview, CoreError> {
        let invitation = self.open_invitation(code).await?;
        let workspace = self
            .store
            .workspace(invitation.workspace_id)
            .await?
            .ok_or(CoreError::NotFound("workspace"))?;
        Ok(InvitationPreview {
            workspace_name: workspace.name,
            role: invitation.role,
            email: invitation.email,
        })
    }

    /// The invitation a code names, while it can still be used: not accepted and not expired.
    async fn open_invitation(&self, code: &str) -> Result<InvitationRecord, CoreError> {
        let invitation = self
            .store
            .invitation_by_hash(&digest(code))
            .await?
            .ok_or_else(|| CoreError::invalid("invitation", "this invitation link is not valid"))?;
        if invitation.accepted_at.is_some() {
            return Err(CoreError::invalid(
                "invitation",
                "this invitation has already been used",
            ));
        }
        if invitation.expires_at <= Utc::now() {
            return Err(CoreError::invalid(
                "invitation",
                "this invitation has expired; ask for a new one",
            ));
        }
        Ok(invitation)
    }

    pub(super) async fn usable_invitation(
        &self,
        code: &str,
        email: &Email,
    ) -> Result<InvitationRecord, CoreError> {
        let invitation = self.open_invitation(code).await?;
        if let Some(invited) = &invitation.email {
            if invited != email.as_str() {
                return Err(CoreError::invalid(
                    "invitation",
                    "this invitation is for another email address",
                ));
            }
        }
        Ok(invitation)
    }

    async fn claim_invitation(
        &self,
        invitation: &InvitationRecord,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<(), CoreError> {
        if self
            .store
            .accept_invitation(invitation.id, user, now)
            .await?
        {
            Ok(())
        } else {
            Err(invitation_gone())
        }
    }
}
