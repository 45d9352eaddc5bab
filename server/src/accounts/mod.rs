//! Accounts of the people who run the program: admins, facilitators and peer
//! supporters (participants need none). Passwords (Argon2id), sign-in with
//! its rate limits, sessions (a random token in an HttpOnly cookie, only its
//! SHA-256 kept in the store), one-time links (first-admin setup, invites,
//! admin-issued password resets) and who may do what.
//!
//! For the other layers: [`Accounts::account_from_headers`] resolves the
//! session cookie of an HTTP request (or WebSocket upgrade) to a live
//! account, asking the store each time, so a deactivated account or a
//! revoked session ends at once on every instance; [`may_take_oncall_desk`]
//! and [`may_own_rooms`] say what a role allows.

use crate::config::Config;
use crate::metrics::Metrics;
use crate::store::{Link, LinkKind, NewAccount, NewSession, RedeemError, Store, StoreError};
use axum::http::{header, HeaderMap, StatusCode};
use std::net::IpAddr;
use std::sync::Arc;
use tokio::sync::{OnceCell, Semaphore};

pub mod credentials;
mod limit;

pub use crate::store::{Account, Role};
use credentials::check_password;
pub use credentials::{
    clean_name, hash_password, new_token, normalize_email, token_hash, verify_password,
    ARGON2_M_KIB, ARGON2_P, ARGON2_T, NAME_MAX, PASSWORD_MAX, PASSWORD_MIN,
};
pub use limit::FailureLimit;

/// The session cookie's name.
pub const COOKIE: &str = "huddle_session";

/// The window of the sign-in failure limits.
pub const LIMIT_WINDOW_MS: u64 = 15 * 60 * 1000;

/// Whether an account may take the on-call desk: trained peer supporters, and admins.
pub fn may_take_oncall_desk(account: &Account) -> bool {
    account.active && matches!(account.role, Role::PeerSupporter | Role::Admin)
}

/// Whether an account may create and own rooms: facilitators, and admins.
pub fn may_own_rooms(account: &Account) -> bool {
    account.active && matches!(account.role, Role::Facilitator | Role::Admin)
}

/// Why an account operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The same answer for an unknown email and a wrong password.
    #[error("wrong email or password")]
    WrongCredentials,
    #[error("too many sign-in attempts; try again in {retry_after_secs} s")]
    Limited { retry_after_secs: u64 },
    #[error("sign in first")]
    SignedOut,
    #[error("your role does not allow this")]
    NotAllowed,
    #[error("give a valid email address")]
    BadEmail,
    #[error("a password has {PASSWORD_MIN} to {PASSWORD_MAX} characters")]
    BadPassword,
    #[error("a name has 1 to {NAME_MAX} characters, without control characters")]
    BadName,
    #[error("role must be admin, facilitator or peer_supporter")]
    BadRole,
    #[error("no such account")]
    NoSuchAccount,
    #[error("no such bar, or it was lifted already")]
    NoSuchBar,
    /// Not JSON with the fields the endpoint needs (named).
    #[error("the body must be JSON: {0}")]
    BadBody(&'static str),
    #[error("you cannot deactivate or demote your own account")]
    OwnAccount,
    #[error(transparent)]
    Link(#[from] RedeemError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing failed (out of memory, a bad stored hash): 500, logged.
    #[error("the password could not be checked")]
    Hash(String),
}

impl AuthError {
    pub fn status(&self) -> StatusCode {
        match self {
            AuthError::WrongCredentials | AuthError::SignedOut => StatusCode::UNAUTHORIZED,
            AuthError::Limited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AuthError::NotAllowed | AuthError::OwnAccount => StatusCode::FORBIDDEN,
            AuthError::BadEmail
            | AuthError::BadPassword
            | AuthError::BadName
            | AuthError::BadRole
            | AuthError::BadBody(_) => StatusCode::BAD_REQUEST,
            AuthError::NoSuchAccount | AuthError::NoSuchBar => StatusCode::NOT_FOUND,
            AuthError::Link(RedeemError::Unknown) => StatusCode::NOT_FOUND,
            AuthError::Link(RedeemError::Expired | RedeemError::Used) => StatusCode::GONE,
            AuthError::Link(RedeemError::EmailTaken) => StatusCode::CONFLICT,
            AuthError::Link(RedeemError::Store(_)) | AuthError::Store(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AuthError::Hash(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// What a one-time link's page shows before it is used.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LinkInfo {
    pub kind: LinkKind,
    /// Invites: the role offered.
    pub role: Option<Role>,
    /// Setup and reset: the account's email and name.
    pub email: Option<String>,
    pub name: Option<String>,
    pub expires_at: i64,
}

/// A one-time link just issued: the URL (shown once, never stored) and its expiry.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IssuedLink {
    pub link: String,
    pub expires_at: i64,
}

/// Accounts, sessions and links over a [`Store`].
pub struct Accounts {
    pub store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    session_ms: i64,
    link_ms: i64,
    secure_cookie: bool,
    /// Links are written with it (`--public-origin`), else relative.
    public_origin: Option<String>,
    per_account: FailureLimit,
    per_address: FailureLimit,
    /// Argon2 runs at most this many at once (19 MiB and a core each).
    hashing: Semaphore,
    /// A hash of a random password: verified against for unknown emails, so
    /// they take as long as known ones.
    dummy: OnceCell<String>,
}

fn now() -> i64 {
    crate::now_ms() as i64
}

impl Accounts {
    pub fn new(cfg: &Config, store: Arc<dyn Store>, metrics: Arc<Metrics>) -> Accounts {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Accounts {
            store,
            metrics,
            session_ms: (cfg.session_hours.max(1) * 3_600_000) as i64,
            link_ms: (cfg.link_hours.max(1) * 3_600_000) as i64,
            secure_cookie: cfg.public_origin.as_ref().is_some_and(|o| o.is_https()),
            public_origin: cfg.public_origin.as_ref().map(|o| o.to_string()),
            per_account: FailureLimit::new(cfg.login_failures_per_account, LIMIT_WINDOW_MS),
            per_address: FailureLimit::new(cfg.login_failures_per_address, LIMIT_WINDOW_MS),
            hashing: Semaphore::new(cores.max(2)),
            dummy: OnceCell::new(),
        }
    }

    async fn hash(&self, password: String) -> Result<String, AuthError> {
        let _permit = self
            .hashing
            .acquire()
            .await
            .map_err(|e| AuthError::Hash(e.to_string()))?;
        tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| AuthError::Hash(e.to_string()))?
    }

    async fn verify(&self, password: String, phc: String) -> Result<bool, AuthError> {
        let _permit = self
            .hashing
            .acquire()
            .await
            .map_err(|e| AuthError::Hash(e.to_string()))?;
        tokio::task::spawn_blocking(move || verify_password(&password, &phc))
            .await
            .map_err(|e| AuthError::Hash(e.to_string()))
    }

    async fn dummy_hash(&self) -> Result<String, AuthError> {
        self.dummy
            .get_or_try_init(|| self.hash(hex::encode(rand::random::<[u8; 16]>())))
            .await
            .cloned()
    }

    /// The URL of a one-time link for a token.
    fn link_url(&self, token: &str) -> String {
        format!(
            "{}/setup?token={token}",
            self.public_origin.as_deref().unwrap_or("")
        )
    }

    /// Sign in: a new session token for the cookie. Unknown emails, inactive
    /// accounts and wrong passwords get the same answer after the same work
    /// (an Argon2 verification). Failures count against the account and the
    /// address; past either limit: [`AuthError::Limited`].
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        ip: IpAddr,
    ) -> Result<(String, Account), AuthError> {
        let t = crate::now_ms();
        let email = normalize_email(email).unwrap_or_default();
        let ip_key = crate::http::limit_key(ip).to_string();
        let wait = self
            .per_address
            .check(&ip_key, t)
            .and_then(|()| self.per_account.check(&email, t));
        if let Err(retry_after_secs) = wait {
            Metrics::inc(&self.metrics.sign_ins_limited);
            return Err(AuthError::Limited { retry_after_secs });
        }
        let found = if email.is_empty() || password.chars().count() > PASSWORD_MAX {
            None
        } else {
            self.store.credentials(&email).await?
        };
        let ok = match found {
            Some((account, Some(phc))) if account.active => self
                .verify(password.to_string(), phc)
                .await?
                .then_some(account),
            _ => {
                let dummy = self.dummy_hash().await?;
                // Same work as a real check; the answer is no whatever it says.
                self.verify(password.to_string(), dummy).await?;
                None
            }
        };
        let Some(account) = ok else {
            self.per_address.fail(&ip_key, t);
            if !email.is_empty() {
                self.per_account.fail(&email, t);
            }
            Metrics::inc(&self.metrics.sign_ins_failed);
            return Err(AuthError::WrongCredentials);
        };
        self.per_account.clear(&email);
        let token = self.start_session(&account.id).await?;
        Metrics::inc(&self.metrics.sign_ins);
        Ok((token, account))
    }

    async fn start_session(&self, account_id: &str) -> Result<String, AuthError> {
        let (token, hash) = new_token();
        let now = now();
        self.store
            .create_session(&NewSession {
                token_hash: hash,
                account_id: account_id.to_string(),
                created_at: now,
                expires_at: now + self.session_ms,
            })
            .await?;
        Ok(token)
    }

    /// The account of a session token, if the session is live.
    pub async fn resolve(&self, token: &str) -> Result<Option<Account>, StoreError> {
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        self.store.session_account(&token_hash(token), now()).await
    }

    /// The live account behind a request's session cookie (none without a
    /// cookie, or with an ended session). Asks the store every time.
    pub async fn account_from_headers(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<Account>, StoreError> {
        match session_cookie(headers) {
            None => Ok(None),
            Some(token) => self.resolve(&token).await,
        }
    }

    /// End a session (sign-out).
    pub async fn sign_out(&self, token: &str) -> Result<(), StoreError> {
        self.store.revoke_session(&token_hash(token), now()).await
    }

    /// `Set-Cookie` for a new session.
    pub fn session_cookie(&self, token: &str) -> String {
        format!(
            "{COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{}",
            self.session_ms / 1000,
            if self.secure_cookie { "; Secure" } else { "" }
        )
    }

    /// `Set-Cookie` that removes the session cookie.
    pub fn cleared_cookie(&self) -> String {
        format!(
            "{COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0{}",
            if self.secure_cookie { "; Secure" } else { "" }
        )
    }

    async fn issue(
        &self,
        kind: LinkKind,
        role: Option<Role>,
        account_id: Option<String>,
        by: Option<String>,
    ) -> Result<IssuedLink, AuthError> {
        let (token, hash) = new_token();
        let now = now();
        let link = Link {
            token_hash: hash,
            kind,
            role,
            account_id,
            created_by: by,
            created_at: now,
            expires_at: now + self.link_ms,
            used_at: None,
        };
        self.store.create_link(&link).await?;
        Ok(IssuedLink {
            link: self.link_url(&token),
            expires_at: link.expires_at,
        })
    }

    /// `huddle admin create`: an admin account without a password, and its setup link.
    pub async fn create_admin(
        &self,
        email: &str,
        name: Option<&str>,
    ) -> Result<(Account, IssuedLink), AuthError> {
        let email = normalize_email(email)?;
        let name = clean_name(name.unwrap_or_else(|| email.split('@').next().unwrap_or("Admin")))?;
        let account = self
            .store
            .create_account(&NewAccount {
                id: uuid::Uuid::new_v4().simple().to_string(),
                email,
                name,
                role: Role::Admin,
                password_hash: None,
                created_at: now(),
            })
            .await?
            .ok_or(AuthError::Link(RedeemError::EmailTaken))?;
        let link = self
            .issue(LinkKind::Setup, None, Some(account.id.clone()), None)
            .await?;
        Ok((account, link))
    }

    /// An admin invites someone with a role.
    pub async fn invite(&self, admin: &Account, role: Role) -> Result<IssuedLink, AuthError> {
        require_admin(admin)?;
        self.issue(LinkKind::Invite, Some(role), None, Some(admin.id.clone()))
            .await
    }

    /// An admin issues a password-reset link for an account.
    pub async fn reset_link(
        &self,
        admin: &Account,
        account_id: &str,
    ) -> Result<IssuedLink, AuthError> {
        require_admin(admin)?;
        let a = self
            .store
            .account(account_id)
            .await?
            .ok_or(AuthError::NoSuchAccount)?;
        self.issue(LinkKind::Reset, None, Some(a.id), Some(admin.id.clone()))
            .await
    }

    /// What a link is for, while it can still be used.
    pub async fn link_info(&self, token: &str) -> Result<LinkInfo, AuthError> {
        let link = self
            .store
            .link(&token_hash(token))
            .await?
            .ok_or(RedeemError::Unknown)?;
        if link.used_at.is_some() {
            return Err(RedeemError::Used.into());
        }
        if link.expires_at <= now() {
            return Err(RedeemError::Expired.into());
        }
        let account = match &link.account_id {
            Some(id) => self.store.account(id).await?,
            None => None,
        };
        Ok(LinkInfo {
            kind: link.kind,
            role: link.role,
            email: account.as_ref().map(|a| a.email.clone()),
            name: account.map(|a| a.name),
            expires_at: link.expires_at,
        })
    }

    /// Use a link: an invite creates the account (email and name needed), a
    /// setup or reset link sets the password (ending the account's other
    /// sessions). Either way the person is signed in: the new session's token.
    pub async fn accept(
        &self,
        token: &str,
        email: Option<&str>,
        name: Option<&str>,
        password: &str,
    ) -> Result<(String, Account), AuthError> {
        check_password(password)?;
        let hash_of_token = token_hash(token);
        let link = self
            .store
            .link(&hash_of_token)
            .await?
            .ok_or(RedeemError::Unknown)?;
        let account = match link.kind {
            LinkKind::Invite => {
                let email = normalize_email(email.unwrap_or(""))?;
                let name = clean_name(name.unwrap_or(""))?;
                let password_hash = Some(self.hash(password.to_string()).await?);
                let new = NewAccount {
                    id: uuid::Uuid::new_v4().simple().to_string(),
                    email,
                    name,
                    role: Role::Facilitator, // the link's role is what counts
                    password_hash,
                    created_at: now(),
                };
                self.store
                    .redeem_invite(&hash_of_token, now(), &new)
                    .await?
            }
            LinkKind::Setup | LinkKind::Reset => {
                let hash = self.hash(password.to_string()).await?;
                self.store
                    .redeem_password(&hash_of_token, now(), &hash)
                    .await?
            }
        };
        let session = self.start_session(&account.id).await?;
        Ok((session, account))
    }

    /// The bars not lifted, newest first.
    pub async fn bars(&self, admin: &Account) -> Result<Vec<crate::store::Bar>, AuthError> {
        require_admin(admin)?;
        Ok(self.store.active_bars().await?)
    }

    /// Lift a bar: the bar, for the room to hear of it.
    pub async fn lift_bar(
        &self,
        admin: &Account,
        id: &str,
    ) -> Result<crate::store::Bar, AuthError> {
        require_admin(admin)?;
        self.store
            .lift_bar(id, crate::now_ms() as i64, Some(&admin.id))
            .await?
            .ok_or(AuthError::NoSuchBar)
    }

    pub async fn list(&self, admin: &Account) -> Result<Vec<Account>, AuthError> {
        require_admin(admin)?;
        Ok(self.store.list_accounts().await?)
    }

    pub async fn set_role(&self, admin: &Account, id: &str, role: Role) -> Result<(), AuthError> {
        require_admin(admin)?;
        if admin.id == id {
            return Err(AuthError::OwnAccount);
        }
        if !self.store.set_role(id, role).await? {
            return Err(AuthError::NoSuchAccount);
        }
        Ok(())
    }

    /// Deactivating ends every session of the account at once.
    pub async fn set_active(
        &self,
        admin: &Account,
        id: &str,
        active: bool,
    ) -> Result<(), AuthError> {
        require_admin(admin)?;
        if admin.id == id {
            return Err(AuthError::OwnAccount);
        }
        if !self.store.set_active(id, active, now()).await? {
            return Err(AuthError::NoSuchAccount);
        }
        Ok(())
    }

    /// Forget sessions and links that ended more than 30 days ago (hourly).
    pub async fn purge_old(&self) {
        let before = now() - 30 * 24 * 3_600_000;
        match self.store.purge(before).await {
            Ok(n) if n > 0 => tracing::info!(rows = n, "purged ended sessions and links"),
            Ok(_) => {}
            // Logged and counted by the store; tried again next hour.
            Err(e) => tracing::debug!(error = %e, "purge postponed"),
        }
    }
}

fn require_admin(a: &Account) -> Result<(), AuthError> {
    if a.active && a.role == Role::Admin {
        Ok(())
    } else {
        Err(AuthError::NotAllowed)
    }
}

/// The session token from a request's `Cookie` headers.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_say_who_takes_the_desk_and_owns_rooms() {
        let mut a = Account {
            id: "1".into(),
            email: "a@x".into(),
            name: "A".into(),
            role: Role::PeerSupporter,
            active: true,
            created_at: 0,
        };
        assert!(may_take_oncall_desk(&a) && !may_own_rooms(&a));
        a.role = Role::Facilitator;
        assert!(!may_take_oncall_desk(&a) && may_own_rooms(&a));
        a.role = Role::Admin;
        assert!(may_take_oncall_desk(&a) && may_own_rooms(&a));
        a.active = false;
        assert!(!may_take_oncall_desk(&a) && !may_own_rooms(&a));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            "a=1; huddle_session=abc ; b=2".parse().unwrap(),
        );
        assert_eq!(session_cookie(&h).as_deref(), Some("abc"));
        assert_eq!(session_cookie(&HeaderMap::new()), None);
    }
}
