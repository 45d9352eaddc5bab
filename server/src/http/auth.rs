//! Signing in and out, `GET /api/me`, and one-time links: what a link is for
//! (`POST /api/auth/link`) and using it (`POST /api/auth/accept`: an invite
//! creates the account, a setup or reset link sets the password; either way
//! the person is signed in).
//!
//! Every state-changing request here passes the CSRF check ([`csrf`]: the
//! Origin must be this site); the session cookie is HttpOnly, SameSite=Lax,
//! Path=/, and Secure when `--public-origin` is https. Bodies are never
//! logged; neither are emails, passwords or tokens.

use super::client::{client_ip, same_site_request};
use super::AppState;
use crate::accounts::{self, Account, AuthError};
use crate::error::HttpError;
use crate::metrics::Metrics;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/sign-in", post(sign_in))
        .route("/api/auth/sign-out", post(sign_out))
        .route("/api/auth/link", post(link_info))
        .route("/api/auth/accept", post(accept))
        .route("/api/me", get(me))
}

/// Refuse a state-changing request from another site (counted).
pub(super) fn csrf(st: &AppState, peer: SocketAddr, headers: &HeaderMap) -> Result<(), HttpError> {
    if same_site_request(&st.rooms.cfg, peer.ip(), headers) {
        Ok(())
    } else {
        Metrics::inc(&st.rooms.metrics.csrf_refused);
        Err(HttpError::CsrfRefused)
    }
}

/// The signed-in account behind the request's cookie, or 401.
pub(super) async fn signed_in(st: &AppState, headers: &HeaderMap) -> Result<Account, HttpError> {
    st.accounts
        .account_from_headers(headers)
        .await?
        .ok_or(HttpError::Auth(AuthError::SignedOut))
}

/// What the client sees of an account (`/api/me`, sign-in, accept).
#[derive(Debug, Serialize)]
pub struct Me {
    #[serde(flatten)]
    pub account: Account,
    pub may_own_rooms: bool,
    pub may_take_oncall_desk: bool,
}

impl Me {
    pub fn of(account: Account) -> Me {
        Me {
            may_own_rooms: accounts::may_own_rooms(&account),
            may_take_oncall_desk: accounts::may_take_oncall_desk(&account),
            account,
        }
    }
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A JSON answer that sets (or clears) the session cookie.
fn with_cookie(cookie: String, body: Response) -> Result<Response, HttpError> {
    let mut r = no_store(body);
    let v = HeaderValue::from_str(&cookie).map_err(|_| AuthError::Hash("cookie".into()))?;
    r.headers_mut().insert(header::SET_COOKIE, v);
    Ok(r)
}

#[derive(Deserialize)]
pub struct SignIn {
    email: String,
    password: String,
}

async fn sign_in(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<SignIn>, JsonRejection>,
) -> Result<Response, HttpError> {
    csrf(&st, peer, &headers)?;
    let Ok(Json(b)) = body else {
        return Err(AuthError::BadBody(r#"{"email": "...", "password": "..."}"#).into());
    };
    let ip = client_ip(&st.rooms.cfg, peer.ip(), &headers);
    let (token, account) = st.accounts.sign_in(&b.email, &b.password, ip).await?;
    with_cookie(
        st.accounts.session_cookie(&token),
        Json(Me::of(account)).into_response(),
    )
}

async fn sign_out(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    csrf(&st, peer, &headers)?;
    if let Some(token) = accounts::session_cookie(&headers) {
        st.accounts.sign_out(&token).await?;
    }
    with_cookie(
        st.accounts.cleared_cookie(),
        StatusCode::NO_CONTENT.into_response(),
    )
}

async fn me(State(st): State<AppState>, headers: HeaderMap) -> Result<Response, HttpError> {
    let account = signed_in(&st, &headers).await?;
    Ok(no_store(Json(Me::of(account)).into_response()))
}

#[derive(Deserialize)]
pub struct TokenBody {
    token: String,
}

async fn link_info(
    State(st): State<AppState>,
    body: Result<Json<TokenBody>, JsonRejection>,
) -> Result<Response, HttpError> {
    let Ok(Json(b)) = body else {
        return Err(AuthError::BadBody(r#"{"token": "..."}"#).into());
    };
    let info = st.accounts.link_info(&b.token).await?;
    Ok(no_store(Json(info).into_response()))
}

#[derive(Deserialize)]
pub struct Accept {
    token: String,
    password: String,
    /// Invites only.
    email: Option<String>,
    name: Option<String>,
}

async fn accept(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<Accept>, JsonRejection>,
) -> Result<Response, HttpError> {
    csrf(&st, peer, &headers)?;
    let Ok(Json(b)) = body else {
        return Err(AuthError::BadBody(
            r#"{"token": "...", "password": "...", "email": "...", "name": "..."}"#,
        )
        .into());
    };
    let (token, account) = st
        .accounts
        .accept(&b.token, b.email.as_deref(), b.name.as_deref(), &b.password)
        .await?;
    tracing::info!(account = %account.id, role = account.role.as_str(), "link used");
    with_cookie(
        st.accounts.session_cookie(&token),
        Json(Me::of(account)).into_response(),
    )
}
