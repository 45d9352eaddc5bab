-- Bars: someone a facilitator removed from a room, kept out of it beyond the
-- room's memory, until an admin lifts the bar. The removed person is known
-- by the hash of their browser's device id and, if they were signed in, their
-- account; the name is the one they used in the room. `series_id` is for
-- rooms of a series (a bar then holds across the series): unused for now.
-- Times are milliseconds since the Unix epoch.
CREATE TABLE bars (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    room_title TEXT NOT NULL,
    series_id TEXT,
    member_id TEXT NOT NULL,
    device_hash TEXT,
    account_id TEXT REFERENCES accounts (id),
    display_name TEXT NOT NULL,
    removed_by TEXT REFERENCES accounts (id),
    created_at BIGINT NOT NULL,
    lifted_at BIGINT,
    lifted_by TEXT REFERENCES accounts (id)
);
CREATE INDEX bars_by_room ON bars (room_id, lifted_at);
CREATE INDEX bars_active ON bars (lifted_at, created_at);
