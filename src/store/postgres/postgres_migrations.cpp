// The schema of the PostgreSQL store, as an append-only list of migrations.
//
// Rules: never edit or reorder a migration that has shipped (schemas in the field recorded it as
// applied); change the schema by appending a new version. Names are unqualified: every connection's
// search_path is the store's schema. Times are BIGINT milliseconds since the Unix epoch
// (vg::ToUnixMillis), ids BIGINT identity columns (a sequence: never reused, not even after a restart).
//
// Version 1 is SQLite's schema as of its version 8 (store/sqlite/migrations.cpp), table for table and
// column for column, with the same CHECKs, foreign keys, cascades and (partial) unique indexes. Text
// that is sorted by (sessions.token_hash, outbox.channel) uses the "C" collation: byte order, as
// SQLite's BINARY, whatever the database's locale.

#include <array>

#include "vg/store/postgres_store.hpp"

namespace vg::store {
namespace {

// Limits mirror vg::domain (kAgeMin/kAgeMax, status 0-2, posture classes 0-7); the domain validates
// first, the CHECKs keep a buggy caller from storing nonsense.
constexpr std::string_view kMigration1 = R"sql(
CREATE TABLE users (
    unique_num           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                   TEXT NOT NULL UNIQUE,
    password_hash        TEXT NOT NULL,
    name                 TEXT NOT NULL,
    age                  INTEGER NOT NULL CHECK (age BETWEEN 1 AND 130),
    address              TEXT NOT NULL,
    detailed_address     TEXT NOT NULL DEFAULT '',
    phone_num            TEXT NOT NULL,
    guard_name           TEXT NOT NULL DEFAULT '',
    guard_phone_num      TEXT NOT NULL DEFAULT '',
    danger_degree        INTEGER NOT NULL DEFAULT 0 CHECK (danger_degree BETWEEN 0 AND 2),
    user_posture         INTEGER CHECK (user_posture BETWEEN 0 AND 7),
    created_at           BIGINT NOT NULL,
    rule_profile         TEXT NOT NULL DEFAULT 'adult-default',
    locked_at            BIGINT,
    locked_reason        TEXT NOT NULL DEFAULT '',
    address_confirmed_at BIGINT,
    guard_email          TEXT NOT NULL DEFAULT ''
);

CREATE TABLE user_status (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_unique_num BIGINT NOT NULL REFERENCES users (unique_num) ON DELETE CASCADE,
    status          INTEGER NOT NULL CHECK (status BETWEEN 0 AND 2),
    updated_at      BIGINT NOT NULL,
    causes          TEXT NOT NULL DEFAULT '',
    explanation     TEXT NOT NULL DEFAULT '',
    reading_at      BIGINT
);
-- Newest first per user; the trailing id DESC serves the tie-break without a sort.
CREATE INDEX user_status_by_user_time ON user_status (user_unique_num, updated_at DESC, id DESC);

CREATE TABLE user_posture (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_unique_num BIGINT NOT NULL REFERENCES users (unique_num) ON DELETE CASCADE,
    posture         INTEGER NOT NULL CHECK (posture BETWEEN 0 AND 7),
    updated_at      BIGINT NOT NULL
);
CREATE INDEX user_posture_by_user_time ON user_posture (user_unique_num, updated_at DESC, id DESC);

CREATE TABLE sessions (
    token_hash      TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_unique_num BIGINT NOT NULL REFERENCES users (unique_num) ON DELETE CASCADE,
    csrf_token      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    last_seen_at    BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    client_address  TEXT NOT NULL DEFAULT '',
    user_agent      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_by_user ON sessions (user_unique_num);

CREATE TABLE devices (
    device_id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_unique_num BIGINT NOT NULL REFERENCES users (unique_num) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    token_hash      TEXT NOT NULL UNIQUE,
    created_at      BIGINT NOT NULL,
    revoked_at      BIGINT,
    last_seen_at    BIGINT
);
-- ListDevices (newest first) and the ON DELETE CASCADE from users.
CREATE INDEX devices_by_user ON devices (user_unique_num, created_at DESC, device_id DESC);

-- One row per reading. Units: docs/api.md (bpm, breaths/min, %, degC, mg/dL, steps/min, kcal/min).
CREATE TABLE vitals (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_unique_num  BIGINT NOT NULL REFERENCES users (unique_num) ON DELETE CASCADE,
    device_id        BIGINT REFERENCES devices (device_id) ON DELETE SET NULL,
    device_seq       BIGINT,
    measured_at      BIGINT NOT NULL,
    received_at      BIGINT NOT NULL,
    heart_rate       DOUBLE PRECISION,
    respiration_rate DOUBLE PRECISION,
    spo2             DOUBLE PRECISION,
    skin_temp        DOUBLE PRECISION,
    glucose          DOUBLE PRECISION,
    steps            DOUBLE PRECISION,
    calories         DOUBLE PRECISION
);
-- A device's retried upload carries the same sequence numbers: the second copy is ignored.
CREATE UNIQUE INDEX vitals_device_seq ON vitals (device_id, device_seq) WHERE device_seq IS NOT NULL;
CREATE INDEX vitals_by_user_time ON vitals (user_unique_num, measured_at DESC, id DESC);

-- The whole escalation state of one episode (vg::domain::Incident); times in ms, NULL when unset.
CREATE TABLE incidents (
    id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_unique_num       BIGINT NOT NULL REFERENCES users (unique_num) ON DELETE CASCADE,
    kind                  TEXT NOT NULL,
    phase                 TEXT NOT NULL,
    level                 INTEGER NOT NULL,
    max_level             INTEGER NOT NULL,
    causes                TEXT NOT NULL,
    rules                 TEXT NOT NULL,
    explanation           TEXT NOT NULL,
    opened_at             BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    escalate_at           BIGINT,
    deadline              BIGINT,
    guardians_notified_at BIGINT,
    next_reraise_at       BIGINT,
    reraise_count         INTEGER NOT NULL,
    dispatched_at         BIGINT,
    acknowledged_at       BIGINT,
    acknowledged_by       TEXT NOT NULL,
    wearer_ok_at          BIGINT,
    wearer_ok_until       BIGINT,
    snoozed_until         BIGINT,
    closed_at             BIGINT,
    close_reason          TEXT NOT NULL,
    next_due              BIGINT,
    version               BIGINT NOT NULL
);
-- At most one open incident per wearer: two racing openers cannot both succeed.
CREATE UNIQUE INDEX incidents_one_open ON incidents (user_unique_num) WHERE phase <> 'closed';
CREATE INDEX incidents_by_user ON incidents (user_unique_num, opened_at DESC, id DESC);
CREATE INDEX incidents_due ON incidents (next_due, id) WHERE next_due IS NOT NULL;

CREATE TABLE incident_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at          BIGINT NOT NULL,
    type        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX incident_events_by_incident ON incident_events (incident_id, id);

-- Messages written in the same transaction as the transition that caused them (vg::notify); phone
-- verification codes write theirs with no incident.
CREATE TABLE outbox (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id      BIGINT REFERENCES incidents (id) ON DELETE SET NULL,
    channel          TEXT COLLATE "C" NOT NULL,
    recipient        TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body             TEXT NOT NULL,
    payload_json     TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL UNIQUE,
    created_at       BIGINT NOT NULL,
    next_attempt_at  BIGINT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    state            TEXT NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'delivering', 'delivered', 'failed')),
    leased_until     BIGINT,
    last_attempt_at  BIGINT,
    last_error       TEXT NOT NULL DEFAULT '',
    delivered_at     BIGINT,
    delivered_detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX outbox_leased ON outbox (leased_until) WHERE state = 'delivering';
CREATE INDEX outbox_by_incident ON outbox (incident_id, id);

CREATE TABLE guardian_links (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    wearer       BIGINT NOT NULL REFERENCES users (unique_num) ON DELETE CASCADE,
    guardian     BIGINT NOT NULL REFERENCES users (unique_num) ON DELETE CASCADE,
    state        TEXT NOT NULL,          -- 'pending', 'active', 'ended'
    requested_by TEXT NOT NULL,          -- 'wearer' or 'guardian'
    created_at   BIGINT NOT NULL,
    accepted_at  BIGINT,
    ended_at     BIGINT,
    CONSTRAINT guardian_links_not_self CHECK (wearer <> guardian)
);
-- One live (pending or active) link per pair.
CREATE UNIQUE INDEX guardian_links_live ON guardian_links (wearer, guardian) WHERE state <> 'ended';
CREATE INDEX guardian_links_by_guardian ON guardian_links (guardian, state);

-- Reads of a wearer's data by someone else; numbers, not foreign keys: entries outlive their users.
CREATE TABLE audit_log (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     BIGINT NOT NULL,
    actor  BIGINT NOT NULL,   -- who read (users.unique_num; kept when the user is erased)
    wearer BIGINT NOT NULL,   -- whose data
    action TEXT NOT NULL,     -- e.g. 'GET /api/get_status'
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_by_wearer ON audit_log (wearer, at DESC, id DESC);

-- Suspected falls not decided yet (vg::store::FallSuspicion): device times (the windows' clock) and
-- server times, in ms.
CREATE TABLE fall_suspicions (
    user_unique_num BIGINT PRIMARY KEY REFERENCES users (unique_num) ON DELETE CASCADE,
    impact_at       BIGINT NOT NULL,   -- device time
    still_run       INTEGER NOT NULL CHECK (still_run >= 0),
    last_end        BIGINT NOT NULL,   -- device time
    last_received   BIGINT NOT NULL,   -- server time
    raised_at       BIGINT NOT NULL,   -- server time
    updated_at      BIGINT NOT NULL    -- server time
);

-- Phone (and guardian e-mail, keyed 'email:<address>') verification: codes as keyed hashes; the send
-- log counts codes per account and per number for the daily limits and outlives a replaced code (and
-- its account: no foreign key).
CREATE TABLE phone_codes (
    user_unique_num BIGINT NOT NULL REFERENCES users (unique_num) ON DELETE CASCADE,
    phone           TEXT NOT NULL,      -- vg::domain::PhoneKey: digits only
    code_hash       TEXT NOT NULL,
    sent_at         BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    verified_at     BIGINT,
    PRIMARY KEY (user_unique_num, phone)
);
CREATE TABLE phone_code_sends (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_unique_num BIGINT NOT NULL,
    phone           TEXT NOT NULL,
    sent_at         BIGINT NOT NULL
);
CREATE INDEX phone_code_sends_by_user ON phone_code_sends (user_unique_num, sent_at);
CREATE INDEX phone_code_sends_by_phone ON phone_code_sends (phone, sent_at);
)sql";

// SQLite's version 9: the wearer's IANA time zone (issue 19).
constexpr std::string_view kMigration2 = R"sql(
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'Asia/Seoul';
)sql";

constexpr std::array kMigrations = {
    PostgresMigration{1,
                      "the schema of SQLite's version 8: accounts, vitals, statuses, incidents, outbox, guardians, "
                      "audit, fall suspicions, phone verification",
                      kMigration1},
    PostgresMigration{2, "the wearer's time zone", kMigration2},
};

}  // namespace

std::span<const PostgresMigration> PostgresMigrations() { return kMigrations; }

int PostgresSchemaVersion() { return kMigrations.back().version; }

}  // namespace vg::store
