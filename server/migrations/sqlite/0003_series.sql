-- Recurring series (issue 18): a facilitator's circle that meets again and
-- again. The schedule is an RFC 5545 RRULE read in the series' IANA time
-- zone from a local first start (so 7 PM stays 7 PM across DST). Rooms are
-- created per occurrence when it opens; `series_rooms` records which room an
-- occurrence got, its primary key making the opening happen once across
-- every instance. Registrations hold a display name and the hash of the
-- personal link's token: no email, no account. Times are milliseconds since
-- the Unix epoch, durations minutes.
CREATE TABLE series (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES accounts (id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('group', 'drop_in')),
    first_start_local TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    rrule TEXT NOT NULL,
    duration_min BIGINT NOT NULL,
    lobby_min BIGINT NOT NULL,
    capacity BIGINT,
    waiting_room BIGINT NOT NULL,
    registration BIGINT NOT NULL,
    ground_rules TEXT NOT NULL,
    welcome TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    archived_at BIGINT
);
CREATE INDEX series_by_owner ON series (owner_id, created_at);

CREATE TABLE series_rooms (
    series_id TEXT NOT NULL REFERENCES series (id),
    starts_at BIGINT NOT NULL,
    room_id TEXT,
    claimed_at BIGINT NOT NULL,
    PRIMARY KEY (series_id, starts_at)
);

CREATE TABLE series_registrations (
    id TEXT PRIMARY KEY,
    series_id TEXT NOT NULL REFERENCES series (id),
    display_name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE INDEX series_registrations_in_order ON series_registrations (series_id, created_at, id);
