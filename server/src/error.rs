//! Errors as types, and the one place each kind maps to the protocol's
//! [`ErrorCode`]. Nothing is classified by searching its message text.

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
