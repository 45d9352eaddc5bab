//! Errors as types, and the one place each kind maps to the protocol's
//! [`ErrorCode`] (or, for the transport, to a WebSocket close code, and for
//! HTTP, to a status). Nothing is classified by searching its message text.
//!
//! An error's `Display` text is what a client reads (the `message` of an error
//! frame or of an API error body), exactly as clients have always seen it.
//! Sources (Redis errors…) are kept for logs and never shown to clients.

use crate::metrics::RedisOp;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use huddle_protocol::{ErrorCode, PROTOCOL_VERSION};

// ---- room layer ----

/// Why the room model refused a command (or, for the last two, why it tells a
/// connection it is out). The text is the `message` of the error frame, as
/// clients have always seen it; [`RoomError::code`] is its protocol code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoomError {
    // -- joining --
    #[error("this server speaks protocol v{PROTOCOL_VERSION}")]
    VersionMismatch,
    #[error("this connection already joined")]
    ConnectionAlreadyJoined,
    #[error("already joined")]
    AlreadyJoined,
    #[error("you are not admitted yet")]
    NotAdmitted,
    #[error("join a room first")]
    NotJoined,
    #[error("you were removed from this session")]
    Removed,
    #[error("resume token does not match")]
    BadResume,
    #[error("facilitator key is not valid")]
    BadFacilitatorKey,
    #[error("the room is locked")]
    Locked,
    #[error("the room is full")]
    Full,
    #[error("display name is empty")]
    NameEmpty,
    #[error("display name is longer than {max} characters")]
    NameTooLong { max: usize },
    #[error("display name has control or bidi-override characters")]
    NameControlChars,
    #[error("someone here already goes by that name (or one that looks the same); please choose another")]
    NameTaken,

    // -- text fields --
    /// `what`: the field, as the message names it ("message", "note", …).
    #[error("{what} is empty")]
    Empty { what: &'static str },
    #[error("{what} is longer than {max} characters")]
    TooLong { what: &'static str, max: usize },
    /// `field`: the field, as the message names it ("message", "title", …).
    #[error("{field} has control or bidi-override characters")]
    InvalidText { field: &'static str },

    // -- who may act, and when --
    #[error("this session has ended")]
    SessionEnded,
    #[error("only facilitators can do that")]
    FacilitatorsOnly,
    #[error("the room is paused until a facilitator is back")]
    Paused,
    #[error("the facilitator will open the room")]
    AwaitingFacilitator,
    #[error("please read and accept the ground rules first")]
    RulesNotAccepted,
    #[error("a facilitator has muted you for now")]
    Muted,
    #[error("slow mode: wait {wait_secs} more seconds")]
    SlowMode { wait_secs: u64 },

    // -- chat --
    #[error("no such message")]
    NoSuchMessage,
    #[error("reaction must be one of 👍 ❤️ 🙏 💡 🤝")]
    BadReaction,

    // -- ground rules --
    #[error("those are not the current ground rules; read them again")]
    StaleRules,
    #[error("give 1 to 20 ground rules")]
    RuleCount,

    // -- hands --
    #[error("you can only lower your own hand")]
    OwnHandOnly,

    // -- timers --
    #[error("no such timer")]
    NoSuchTimer,
    #[error("too many timers")]
    TooManyTimers,
    #[error("timer duration is 1 s to 24 h")]
    TimerDuration,
    #[error("timer is not running")]
    TimerNotRunning,
    #[error("timer is not paused")]
    TimerNotPaused,
    #[error("extend by 1 s to 1 h")]
    TimerExtension,

    // -- energizers --
    #[error("no such energizer")]
    NoSuchEnergizer,
    #[error("that energizer is not open")]
    EnergizerNotOpen,
    #[error("give an energizer_id or a prompt")]
    EnergizerOrPrompt,
    #[error("energizer duration is 1 s to 1 h")]
    EnergizerDuration,

    // -- highlights and parking lot --
    #[error("give a message_id or a text")]
    MessageOrText,
    #[error("no such highlight")]
    NoSuchHighlight,
    #[error("too many highlights")]
    TooManyHighlights,
    #[error("only facilitators can park items")]
    ParkingFacilitatorsOnly,
    #[error("no such item")]
    NoSuchItem,
    #[error("the parking lot is full")]
    ParkingFull,

    // -- energy check --
    #[error("that energy check is not open")]
    EnergyCheckNotOpen,
    #[error("energy level is 1 to 5")]
    BadEnergyLevel,
    #[error("you already answered this check")]
    AlreadyAnswered,

    // -- support and sharing --
    #[error("no such support request")]
    NoSuchSupportRequest,
    #[error("a one-on-one is already open for it")]
    OneOnOneAlreadyOpen,
    #[error("no such invitation")]
    NoSuchInvitation,

    // -- the on-call desk --
    #[error("only the on-call desk can do that, with the on-call key")]
    OnCallOnly,
    #[error("that is not available at the on-call desk")]
    NotAtDesk,
    #[error("no such alert (the person may have left)")]
    NoSuchAlert,
    #[error("another supporter already answered this alert")]
    AlertTaken,

    // -- moderation --
    #[error("no such member")]
    NoSuchMember,
    #[error("you cannot moderate this member")]
    CannotModerate,
    #[error("you cannot mute yourself")]
    MuteSelf,
    #[error("slow mode is 0 to 3600 seconds")]
    SlowModeRange,
    #[error("already facilitating")]
    AlreadyFacilitating,
    #[error("the lead facilitator cannot be demoted")]
    CannotDemoteFacilitator,
    #[error("only the lead facilitator can do that")]
    LeadOnly,
    #[error("not a co-facilitator")]
    NotCoFacilitator,
    #[error("only the facilitator can hand over")]
    HandOverFacilitatorOnly,
    #[error("you are already the facilitator")]
    AlreadyFacilitator,

    // -- calls --
    #[error("the call is off in this room")]
    CallOff,
    #[error("this room's call is audio only: cameras stay off")]
    AudioOnlyCall,
    #[error("join the call first")]
    NotInCall,
    #[error("that member is not in the call")]
    PeerNotInCall,
    #[error("the call is full ({max} people at most)")]
    CallFull { max: u32 },
    #[error("video is limited to {max} cameras in this call (each browser sends to every other): join or stay with audio only")]
    VideoFull { max: u32 },
    #[error("a signal goes to another member")]
    SignalToSelf,
    #[error("the signal is over {max} bytes")]
    SignalTooLarge { max: usize },
    #[error("bad signal: {0}")]
    BadSignal(&'static str),

    // -- waiting room --
    #[error("nobody waiting with that id")]
    NobodyWaiting,

    // -- schedule --
    #[error("extend by 1 to 240 minutes")]
    SessionExtension,

    // -- told to a connection the room lets go (not a refused command) --
    #[error("A facilitator removed you from this session.")]
    RemovedByFacilitator,
    #[error("The facilitator could not admit you to this session.")]
    Declined,
}

impl RoomError {
    /// The protocol code of this refusal: the only place room errors map to codes.
    pub fn code(&self) -> ErrorCode {
        match self {
            RoomError::VersionMismatch => ErrorCode::VersionMismatch,
            RoomError::ConnectionAlreadyJoined | RoomError::AlreadyJoined => {
                ErrorCode::AlreadyJoined
            }
            RoomError::NotAdmitted | RoomError::NotJoined => ErrorCode::NotJoined,
            RoomError::Removed | RoomError::RemovedByFacilitator => ErrorCode::Removed,
            RoomError::BadResume => ErrorCode::BadResume,
            RoomError::Locked => ErrorCode::RoomLocked,
            RoomError::Full => ErrorCode::RoomFull,
            RoomError::NameEmpty | RoomError::NameTooLong { .. } | RoomError::NameControlChars => {
                ErrorCode::InvalidName
            }
            RoomError::NameTaken => ErrorCode::NameTaken,
            RoomError::InvalidText { .. } => ErrorCode::InvalidText,
            RoomError::TooLong { .. } => ErrorCode::TooLarge,
            RoomError::SessionEnded => ErrorCode::RoomClosed,
            RoomError::Paused => ErrorCode::Paused,
            RoomError::AwaitingFacilitator => ErrorCode::AwaitingFacilitator,
            RoomError::OnCallOnly => ErrorCode::OnCallOnly,
            RoomError::AlertTaken => ErrorCode::AlertTaken,
            RoomError::CallOff | RoomError::AudioOnlyCall => ErrorCode::CallOff,
            RoomError::NotInCall | RoomError::PeerNotInCall => ErrorCode::NotInCall,
            RoomError::CallFull { .. } | RoomError::VideoFull { .. } => ErrorCode::CallFull,
            RoomError::SignalTooLarge { .. } => ErrorCode::TooLarge,
            RoomError::SignalToSelf | RoomError::BadSignal(_) => ErrorCode::Invalid,
            RoomError::NotAtDesk => ErrorCode::Forbidden,
            RoomError::NoSuchAlert => ErrorCode::NotFound,
            RoomError::RulesNotAccepted => ErrorCode::RulesNotAccepted,
            RoomError::Muted => ErrorCode::Muted,
            RoomError::SlowMode { .. } => ErrorCode::SlowMode,
            RoomError::BadFacilitatorKey
            | RoomError::FacilitatorsOnly
            | RoomError::OwnHandOnly
            | RoomError::ParkingFacilitatorsOnly
            | RoomError::CannotModerate
            | RoomError::CannotDemoteFacilitator
            | RoomError::LeadOnly
            | RoomError::HandOverFacilitatorOnly
            | RoomError::Declined => ErrorCode::Forbidden,
            RoomError::NoSuchMessage
            | RoomError::NoSuchTimer
            | RoomError::NoSuchEnergizer
            | RoomError::EnergizerNotOpen
            | RoomError::NoSuchHighlight
            | RoomError::NoSuchItem
            | RoomError::EnergyCheckNotOpen
            | RoomError::NoSuchSupportRequest
            | RoomError::NoSuchInvitation
            | RoomError::NoSuchMember
            | RoomError::NobodyWaiting => ErrorCode::NotFound,
            RoomError::Empty { .. }
            | RoomError::BadReaction
            | RoomError::StaleRules
            | RoomError::RuleCount
            | RoomError::TooManyTimers
            | RoomError::TimerDuration
            | RoomError::TimerNotRunning
            | RoomError::TimerNotPaused
            | RoomError::TimerExtension
            | RoomError::EnergizerOrPrompt
            | RoomError::EnergizerDuration
            | RoomError::MessageOrText
            | RoomError::TooManyHighlights
            | RoomError::ParkingFull
            | RoomError::BadEnergyLevel
            | RoomError::AlreadyAnswered
            | RoomError::OneOnOneAlreadyOpen
            | RoomError::MuteSelf
            | RoomError::SlowModeRange
            | RoomError::AlreadyFacilitating
            | RoomError::NotCoFacilitator
            | RoomError::AlreadyFacilitator
            | RoomError::SessionExtension => ErrorCode::Invalid,
        }
    }
}

// ---- end room layer ----

// ---- broker layer ----

/// Why the broker could not do what was asked (see [`crate::broker::Broker`]).
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// No room by that id: no actor here (in memory), no stored state (Redis).
    #[error("no such room")]
    RoomNotFound,
    /// The room's actor here stopped while the command was on its way.
    #[error("the room is gone")]
    RoomGone,
    /// The room's actor here is handing the room over.
    #[error("the room is moving; retry")]
    RoomMoving,
    /// Nobody hosts the room and nobody could take it over in time.
    #[error("the room is unavailable right now; try again shortly")]
    RoomUnavailable,
    /// A Redis operation failed (already counted and logged where it failed).
    #[error("storage is unavailable right now; try again shortly")]
    Redis {
        op: RedisOp,
        #[source]
        source: redis::RedisError,
    },
    /// A command could not be encoded to cross instances.
    #[error("could not encode command")]
    Encode(#[source] serde_json::Error),
}

impl BrokerError {
    pub fn code(&self) -> ErrorCode {
        match self {
            BrokerError::RoomNotFound | BrokerError::RoomGone => ErrorCode::RoomNotFound,
            BrokerError::RoomMoving | BrokerError::RoomUnavailable | BrokerError::Redis { .. } => {
                ErrorCode::Unavailable
            }
            BrokerError::Encode(_) => ErrorCode::Internal,
        }
    }
}

// ---- rooms layer ----

/// Why a room could not be created ([`crate::rooms::Rooms::create_room`]).
#[derive(Debug, thiserror::Error)]
pub enum CreateRoomError {
    #[error("title must be 1 to 120 characters")]
    Title,
    #[error("ends_at must be after starts_at")]
    EndsBeforeStart,
    #[error("capacity must be at least 1")]
    ZeroCapacity,
    #[error("the on-call desk is not created through the API")]
    DeskKind,
    #[error("this server hosts its maximum number of rooms")]
    TooManyRooms,
    /// A free-text field failed the room model's text check (`invalid_text`).
    #[error(transparent)]
    Text(#[from] RoomError),
    #[error(transparent)]
    Broker(#[from] BrokerError),
}

impl CreateRoomError {
    pub fn code(&self) -> ErrorCode {
        match self {
            CreateRoomError::Title
            | CreateRoomError::EndsBeforeStart
            | CreateRoomError::ZeroCapacity
            | CreateRoomError::DeskKind => ErrorCode::Invalid,
            CreateRoomError::TooManyRooms => ErrorCode::Unavailable,
            CreateRoomError::Text(e) => e.code(),
            CreateRoomError::Broker(e) => e.code(),
        }
    }
}

// ---- session layer ----

/// Why reading a WebSocket failed (classified from the transport's error
/// variants in [`crate::session`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// A message over the transport ceiling.
    #[error("message too big")]
    TooBig,
    /// A text frame that is not UTF-8.
    #[error("text frames must be valid UTF-8")]
    InvalidUtf8,
    /// A WebSocket protocol violation.
    #[error("protocol error")]
    Protocol,
    /// The client closed, vanished or reset the connection.
    #[error("connection lost")]
    Gone,
}

impl TransportError {
    /// The close frame the server answers with; `None`: the client is gone,
    /// nothing to answer.
    pub fn close_code(self) -> Option<u16> {
        match self {
            TransportError::TooBig => Some(1009),
            TransportError::InvalidUtf8 => Some(1007),
            TransportError::Protocol => Some(1002),
            TransportError::Gone => None,
        }
    }
}

/// A client frame the session refuses before (or instead of) the room: sent
/// back as an error frame.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("binary frames are not part of the protocol; send JSON text")]
    BinaryFrame,
    #[error("you are sending too fast; slow down")]
    RateLimited,
    #[error("frames are limited to {max} bytes")]
    TooLarge { max: usize },
    /// The protocol crate's decoder refused the frame (it names the code).
    #[error("{message}")]
    Undecodable { code: ErrorCode, message: String },
    #[error("this connection already joined a room")]
    AlreadyJoined,
    /// One join per connection: after being admitted or leaving, join again on a new connection.
    #[error("this connection joined a room before; open a new connection to join again")]
    JoinedBefore,
    #[error("no such room")]
    RoomNotFound,
    #[error("the on-call desk needs the on-call key")]
    OnCallKey,
    #[error("join a room first")]
    NotJoined,
    #[error("device_id must be 16 to 64 letters, digits, `-` or `_`")]
    BadDeviceId,
    /// A bar in the durable store keeps this device or account out of the room.
    #[error("you were removed from this session")]
    Barred,
    #[error(transparent)]
    Broker(#[from] BrokerError),
}

impl SessionError {
    pub fn code(&self) -> ErrorCode {
        match self {
            SessionError::BinaryFrame => ErrorCode::BinaryNotSupported,
            SessionError::RateLimited => ErrorCode::RateLimited,
            SessionError::TooLarge { .. } => ErrorCode::TooLarge,
            SessionError::Undecodable { code, .. } => *code,
            SessionError::AlreadyJoined | SessionError::JoinedBefore => ErrorCode::AlreadyJoined,
            SessionError::RoomNotFound => ErrorCode::RoomNotFound,
            SessionError::NotJoined => ErrorCode::NotJoined,
            SessionError::BadDeviceId => ErrorCode::Invalid,
            SessionError::Barred => ErrorCode::Removed,
            SessionError::OnCallKey => ErrorCode::OnCallOnly,
            SessionError::Broker(e) => e.code(),
        }
    }
}

// ---- http layer ----

/// Every refusal of the HTTP layer. API errors answer with a JSON body
/// `{"code", "message"}`; the others (upgrade refusals, readiness, static
/// files) with plain text.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("body must be JSON: {{\"title\": \"...\", \"kind\": \"group|drop_in|one_on_one\"}}")]
    BadBody,
    /// A field the body does not have (never silently dropped): `field` is
    /// shown as [`huddle_protocol::shown_field`] cleans it.
    #[error("unknown field `{field}` in the request body")]
    UnknownField { field: String },
    #[error("only drop-in rooms are listed publicly (kind=drop_in)")]
    OnlyDropInsListed,
    #[error("no such room")]
    RoomNotFound,
    #[error("the facilitator key is required")]
    KeyRequired,
    #[error("listing a drop-in in the public directory needs this deployment's organizer key (X-Huddle-Organizer-Key); anyone may create a group room")]
    OrganizerKeyRequired,
    #[error("too many rooms created from your address; try again in {retry_after_secs} s")]
    CreateRateLimited { retry_after_secs: u64 },
    #[error("a metrics token is required")]
    MetricsTokenRequired,
    #[error("the session has not ended yet")]
    NotEnded,
    #[error(transparent)]
    CreateRoom(#[from] CreateRoomError),
    /// The broker could not answer (e.g. storage unreachable: 503, retry).
    #[error(transparent)]
    Broker(#[from] BrokerError),
    #[error("shutting down")]
    ShuttingDown,
    #[error("origin not allowed")]
    OriginNotAllowed,
    #[error("too many connections from this address")]
    TooManyConnections,
    #[error("broker unavailable")]
    BrokerUnavailable,
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Auth(#[from] crate::accounts::AuthError),
    /// The durable store did not answer: 503, retry.
    #[error("the database is unavailable; try again shortly")]
    Store(#[from] crate::store::StoreError),
    /// A state-changing request whose Origin is missing or not this site.
    #[error("cross-site request refused: the Origin header must be this site's")]
    CsrfRefused,
    #[error("only the room's owner can do this")]
    NotOwner,
    #[error("the room did not take the new key in time; try again")]
    KeyNotTaken,
    #[error(transparent)]
    Series(#[from] crate::program::SeriesError),
}

impl HttpError {
    /// The protocol code of an API error; `None` for plain-text refusals.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            HttpError::BadBody => Some(ErrorCode::BadMessage),
            HttpError::UnknownField { .. } => Some(ErrorCode::UnknownField),
            HttpError::OnlyDropInsListed | HttpError::NotEnded => Some(ErrorCode::Invalid),
            HttpError::RoomNotFound => Some(ErrorCode::RoomNotFound),
            HttpError::KeyRequired | HttpError::OrganizerKeyRequired => Some(ErrorCode::Forbidden),
            HttpError::CreateRateLimited { .. } => Some(ErrorCode::RateLimited),
            HttpError::CreateRoom(e) => Some(e.code()),
            HttpError::Broker(e) => Some(e.code()),
            HttpError::ShuttingDown
            | HttpError::OriginNotAllowed
            | HttpError::TooManyConnections
            | HttpError::BrokerUnavailable
            | HttpError::MetricsTokenRequired
            | HttpError::NotFound => None,
            HttpError::Auth(e) => Some(match e.status() {
                StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
                StatusCode::SERVICE_UNAVAILABLE => ErrorCode::Unavailable,
                StatusCode::BAD_REQUEST => ErrorCode::Invalid,
                StatusCode::NOT_FOUND => ErrorCode::NotFound,
                StatusCode::INTERNAL_SERVER_ERROR => ErrorCode::Internal,
                _ => ErrorCode::Forbidden,
            }),
            HttpError::Store(_) | HttpError::KeyNotTaken => Some(ErrorCode::Unavailable),
            HttpError::CsrfRefused | HttpError::NotOwner => Some(ErrorCode::Forbidden),
            HttpError::Series(e) => Some(series_code(e)),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            HttpError::BadBody | HttpError::UnknownField { .. } | HttpError::OnlyDropInsListed => {
                StatusCode::BAD_REQUEST
            }
            HttpError::RoomNotFound | HttpError::NotFound => StatusCode::NOT_FOUND,
            HttpError::KeyRequired
            | HttpError::OrganizerKeyRequired
            | HttpError::OriginNotAllowed => StatusCode::FORBIDDEN,
            HttpError::MetricsTokenRequired => StatusCode::UNAUTHORIZED,
            HttpError::CreateRateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            HttpError::NotEnded => StatusCode::CONFLICT,
            HttpError::CreateRoom(e) if e.code() == ErrorCode::Unavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            HttpError::CreateRoom(_) => StatusCode::BAD_REQUEST,
            HttpError::Broker(e) => match e.code() {
                ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::RoomNotFound => StatusCode::NOT_FOUND,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            HttpError::ShuttingDown | HttpError::BrokerUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            HttpError::TooManyConnections => StatusCode::TOO_MANY_REQUESTS,
            HttpError::Auth(e) => e.status(),
            HttpError::Store(_) | HttpError::KeyNotTaken => StatusCode::SERVICE_UNAVAILABLE,
            HttpError::CsrfRefused | HttpError::NotOwner => StatusCode::FORBIDDEN,
            HttpError::Series(e) => series_status(e),
        }
    }
}

fn series_code(e: &crate::program::SeriesError) -> ErrorCode {
    use crate::program::SeriesError as S;
    match e {
        S::Invalid { .. } | S::Over | S::Archived | S::NoRegistration => ErrorCode::Invalid,
        S::NotFound | S::NoSuchOccurrence | S::UnknownRegistration => ErrorCode::NotFound,
        S::Opening | S::Store(_) => ErrorCode::Unavailable,
        S::CreateRoom(c) => c.code(),
    }
}

fn series_status(e: &crate::program::SeriesError) -> StatusCode {
    use crate::program::SeriesError as S;
    match e {
        S::Invalid { .. } => StatusCode::BAD_REQUEST,
        S::Over | S::Archived | S::NoRegistration => StatusCode::CONFLICT,
        S::NotFound | S::NoSuchOccurrence | S::UnknownRegistration => StatusCode::NOT_FOUND,
        S::Opening | S::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        S::CreateRoom(c) if c.code() == ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        S::CreateRoom(_) => StatusCode::BAD_REQUEST,
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut r = match self.code() {
            Some(code) => (
                status,
                Json(serde_json::json!({"code": code, "message": self.to_string()})),
            )
                .into_response(),
            None => (status, self.to_string()).into_response(),
        };
        match self {
            HttpError::CreateRateLimited { retry_after_secs } => {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            HttpError::MetricsTokenRequired => {
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            HttpError::Auth(crate::accounts::AuthError::Limited { retry_after_secs }) => {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            _ => {}
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_facing_texts_and_codes_are_unchanged() {
        let e = SessionError::Broker(BrokerError::RoomMoving);
        assert_eq!(e.to_string(), "the room is moving; retry");
        assert_eq!(e.code(), ErrorCode::Unavailable);
        assert_eq!(
            SessionError::TooLarge { max: 16384 }.to_string(),
            "frames are limited to 16384 bytes"
        );
        assert_eq!(
            HttpError::BadBody.to_string(),
            r#"body must be JSON: {"title": "...", "kind": "group|drop_in|one_on_one"}"#
        );
        let full = HttpError::CreateRoom(CreateRoomError::TooManyRooms);
        assert_eq!(full.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(full.code(), Some(ErrorCode::Unavailable));
        let away = HttpError::Broker(BrokerError::RoomUnavailable);
        assert_eq!(away.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(away.code(), Some(ErrorCode::Unavailable));
        let title = HttpError::CreateRoom(CreateRoomError::Title);
        assert_eq!(title.status(), StatusCode::BAD_REQUEST);
        assert_eq!(HttpError::NotFound.code(), None);
        let limited = HttpError::CreateRateLimited {
            retry_after_secs: 7,
        }
        .into_response();
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(limited.headers()[header::RETRY_AFTER], "7");
        assert_eq!(
            HttpError::OrganizerKeyRequired.code(),
            Some(ErrorCode::Forbidden)
        );
        assert_eq!(TransportError::TooBig.close_code(), Some(1009));
        assert_eq!(TransportError::Gone.close_code(), None);
    }
}
