-- A link that lets a person set their password: a forgotten one (`reset`, an hour), or the
-- first one of a staff member an administrator invited (`invite`, a week). Only the SHA-256
-- of the link's token is kept; a link is used once.
CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    purpose TEXT NOT NULL DEFAULT 'reset',
    principal_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX password_resets_of ON password_resets (kind, principal_id);

-- A staff account an administrator has ended: it cannot sign in, its sessions and tokens are
-- gone, and its name stays on what it did.
ALTER TABLE staff ADD COLUMN deactivated_at BIGINT;
