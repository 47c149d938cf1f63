// The schema of the SQLite store, as an append-only list of migrations.
//
// Rules: never edit or reorder a migration that has shipped (databases in the
// field recorded it as applied); change the schema by appending a new version.
// Times are INTEGER milliseconds since the Unix epoch (vg::ToUnixMillis).

#include <array>

#include "vg/store/sqlite_store.hpp"

namespace vg::store {
namespace {

// Limits mirror vg::domain (kAgeMin/kAgeMax, status 0-2, posture classes 0-7);
// the domain validates first, the CHECKs keep a buggy caller from storing nonsense.
constexpr std::string_view kMigration1 = R"sql(
CREATE TABLE users (
    unique_num       INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL UNIQUE,
    password_hash    TEXT NOT NULL,
    name             TEXT NOT NULL,
    age              INTEGER NOT NULL CHECK (age BETWEEN 1 AND 130),
    address          TEXT NOT NULL,
    detailed_address TEXT NOT NULL DEFAULT '',
    phone_num        TEXT NOT NULL,
    guard_name       TEXT NOT NULL DEFAULT '',
    guard_phone_num  TEXT NOT NULL DEFAULT '',
    danger_degree    INTEGER NOT NULL DEFAULT 0 CHECK (danger_degree BETWEEN 0 AND 2),
    user_posture     INTEGER CHECK (user_posture BETWEEN 0 AND 7),
    created_at       INTEGER NOT NULL
);

CREATE TABLE user_status (
    id              INTEGER PRIMARY KEY,
    user_unique_num INTEGER NOT NULL REFERENCES users (unique_num) ON DELETE CASCADE,
    status          INTEGER NOT NULL CHECK (status BETWEEN 0 AND 2),
    updated_at      INTEGER NOT NULL
);
-- Newest first per user; the trailing id DESC serves the tie-break without a sort.
CREATE INDEX user_status_by_user_time ON user_status (user_unique_num, updated_at DESC, id DESC);

CREATE TABLE user_posture (
    id              INTEGER PRIMARY KEY,
    user_unique_num INTEGER NOT NULL REFERENCES users (unique_num) ON DELETE CASCADE,
    posture         INTEGER NOT NULL CHECK (posture BETWEEN 0 AND 7),
    updated_at      INTEGER NOT NULL
);
CREATE INDEX user_posture_by_user_time ON user_posture (user_unique_num, updated_at DESC, id DESC);

-- Looked up by key on every request: a WITHOUT ROWID table keeps the row in the key's B-tree.
CREATE TABLE sessions (
    token_hash      TEXT NOT NULL PRIMARY KEY,
    user_unique_num INTEGER NOT NULL REFERENCES users (unique_num) ON DELETE CASCADE,
    csrf_token      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    last_seen_at    INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    client_address  TEXT NOT NULL DEFAULT '',
    user_agent      TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX sessions_by_user ON sessions (user_unique_num);

CREATE TABLE devices (
    device_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    user_unique_num INTEGER NOT NULL REFERENCES users (unique_num) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    token_hash      TEXT NOT NULL UNIQUE,
    created_at      INTEGER NOT NULL,
    revoked_at      INTEGER,
    last_seen_at    INTEGER
);
-- ListDevices (newest first) and the ON DELETE CASCADE from users.
CREATE INDEX devices_by_user ON devices (user_unique_num, created_at DESC, device_id DESC);
)sql";

// Vitals ingest and detection (issue 4).
constexpr std::string_view kMigration2 = R"sql(
ALTER TABLE users ADD COLUMN rule_profile TEXT NOT NULL DEFAULT 'adult-default';

ALTER TABLE user_status ADD COLUMN causes TEXT NOT NULL DEFAULT '';
ALTER TABLE user_status ADD COLUMN explanation TEXT NOT NULL DEFAULT '';
ALTER TABLE user_status ADD COLUMN reading_at INTEGER;

-- One row per reading. Units: docs/api.md (bpm, breaths/min, %, degC, mg/dL, steps/min, kcal/min).
CREATE TABLE vitals (
    id               INTEGER PRIMARY KEY,
    user_unique_num  INTEGER NOT NULL REFERENCES users (unique_num) ON DELETE CASCADE,
    device_id        INTEGER REFERENCES devices (device_id) ON DELETE SET NULL,
    device_seq       INTEGER,
    measured_at      INTEGER NOT NULL,
    received_at      INTEGER NOT NULL,
    heart_rate       REAL,
    respiration_rate REAL,
    spo2             REAL,
    skin_temp        REAL,
    glucose          REAL,
    steps            REAL,
    calories         REAL
);
-- A device's retried upload carries the same sequence numbers: the second copy is ignored.
CREATE UNIQUE INDEX vitals_device_seq ON vitals (device_id, device_seq) WHERE device_seq IS NOT NULL;
CREATE INDEX vitals_by_user_time ON vitals (user_unique_num, measured_at DESC, id DESC);
)sql";

// Emergency response (issue 5): incidents with every transition, and the transactional outbox.
constexpr std::string_view kMigration3 = R"sql(
-- The whole escalation state of one episode (vg::domain::Incident); times in ms, NULL when unset.
CREATE TABLE incidents (
    id                    INTEGER PRIMARY KEY,
    user_unique_num       INTEGER NOT NULL REFERENCES users (unique_num) ON DELETE CASCADE,
    kind                  TEXT NOT NULL,
    phase                 TEXT NOT NULL,
    level                 INTEGER NOT NULL,
    max_level             INTEGER NOT NULL,
    causes                TEXT NOT NULL,
    rules                 TEXT NOT NULL,
    explanation           TEXT NOT NULL,
    opened_at             INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    escalate_at           INTEGER,
    deadline              INTEGER,
    guardians_notified_at INTEGER,
    next_reraise_at       INTEGER,
    reraise_count         INTEGER NOT NULL,
    dispatched_at         INTEGER,
    acknowledged_at       INTEGER,
    acknowledged_by       TEXT NOT NULL,
    wearer_ok_at          INTEGER,
    wearer_ok_until       INTEGER,
    snoozed_until         INTEGER,
    closed_at             INTEGER,
    close_reason          TEXT NOT NULL,
    next_due              INTEGER,
    version               INTEGER NOT NULL
);
-- At most one open incident per wearer: two racing openers cannot both succeed.
CREATE UNIQUE INDEX incidents_one_open ON incidents (user_unique_num) WHERE phase <> 'closed';
CREATE INDEX incidents_by_user ON incidents (user_unique_num, opened_at DESC, id DESC);
CREATE INDEX incidents_due ON incidents (next_due) WHERE next_due IS NOT NULL;

CREATE TABLE incident_events (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    type        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX incident_events_by_incident ON incident_events (incident_id, id);

-- Messages written in the same transaction as the transition that caused them (vg::notify).
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    incident_id      INTEGER REFERENCES incidents (id) ON DELETE SET NULL,
    channel          TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body             TEXT NOT NULL,
    payload_json     TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL UNIQUE,
    created_at       INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    state            TEXT NOT NULL DEFAULT 'pending',
    leased_until     INTEGER,
    last_attempt_at  INTEGER,
    last_error       TEXT NOT NULL DEFAULT '',
    delivered_at     INTEGER,
    delivered_detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_leased ON outbox (leased_until) WHERE state = 'delivering';
CREATE INDEX outbox_by_incident ON outbox (incident_id, id);
)sql";

// Guardianship and the audit log of reads of a wearer's data by someone else (issue 5).
constexpr std::string_view kMigration4 = R"sql(
CREATE TABLE guardian_links (
    id              INTEGER PRIMARY KEY,
    wearer          INTEGER NOT NULL REFERENCES users (unique_num) ON DELETE CASCADE,
    guardian        INTEGER NOT NULL REFERENCES users (unique_num) ON DELETE CASCADE,
    state           TEXT NOT NULL,          -- 'pending', 'active', 'ended'
    requested_by    TEXT NOT NULL,          -- 'wearer' or 'guardian'
    created_at      INTEGER NOT NULL,
    accepted_at     INTEGER,
    ended_at        INTEGER,
    CHECK (wearer <> guardian)
);
-- One live (pending or active) link per pair.
CREATE UNIQUE INDEX guardian_links_live ON guardian_links (wearer, guardian) WHERE state <> 'ended';
CREATE INDEX guardian_links_by_guardian ON guardian_links (guardian, state);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    actor   INTEGER NOT NULL,   -- who read (users.unique_num; kept when the user is erased)
    wearer  INTEGER NOT NULL,   -- whose data
    action  TEXT NOT NULL,      -- e.g. 'GET /api/get_status'
    detail  TEXT NOT NULL
);
CREATE INDEX audit_log_by_wearer ON audit_log (wearer, at DESC);
)sql";

// Suspected falls that are not decided yet (vg::store::FallSuspicion): the posture service's fall state,
// so that a restart does not lose a fall. Times in ms: device times (the windows' clock) and server times.
constexpr std::string_view kMigration5 = R"sql(
CREATE TABLE fall_suspicions (
    user_unique_num INTEGER PRIMARY KEY REFERENCES users (unique_num) ON DELETE CASCADE,
    impact_at       INTEGER NOT NULL,   -- device time
    still_run       INTEGER NOT NULL CHECK (still_run >= 0),
    last_end        INTEGER NOT NULL,   -- device time
    last_received   INTEGER NOT NULL,   -- server time
    raised_at       INTEGER NOT NULL,   -- server time
    updated_at      INTEGER NOT NULL    -- server time
);
)sql";

// Phone verification (issue 15): a number receives SMS only once its owner entered the code sent to it.
// Codes are stored as keyed hashes; the send log counts codes per account and per number for the daily
// limits and outlives a replaced code (and its account: no foreign key, so deleting an account does not
// reset a number's count).
constexpr std::string_view kMigration6 = R"sql(
CREATE TABLE phone_codes (
    user_unique_num INTEGER NOT NULL REFERENCES users (unique_num) ON DELETE CASCADE,
    phone           TEXT NOT NULL,      -- vg::domain::PhoneKey: digits only
    code_hash       TEXT NOT NULL,
    sent_at         INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    verified_at     INTEGER,
    PRIMARY KEY (user_unique_num, phone)
);
CREATE TABLE phone_code_sends (
    id              INTEGER PRIMARY KEY,
    user_unique_num INTEGER NOT NULL,
    phone           TEXT NOT NULL,
    sent_at         INTEGER NOT NULL
);
CREATE INDEX phone_code_sends_by_user ON phone_code_sends (user_unique_num, sent_at);
CREATE INDEX phone_code_sends_by_phone ON phone_code_sends (phone, sent_at);
)sql";

// Account self-service and the operator's `vitalguard user` (issues 15, 16): a locked account cannot
// log in; the wearer confirms from time to time that the address 119 would be told is still right.
constexpr std::string_view kMigration7 = R"sql(
ALTER TABLE users ADD COLUMN locked_at INTEGER;
ALTER TABLE users ADD COLUMN locked_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN address_confirmed_at INTEGER;
)sql";

// The guardian's e-mail address (issue 16): alert e-mails go there once its owner entered the code sent
// to it (phone_codes rows keyed "email:<address>"). '' is none.
constexpr std::string_view kMigration8 = R"sql(
ALTER TABLE users ADD COLUMN guard_email TEXT NOT NULL DEFAULT '';
)sql";

// The wearer's IANA time zone (issue 19): local times in messages and on the dashboard. Accounts made
// before it: Korea's, which every message used until then.
constexpr std::string_view kMigration9 = R"sql(
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'Asia/Seoul';
)sql";

constexpr std::array kMigrations = {
    SqliteMigration{1, "users, user_status, user_posture, sessions, devices", kMigration1},
    SqliteMigration{2, "vitals, rule profiles, status causes", kMigration2},
    SqliteMigration{3, "incidents, incident events, outbox", kMigration3},
    SqliteMigration{4, "guardian links, audit log", kMigration4},
    SqliteMigration{5, "fall suspicions", kMigration5},
    SqliteMigration{6, "phone verification codes and their send log", kMigration6},
    SqliteMigration{7, "account lock and address confirmation", kMigration7},
    SqliteMigration{8, "guardian e-mail address", kMigration8},
    SqliteMigration{9, "the wearer's time zone", kMigration9},
};

}  // namespace

std::span<const SqliteMigration> SqliteMigrations() { return kMigrations; }

int SqliteSchemaVersion() { return kMigrations.back().version; }

}  // namespace vg::store
