-- Accounts of the people who run the program, their sign-in sessions, the
-- one-time links (first-admin setup, invites, password resets) and which
-- account owns which room. Times are milliseconds since the Unix epoch.
-- Tokens are stored as SHA-256 hashes only; chat is never stored here.
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'facilitator', 'peer_supporter')),
    password_hash TEXT,
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_by_account ON sessions (account_id);

CREATE TABLE links (
    token_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('setup', 'invite', 'reset')),
    role TEXT CHECK (role IN ('admin', 'facilitator', 'peer_supporter')),
    account_id TEXT REFERENCES accounts (id),
    created_by TEXT REFERENCES accounts (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

CREATE TABLE room_owners (
    room_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX room_owners_by_account ON room_owners (account_id, created_at);
