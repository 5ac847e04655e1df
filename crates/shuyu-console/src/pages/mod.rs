//! One module per page or area. Each handler reads its input, calls one `App` use case and renders.

pub(crate) mod audit;
pub(crate) mod catalog;
pub(crate) mod freezes;
pub(crate) mod fusion;
pub(crate) mod grants;
pub(crate) mod home;
pub(crate) mod imports;
pub(crate) mod login;
pub(crate) mod me;
pub(crate) mod personnel;
pub(crate) mod profile;
pub(crate) mod resource_form;
pub(crate) mod resources;
pub(crate) mod sso;
pub(crate) mod workspaces;

use serde::Deserialize;

use crate::i18n::Texts;
use crate::layout::Notice;

/// `?done=…` after a form was handled (post/redirect/get): a known code becomes a notice; anything
/// else is ignored, so the query cannot inject text.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

impl DoneQuery {
    pub(crate) fn parse(raw: Option<&str>) -> DoneQuery {
        raw.and_then(|q| serde_urlencoded::from_str(q).ok())
            .unwrap_or_default()
    }

    pub(crate) fn notice(&self, t: &Texts) -> Option<Notice> {
        let text = match self.done.as_deref()? {
            "agreement" => t.done_agreement,
            "password" => t.done_password,
            "token_revoked" => t.done_token_revoked,
            "verified" => t.done_verified,
            "training" => t.done_training,
            "disabled" => t.done_disabled,
            "enabled" => t.done_enabled,
            "submitted" => t.done_submitted,
            "approved" => t.done_approved,
            "refused" => t.done_refused,
            "registration" => t.done_registration,
            "issue_raised" => t.done_issue_raised,
            "issue_answered" => t.done_issue_answered,
            "registered" => t.done_registered,
            "edited" => t.done_edited,
            "grant_suspended" => t.done_grant_suspended,
            "grant_resumed" => t.done_grant_resumed,
            "grant_revoked" => t.done_grant_revoked,
            "frozen" => t.done_frozen,
            "unfrozen" => t.done_unfrozen,
            "dev_prepared" => t.done_dev_prepared,
            _ => return None,
        };
        Some(Notice::Done(text.to_owned()))
    }
}

/// A textarea's text: browsers send line breaks as CRLF, which the domain would refuse as
/// control characters; they become plain line feeds.
pub(crate) fn multiline(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .trim()
        .to_owned()
}
