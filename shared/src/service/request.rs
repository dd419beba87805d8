//! Request: take a slot of the email's cap and, for a real account, store a token and mail the
//! link. Public callers get one answer whatever happened to the account.

use crate::clock::EpochSecs;
use std::time::Duration;

use super::{Caller, ClientIp, Operation, ResetService, ServiceError};
use crate::captcha::CaptchaToken;
use crate::domain::{
    CallbackUrl, CodePlacement, EmailAddress, EmailKey, Locale, ResetCode, ShortCode, TokenHash,
    UrlTemplate, User, UserId,
};
use crate::events::EventKind;
use crate::logging::error_chain;
use crate::mail::{MailError, render};
use crate::metrics::Metric;
use crate::store::{ClaimOutcome, SlotClaim, SlotRecord, TokenRecord};

/// How long before the response floor a public request's mail must have been handed over;
/// what is left is for rendering the answer. At most a quarter of the floor.
const MAIL_DEADLINE_MARGIN: Duration = Duration::from_millis(50);

/// How long before the response floor a public request's events must have been put: they go
/// out beside the mail (and after a failed one), and the floor hides them.
const EVENTS_DEADLINE_MARGIN: Duration = Duration::from_millis(25);

/// A public request's deadlines (epoch ms): the mail's, then the events'.
#[derive(Debug, Clone, Copy)]
struct Deadlines {
    mail: u64,
    events: u64,
}

/// Server callers' slots are numbered from here, public callers' from 0: each has its own
/// `MAX_CONCURRENT_REQUESTS`, so a stranger filling an address's public slots cannot stop the
/// app's backend (an admin, a support tool) from resetting it. Consume revokes both.
pub const SERVER_SLOT_BASE: u32 = 100;

/// Whose password: an address (anyone) or a user id (server callers).
#[derive(Debug, Clone)]
pub enum Target {
    /// What the requester typed; used only to find the account and key the cap.
    Email(EmailAddress),
    /// A user id from the app's backend.
    UserId(UserId),
}

/// Where the link in the mail points.
#[derive(Debug, Clone)]
pub enum LinkTarget {
    /// The link is this URL plus `code=<code>`, in its query or fragment (`LINK_CODE_IN`).
    Callback(CallbackUrl),
    /// The link is this URL plus `code=<code>` in its query, whatever `LINK_CODE_IN` says: for
    /// a wire contract that promises the query parameter (Stack Auth's `callback_url`).
    CallbackQuery(CallbackUrl),
    /// The link is this template with the code and user id filled in.
    Template(UrlTemplate),
}

/// A parsed reset request. Privileged options are only ever set for [`Caller::Server`]: the
/// HTTP edge refuses them from the public before a command exists.
#[derive(Debug, Clone)]
pub struct RequestReset {
    /// Public or server.
    pub caller: Caller,
    /// Whose password.
    pub target: Target,
    /// Where the link points.
    pub link: LinkTarget,
    /// Mail language.
    pub locale: Locale,
    /// Server only: answer with the code.
    pub return_code: bool,
    /// Server only: `false` issues the code without mailing it.
    pub send_email: bool,
    /// Server only: a cap lower than the configured one.
    pub max_concurrent: Option<u32>,
    /// Server only: answer as the public is answered (no 404 for an unknown user, no 502 for
    /// a failed mail, the response floor and the mail deadline), for a backend that proxies
    /// what a member of the public typed. Never with `return_code`.
    pub opaque: bool,
    /// Whom the per-IP limit counts the call against.
    pub client_ip: ClientIp,
    /// Public callers, when a CAPTCHA is configured: the solved challenge's token.
    pub captcha: Option<CaptchaToken>,
}

/// What a claimed slot stores for a known user: the token for a slot number, and the short
/// code's hash beside it.
struct Issue<'a> {
    token_for: &'a (dyn Fn(u32) -> Option<TokenRecord> + Sync),
    short_code: Option<TokenHash>,
}

/// What one reset mail carries: the link's code, and the short code when `RESET_METHOD`
/// mails one.
#[derive(Clone, Copy)]
struct MailedCodes<'a> {
    code: &'a ResetCode,
    otp: Option<&'a ShortCode>,
}

/// A code that was issued, for a server caller's `return_code`.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The code (secret).
    pub code: ResetCode,
    /// Epoch seconds.
    pub expires_at: EpochSecs,
    /// Whose code.
    pub user_id: UserId,
    /// The user's organisation attribute (`USERS_ORG_ATTRIBUTE`), if any.
    pub org_id: Option<String>,
}

impl ResetService {
    /// Public callers: same result, same body and (thanks to the response-time floor) the same
    /// time whether or not the account exists. Two sequential store round trips on the common
    /// path: the user lookup, the slot read and the caller's rate window together, then one
    /// transaction.
    #[tracing::instrument(name = "request", skip_all, fields(caller = ?cmd.caller))]
    pub async fn request(&self, cmd: RequestReset) -> Result<Option<Issued>, ServiceError> {
        let started = self.ports.clock.now_ms();
        // A public caller, or a server caller proxying public input: one answer for all.
        let public = cmd.caller == Caller::Public || cmd.opaque;
        let floor = self.config.policy.min_request_response;
        // The mail must be handed over before the floor, or it is abandoned: the answer's time
        // then depends only on store work, which known and unknown addresses share.
        let deadlines = (public && !floor.is_zero()).then(|| {
            let margin = MAIL_DEADLINE_MARGIN.min(floor / 4);
            let events_margin = EVENTS_DEADLINE_MARGIN.min(floor / 8);
            Deadlines {
                mail: started + (floor - margin).as_millis() as u64,
                events: started + (floor - events_margin).as_millis() as u64,
            }
        });
        // The CAPTCHA first, before any lookup, and inside the floor.
        let result = match self.pass_captcha(&cmd).await {
            Ok(()) => self.request_inner(cmd, deadlines).await,
            Err(e) => Err(e),
        };
        if public {
            self.wait_for_floor(started, floor).await;
        }
        result
    }

    async fn request_inner(
        &self,
        cmd: RequestReset,
        deadlines: Option<Deadlines>,
    ) -> Result<Option<Issued>, ServiceError> {
        let now = self.now();
        let cap = cmd
            .max_concurrent
            .map_or(self.config.policy.max_concurrent, |c| {
                c.min(self.config.policy.max_concurrent)
            });
        let key = &self.config.keys.current;
        let limit = self.limit(super::Operation::Request, cmd.client_ip);

        // Find the account and read the cap's slots concurrently. For a user id the slots
        // belong to the stored address, so the user comes first.
        let (user, email_key, slots) = match &cmd.target {
            Target::Email(email) => {
                let email_key = key.email_key(email);
                let (limited, user, slots) = tokio::join!(
                    limit,
                    self.ports.users.by_email(email),
                    self.ports.store.live_slots(&email_key, now),
                );
                limited?;
                (user?, email_key, slots?)
            }
            Target::UserId(id) => {
                let (limited, user) = tokio::join!(limit, self.ports.users.by_id(id));
                limited?;
                let user = user?;
                let Some(user) = user else {
                    return Err(ServiceError::UserNotFound);
                };
                let email_key = key.email_key(&user.email);
                let slots = self.ports.store.live_slots(&email_key, now).await?;
                (Some(user), email_key, slots)
            }
        };
        if user.is_none() && cmd.caller == Caller::Server && !cmd.opaque {
            return Err(ServiceError::UserNotFound);
        }
        // A link template that cannot be filled for this user is refused before anything is
        // written (server callers only: the public cannot send a template).
        if let (LinkTarget::Template(t), Some(u)) = (&cmd.link, &user)
            && cmd.send_email
            && self.config.policy.method.link()
        {
            t.org_for(u.org_id.as_deref())
                .map_err(ServiceError::LinkTemplate)?;
        }

        let expires_at = now + self.config.policy.token_ttl;
        let code = user.as_ref().map(|_| ResetCode::generate());
        // The short code is a second name for the same token, only ever mailed: none is
        // issued for a code that is not mailed (server callers' `send_email: false`).
        let policy = &self.config.policy;
        let otp = (user.is_some() && cmd.send_email && policy.method.short_code())
            .then(|| ShortCode::generate(policy.otp_length));
        let otp_hash = otp.as_ref().map(|o| key.short_code_hash(&email_key, o));
        let token_for = |slot: u32| {
            user.as_ref().zip(code.as_ref()).map(|(u, c)| TokenRecord {
                hash: key.code_hash(c),
                user_id: u.id.clone(),
                email_key: email_key.clone(),
                slot,
                created_at: now,
                expires_at,
                password_changed_at: u.password_changed_at,
            })
        };
        let base = match cmd.caller {
            Caller::Public => 0,
            Caller::Server => SERVER_SLOT_BASE,
        };
        // A short code issued during a live attempt window makes the window last until the
        // code dies, so no code ever meets a fresh window (and fresh tries) while it lives. Run
        // beside the claim: no round trip of its own; if the claim fails the window is only
        // longer, never looser.
        let extend = async {
            match otp_hash {
                Some(_) => {
                    self.ports
                        .store
                        .extend_short_code_window(&email_key, expires_at, now)
                        .await
                }
                None => Ok(()),
            }
        };
        let claim = self.claim_slot(
            &email_key,
            base..base + cap,
            slots,
            now,
            expires_at,
            Issue {
                token_for: &token_for,
                short_code: otp_hash.clone(),
            },
        );
        let (claimed, extended) = tokio::join!(claim, extend);
        extended?;
        let claimed = claimed?;
        let (Some(user), Some(code), Some(token)) = (user, code, claimed) else {
            tracing::info!("reset requested for an address with no account");
            self.count(Metric::UnknownAddress, Operation::Request);
            return Ok(None);
        };
        tracing::info!(user_id = %user.id, slot = token.slot, "reset code issued");
        self.count(Metric::Issued, Operation::Request);

        // The event goes out beside the mail, so it adds no round trip of its own.
        let requested = self.event(
            EventKind::Requested,
            &user.id,
            Operation::Request,
            Some(cmd.caller),
        );
        let mailed = async {
            match cmd.send_email {
                true => {
                    let codes = MailedCodes {
                        code: &code,
                        otp: otp.as_ref(),
                    };
                    self.mail_link(&cmd, &user, codes, &token, deadlines).await
                }
                false => Ok(()),
            }
        };
        let (mailed, ()) =
            tokio::join!(mailed, self.publish(requested, deadlines.map(|d| d.events)));
        mailed?;
        Ok(Some(Issued {
            code,
            expires_at,
            org_id: user.org_id,
            user_id: user.id,
        }))
    }

    /// Claims a free slot in `range` (the caller's own slots) with a conditional write. Losing a race moves on to the
    /// next free slot; after losing them all the slots are read once more. Returns the stored
    /// token (for a known user), `None` for an unknown address, or 429 when all are taken.
    async fn claim_slot(
        &self,
        email_key: &EmailKey,
        range: std::ops::Range<u32>,
        mut live: Vec<SlotRecord>,
        now: EpochSecs,
        expires_at: EpochSecs,
        issue: Issue<'_>,
    ) -> Result<Option<TokenRecord>, ServiceError> {
        for round in 0..2 {
            let free = range.clone().filter(|n| !live.iter().any(|s| s.slot == *n));
            for slot in free {
                let token = (issue.token_for)(slot);
                let claim = SlotClaim {
                    email_key: email_key.clone(),
                    slot,
                    expires_at,
                    now,
                    short_code: token.as_ref().and(issue.short_code.clone()),
                    token: token.clone(),
                };
                if self.ports.store.claim(claim).await? == ClaimOutcome::Claimed {
                    return Ok(token);
                }
            }
            if round == 0 {
                live = self.ports.store.live_slots(email_key, now).await?;
            }
        }
        self.count(Metric::CapLimited, Operation::Request);
        let earliest = live
            .iter()
            .filter(|s| range.contains(&s.slot))
            .map(|s| s.expires_at)
            .min()
            .unwrap_or(expires_at);
        Err(ServiceError::TooManyRequests {
            retry_after: earliest.since(now).as_secs().max(1),
        })
    }

    /// Renders and sends the link. A failed send never changes what a public caller sees: the
    /// slot stays taken, exactly as an unknown address's slot does (releasing it would let a
    /// 4th request answer 200 for a known address and 429 for an unknown one while SES
    /// refuses), and the unsent code, known to nobody, expires with it. A server caller, which
    /// may learn that the account exists, gets its slot back and a 502.
    async fn mail_link(
        &self,
        cmd: &RequestReset,
        user: &User,
        codes: MailedCodes<'_>,
        token: &TokenRecord,
        deadlines: Option<Deadlines>,
    ) -> Result<(), ServiceError> {
        let code = codes.code;
        let link = match &cmd.link {
            _ if !self.config.policy.method.link() => None,
            LinkTarget::Callback(cb) => Some(match self.config.links.code_in {
                CodePlacement::Query => cb.with_code(code).to_string(),
                CodePlacement::Fragment => cb.with_code_in_fragment(code).to_string(),
            }),
            LinkTarget::CallbackQuery(cb) => Some(cb.with_code(code).to_string()),
            LinkTarget::Template(t) => Some(
                t.render(code, &user.id, user.org_id.as_deref())
                    .map_err(|e| {
                        ServiceError::EmailDeliveryFailed(crate::mail::MailError::Rejected {
                            code: format!("url_template: {e}"),
                        })
                    })?,
            ),
        };
        let mail = render::reset_mail(
            &self.config.mail,
            &cmd.locale,
            &user.email,
            link.as_deref(),
            codes.otp.map(ShortCode::expose),
            self.config.policy.token_ttl.as_secs(),
        );
        let sent = match mail {
            Err(e) => Err(e),
            Ok(mail) => self
                .before(deadlines.map(|d| d.mail), self.ports.mailer.send(&mail))
                .await
                .unwrap_or(Err(MailError::DeadlineExceeded)),
        };
        let Err(e) = sent else {
            return Ok(());
        };
        let events_deadline = deadlines.map(|d| d.events);
        let failed = self.mail_failed(
            &e,
            &user.id,
            Operation::Request,
            Some(cmd.caller),
            events_deadline,
        );
        match (cmd.caller, cmd.opaque) {
            (Caller::Public, _) | (Caller::Server, true) => {
                tracing::error!(error = %error_chain(&e), user_id = %user.id, "reset mail not sent; its slot stays taken");
                failed.await;
                Ok(())
            }
            (Caller::Server, false) => {
                tracing::error!(error = %error_chain(&e), user_id = %user.id, "reset mail not sent; releasing its slot");
                let (released, ()) = tokio::join!(self.ports.store.release(token), failed);
                if let Err(release) = released {
                    tracing::error!(error = %error_chain(&release), "could not release the slot of an unsent reset mail");
                }
                Err(ServiceError::EmailDeliveryFailed(e))
            }
        }
    }
}
