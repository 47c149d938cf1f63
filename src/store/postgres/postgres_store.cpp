#include "vg/store/postgres_store.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "pg_connection.hpp"

namespace vg::store {
namespace {

using pg::Connection;
using pg::Internal;
using pg::Params;
using pg::Row;
using pg::Rows;
using pg::Unavailable;

// ---------------------------------------------------------------------------
// Errors

Status Closed() { return Unavailable("the store is closed"); }

Status NotFound(std::string message) { return Status::Error(ErrorCode::kNotFound, std::move(message)); }

Status Conflict(std::string message) { return Status::Error(ErrorCode::kConflict, std::move(message)); }

// ---------------------------------------------------------------------------
// SQL. Every value is a parameter ($N); nothing is ever spliced into these strings.

#define VG_PG_USER_COLUMNS                                                                             \
    "unique_num, id, password_hash, name, age, address, detailed_address, phone_num, guard_name, "     \
    "guard_phone_num, danger_degree, user_posture, created_at, rule_profile, guard_email, locked_at, " \
    "locked_reason, address_confirmed_at, time_zone"
#define VG_PG_SESSION_COLUMNS \
    "token_hash, user_unique_num, csrf_token, created_at, last_seen_at, expires_at, client_address, user_agent"
#define VG_PG_DEVICE_COLUMNS "device_id, user_unique_num, name, token_hash, created_at, revoked_at, last_seen_at"
#define VG_PG_INCIDENT_COLUMNS                                                                                       \
    "id, user_unique_num, kind, phase, level, max_level, causes, rules, explanation, opened_at, updated_at, "        \
    "escalate_at, deadline, guardians_notified_at, next_reraise_at, reraise_count, dispatched_at, acknowledged_at, " \
    "acknowledged_by, wearer_ok_at, wearer_ok_until, snoozed_until, closed_at, close_reason, version"
#define VG_PG_OUTBOX_COLUMNS                                                                                    \
    "id, incident_id, channel, recipient, subject, body, payload_json, idempotency_key, attempts, created_at, " \
    "next_attempt_at, state, leased_until, last_attempt_at, last_error, delivered_at, delivered_detail"
#define VG_PG_PHONE_CODE_COLUMNS "user_unique_num, phone, code_hash, sent_at, expires_at, attempts, verified_at"
#define VG_PG_LINK_SELECT                                                                                    \
    "SELECT l.id, l.wearer, l.guardian, w.id, w.name, g.id, g.name, g.phone_num, l.state, l.requested_by, "  \
    "l.created_at, l.accepted_at, l.ended_at FROM guardian_links l JOIN users w ON w.unique_num = l.wearer " \
    "JOIN users g ON g.unique_num = l.guardian "

constexpr const char* kBeginSerializable = "BEGIN ISOLATION LEVEL SERIALIZABLE";

// ---- accounts ----
constexpr const char* kInsertUser =
    "INSERT INTO users (id, password_hash, name, age, address, detailed_address, phone_num, guard_name, "
    "guard_phone_num, created_at, guard_email, time_zone) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
    "RETURNING " VG_PG_USER_COLUMNS;
constexpr const char* kSelectUserById = "SELECT " VG_PG_USER_COLUMNS " FROM users WHERE id = $1";
constexpr const char* kSelectUserByUniqueNum = "SELECT " VG_PG_USER_COLUMNS " FROM users WHERE unique_num = $1";
constexpr const char* kUserIdExists = "SELECT 1 FROM users WHERE id = $1";
constexpr const char* kUserExists = "SELECT 1 FROM users WHERE unique_num = $1";

constexpr const char* kInsertSession =
    "INSERT INTO sessions (" VG_PG_SESSION_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
constexpr const char* kSelectSession = "SELECT " VG_PG_SESSION_COLUMNS " FROM sessions WHERE token_hash = $1";
constexpr const char* kTouchSession = "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1";
constexpr const char* kDeleteSession = "DELETE FROM sessions WHERE token_hash = $1";
constexpr const char* kDeleteExpiredSessions = "DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at < $2";

constexpr const char* kInsertDevice =
    "INSERT INTO devices (user_unique_num, name, token_hash, created_at) VALUES ($1, $2, $3, $4) "
    "RETURNING " VG_PG_DEVICE_COLUMNS;
constexpr const char* kSelectDeviceByTokenHash = "SELECT " VG_PG_DEVICE_COLUMNS " FROM devices WHERE token_hash = $1";
constexpr const char* kSelectDevicesByUser = "SELECT " VG_PG_DEVICE_COLUMNS
                                             " FROM devices WHERE user_unique_num = $1 "
                                             "ORDER BY created_at DESC, device_id DESC";
constexpr const char* kRevokeDevice =
    "UPDATE devices SET revoked_at = $3 WHERE device_id = $2 AND user_unique_num = $1 AND revoked_at IS NULL";
constexpr const char* kTouchDevice = "UPDATE devices SET last_seen_at = $2 WHERE device_id = $1";

constexpr const char* kUpdateProfile =
    "UPDATE users SET name = $2, age = $3, address = $4, detailed_address = $5, phone_num = $6, guard_name = $7, "
    "guard_phone_num = $8, address_confirmed_at = COALESCE($9, address_confirmed_at), time_zone = $10 "
    "WHERE unique_num = $1 "
    "RETURNING " VG_PG_USER_COLUMNS;
constexpr const char* kDeletePhoneCode = "DELETE FROM phone_codes WHERE user_unique_num = $1 AND phone = $2";
constexpr const char* kSetAddressConfirmed = "UPDATE users SET address_confirmed_at = $2 WHERE unique_num = $1";
constexpr const char* kSelectSessionsByUser = "SELECT " VG_PG_SESSION_COLUMNS
                                              " FROM sessions WHERE user_unique_num = $1 "
                                              "ORDER BY created_at DESC, token_hash ASC LIMIT $2";
constexpr const char* kDeleteSessionsExcept =
    "DELETE FROM sessions WHERE user_unique_num = $1 AND token_hash <> $2 RETURNING token_hash";
constexpr const char* kSetPasswordHash = "UPDATE users SET password_hash = $2 WHERE unique_num = $1";
constexpr const char* kSetUserLock = "UPDATE users SET locked_at = $2, locked_reason = $3 WHERE unique_num = $1";
// The summary's first 19 columns are ReadUser's.
constexpr const char* kSelectUserSummaries =
    "SELECT u.unique_num, u.id, u.password_hash, u.name, u.age, u.address, u.detailed_address, u.phone_num, "
    "u.guard_name, u.guard_phone_num, u.danger_degree, u.user_posture, u.created_at, u.rule_profile, u.guard_email, "
    "u.locked_at, u.locked_reason, u.address_confirmed_at, u.time_zone, "
    "(SELECT COUNT(*) FROM sessions s WHERE s.user_unique_num = u.unique_num), "
    "(SELECT COUNT(*) FROM devices d WHERE d.user_unique_num = u.unique_num AND d.revoked_at IS NULL), "
    "(SELECT MAX(created_at) FROM sessions s WHERE s.user_unique_num = u.unique_num), "
    "(SELECT MAX(last_seen_at) FROM sessions s WHERE s.user_unique_num = u.unique_num), "
    "(SELECT MAX(last_seen_at) FROM devices d WHERE d.user_unique_num = u.unique_num) "
    "FROM users u WHERE u.unique_num > $1 ORDER BY u.unique_num LIMIT $2";
constexpr const char* kSetRuleProfile = "UPDATE users SET rule_profile = $2 WHERE unique_num = $1";
constexpr const char* kSetGuardEmail = "UPDATE users SET guard_email = $2 WHERE unique_num = $1";

// ---- readings, statuses, postures ----
// One statement per chunk: the arrays are unnested in order (WITH ORDINALITY ... ORDER BY), so ids
// increase in the given order and, of readings repeating a (device, seq), the first is the one kept.
constexpr const char* kInsertReadings =
    "INSERT INTO vitals (user_unique_num, device_id, device_seq, measured_at, received_at, heart_rate, "
    "respiration_rate, spo2, skin_temp, glucose, steps, calories) "
    "SELECT $1::bigint, $2::bigint, r.device_seq, r.measured_at, $3::bigint, r.m0, r.m1, r.m2, r.m3, r.m4, r.m5, r.m6 "
    "FROM unnest($4::bigint[], $5::bigint[], $6::float8[], $7::float8[], $8::float8[], $9::float8[], $10::float8[], "
    "$11::float8[], $12::float8[]) WITH ORDINALITY AS r(device_seq, measured_at, m0, m1, m2, m3, m4, m5, m6, ord) "
    "ORDER BY r.ord ON CONFLICT DO NOTHING RETURNING device_seq";
constexpr size_t kReadingsPerStatement = 1000;
constexpr const char* kSelectRecentReadings =
    "SELECT id, device_id, device_seq, measured_at, received_at, heart_rate, respiration_rate, spo2, skin_temp, "
    "glucose, steps, calories FROM vitals WHERE user_unique_num = $1 ORDER BY measured_at DESC, id DESC LIMIT $2";
// Per bucket: its index, the readings, then per metric (in Metric order) COUNT, MIN, MAX, AVG.
constexpr const char* kSummarizeReadings =
    "SELECT (measured_at - $2) / $4 AS bucket, COUNT(*), COUNT(heart_rate), MIN(heart_rate), "
    "MAX(heart_rate), AVG(heart_rate), COUNT(respiration_rate), MIN(respiration_rate), "
    "MAX(respiration_rate), AVG(respiration_rate), COUNT(spo2), MIN(spo2), MAX(spo2), AVG(spo2), "
    "COUNT(skin_temp), MIN(skin_temp), MAX(skin_temp), AVG(skin_temp), COUNT(glucose), MIN(glucose), "
    "MAX(glucose), AVG(glucose), COUNT(steps), MIN(steps), MAX(steps), AVG(steps), COUNT(calories), "
    "MIN(calories), MAX(calories), AVG(calories) FROM vitals WHERE user_unique_num = $1 AND measured_at "
    ">= $2 AND measured_at < $3 GROUP BY bucket ORDER BY bucket";
constexpr const char* kSelectUserNums = "SELECT unique_num FROM users ORDER BY unique_num";
constexpr const char* kSelectReadingsSince =
    "SELECT measured_at, heart_rate, respiration_rate, spo2, skin_temp, glucose, steps, calories FROM vitals "
    "WHERE user_unique_num = $1 AND measured_at >= $2 ORDER BY measured_at ASC, id ASC";

// Only when it changes: an unchanged user's row is not written, so concurrent writers of one wearer's
// rows at the same level do not conflict.
constexpr const char* kSetDangerDegree =
    "UPDATE users SET danger_degree = $2 WHERE unique_num = $1 AND danger_degree IS DISTINCT FROM $2";
constexpr const char* kInsertStatus =
    "INSERT INTO user_status (user_unique_num, status, updated_at, causes, explanation, reading_at) "
    "VALUES ($1, $2, $3, $4, $5, $6)";
constexpr const char* kSelectRecentStatuses =
    "SELECT user_unique_num, status, updated_at, causes, explanation, reading_at FROM user_status "
    "WHERE user_unique_num = $1 ORDER BY updated_at DESC, id DESC LIMIT $2";
// RecordVerdicts' set-based path (BulkWriteVerdicts): a run of plain verdicts in ONE statement, because
// the stage is bound by round trips, not by the server's work. Data-modifying CTEs share one snapshot:
// rows of users missing from it are left out (joined away), and the statement returns the users present.
// $1..$12: the readings' user, device, seq, measured_at, received_at and seven metrics; $13..$18: the
// status rows' user, status, updated_at, causes, explanation, reading_at; $19: every record's user.
// Ids increase in the given order (ORDER BY ord), so "the row appended last" stays the last given; each
// user's last given status becomes its danger_degree, and an unchanged user is not written (as
// kSetDangerDegree).
constexpr const char* kRecordPlainVerdicts =
    "WITH readings AS (INSERT INTO vitals (user_unique_num, device_id, device_seq, measured_at, received_at, "
    "heart_rate, respiration_rate, spo2, skin_temp, glucose, steps, calories) "
    "SELECT r.u, r.device_id, r.device_seq, r.measured_at, r.received_at, r.m0, r.m1, r.m2, r.m3, r.m4, r.m5, r.m6 "
    "FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::float8[], $7::float8[], "
    "$8::float8[], $9::float8[], $10::float8[], $11::float8[], $12::float8[]) WITH ORDINALITY "
    "AS r(u, device_id, device_seq, measured_at, received_at, m0, m1, m2, m3, m4, m5, m6, ord) "
    "JOIN users ON users.unique_num = r.u ORDER BY r.ord ON CONFLICT DO NOTHING), "
    "statuses AS (INSERT INTO user_status (user_unique_num, status, updated_at, causes, explanation, reading_at) "
    "SELECT s.u, s.status, s.updated_at, s.causes, s.explanation, s.reading_at "
    "FROM unnest($13::bigint[], $14::int[], $15::bigint[], $16::text[], $17::text[], $18::bigint[]) WITH ORDINALITY "
    "AS s(u, status, updated_at, causes, explanation, reading_at, ord) "
    "JOIN users ON users.unique_num = s.u ORDER BY s.ord), "
    "degrees AS (UPDATE users SET danger_degree = v.status FROM (SELECT DISTINCT ON (d.u) d.u, d.status "
    "FROM unnest($13::bigint[], $14::int[]) WITH ORDINALITY AS d(u, status, ord) ORDER BY d.u, d.ord DESC) v "
    "WHERE users.unique_num = v.u AND users.danger_degree IS DISTINCT FROM v.status) "
    "SELECT unique_num FROM users WHERE unique_num = ANY($19::bigint[])";
constexpr const char* kSetUserPosture = "UPDATE users SET user_posture = $2 WHERE unique_num = $1";
constexpr const char* kInsertPosture =
    "INSERT INTO user_posture (user_unique_num, posture, updated_at) VALUES ($1, $2, $3)";
constexpr const char* kSelectRecentPostures =
    "SELECT user_unique_num, posture, updated_at FROM user_posture WHERE user_unique_num = $1 "
    "ORDER BY updated_at DESC, id DESC LIMIT $2";

// ---- fall suspicions ----
constexpr const char* kUpsertFallSuspicion =
    "INSERT INTO fall_suspicions (user_unique_num, impact_at, still_run, last_end, last_received, raised_at, "
    "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_unique_num) DO UPDATE SET "
    "impact_at = EXCLUDED.impact_at, still_run = EXCLUDED.still_run, last_end = EXCLUDED.last_end, "
    "last_received = EXCLUDED.last_received, raised_at = EXCLUDED.raised_at, updated_at = EXCLUDED.updated_at";
constexpr const char* kDeleteFallSuspicion = "DELETE FROM fall_suspicions WHERE user_unique_num = $1";
constexpr const char* kSelectFallSuspicions =
    "SELECT user_unique_num, impact_at, still_run, last_end, last_received, raised_at, updated_at "
    "FROM fall_suspicions ORDER BY user_unique_num";

// ---- incidents and the outbox ----
constexpr const char* kInsertIncident =
    "INSERT INTO incidents (user_unique_num, kind, phase, level, max_level, causes, rules, explanation, opened_at, "
    "updated_at, escalate_at, deadline, guardians_notified_at, next_reraise_at, reraise_count, dispatched_at, "
    "acknowledged_at, acknowledged_by, wearer_ok_at, wearer_ok_until, snoozed_until, closed_at, close_reason, "
    "next_due, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, "
    "$20, $21, $22, $23, $24, 1) RETURNING id";
constexpr const char* kUpdateIncident =
    "UPDATE incidents SET user_unique_num = $1, kind = $2, phase = $3, level = $4, max_level = $5, causes = $6, "
    "rules = $7, explanation = $8, opened_at = $9, updated_at = $10, escalate_at = $11, deadline = $12, "
    "guardians_notified_at = $13, next_reraise_at = $14, reraise_count = $15, dispatched_at = $16, "
    "acknowledged_at = $17, acknowledged_by = $18, wearer_ok_at = $19, wearer_ok_until = $20, snoozed_until = $21, "
    "closed_at = $22, close_reason = $23, next_due = $24, version = version + 1 WHERE id = $25 AND version = $26";
constexpr const char* kIncidentExists = "SELECT 1 FROM incidents WHERE id = $1";
constexpr const char* kSelectIncidentById = "SELECT " VG_PG_INCIDENT_COLUMNS " FROM incidents WHERE id = $1";
constexpr const char* kSelectOpenIncident =
    "SELECT " VG_PG_INCIDENT_COLUMNS " FROM incidents WHERE user_unique_num = $1 AND phase <> 'closed'";
constexpr const char* kSelectIncidentsByUser = "SELECT " VG_PG_INCIDENT_COLUMNS
                                               " FROM incidents WHERE user_unique_num = $1 "
                                               "ORDER BY opened_at DESC, id DESC LIMIT $2";
constexpr const char* kSelectDueIncidents = "SELECT " VG_PG_INCIDENT_COLUMNS
                                            " FROM incidents WHERE next_due IS NOT NULL AND next_due <= $1 "
                                            "ORDER BY next_due, id LIMIT $2";
constexpr const char* kSelectNextIncidentDue = "SELECT MIN(next_due) FROM incidents WHERE next_due IS NOT NULL";
constexpr const char* kSelectOpenIncidentPhases =
    "SELECT phase, COUNT(*), MIN(deadline) FROM incidents WHERE phase <> 'closed' GROUP BY phase";
constexpr const char* kInsertIncidentEvent =
    "INSERT INTO incident_events (incident_id, at, type, actor, detail) VALUES ($1, $2, $3, $4, $5)";
constexpr const char* kSelectIncidentEvents =
    "SELECT id, incident_id, at, type, actor, detail FROM incident_events WHERE incident_id = $1 ORDER BY id";
constexpr const char* kInsertOutbox =
    "INSERT INTO outbox (incident_id, channel, recipient, subject, body, payload_json, idempotency_key, created_at, "
    "next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (idempotency_key) DO NOTHING";
// Rows another claimer holds are skipped rather than waited for; the lease is written in the same
// statement. RETURNING has no order: the caller sorts.
constexpr const char* kClaimOutbox =
    "UPDATE outbox SET state = 'delivering', leased_until = $3, attempts = attempts + 1 WHERE id IN ("
    "SELECT id FROM outbox WHERE (state = 'pending' AND next_attempt_at <= $1) OR (state = 'delivering' AND "
    "leased_until < $1) ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING " VG_PG_OUTBOX_COLUMNS;
constexpr const char* kSelectOutboxById = "SELECT " VG_PG_OUTBOX_COLUMNS " FROM outbox WHERE id = $1";
constexpr const char* kSelectOutboxByIncident =
    "SELECT " VG_PG_OUTBOX_COLUMNS " FROM outbox WHERE incident_id = $1 ORDER BY id";
constexpr const char* kMarkOutboxDelivered =
    "UPDATE outbox SET state = 'delivered', leased_until = NULL, last_attempt_at = $2, delivered_at = $2, "
    "delivered_detail = $3 WHERE id = $1 AND state <> 'delivered'";
constexpr const char* kMarkOutboxRetry =
    "UPDATE outbox SET state = 'pending', leased_until = NULL, last_attempt_at = $2, last_error = $3, "
    "next_attempt_at = $4 WHERE id = $1 AND state = 'delivering' AND attempts = $5";
constexpr const char* kMarkOutboxFailed =
    "UPDATE outbox SET state = 'failed', leased_until = NULL, last_attempt_at = $2, last_error = $3 "
    "WHERE id = $1 AND state = 'delivering' AND attempts = $4";
constexpr const char* kReleaseOutbox =
    "UPDATE outbox SET state = 'pending', leased_until = NULL, attempts = attempts - 1 "
    "WHERE id = $1 AND state = 'delivering' AND attempts = $2";
constexpr const char* kSelectOutboxBacklog =
    "SELECT channel, COUNT(*), MIN(created_at) FROM outbox WHERE state IN ('pending', 'delivering') "
    "GROUP BY channel ORDER BY channel";
constexpr const char* kSelectOutboxWake =
    "SELECT LEAST((SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending'), "
    "(SELECT MIN(leased_until) FROM outbox WHERE state = 'delivering'))";

// ---- guardians and audit ----
constexpr const char* kInsertLink =
    "INSERT INTO guardian_links (wearer, guardian, state, requested_by, created_at) "
    "VALUES ($1, $2, 'pending', $3, $4) RETURNING id";
constexpr const char* kSelectLinkById = VG_PG_LINK_SELECT "WHERE l.id = $1";
constexpr const char* kSelectLinksOfUser = VG_PG_LINK_SELECT
    "WHERE (l.wearer = $1 OR l.guardian = $1) AND l.state <> 'ended' ORDER BY l.created_at DESC, l.id DESC";
constexpr const char* kSelectActiveGuardians =
    VG_PG_LINK_SELECT "WHERE l.wearer = $1 AND l.state = 'active' ORDER BY l.id";
constexpr const char* kAcceptLink =
    "UPDATE guardian_links SET state = 'active', accepted_at = $2 WHERE id = $1 AND state = 'pending'";
constexpr const char* kEndLink =
    "UPDATE guardian_links SET state = 'ended', ended_at = $2 WHERE id = $1 AND state <> 'ended'";
constexpr const char* kIsActiveGuardian =
    "SELECT 1 FROM guardian_links WHERE guardian = $1 AND wearer = $2 AND state = 'active'";
constexpr const char* kGuardianNotSelf = "guardian_links_not_self";
constexpr const char* kInsertAudit =
    "INSERT INTO audit_log (at, actor, wearer, action, detail) VALUES ($1, $2, $3, $4, $5)";
constexpr const char* kSelectAudit =
    "SELECT at, actor, wearer, action, detail FROM audit_log WHERE wearer = $1 ORDER BY at DESC, id DESC LIMIT $2";

// ---- phone verification ----
constexpr const char* kUpsertPhoneCode =
    "INSERT INTO phone_codes (user_unique_num, phone, code_hash, sent_at, expires_at, attempts, verified_at) "
    "VALUES ($1, $2, $3, $4, $5, 0, $6) ON CONFLICT (user_unique_num, phone) DO UPDATE SET "
    "code_hash = EXCLUDED.code_hash, sent_at = EXCLUDED.sent_at, expires_at = EXCLUDED.expires_at, attempts = 0, "
    "verified_at = EXCLUDED.verified_at";
constexpr const char* kInsertPhoneCodeSend =
    "INSERT INTO phone_code_sends (user_unique_num, phone, sent_at) VALUES ($1, $2, $3)";
constexpr const char* kSelectPhoneCode =
    "SELECT " VG_PG_PHONE_CODE_COLUMNS " FROM phone_codes WHERE user_unique_num = $1 AND phone = $2";
constexpr const char* kUsePhoneCodeAttempt =
    "UPDATE phone_codes SET attempts = attempts + 1 WHERE user_unique_num = $1 AND phone = $2 "
    "RETURNING " VG_PG_PHONE_CODE_COLUMNS;
constexpr const char* kMarkPhoneVerified =
    "UPDATE phone_codes SET verified_at = COALESCE(verified_at, $3) WHERE user_unique_num = $1 AND phone = $2";
constexpr const char* kCountPhoneCodesByUser =
    "SELECT COUNT(*) FROM phone_code_sends WHERE user_unique_num = $1 AND sent_at >= $2";
constexpr const char* kCountPhoneCodesToPhone =
    "SELECT COUNT(*) FROM phone_code_sends WHERE phone = $1 AND sent_at >= $2";

#undef VG_PG_USER_COLUMNS
#undef VG_PG_SESSION_COLUMNS
#undef VG_PG_DEVICE_COLUMNS
#undef VG_PG_INCIDENT_COLUMNS
#undef VG_PG_OUTBOX_COLUMNS
#undef VG_PG_PHONE_CODE_COLUMNS
#undef VG_PG_LINK_SELECT

// ---------------------------------------------------------------------------
// Rows to values

domain::User ReadUser(const Row& r) {
    domain::User user;
    user.unique_num = r.Int64(0);
    user.profile.id = r.Text(1);
    user.password_hash = r.Text(2);
    user.profile.name = r.Text(3);
    user.profile.age = r.Int(4);
    user.profile.address = r.Text(5);
    user.profile.detailed_address = r.Text(6);
    user.profile.phone_num = r.Text(7);
    user.profile.guard_name = r.Text(8);
    user.profile.guard_phone_num = r.Text(9);
    user.danger_degree = r.Int(10);
    user.user_posture = r.OptionalInt(11);
    user.created_at = r.Time(12);
    user.rule_profile = r.Text(13);
    user.profile.guard_email = r.Text(14);
    user.locked_at = r.OptionalTime(15);
    user.locked_reason = r.Text(16);
    user.address_confirmed_at = r.OptionalTime(17);
    user.profile.time_zone = r.Text(18);
    return user;
}

domain::Session ReadSession(const Row& r) {
    domain::Session session;
    session.token_hash = r.Text(0);
    session.user_unique_num = r.Int64(1);
    session.csrf_token = r.Text(2);
    session.created_at = r.Time(3);
    session.last_seen_at = r.Time(4);
    session.expires_at = r.Time(5);
    session.client_address = r.Text(6);
    session.user_agent = r.Text(7);
    return session;
}

domain::Device ReadDevice(const Row& r) {
    domain::Device device;
    device.device_id = r.Int64(0);
    device.user_unique_num = r.Int64(1);
    device.name = r.Text(2);
    device.token_hash = r.Text(3);
    device.created_at = r.Time(4);
    device.revoked_at = r.OptionalTime(5);
    device.last_seen_at = r.OptionalTime(6);
    return device;
}

std::string JoinCauses(const std::vector<domain::Metric>& causes) {
    std::string out;
    for (domain::Metric m : causes) {
        if (!out.empty()) out += ',';
        out += domain::MetricName(m);
    }
    return out;
}

std::string JoinStrings(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& s : items) {
        if (!out.empty()) out += ',';
        out += s;
    }
    return out;
}

std::vector<std::string> SplitCsv(const std::string& text) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start < text.size()) {
        size_t comma = text.find(',', start);
        if (comma == std::string::npos) comma = text.size();
        if (comma > start) out.push_back(text.substr(start, comma - start));
        start = comma + 1;
    }
    return out;
}

domain::Incident ReadIncident(const Row& r) {
    domain::Incident i;
    i.id = r.Int64(0);
    i.wearer = r.Int64(1);
    i.kind = domain::IncidentKindFromName(r.Text(2)).value_or(domain::IncidentKind::kVitals);
    i.phase = domain::IncidentPhaseFromName(r.Text(3)).value_or(domain::IncidentPhase::kGuidance);
    i.level = static_cast<domain::Level>(std::clamp(r.Int(4), 0, 2));
    i.max_level = static_cast<domain::Level>(std::clamp(r.Int(5), 0, 2));
    for (const std::string& name : SplitCsv(r.Text(6))) {
        if (auto m = domain::MetricFromName(name)) i.causes.push_back(*m);
    }
    i.rules = SplitCsv(r.Text(7));
    i.explanation = r.Text(8);
    i.opened_at = r.Time(9);
    i.updated_at = r.Time(10);
    i.escalate_at = r.OptionalTime(11);
    i.deadline = r.OptionalTime(12);
    i.guardians_notified_at = r.OptionalTime(13);
    i.next_reraise_at = r.OptionalTime(14);
    i.reraise_count = r.Int(15);
    i.dispatched_at = r.OptionalTime(16);
    i.acknowledged_at = r.OptionalTime(17);
    i.acknowledged_by = r.Text(18);
    i.wearer_ok_at = r.OptionalTime(19);
    i.wearer_ok_until = r.OptionalTime(20);
    i.snoozed_until = r.OptionalTime(21);
    i.closed_at = r.OptionalTime(22);
    i.close_reason = domain::CloseReasonFromName(r.Text(23)).value_or(domain::CloseReason::kNone);
    i.version = r.Int64(24);
    return i;
}

// $1..$24 of kInsertIncident / kUpdateIncident.
Params IncidentParams(const domain::Incident& i) {
    Params p;
    p.Int(i.wearer)
        .Text(domain::IncidentKindName(i.kind))
        .Text(domain::IncidentPhaseName(i.phase))
        .Int(static_cast<int>(i.level))
        .Int(static_cast<int>(i.max_level))
        .Text(JoinCauses(i.causes))
        .Text(JoinStrings(i.rules))
        .Text(i.explanation)
        .Time(i.opened_at)
        .Time(i.updated_at)
        .OptionalTime(i.escalate_at)
        .OptionalTime(i.deadline)
        .OptionalTime(i.guardians_notified_at)
        .OptionalTime(i.next_reraise_at)
        .Int(i.reraise_count)
        .OptionalTime(i.dispatched_at)
        .OptionalTime(i.acknowledged_at)
        .Text(i.acknowledged_by)
        .OptionalTime(i.wearer_ok_at)
        .OptionalTime(i.wearer_ok_until)
        .OptionalTime(i.snoozed_until)
        .OptionalTime(i.closed_at)
        .Text(domain::CloseReasonName(i.close_reason))
        .OptionalTime(i.NextDue());
    return p;
}

OutboxMessage ReadOutbox(const Row& r) {
    OutboxMessage m;
    m.id = r.Int64(0);
    m.incident_id = r.OptionalInt64(1);
    m.channel = r.Text(2);
    m.recipient = r.Text(3);
    m.subject = r.Text(4);
    m.body = r.Text(5);
    m.payload_json = r.Text(6);
    m.idempotency_key = r.Text(7);
    m.attempts = r.Int(8);
    m.created_at = r.Time(9);
    m.next_attempt_at = r.Time(10);
    m.state = r.Text(11);
    m.leased_until = r.OptionalTime(12);
    m.last_attempt_at = r.OptionalTime(13);
    m.last_error = r.Text(14);
    m.delivered_at = r.OptionalTime(15);
    m.delivered_detail = r.Text(16);
    return m;
}

GuardianLink ReadLink(const Row& r) {
    GuardianLink l;
    l.id = r.Int64(0);
    l.wearer = r.Int64(1);
    l.guardian = r.Int64(2);
    l.wearer_id = r.Text(3);
    l.wearer_name = r.Text(4);
    l.guardian_id = r.Text(5);
    l.guardian_name = r.Text(6);
    l.guardian_phone = r.Text(7);
    l.state = r.Text(8);
    l.requested_by = r.Text(9);
    l.created_at = r.Time(10);
    l.accepted_at = r.OptionalTime(11);
    l.ended_at = r.OptionalTime(12);
    return l;
}

PhoneCode ReadPhoneCode(const Row& r) {
    PhoneCode c;
    c.user = r.Int64(0);
    c.phone = r.Text(1);
    c.code_hash = r.Text(2);
    c.sent_at = r.Time(3);
    c.expires_at = r.Time(4);
    c.attempts = r.Int(5);
    c.verified_at = r.OptionalTime(6);
    return c;
}

// Every row of `rows` read by `read`, or the statement's error.
template <typename T, typename ReadFn>
Result<std::vector<T>> Collect(const Result<Rows>& rows, ReadFn read) {
    if (!rows.ok()) return rows.status();
    std::vector<T> out;
    out.reserve(static_cast<size_t>(rows->size()));
    for (int i = 0; i < rows->size(); ++i) out.push_back(read(Row(*rows, i)));
    return out;
}

// The first row of `rows` read by `read`; `missing` when there is none.
template <typename T, typename ReadFn>
Result<T> First(const Result<Rows>& rows, ReadFn read, Status missing) {
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return missing;
    return read(Row(*rows, 0));
}

// kOk when the statement changed a row, `none` when it changed none, or its error.
Status ChangedOne(const Result<Rows>& rows, Status none) {
    if (!rows.ok()) return rows.status();
    return rows->affected() == 0 ? none : Status::Ok();
}

// ---------------------------------------------------------------------------
// Writes shared by several methods (on the caller's connection, inside its transaction)

Result<bool> UserExists(Connection& conn, int64_t user_unique_num) {
    auto rows = conn.Exec(kUserExists, Params().Int(user_unique_num), "find user");
    if (!rows.ok()) return rows.status();
    return !rows->empty();
}

// Stores `readings` for the user (who must exist): for each, whether it was stored (false: its
// (device, seq) was stored before, or earlier in this call).
Result<std::vector<bool>> InsertReadings(Connection& conn, int64_t user_unique_num, std::optional<int64_t> device_id,
                                         std::span<const IncomingReading> readings, TimePoint received_at) {
    std::vector<bool> stored(readings.size(), true);
    for (size_t start = 0; start < readings.size(); start += kReadingsPerStatement) {
        const size_t end = std::min(readings.size(), start + kReadingsPerStatement);
        std::string seqs;
        std::string times;
        std::array<std::string, domain::kMetricCount> metrics;
        for (size_t i = start; i < end; ++i) {
            const IncomingReading& in = readings[i];
            // A sequence number means something only with its device: without one it is not kept.
            pg::AppendArrayElement(seqs, device_id ? in.device_seq : std::nullopt);
            pg::AppendArrayElement(times, std::optional<int64_t>(ToUnixMillis(in.reading.measured_at)));
            for (size_t m = 0; m < metrics.size(); ++m) pg::AppendArrayElement(metrics[m], in.reading.values[m]);
        }
        Params params;
        params.Int(user_unique_num).OptionalInt(device_id).Time(received_at).Raw(seqs + "}").Raw(times + "}");
        for (const std::string& metric : metrics) params.Raw(metric + "}");
        auto rows = conn.Exec(kInsertReadings, params, "store readings");
        if (!rows.ok()) return rows.status();
        if (!device_id) continue;  // nothing is deduplicated: every reading was stored
        // The rows are inserted in order, so of a repeated sequence number the first is the one stored.
        std::unordered_map<int64_t, int> inserted;
        for (int r = 0; r < rows->size(); ++r) {
            if (auto seq = Row(*rows, r).OptionalInt64(0)) ++inserted[*seq];
        }
        for (size_t i = start; i < end; ++i) {
            if (!readings[i].device_seq) continue;
            auto it = inserted.find(*readings[i].device_seq);
            stored[i] = it != inserted.end() && it->second > 0;
            if (stored[i]) --it->second;
        }
    }
    return stored;
}

// One status row and its user's danger_degree. kNotFound (nothing written) when the user does not exist.
Status WriteStatusRow(Connection& conn, const StatusRow& row) {
    auto updated = conn.Exec(kSetDangerDegree, Params().Int(row.user_unique_num).Int(row.status), "update user");
    if (!updated.ok()) return updated.status();
    if (updated->affected() == 0) {
        // Unchanged, or no such user.
        auto exists = UserExists(conn, row.user_unique_num);
        if (!exists.ok()) return exists.status();
        if (!*exists) return NotFound("user not found");
    }
    return conn
        .Exec(kInsertStatus,
              Params()
                  .Int(row.user_unique_num)
                  .Int(row.status)
                  .Time(row.updated_at)
                  .Text(row.causes)
                  .Text(row.explanation)
                  .OptionalTime(row.reading_at),
              "append status row")
        .status();
}

// One posture row and its user's user_posture. kNotFound (nothing written) when the user does not exist;
// a posture outside 0-7 for an existing user fails the schema's CHECK.
Status WritePostureRow(Connection& conn, const PostureRow& row) {
    // The UPDATE comes first so that a missing user is a plain kNotFound rather than a foreign-key failure.
    VG_RETURN_IF_ERROR(
        ChangedOne(conn.Exec(kSetUserPosture, Params().Int(row.user_unique_num).Int(row.posture), "update user"),
                   NotFound("user not found")));
    return conn
        .Exec(kInsertPosture, Params().Int(row.user_unique_num).Int(row.posture).Time(row.updated_at),
              "append posture row")
        .status();
}

Status WriteFallSuspicion(Connection& conn, const FallSuspicion& f) {
    auto rows = conn.Exec(kUpsertFallSuspicion,
                          Params()
                              .Int(f.wearer)
                              .Time(f.impact_at)
                              .Int(f.still_run)
                              .Time(f.last_end)
                              .Time(f.last_received)
                              .Time(f.raised_at)
                              .Time(f.updated_at),
                          "save fall suspicion");
    if (!rows.ok() && conn.last_sqlstate() == pg::kForeignKeyViolation) return NotFound("user not found");
    return rows.status();
}

Status WriteClearFallSuspicion(Connection& conn, int64_t wearer) {
    return conn.Exec(kDeleteFallSuspicion, Params().Int(wearer), "clear fall suspicion").status();
}

Status WriteOutboxMessage(Connection& conn, std::optional<int64_t> incident_id, const NewOutboxMessage& m) {
    return conn
        .Exec(kInsertOutbox,
              Params()
                  .OptionalInt(incident_id)
                  .Text(m.channel)
                  .Text(m.recipient)
                  .Text(m.subject)
                  .Text(m.body)
                  .Text(m.payload_json)
                  .Text(m.idempotency_key)
                  .Time(m.created_at)
                  .Time(m.next_attempt_at),
              "insert outbox message")
        .status();
}

// SaveIncident's write. kConflict and kNotFound are decided before anything of the transition is kept;
// a failed statement aborts the transaction, so a caller that goes on (RecordVerdicts) runs this inside
// a savepoint of its own.
Result<domain::Incident> WriteIncident(Connection& conn, const domain::Incident& incident,
                                       std::span<const domain::IncidentEvent> events,
                                       std::span<const NewOutboxMessage> outbox) {
    domain::Incident saved = incident;
    if (incident.id == 0) {
        auto rows = conn.Exec(kInsertIncident, IncidentParams(incident), "insert incident");
        if (!rows.ok()) {
            if (conn.last_sqlstate() == pg::kUniqueViolation) {
                return Conflict("The wearer already has an open incident.");
            }
            if (conn.last_sqlstate() == pg::kForeignKeyViolation) return NotFound("user not found");
            return rows.status();
        }
        saved.id = Row(*rows, 0).Int64(0);
        saved.version = 1;
    } else {
        Params params = IncidentParams(incident);
        params.Int(incident.id).Int(incident.version);
        auto rows = conn.Exec(kUpdateIncident, params, "update incident");
        if (!rows.ok()) {
            if (conn.last_sqlstate() == pg::kUniqueViolation) {
                return Conflict("The wearer already has an open incident.");
            }
            return rows.status();
        }
        if (rows->affected() == 0) {
            auto exists = conn.Exec(kIncidentExists, Params().Int(incident.id), "read incident");
            if (!exists.ok()) return exists.status();
            if (exists->empty()) return NotFound("incident not found");
            return Conflict("Incident " + std::to_string(incident.id) + " changed meanwhile; reload it.");
        }
        saved.version = incident.version + 1;
    }
    for (const domain::IncidentEvent& e : events) {
        VG_RETURN_IF_ERROR(conn.Exec(kInsertIncidentEvent,
                                     Params().Int(saved.id).Time(e.at).Text(e.type).Text(e.actor).Text(e.detail),
                                     "insert incident event")
                               .status());
    }
    for (const NewOutboxMessage& m : outbox) VG_RETURN_IF_ERROR(WriteOutboxMessage(conn, saved.id, m));
    return saved;
}

// One record of RecordVerdicts, inside its own savepoint. Returns an error of the whole call; sets
// `result` to the record's own outcome: kNotFound (nothing of it may be kept: the caller rolls the
// record's savepoint back) or kConflict (only its incident transition was refused).
Status WriteVerdictRecord(Connection& conn, const VerdictRecord& r, Status& result) {
    // Without a reading first, the row's UPDATE finds a missing user; otherwise look it up, so that
    // nothing of a missing user's record is written.
    if (r.reading || !r.row) {
        auto exists = UserExists(conn, r.user_unique_num);
        if (!exists.ok()) return exists.status();
        if (!*exists) {
            result = NotFound("user not found");
            return Status::Ok();
        }
    }
    if (r.reading) {
        auto stored = InsertReadings(conn, r.user_unique_num, r.device_id,
                                     std::span<const IncomingReading>(&*r.reading, 1), r.received_at);
        if (!stored.ok()) return stored.status();
    }
    if (r.row) {
        Status one = WriteStatusRow(conn, *r.row);
        if (one.code() == ErrorCode::kNotFound && !r.reading) {
            result = std::move(one);
            return Status::Ok();
        }
        VG_RETURN_IF_ERROR(one);
    }
    // The user exists (checked above, in this transaction): any error from here on is the call's.
    for (const PostureRow& posture : r.postures) VG_RETURN_IF_ERROR(WritePostureRow(conn, posture));
    if (r.save_suspicion) VG_RETURN_IF_ERROR(WriteFallSuspicion(conn, *r.save_suspicion));
    if (r.clear_suspicion) VG_RETURN_IF_ERROR(WriteClearFallSuspicion(conn, r.user_unique_num));
    if (r.incident) {
        // Written last, in a savepoint of its own: its kConflict refuses the transition alone.
        VG_RETURN_IF_ERROR(conn.Command("SAVEPOINT verdict_incident", "savepoint"));
        auto saved = WriteIncident(conn, r.incident->incident, r.incident->events, r.incident->outbox);
        if (!saved.ok()) {
            if (saved.status().code() != ErrorCode::kConflict) return saved.status();
            VG_RETURN_IF_ERROR(conn.Command("ROLLBACK TO SAVEPOINT verdict_incident", "rollback to savepoint"));
            result = saved.status();
        }
        VG_RETURN_IF_ERROR(conn.Command("RELEASE SAVEPOINT verdict_incident", "release savepoint"));
    }
    return Status::Ok();
}

// Whether RecordVerdicts may write `r` with BulkWriteVerdicts: a reading and/or a status row, nothing else
// (the seed's update_status and the watch's vitals; postures, suspicions and incidents go one by one).
bool IsPlainVerdict(const VerdictRecord& r) {
    return (r.reading || r.row) && r.postures.empty() && !r.save_suspicion && !r.clear_suspicion && !r.incident;
}

// RecordVerdicts for a run of plain verdicts (IsPlainVerdict), in one statement (kRecordPlainVerdicts)
// rather than several per record, with the same outcome as WriteVerdictRecord one by one: a record of a
// missing user is refused alone (results[i] = kNotFound, nothing of it written); readings in order, a
// retried (device, seq) not stored twice; status rows in order, each user's danger_degree its last row's
// status. The statement's error is the whole call's.
Status BulkWriteVerdicts(Connection& conn, std::span<const VerdictRecord> run, std::span<Status> results) {
    std::array<std::string, 5> reading_columns;  // user, device, seq, measured_at, received_at
    std::array<std::string, domain::kMetricCount> metrics;
    std::array<std::string, 6> status_columns;  // user, status, updated_at, causes, explanation, reading_at
    std::string users;
    for (const VerdictRecord& r : run) {
        pg::AppendArrayElement(users, std::optional<int64_t>(r.user_unique_num));
        if (r.reading) {
            const IncomingReading& in = *r.reading;
            pg::AppendArrayElement(reading_columns[0], std::optional<int64_t>(r.user_unique_num));
            pg::AppendArrayElement(reading_columns[1], r.device_id);
            // A sequence number means something only with its device: without one it is not kept.
            pg::AppendArrayElement(reading_columns[2], r.device_id ? in.device_seq : std::nullopt);
            pg::AppendArrayElement(reading_columns[3], std::optional<int64_t>(ToUnixMillis(in.reading.measured_at)));
            pg::AppendArrayElement(reading_columns[4], std::optional<int64_t>(ToUnixMillis(r.received_at)));
            for (size_t m = 0; m < metrics.size(); ++m) pg::AppendArrayElement(metrics[m], in.reading.values[m]);
        }
        if (r.row) {
            const StatusRow& row = *r.row;
            pg::AppendArrayElement(status_columns[0], std::optional<int64_t>(row.user_unique_num));
            pg::AppendArrayElement(status_columns[1], std::optional<int64_t>(row.status));
            pg::AppendArrayElement(status_columns[2], std::optional<int64_t>(ToUnixMillis(row.updated_at)));
            pg::AppendArrayElement(status_columns[3], row.causes);
            pg::AppendArrayElement(status_columns[4], row.explanation);
            pg::AppendArrayElement(status_columns[5], row.reading_at
                                                          ? std::optional<int64_t>(ToUnixMillis(*row.reading_at))
                                                          : std::nullopt);
        }
    }
    auto array = [](std::string& literal) { return literal.empty() ? std::string("{}") : std::move(literal) + "}"; };
    Params params;
    for (std::string& column : reading_columns) params.Raw(array(column));
    for (std::string& metric : metrics) params.Raw(array(metric));
    for (std::string& column : status_columns) params.Raw(array(column));
    params.Raw(array(users));
    auto present_rows = conn.Exec(kRecordPlainVerdicts, params, "record verdicts");
    if (!present_rows.ok()) return present_rows.status();
    std::unordered_set<int64_t> present;
    for (int i = 0; i < present_rows->size(); ++i) present.insert(Row(*present_rows, i).Int64(0));
    for (size_t i = 0; i < run.size(); ++i) {
        if (!present.contains(run[i].user_unique_num)) results[i] = NotFound("user not found");
    }
    return Status::Ok();
}

Result<std::vector<std::string>> DeleteSessionsReturning(Connection& conn, int64_t user, std::string_view keep) {
    return Collect<std::string>(conn.Exec(kDeleteSessionsExcept, Params().Int(user).Text(keep), "delete sessions"),
                                [](const Row& r) { return r.Text(0); });
}

// ---------------------------------------------------------------------------
// Migrations

Status Migrate(Connection& conn, const std::string& schema, const Clock& clock) {
    const std::string quoted = "\"" + schema + "\"";  // a valid name needs no escaping (IsValidPostgresSchemaName)
    const std::string lock_key = "vitalguard.schema." + schema;
    // Each step runs in a transaction of its own that first takes an advisory lock on the schema's name:
    // two processes opening the same schema at once take turns.
    auto locked = [&](const std::string& label, const std::function<Status()>& body) -> Status {
        VG_RETURN_IF_ERROR(conn.Command("BEGIN", "begin " + label));
        Status status = conn.Exec("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))",
                                  Params().Text(lock_key), "lock the schema for " + label)
                            .status();
        if (status.ok()) status = body();
        if (status.ok()) status = conn.Command("COMMIT", "commit " + label);
        if (!status.ok() && conn.ok()) (void)conn.Command("ROLLBACK", "rollback");
        return status;
    };

    int64_t current = 0;
    const std::string create_schema = "CREATE SCHEMA " + quoted;
    const std::string create_table = "CREATE TABLE IF NOT EXISTS " + quoted +
                                     ".schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                                     "applied_at BIGINT NOT NULL)";
    const std::string select_version = "SELECT COALESCE(MAX(version), 0) FROM " + quoted + ".schema_migrations";
    Status prepared = locked("the schema", [&]() -> Status {
        // Created only when missing, so that a role that owns its schema needs no CREATE on the database.
        auto exists = conn.Exec("SELECT 1 FROM pg_namespace WHERE nspname = $1", Params().Text(schema), "find schema");
        if (!exists.ok()) return exists.status();
        if (exists->empty()) VG_RETURN_IF_ERROR(conn.Command(create_schema.c_str(), "create schema " + quoted));
        VG_RETURN_IF_ERROR(conn.Command(create_table.c_str(), "create schema_migrations"));
        auto version = conn.Exec(select_version.c_str(), Params(), "read schema version");
        if (!version.ok()) return version.status();
        current = Row(*version, 0).Int64(0);
        return Status::Ok();
    });
    if (!prepared.ok()) return prepared;
    const int latest = PostgresSchemaVersion();
    if (current > latest) {
        return Status::Error(ErrorCode::kUnavailable, "database schema version " + std::to_string(current) +
                                                          " is newer than this binary supports (" +
                                                          std::to_string(latest) + ")");
    }
    for (const PostgresMigration& migration : PostgresMigrations()) {
        const std::string label =
            "migration " + std::to_string(migration.version) + " (" + std::string(migration.name) + ")";
        Status applied = locked(label, [&]() -> Status {
            // Re-checked under the lock: another process may have applied it meanwhile.
            auto recorded = conn.Exec("SELECT name FROM schema_migrations WHERE version = $1",
                                      Params().Int(migration.version), "read " + label);
            if (!recorded.ok()) return recorded.status();
            if (!recorded->empty()) {
                std::string name = Row(*recorded, 0).Text(0);
                if (name != migration.name) {
                    return Internal(label + " is recorded as '" + name +
                                    "': the schema was written by a different schema history");
                }
                return Status::Ok();
            }
            VG_RETURN_IF_ERROR(conn.Command(std::string(migration.sql).c_str(), "apply " + label));
            return conn
                .Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                      Params().Int(migration.version).Text(migration.name).Time(clock.Now()), "record " + label)
                .status();
        });
        if (!applied.ok()) return applied;
    }
    return Status::Ok();
}

// ---------------------------------------------------------------------------
// Writers of this process take turns here only when one keeps losing to the others: normally every
// write unit enters shared; a unit that lost kAloneAfterFailures times enters alone, once the units
// running have left (new ones wait behind it), so it cannot lose to this process's writers again.
class WriteGate {
  public:
    void Enter(bool alone) {
        std::unique_lock lock(mu_);
        if (alone) {
            ++alone_waiting_;
            cv_.wait(lock, [&] { return !alone_running_ && shared_ == 0; });
            --alone_waiting_;
            alone_running_ = true;
        } else {
            cv_.wait(lock, [&] { return !alone_running_ && alone_waiting_ == 0; });
            ++shared_;
        }
    }
    void Leave(bool alone) {
        std::lock_guard lock(mu_);
        if (alone) {
            alone_running_ = false;
        } else {
            --shared_;
        }
        cv_.notify_all();
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    int shared_ = 0;              // guarded by mu_
    int alone_waiting_ = 0;       // guarded by mu_
    bool alone_running_ = false;  // guarded by mu_
};

constexpr int kAloneAfterFailures = 3;

// A short randomized pause before running a unit again: 0.25-1 times 2^failures ms, at most 20 ms.
void BackOff(int failures) {
    thread_local std::minstd_rand random{std::random_device{}()};
    const int cap_us = std::min(1000 << std::min(failures, 5), 20'000);
    std::uniform_int_distribution<int> pause(cap_us / 4, cap_us);
    std::this_thread::sleep_for(std::chrono::microseconds(pause(random)));
}

}  // namespace

// ---------------------------------------------------------------------------
// PostgresStore::Impl

struct PostgresStore::Impl {
    Impl(const PostgresStoreOptions& opts, std::vector<std::unique_ptr<Connection>> conns)
        : options(opts), connections(std::move(conns)) {
        for (auto& conn : connections) idle.push_back(conn.get());
    }

    // A connection leased from the pool for one call; empty once the store is closing.
    class Lease {
      public:
        explicit Lease(Impl& impl) : impl_(impl), conn_(impl.Acquire()) {}
        ~Lease() {
            if (conn_ != nullptr) impl_.Release(conn_);
        }
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        explicit operator bool() const { return conn_ != nullptr; }
        Connection& operator*() const { return *conn_; }

      private:
        Impl& impl_;
        Connection* conn_;
    };

    Connection* Acquire() {
        std::unique_lock lock(pool_mu);
        pool_cv.wait(lock, [&] { return closing || !idle.empty(); });
        if (closing) return nullptr;
        Connection* conn = idle.back();
        idle.pop_back();
        return conn;
    }

    void Release(Connection* conn) {
        std::lock_guard lock(pool_mu);
        idle.push_back(conn);
        if (closing) {
            drained_cv.notify_all();
        } else {
            pool_cv.notify_one();
        }
    }

    // A broken connection is reset once per call; the unit runs again on it.
    static Status Reconnect(Connection& conn, bool& reset_done) {
        if (reset_done) return Unavailable("lost the connection to PostgreSQL: " + conn.last_error());
        reset_done = true;
        return conn.Reset();
    }

    // Runs `fn` with a leased connection, outside any transaction (each statement sees what was committed
    // when it started). kUnavailable once closed.
    template <typename F>
    auto Read(const F& fn) -> decltype(fn(std::declval<Connection&>())) {
        using R = decltype(fn(std::declval<Connection&>()));
        Lease lease(*this);
        if (!lease) return Closed();
        Connection& conn = *lease;
        bool reset_done = false;
        while (true) {
            if (conn.broken()) {
                if (Status s = Reconnect(conn, reset_done); !s.ok()) return R(s);
            }
            R result = fn(conn);
            if (conn.ok() || reset_done) return result;
        }
    }

    static Status RunUnit(const std::function<Status(Connection&)>& fn, Connection& conn) {
        try {
            return fn(conn);
        } catch (const std::exception& e) {
            return Internal(std::string("write failed: ") + e.what());
        } catch (...) {
            return Internal("write failed: unknown exception");
        }
    }

    // Runs `fn` as one serializable transaction and commits it; a serialization failure or deadlock runs
    // it again (fn must set its outputs afresh each time). kUnavailable once closed.
    Status Write(const std::function<Status(Connection&)>& fn) {
        Lease lease(*this);
        if (!lease) return Closed();
        Connection& conn = *lease;
        bool reset_done = false;
        int failures = 0;
        Status last = Unavailable("no attempt was made");
        for (int attempt = 0; attempt < options.max_write_attempts; ++attempt) {
            if (conn.broken()) VG_RETURN_IF_ERROR(Reconnect(conn, reset_done));
            const bool alone = failures >= kAloneAfterFailures;
            gate.Enter(alone);
            conn.BeginUnit();
            bool commit_sent = false;
            Status status = conn.Command(kBeginSerializable, "begin");
            if (status.ok()) status = RunUnit(fn, conn);
            if (status.ok() && !conn.serialization_failed() && conn.ok()) {
                commit_sent = true;
                status = conn.Command("COMMIT", "commit");
            } else if (conn.ok()) {
                (void)conn.Command("ROLLBACK", "rollback");
            }
            gate.Leave(alone);
            if (conn.broken()) {
                if (commit_sent) {
                    return Unavailable(
                        "lost the connection to PostgreSQL while committing (the write may or may not have been "
                        "kept): " +
                        conn.last_error());
                }
                last = status;
                continue;  // nothing was committed: reset the connection and run the unit again
            }
            if (conn.serialization_failed()) {
                last = status;
                BackOff(++failures);
                continue;
            }
            return status;
        }
        return Unavailable("gave up after " + std::to_string(options.max_write_attempts) +
                           " attempts: " + last.message());
    }

    const PostgresStoreOptions options;
    std::vector<std::unique_ptr<Connection>> connections;  // all of them; cleared by Close()

    std::mutex pool_mu;
    std::condition_variable pool_cv;     // callers wait here for a free connection
    std::condition_variable drained_cv;  // Close() waits here for leased connections
    std::vector<Connection*> idle;       // guarded by pool_mu
    bool closing = false;                // guarded by pool_mu; no new calls

    WriteGate gate;
    std::unique_ptr<Connection> owner;  // exclusive: holds the schema's advisory lock until Close
    std::string identity;               // "DATABASE/SCHEMA" (identity())

    std::mutex close_mu;  // serializes Close(); held for its whole duration
    bool closed = false;  // guarded by close_mu
};

// ---------------------------------------------------------------------------
// Open / Close

bool IsValidPostgresSchemaName(std::string_view schema) {
    // 63 is PostgreSQL's NAMEDATALEN - 1 (longer names are silently truncated); pg_ is reserved.
    if (schema.empty() || schema.size() > 63 || schema.substr(0, 3) == "pg_") return false;
    if (!(schema[0] == '_' || (schema[0] >= 'a' && schema[0] <= 'z'))) return false;
    return std::all_of(schema.begin(), schema.end(),
                       [](char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); });
}

Result<std::unique_ptr<PostgresStore>> PostgresStore::Open(const PostgresStoreOptions& options) {
    if (!IsValidPostgresSchemaName(options.schema)) {
        return Internal("PostgresStoreOptions.schema '" + options.schema +
                        "' is not a schema name VitalGuard uses: [a-z_][a-z0-9_]*, at most 63 characters, not pg_*");
    }
    if (options.connections < 1) return Internal("PostgresStoreOptions.connections must be at least 1");
    if (options.connect_timeout.count() <= 0) return Internal("PostgresStoreOptions.connect_timeout must be positive");
    if (options.max_write_attempts < 1) return Internal("PostgresStoreOptions.max_write_attempts must be at least 1");
    {
        char* error = nullptr;
        PQconninfoOption* parsed = PQconninfoParse(options.conninfo.c_str(), &error);
        if (parsed == nullptr) {
            std::string detail = error != nullptr ? error : "out of memory";
            PQfreemem(error);
            while (!detail.empty() && detail.back() == '\n') detail.pop_back();
            // libpq quotes a URI it cannot parse whole; it may carry a password.
            for (size_t at = detail.find(options.conninfo); !options.conninfo.empty() && at != std::string::npos;
                 at = detail.find(options.conninfo, at)) {
                detail.replace(at, options.conninfo.size(), "<conninfo>");
            }
            return Internal("PostgresStoreOptions.conninfo cannot be parsed: " + detail);
        }
        PQconninfoFree(parsed);
    }
    const Clock& clock = options.clock != nullptr ? *options.clock : SystemClock::Instance();

    pg::ConnectParams params;
    params.conninfo = options.conninfo;
    params.connect_timeout_seconds =
        static_cast<int>(std::max<int64_t>(1, (options.connect_timeout.count() + 999) / 1000));
    params.search_path = "\"" + options.schema + "\"";

    std::vector<std::unique_ptr<Connection>> connections;
    std::string identity;
    for (int i = 0; i < options.connections; ++i) {
        auto conn = Connection::Connect(params);
        if (!conn->ok()) return Unavailable("cannot connect to PostgreSQL: " + conn->last_error());
        if (i == 0) {
            VG_RETURN_IF_ERROR(Migrate(*conn, options.schema, clock));
            auto database = conn->Exec("SELECT current_database()", Params(), "read the database's name");
            if (!database.ok()) return database.status();
            identity = Row(*database, 0).Text(0) + "/" + options.schema;
        }
        connections.push_back(std::move(conn));
    }
    std::unique_ptr<Connection> owner;
    if (options.exclusive) {
        // Keyed apart from the migrations' transaction lock on the same name (hashtextextended's seed).
        owner = Connection::Connect(params);
        if (!owner->ok()) return Unavailable("cannot connect to PostgreSQL: " + owner->last_error());
        auto locked = owner->Exec("SELECT pg_try_advisory_lock(hashtextextended($1::text, 1))",
                                  Params().Text(options.schema), "lock the schema for this server");
        if (!locked.ok()) return locked.status();
        if (locked->empty() || Row(*locked, 0).Text(0) != "t") {
            return Unavailable("another VitalGuard server uses the schema " + options.schema +
                               " of this database (one server per schema; stop it first)");
        }
    }
    auto impl = std::make_unique<Impl>(options, std::move(connections));
    impl->owner = std::move(owner);
    impl->identity = std::move(identity);
    return std::unique_ptr<PostgresStore>(new PostgresStore(std::move(impl)));
}

PostgresStore::PostgresStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

const std::string& PostgresStore::identity() const { return impl_->identity; }

PostgresStore::~PostgresStore() { Close(); }

void PostgresStore::Close() {
    Impl& s = *impl_;
    std::lock_guard close_lock(s.close_mu);
    if (s.closed) return;
    {
        // Calls in progress finish (and are kept); new ones, and those waiting for a connection, are refused.
        std::unique_lock lock(s.pool_mu);
        s.closing = true;
        s.pool_cv.notify_all();
        s.drained_cv.wait(lock, [&] { return s.idle.size() == s.connections.size(); });
        s.idle.clear();
    }
    s.connections.clear();
    s.owner.reset();  // ends its session, and with it the schema's advisory lock
    s.closed = true;
}

Status PostgresStore::CheckHealth() {
    return impl_->Read(
        [](Connection& conn) -> Status { return conn.Exec("SELECT 1", Params(), "health check").status(); });
}

// ---------------------------------------------------------------------------
// Users

Result<domain::User> PostgresStore::CreateUser(const NewUser& in) {
    domain::User user;
    Status status = impl_->Write([&](Connection& conn) -> Status {
        const domain::UserProfile& p = in.profile;
        auto rows = conn.Exec(kInsertUser,
                              Params()
                                  .Text(p.id)
                                  .Text(in.password_hash)
                                  .Text(p.name)
                                  .Int(p.age)
                                  .Text(p.address)
                                  .Text(p.detailed_address)
                                  .Text(p.phone_num)
                                  .Text(p.guard_name)
                                  .Text(p.guard_phone_num)
                                  .Time(in.created_at)
                                  .Text(p.guard_email)
                                  .Text(p.time_zone),
                              "create user");
        if (!rows.ok()) {
            // users.id is the only unique key a caller supplies (unique_num is assigned here).
            if (conn.last_sqlstate() == pg::kUniqueViolation) {
                return Status::Error(ErrorCode::kConflict, "user id is already taken", {{"id", "is already taken"}});
            }
            return rows.status();
        }
        user = ReadUser(Row(*rows, 0));
        return Status::Ok();
    });
    if (!status.ok()) return status;
    return user;
}

Result<domain::User> PostgresStore::FindUserById(std::string_view id) {
    return impl_->Read([&](Connection& conn) {
        return First<domain::User>(conn.Exec(kSelectUserById, Params().Text(id), "find user"), ReadUser,
                                   NotFound("user not found"));
    });
}

Result<domain::User> PostgresStore::FindUserByUniqueNum(int64_t unique_num) {
    return impl_->Read([&](Connection& conn) {
        return First<domain::User>(conn.Exec(kSelectUserByUniqueNum, Params().Int(unique_num), "find user"), ReadUser,
                                   NotFound("user not found"));
    });
}

Result<bool> PostgresStore::UserIdExists(std::string_view id) {
    return impl_->Read([&](Connection& conn) -> Result<bool> {
        auto rows = conn.Exec(kUserIdExists, Params().Text(id), "check user id");
        if (!rows.ok()) return rows.status();
        return !rows->empty();
    });
}

// ---------------------------------------------------------------------------
// Sessions

Status PostgresStore::CreateSession(const domain::Session& s) {
    return impl_->Write([&](Connection& conn) -> Status {
        auto rows = conn.Exec(kInsertSession,
                              Params()
                                  .Text(s.token_hash)
                                  .Int(s.user_unique_num)
                                  .Text(s.csrf_token)
                                  .Time(s.created_at)
                                  .Time(s.last_seen_at)
                                  .Time(s.expires_at)
                                  .Text(s.client_address)
                                  .Text(s.user_agent),
                              "create session");
        if (rows.ok()) return Status::Ok();
        if (conn.last_sqlstate() == pg::kUniqueViolation) return Conflict("session token hash already exists");
        if (conn.last_sqlstate() == pg::kForeignKeyViolation) return NotFound("user not found");
        return rows.status();
    });
}

Result<domain::Session> PostgresStore::FindSession(std::string_view token_hash) {
    return impl_->Read([&](Connection& conn) {
        return First<domain::Session>(conn.Exec(kSelectSession, Params().Text(token_hash), "find session"), ReadSession,
                                      NotFound("session not found"));
    });
}

Status PostgresStore::TouchSession(std::string_view token_hash, TimePoint last_seen_at) {
    return impl_->Write([&](Connection& conn) -> Status {
        return ChangedOne(conn.Exec(kTouchSession, Params().Text(token_hash).Time(last_seen_at), "touch session"),
                          NotFound("session not found"));
    });
}

Status PostgresStore::DeleteSession(std::string_view token_hash) {
    return impl_->Write([&](Connection& conn) -> Status {
        return ChangedOne(conn.Exec(kDeleteSession, Params().Text(token_hash), "delete session"),
                          NotFound("session not found"));
    });
}

Result<int64_t> PostgresStore::DeleteExpiredSessions(TimePoint now, TimePoint idle_cutoff) {
    int64_t deleted = 0;
    Status status = impl_->Write([&](Connection& conn) -> Status {
        auto rows = conn.Exec(kDeleteExpiredSessions, Params().Time(now).Time(idle_cutoff), "delete expired sessions");
        if (!rows.ok()) return rows.status();
        deleted = rows->affected();
        return Status::Ok();
    });
    if (!status.ok()) return status;
    return deleted;
}

// ---------------------------------------------------------------------------
// Devices

Result<domain::Device> PostgresStore::CreateDevice(const NewDevice& in) {
    domain::Device device;
    Status status = impl_->Write([&](Connection& conn) -> Status {
        auto rows = conn.Exec(kInsertDevice,
                              Params().Int(in.user_unique_num).Text(in.name).Text(in.token_hash).Time(in.created_at),
                              "create device");
        if (!rows.ok()) {
            if (conn.last_sqlstate() == pg::kUniqueViolation) return Conflict("device token hash already exists");
            if (conn.last_sqlstate() == pg::kForeignKeyViolation) return NotFound("user not found");
            return rows.status();
        }
        device = ReadDevice(Row(*rows, 0));
        return Status::Ok();
    });
    if (!status.ok()) return status;
    return device;
}

Result<domain::Device> PostgresStore::FindDeviceByTokenHash(std::string_view token_hash) {
    return impl_->Read([&](Connection& conn) {
        return First<domain::Device>(conn.Exec(kSelectDeviceByTokenHash, Params().Text(token_hash), "find device"),
                                     ReadDevice, NotFound("device not found"));
    });
}

Result<std::vector<domain::Device>> PostgresStore::ListDevices(int64_t user_unique_num) {
    return impl_->Read([&](Connection& conn) {
        return Collect<domain::Device>(conn.Exec(kSelectDevicesByUser, Params().Int(user_unique_num), "list devices"),
                                       ReadDevice);
    });
}

Status PostgresStore::RevokeDevice(int64_t user_unique_num, int64_t device_id, TimePoint at) {
    return impl_->Write([&](Connection& conn) -> Status {
        // One answer for "no such device", "not yours" and "already revoked": a caller must not learn
        // which devices other users have.
        return ChangedOne(
            conn.Exec(kRevokeDevice, Params().Int(user_unique_num).Int(device_id).Time(at), "revoke device"),
            NotFound("device not found"));
    });
}

Status PostgresStore::TouchDevice(int64_t device_id, TimePoint last_seen_at) {
    return impl_->Write([&](Connection& conn) -> Status {
        return ChangedOne(conn.Exec(kTouchDevice, Params().Int(device_id).Time(last_seen_at), "touch device"),
                          NotFound("device not found"));
    });
}

// ---------------------------------------------------------------------------
// Rule profile, guardian e-mail, self-service and the operator

Status PostgresStore::SetRuleProfile(int64_t user_unique_num, std::string_view profile) {
    return impl_->Write([&](Connection& conn) -> Status {
        return ChangedOne(conn.Exec(kSetRuleProfile, Params().Int(user_unique_num).Text(profile), "set rule profile"),
                          NotFound("user not found"));
    });
}

Status PostgresStore::SetGuardEmail(int64_t user_unique_num, std::string_view guard_email,
                                    std::string_view unverify_key) {
    return impl_->Write([&](Connection& conn) -> Status {
        VG_RETURN_IF_ERROR(
            ChangedOne(conn.Exec(kSetGuardEmail, Params().Int(user_unique_num).Text(guard_email), "set guard e-mail"),
                       NotFound("user not found")));
        if (unverify_key.empty()) return Status::Ok();
        return conn
            .Exec(kDeletePhoneCode, Params().Int(user_unique_num).Text(unverify_key), "unverify the old guard e-mail")
            .status();
    });
}

Result<domain::User> PostgresStore::UpdateUserProfile(const ProfileUpdate& u) {
    domain::User user;
    Status status = impl_->Write([&](Connection& conn) -> Status {
        const domain::UserProfile& p = u.profile;
        auto rows = conn.Exec(kUpdateProfile,
                              Params()
                                  .Int(u.user_unique_num)
                                  .Text(p.name)
                                  .Int(p.age)
                                  .Text(p.address)
                                  .Text(p.detailed_address)
                                  .Text(p.phone_num)
                                  .Text(p.guard_name)
                                  .Text(p.guard_phone_num)
                                  .OptionalTime(u.address_confirmed_at)
                                  .Text(u.profile.time_zone),
                              "update profile");
        if (!rows.ok()) return rows.status();
        if (rows->empty()) return NotFound("user not found");
        user = ReadUser(Row(*rows, 0));  // as stored: the phone codes below are not part of the user
        for (const std::string& phone : u.unverify_phones) {
            VG_RETURN_IF_ERROR(
                conn.Exec(kDeletePhoneCode, Params().Int(u.user_unique_num).Text(phone), "forget phone verification")
                    .status());
        }
        return Status::Ok();
    });
    if (!status.ok()) return status;
    return user;
}

Status PostgresStore::SetAddressConfirmed(int64_t user_unique_num, TimePoint at) {
    return impl_->Write([&](Connection& conn) -> Status {
        return ChangedOne(conn.Exec(kSetAddressConfirmed, Params().Int(user_unique_num).Time(at), "confirm address"),
                          NotFound("user not found"));
    });
}

Result<std::vector<domain::Session>> PostgresStore::ListSessions(int64_t user_unique_num, int limit) {
    return impl_->Read([&](Connection& conn) {
        return Collect<domain::Session>(
            conn.Exec(kSelectSessionsByUser, Params().Int(user_unique_num).Int(std::clamp(limit, 1, kMaxSessionRows)),
                      "list sessions"),
            ReadSession);
    });
}

Result<std::vector<std::string>> PostgresStore::DeleteSessionsExcept(int64_t user_unique_num,
                                                                     std::string_view keep_token_hash) {
    std::vector<std::string> deleted;
    Status status = impl_->Write([&](Connection& conn) -> Status {
        auto hashes = DeleteSessionsReturning(conn, user_unique_num, keep_token_hash);
        if (!hashes.ok()) return hashes.status();
        deleted = std::move(hashes).value();
        return Status::Ok();
    });
    if (!status.ok()) return status;
    return deleted;
}

Result<std::vector<std::string>> PostgresStore::SetPasswordHash(int64_t user_unique_num, std::string_view password_hash,
                                                                std::string_view keep_token_hash) {
    std::vector<std::string> deleted;
    Status status = impl_->Write([&](Connection& conn) -> Status {
        VG_RETURN_IF_ERROR(
            ChangedOne(conn.Exec(kSetPasswordHash, Params().Int(user_unique_num).Text(password_hash), "set password"),
                       NotFound("user not found")));
        auto hashes = DeleteSessionsReturning(conn, user_unique_num, keep_token_hash);
        if (!hashes.ok()) return hashes.status();
        deleted = std::move(hashes).value();
        return Status::Ok();
    });
    if (!status.ok()) return status;
    return deleted;
}

Result<std::vector<std::string>> PostgresStore::SetUserLock(int64_t user_unique_num, std::optional<TimePoint> at,
                                                            std::string_view reason) {
    std::vector<std::string> deleted;
    Status status = impl_->Write([&](Connection& conn) -> Status {
        deleted.clear();
        VG_RETURN_IF_ERROR(
            ChangedOne(conn.Exec(kSetUserLock,
                                 Params().Int(user_unique_num).OptionalTime(at).Text(at ? reason : std::string_view()),
                                 "set user lock"),
                       NotFound("user not found")));
        if (!at) return Status::Ok();
        auto hashes = DeleteSessionsReturning(conn, user_unique_num, "");
        if (!hashes.ok()) return hashes.status();
        deleted = std::move(hashes).value();
        return Status::Ok();
    });
    if (!status.ok()) return status;
    return deleted;
}

Result<std::vector<UserSummary>> PostgresStore::ListUserSummaries(int64_t after, int limit) {
    return impl_->Read([&](Connection& conn) {
        return Collect<UserSummary>(
            conn.Exec(kSelectUserSummaries, Params().Int(after).Int(std::clamp(limit, 1, kMaxSessionRows)),
                      "list users"),
            [](const Row& r) {
                UserSummary s;
                s.user = ReadUser(r);
                s.sessions = r.Int64(19);
                s.active_devices = r.Int64(20);
                s.last_login_at = r.OptionalTime(21);
                s.last_seen_at = r.OptionalTime(22);
                if (auto device_seen = r.OptionalTime(23);
                    device_seen && (!s.last_seen_at || *device_seen > *s.last_seen_at)) {
                    s.last_seen_at = device_seen;
                }
                return s;
            });
    });
}

// ---------------------------------------------------------------------------
// Vitals

Result<std::vector<bool>> PostgresStore::AppendReadings(int64_t user_unique_num, std::optional<int64_t> device_id,
                                                        std::span<const IncomingReading> readings,
                                                        TimePoint received_at) {
    std::vector<bool> stored;
    Status status = impl_->Write([&](Connection& conn) -> Status {
        auto exists = UserExists(conn, user_unique_num);
        if (!exists.ok()) return exists.status();
        if (!*exists) return NotFound("user not found");
        auto result = InsertReadings(conn, user_unique_num, device_id, readings, received_at);
        if (!result.ok()) return result.status();
        stored = std::move(result).value();
        return Status::Ok();
    });
    if (!status.ok()) return status;
    return stored;
}

Result<std::vector<StoredReading>> PostgresStore::RecentReadings(int64_t user_unique_num, int limit) {
    return impl_->Read([&](Connection& conn) {
        return Collect<StoredReading>(
            conn.Exec(kSelectRecentReadings, Params().Int(user_unique_num).Int(std::clamp(limit, 1, kMaxRecentRows)),
                      "read recent readings"),
            [](const Row& r) {
                StoredReading s;
                s.id = r.Int64(0);
                s.device_id = r.OptionalInt64(1);
                s.device_seq = r.OptionalInt64(2);
                s.reading.measured_at = r.Time(3);
                s.received_at = r.Time(4);
                for (int m = 0; m < domain::kMetricCount; ++m) {
                    s.reading.values[static_cast<size_t>(m)] = r.OptionalDouble(5 + m);
                }
                return s;
            });
    });
}

Result<std::vector<ReadingBucket>> PostgresStore::SummarizeReadings(int64_t user_unique_num, TimePoint from,
                                                                    TimePoint to, Milliseconds bucket) {
    if (Status s = CheckSummaryRequest(from, to, bucket); !s.ok()) return s;
    return impl_->Read([&](Connection& conn) {
        return Collect<ReadingBucket>(
            conn.Exec(kSummarizeReadings,
                      Params().Int(user_unique_num).Int(ToUnixMillis(from)).Int(ToUnixMillis(to)).Int(bucket.count()),
                      "summarize readings"),
            [&](const Row& r) {
                ReadingBucket b;
                b.start = from + r.Int64(0) * bucket;
                b.readings = r.Int64(1);
                for (int m = 0; m < domain::kMetricCount; ++m) {
                    MetricSummary& summary = b.metrics[static_cast<size_t>(m)];
                    summary.count = r.Int64(2 + 4 * m);
                    if (summary.count == 0) continue;
                    summary.min = *r.OptionalDouble(3 + 4 * m);
                    summary.max = *r.OptionalDouble(4 + 4 * m);
                    summary.mean = *r.OptionalDouble(5 + 4 * m);
                }
                return b;
            });
    });
}

Status PostgresStore::ForEachWearerReadingsSince(
    TimePoint since, const std::function<void(int64_t wearer, std::vector<domain::VitalsReading>&& readings)>& fn) {
    Result<std::vector<int64_t>> users = impl_->Read([&](Connection& conn) {
        return Collect<int64_t>(conn.Exec(kSelectUserNums, Params(), "list users"),
                                [](const Row& r) { return r.Int64(0); });
    });
    if (!users.ok()) return users.status();
    // One short read per wearer; `fn` runs with no connection held, so it may call the store.
    for (int64_t user : users.value()) {
        Result<std::vector<domain::VitalsReading>> readings = impl_->Read([&](Connection& conn) {
            return Collect<domain::VitalsReading>(
                conn.Exec(kSelectReadingsSince, Params().Int(user).Time(since), "read vitals for replay"),
                [](const Row& r) {
                    domain::VitalsReading reading;
                    reading.measured_at = r.Time(0);
                    for (int m = 0; m < domain::kMetricCount; ++m) {
                        reading.values[static_cast<size_t>(m)] = r.OptionalDouble(1 + m);
                    }
                    return reading;
                });
        });
        if (!readings.ok()) return readings.status();
        if (!readings.value().empty()) fn(user, std::move(readings).value());
    }
    return Status::Ok();
}

// ---------------------------------------------------------------------------
// The seed's UserStatus / UserPosture

Status PostgresStore::AppendStatus(const StatusRow& row) {
    return impl_->Write([&](Connection& conn) { return WriteStatusRow(conn, row); });
}

Result<std::vector<Status>> PostgresStore::AppendStatuses(std::span<const StatusRow> rows) {
    std::vector<Status> results;
    Status status = impl_->Write([&](Connection& conn) -> Status {
        results.assign(rows.size(), Status::Ok());
        for (size_t i = 0; i < rows.size(); ++i) {
            Status one = WriteStatusRow(conn, rows[i]);
            // A missing user changed nothing (its UPDATE matched no row, no statement failed): skip that row alone.
            if (!one.ok() && one.code() != ErrorCode::kNotFound) return one;
            results[i] = std::move(one);
        }
        return Status::Ok();
    });
    if (!status.ok()) return status;
    return results;
}

Result<std::vector<Status>> PostgresStore::RecordVerdicts(std::span<const VerdictRecord> records) {
    std::vector<Status> results;
    Status status = impl_->Write([&](Connection& conn) -> Status {
        results.assign(records.size(), Status::Ok());
        for (const VerdictRecord& r : records) {
            if (r.save_suspicion && r.clear_suspicion) {
                return Internal("a verdict record both saves and clears its fall suspicion");
            }
        }
        for (size_t i = 0; i < records.size(); ++i) {
            // A run of plain verdicts goes set-based; runs and the other records keep the given order.
            size_t end = i;
            while (end < records.size() && IsPlainVerdict(records[end])) ++end;
            if (end > i) {
                VG_RETURN_IF_ERROR(BulkWriteVerdicts(conn, records.subspan(i, end - i),
                                                     std::span<Status>(results).subspan(i, end - i)));
                i = end - 1;
                continue;
            }
            VG_RETURN_IF_ERROR(conn.Command("SAVEPOINT verdict_record", "savepoint"));
            Status record;
            VG_RETURN_IF_ERROR(WriteVerdictRecord(conn, records[i], record));
            if (record.code() == ErrorCode::kNotFound) {
                // Refused alone: nothing of the record is kept.
                VG_RETURN_IF_ERROR(conn.Command("ROLLBACK TO SAVEPOINT verdict_record", "rollback to savepoint"));
            }
            VG_RETURN_IF_ERROR(conn.Command("RELEASE SAVEPOINT verdict_record", "release savepoint"));
            results[i] = std::move(record);
        }
        return Status::Ok();
    });
    if (!status.ok()) return status;
    return results;
}

Status PostgresStore::AppendPosture(const PostureRow& row) {
    return impl_->Write([&](Connection& conn) { return WritePostureRow(conn, row); });
}

Result<std::vector<StatusRow>> PostgresStore::RecentStatuses(int64_t user_unique_num, int limit) {
    return impl_->Read([&](Connection& conn) {
        return Collect<StatusRow>(
            conn.Exec(kSelectRecentStatuses, Params().Int(user_unique_num).Int(std::clamp(limit, 1, kMaxRecentRows)),
                      "read recent statuses"),
            [](const Row& r) {
                StatusRow row;
                row.user_unique_num = r.Int64(0);
                row.status = r.Int(1);
                row.updated_at = r.Time(2);
                row.causes = r.Text(3);
                row.explanation = r.Text(4);
                row.reading_at = r.OptionalTime(5);
                return row;
            });
    });
}

Result<std::vector<PostureRow>> PostgresStore::RecentPostures(int64_t user_unique_num, int limit) {
    return impl_->Read([&](Connection& conn) {
        return Collect<PostureRow>(
            conn.Exec(kSelectRecentPostures, Params().Int(user_unique_num).Int(std::clamp(limit, 1, kMaxRecentRows)),
                      "read recent postures"),
            [](const Row& r) {
                PostureRow row;
                row.user_unique_num = r.Int64(0);
                row.posture = r.Int(1);
                row.updated_at = r.Time(2);
                return row;
            });
    });
}

// ---------------------------------------------------------------------------
// Incidents

Result<domain::Incident> PostgresStore::SaveIncident(const domain::Incident& incident,
                                                     std::span<const domain::IncidentEvent> events,
                                                     std::span<const NewOutboxMessage> outbox) {
    Result<domain::Incident> saved = Internal("not written");
    Status status = impl_->Write([&](Connection& conn) -> Status {
        saved = WriteIncident(conn, incident, events, outbox);
        return saved.status();
    });
    if (!status.ok()) return status;
    return saved;
}

Result<std::optional<domain::Incident>> PostgresStore::FindOpenIncident(int64_t user_unique_num) {
    return impl_->Read([&](Connection& conn) -> Result<std::optional<domain::Incident>> {
        auto rows = conn.Exec(kSelectOpenIncident, Params().Int(user_unique_num), "read open incident");
        if (!rows.ok()) return rows.status();
        if (rows->empty()) return std::optional<domain::Incident>();
        return std::optional<domain::Incident>(ReadIncident(Row(*rows, 0)));
    });
}

Result<domain::Incident> PostgresStore::FindIncident(int64_t incident_id) {
    return impl_->Read([&](Connection& conn) {
        return First<domain::Incident>(conn.Exec(kSelectIncidentById, Params().Int(incident_id), "read incident"),
                                       ReadIncident, NotFound("incident not found"));
    });
}

Result<std::vector<domain::Incident>> PostgresStore::ListIncidents(int64_t user_unique_num, int limit) {
    return impl_->Read([&](Connection& conn) {
        return Collect<domain::Incident>(
            conn.Exec(kSelectIncidentsByUser, Params().Int(user_unique_num).Int(std::clamp(limit, 1, kMaxRecentRows)),
                      "list incidents"),
            ReadIncident);
    });
}

Result<std::vector<domain::Incident>> PostgresStore::DueIncidents(TimePoint now, int limit) {
    return impl_->Read([&](Connection& conn) {
        return Collect<domain::Incident>(
            conn.Exec(kSelectDueIncidents, Params().Time(now).Int(std::clamp(limit, 1, kMaxDueIncidents)),
                      "read due incidents"),
            ReadIncident);
    });
}

Result<std::optional<TimePoint>> PostgresStore::NextIncidentDue() {
    return impl_->Read([&](Connection& conn) -> Result<std::optional<TimePoint>> {
        auto rows = conn.Exec(kSelectNextIncidentDue, Params(), "read next incident due");
        if (!rows.ok()) return rows.status();
        return Row(*rows, 0).OptionalTime(0);
    });
}

Result<std::vector<OpenIncidentPhase>> PostgresStore::OpenIncidentsByPhase() {
    return impl_->Read([&](Connection& conn) -> Result<std::vector<OpenIncidentPhase>> {
        auto rows = conn.Exec(kSelectOpenIncidentPhases, Params(), "read open incidents by phase");
        if (!rows.ok()) return rows.status();
        std::vector<OpenIncidentPhase> phases;
        for (int i = 0; i < rows->size(); ++i) {
            const Row r(*rows, i);
            auto phase = domain::IncidentPhaseFromName(r.Text(0));
            if (!phase) return Internal("an incident has an unknown phase: " + r.Text(0));
            phases.push_back({*phase, r.Int64(1), r.OptionalTime(2)});
        }
        std::sort(phases.begin(), phases.end(), [](const auto& a, const auto& b) { return a.phase < b.phase; });
        return phases;
    });
}

Result<std::vector<domain::IncidentEvent>> PostgresStore::IncidentEvents(int64_t incident_id) {
    return impl_->Read([&](Connection& conn) {
        return Collect<domain::IncidentEvent>(
            conn.Exec(kSelectIncidentEvents, Params().Int(incident_id), "read incident events"), [](const Row& r) {
                domain::IncidentEvent e;
                e.id = r.Int64(0);
                e.incident_id = r.Int64(1);
                e.at = r.Time(2);
                e.type = r.Text(3);
                e.actor = r.Text(4);
                e.detail = r.Text(5);
                return e;
            });
    });
}

// ---------------------------------------------------------------------------
// The outbox

Result<std::vector<OutboxMessage>> PostgresStore::ClaimOutbox(TimePoint now, size_t max_items, Milliseconds lease) {
    std::vector<OutboxMessage> claimed;
    Status status = impl_->Write([&](Connection& conn) -> Status {
        auto rows = Collect<OutboxMessage>(
            conn.Exec(
                kClaimOutbox,
                Params().Time(now).Int(static_cast<int64_t>(std::min(max_items, kMaxOutboxClaim))).Time(now + lease),
                "claim outbox messages"),
            ReadOutbox);
        if (!rows.ok()) return rows.status();
        claimed = std::move(rows).value();
        // Oldest due first (next_attempt_at, then id), as they were selected.
        std::sort(claimed.begin(), claimed.end(), [](const OutboxMessage& a, const OutboxMessage& b) {
            return a.next_attempt_at != b.next_attempt_at ? a.next_attempt_at < b.next_attempt_at : a.id < b.id;
        });
        return Status::Ok();
    });
    if (!status.ok()) return status;
    return claimed;
}

Status PostgresStore::MarkOutboxDelivered(int64_t id, int, TimePoint at, const std::string& detail) {
    return impl_->Write([&](Connection& conn) -> Status {
        return ChangedOne(
            conn.Exec(kMarkOutboxDelivered, Params().Int(id).Time(at).Text(detail), "mark outbox message delivered"),
            Conflict("already delivered or unknown"));
    });
}

Status PostgresStore::MarkOutboxFailed(int64_t id, int attempt, TimePoint at, const std::string& error,
                                       std::optional<TimePoint> retry_at) {
    return impl_->Write([&](Connection& conn) -> Status {
        Params params;
        params.Int(id).Time(at).Text(error);
        if (retry_at) params.Time(*retry_at);
        params.Int(attempt);
        return ChangedOne(
            conn.Exec(retry_at ? kMarkOutboxRetry : kMarkOutboxFailed, params, "mark outbox attempt failed"),
            Conflict("the attempt is no longer current"));
    });
}

Status PostgresStore::ReleaseOutbox(int64_t id, int attempt) {
    return impl_->Write([&](Connection& conn) -> Status {
        return ChangedOne(conn.Exec(kReleaseOutbox, Params().Int(id).Int(attempt), "release outbox message"),
                          Conflict("the attempt is no longer current"));
    });
}

Result<std::optional<TimePoint>> PostgresStore::NextOutboxWake() {
    return impl_->Read([&](Connection& conn) -> Result<std::optional<TimePoint>> {
        auto rows = conn.Exec(kSelectOutboxWake, Params(), "read next outbox wake-up");
        if (!rows.ok()) return rows.status();
        return Row(*rows, 0).OptionalTime(0);
    });
}

Result<std::vector<OutboxBacklog>> PostgresStore::OutboxBacklogByChannel() {
    return impl_->Read([&](Connection& conn) {
        return Collect<OutboxBacklog>(conn.Exec(kSelectOutboxBacklog, Params(), "read the outbox backlog"),
                                      [](const Row& r) {
                                          return OutboxBacklog{r.Text(0), r.Int64(1), r.Time(2)};
                                      });
    });
}

Result<OutboxMessage> PostgresStore::FindOutbox(int64_t id) {
    return impl_->Read([&](Connection& conn) {
        return First<OutboxMessage>(conn.Exec(kSelectOutboxById, Params().Int(id), "read outbox message"), ReadOutbox,
                                    NotFound("outbox message not found"));
    });
}

Result<std::vector<OutboxMessage>> PostgresStore::IncidentOutbox(int64_t incident_id) {
    return impl_->Read([&](Connection& conn) {
        return Collect<OutboxMessage>(
            conn.Exec(kSelectOutboxByIncident, Params().Int(incident_id), "read incident outbox"), ReadOutbox);
    });
}

// ---------------------------------------------------------------------------
// Suspected falls

Status PostgresStore::SaveFallSuspicion(const FallSuspicion& f) {
    return impl_->Write([&](Connection& conn) -> Status { return WriteFallSuspicion(conn, f); });
}

Status PostgresStore::ClearFallSuspicion(int64_t wearer) {
    return impl_->Write([&](Connection& conn) -> Status { return WriteClearFallSuspicion(conn, wearer); });
}

Result<std::vector<FallSuspicion>> PostgresStore::ListFallSuspicions() {
    return impl_->Read([&](Connection& conn) {
        return Collect<FallSuspicion>(conn.Exec(kSelectFallSuspicions, Params(), "list fall suspicions"),
                                      [](const Row& r) {
                                          FallSuspicion f;
                                          f.wearer = r.Int64(0);
                                          f.impact_at = r.Time(1);
                                          f.still_run = r.Int(2);
                                          f.last_end = r.Time(3);
                                          f.last_received = r.Time(4);
                                          f.raised_at = r.Time(5);
                                          f.updated_at = r.Time(6);
                                          return f;
                                      });
    });
}

// ---------------------------------------------------------------------------
// Guardian links and the audit log

Result<GuardianLink> PostgresStore::CreateGuardianLink(int64_t wearer, int64_t guardian, std::string_view requested_by,
                                                       TimePoint at) {
    GuardianLink link;
    Status status = impl_->Write([&](Connection& conn) -> Status {
        auto rows = conn.Exec(kInsertLink, Params().Int(wearer).Int(guardian).Text(requested_by).Time(at),
                              "insert guardian link");
        if (!rows.ok()) {
            if (conn.last_sqlstate() == pg::kUniqueViolation) {
                return Conflict("These two accounts are already linked or asked to be.");
            }
            if (conn.last_sqlstate() == pg::kForeignKeyViolation) return NotFound("user not found");
            if (conn.last_sqlstate() == pg::kCheckViolation && conn.last_constraint() == kGuardianNotSelf) {
                return Status::Error(ErrorCode::kValidationFailed, "A wearer cannot be their own guardian.");
            }
            return rows.status();
        }
        auto found =
            First<GuardianLink>(conn.Exec(kSelectLinkById, Params().Int(Row(*rows, 0).Int64(0)), "read guardian link"),
                                ReadLink, Internal("the new guardian link is gone"));
        if (!found.ok()) return found.status();
        link = std::move(found).value();
        return Status::Ok();
    });
    if (!status.ok()) return status;
    return link;
}

Result<GuardianLink> PostgresStore::FindGuardianLink(int64_t link_id) {
    return impl_->Read([&](Connection& conn) {
        return First<GuardianLink>(conn.Exec(kSelectLinkById, Params().Int(link_id), "read guardian link"), ReadLink,
                                   NotFound("guardian link not found"));
    });
}

Status PostgresStore::AcceptGuardianLink(int64_t link_id, TimePoint at) {
    return impl_->Write([&](Connection& conn) -> Status {
        return ChangedOne(conn.Exec(kAcceptLink, Params().Int(link_id).Time(at), "accept guardian link"),
                          Conflict("The link is not waiting to be accepted."));
    });
}

Status PostgresStore::EndGuardianLink(int64_t link_id, TimePoint at) {
    return impl_->Write([&](Connection& conn) -> Status {
        return ChangedOne(conn.Exec(kEndLink, Params().Int(link_id).Time(at), "end guardian link"),
                          Conflict("The link has already ended."));
    });
}

Result<std::vector<GuardianLink>> PostgresStore::ListGuardianLinks(int64_t user) {
    return impl_->Read([&](Connection& conn) {
        return Collect<GuardianLink>(conn.Exec(kSelectLinksOfUser, Params().Int(user), "list guardian links"),
                                     ReadLink);
    });
}

Result<std::vector<GuardianLink>> PostgresStore::ActiveGuardians(int64_t wearer) {
    return impl_->Read([&](Connection& conn) {
        return Collect<GuardianLink>(conn.Exec(kSelectActiveGuardians, Params().Int(wearer), "list active guardians"),
                                     ReadLink);
    });
}

Result<bool> PostgresStore::IsActiveGuardian(int64_t guardian, int64_t wearer) {
    return impl_->Read([&](Connection& conn) -> Result<bool> {
        auto rows = conn.Exec(kIsActiveGuardian, Params().Int(guardian).Int(wearer), "check guardian link");
        if (!rows.ok()) return rows.status();
        return !rows->empty();
    });
}

Status PostgresStore::AppendAudit(const AuditEntry& e) {
    return impl_->Write([&](Connection& conn) -> Status {
        return conn
            .Exec(kInsertAudit, Params().Time(e.at).Int(e.actor).Int(e.wearer).Text(e.action).Text(e.detail),
                  "append audit entry")
            .status();
    });
}

Result<std::vector<AuditEntry>> PostgresStore::AuditFor(int64_t wearer, int limit) {
    return impl_->Read([&](Connection& conn) {
        return Collect<AuditEntry>(
            conn.Exec(kSelectAudit, Params().Int(wearer).Int(std::clamp(limit, 1, kMaxAuditRows)), "read audit log"),
            [](const Row& r) {
                AuditEntry e;
                e.at = r.Time(0);
                e.actor = r.Int64(1);
                e.wearer = r.Int64(2);
                e.action = r.Text(3);
                e.detail = r.Text(4);
                return e;
            });
    });
}

// ---------------------------------------------------------------------------
// Phone verification

Status PostgresStore::IssuePhoneCode(const PhoneCode& code, const NewOutboxMessage& sms) {
    return impl_->Write([&](Connection& conn) -> Status {
        auto stored = conn.Exec(kUpsertPhoneCode,
                                Params()
                                    .Int(code.user)
                                    .Text(code.phone)
                                    .Text(code.code_hash)
                                    .Time(code.sent_at)
                                    .Time(code.expires_at)
                                    .OptionalTime(code.verified_at),
                                "store phone code");
        if (!stored.ok()) {
            if (conn.last_sqlstate() == pg::kForeignKeyViolation) return NotFound("user not found");
            return stored.status();
        }
        VG_RETURN_IF_ERROR(conn.Exec(kInsertPhoneCodeSend, Params().Int(code.user).Text(code.phone).Time(code.sent_at),
                                     "log phone code send")
                               .status());
        return WriteOutboxMessage(conn, std::nullopt, sms);
    });
}

Result<PhoneCode> PostgresStore::FindPhoneCode(int64_t user, std::string_view phone) {
    return impl_->Read([&](Connection& conn) {
        return First<PhoneCode>(conn.Exec(kSelectPhoneCode, Params().Int(user).Text(phone), "read phone code"),
                                ReadPhoneCode, NotFound("no code was sent to this number"));
    });
}

Result<PhoneCode> PostgresStore::UsePhoneCodeAttempt(int64_t user, std::string_view phone) {
    PhoneCode after;
    Status status = impl_->Write([&](Connection& conn) -> Status {
        auto row = First<PhoneCode>(
            conn.Exec(kUsePhoneCodeAttempt, Params().Int(user).Text(phone), "count phone code attempt"), ReadPhoneCode,
            NotFound("no code was sent to this number"));
        if (!row.ok()) return row.status();
        after = std::move(row).value();
        return Status::Ok();
    });
    if (!status.ok()) return status;
    return after;
}

Status PostgresStore::MarkPhoneVerified(int64_t user, std::string_view phone, TimePoint at) {
    return impl_->Write([&](Connection& conn) -> Status {
        return ChangedOne(conn.Exec(kMarkPhoneVerified, Params().Int(user).Text(phone).Time(at), "mark phone verified"),
                          NotFound("no code was sent to this number"));
    });
}

Result<bool> PostgresStore::IsPhoneVerified(int64_t user, std::string_view phone) {
    return impl_->Read([&](Connection& conn) -> Result<bool> {
        auto rows = conn.Exec(kSelectPhoneCode, Params().Int(user).Text(phone), "read phone code");
        if (!rows.ok()) return rows.status();
        return !rows->empty() && !Row(*rows, 0).IsNull(6);
    });
}

Result<int64_t> PostgresStore::CountPhoneCodesSentByUser(int64_t user, TimePoint since) {
    return impl_->Read([&](Connection& conn) -> Result<int64_t> {
        auto rows = conn.Exec(kCountPhoneCodesByUser, Params().Int(user).Time(since), "count phone codes");
        if (!rows.ok()) return rows.status();
        return Row(*rows, 0).Int64(0);
    });
}

Result<int64_t> PostgresStore::CountPhoneCodesSentToPhone(std::string_view phone, TimePoint since) {
    return impl_->Read([&](Connection& conn) -> Result<int64_t> {
        auto rows = conn.Exec(kCountPhoneCodesToPhone, Params().Text(phone).Time(since), "count phone codes");
        if (!rows.ok()) return rows.status();
        return Row(*rows, 0).Int64(0);
    });
}

}  // namespace vg::store
