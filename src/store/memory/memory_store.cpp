#include "vg/store/memory_store.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>

namespace vg::store {
namespace {

Status Closed() {
    Status status = Status::Error(ErrorCode::kUnavailable, "the store is closed");
    status.WithRetryAfter(1);
    return status;
}
Status NotFound(std::string message) { return Status::Error(ErrorCode::kNotFound, std::move(message)); }
Status Conflict(std::string message) { return Status::Error(ErrorCode::kConflict, std::move(message)); }
// A value outside the limits the domain validates: a caller's bug, refused as SqliteStore's CHECKs refuse it.
Status Invalid(std::string message) { return Status::Error(ErrorCode::kInternal, std::move(message)); }

constexpr int kMaxStatus = 2;   // 0 normal, 1 caution, 2 danger
constexpr int kMaxPosture = 7;  // 0 Downstairs ... 7 Fall

// A guardian link as stored; the users' names are joined in when it is read.
struct LinkRow {
    int64_t id = 0;
    int64_t wearer = 0;
    int64_t guardian = 0;
    std::string state;
    std::string requested_by;
    TimePoint created_at;
    std::optional<TimePoint> accepted_at;
    std::optional<TimePoint> ended_at;
};

// The first `limit` (clamped to [1, max]) of `rows` after ordering them by `newer_first`.
template <typename Row, typename Less>
std::vector<Row> Newest(std::vector<Row> rows, int limit, int max, Less newer_first) {
    std::stable_sort(rows.begin(), rows.end(), newer_first);
    rows.resize(std::min(rows.size(), static_cast<size_t>(std::clamp(limit, 1, max))));
    return rows;
}

// History rows carry no id: the position in append order breaks ties in updated_at, newest first.
template <typename Row>
std::vector<Row> NewestHistory(const std::vector<Row>& appended, int limit) {
    std::vector<std::pair<size_t, const Row*>> order;
    order.reserve(appended.size());
    for (size_t i = 0; i < appended.size(); ++i) order.emplace_back(i, &appended[i]);
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
        return std::tie(a.second->updated_at, a.first) > std::tie(b.second->updated_at, b.first);
    });
    std::vector<Row> rows;
    const size_t n = std::min(order.size(), static_cast<size_t>(std::clamp(limit, 1, kMaxRecentRows)));
    for (size_t i = 0; i < n; ++i) rows.push_back(*order[i].second);
    return rows;
}

}  // namespace

// Rows are kept in storage order per aggregate; ids are counters that only go up.
struct MemoryStore::Tables {
    std::map<int64_t, domain::User> users;  // by unique_num
    std::map<std::string, int64_t, std::less<>> user_ids;
    int64_t last_user = 0;

    std::map<std::string, domain::Session, std::less<>> sessions;  // by token hash

    std::map<int64_t, domain::Device> devices;  // by device_id
    std::map<std::string, int64_t, std::less<>> device_tokens;
    int64_t last_device = 0;

    std::map<int64_t, std::vector<StoredReading>> readings;  // by wearer, in storage order
    std::set<std::pair<int64_t, int64_t>> device_seqs;       // (device_id, device_seq) stored
    int64_t last_reading = 0;

    std::map<int64_t, std::vector<StatusRow>> statuses;  // by wearer, in append order
    std::map<int64_t, std::vector<PostureRow>> postures;

    std::map<int64_t, domain::Incident> incidents;                 // by id
    std::map<int64_t, std::vector<domain::IncidentEvent>> events;  // by incident id, in storage order
    int64_t last_incident = 0;
    int64_t last_event = 0;

    std::map<int64_t, OutboxMessage> outbox;  // by id
    std::set<std::string, std::less<>> outbox_keys;
    int64_t last_outbox = 0;

    std::map<int64_t, FallSuspicion> fall_suspicions;  // by wearer

    std::map<int64_t, LinkRow> links;  // by id
    int64_t last_link = 0;

    std::vector<AuditEntry> audit;  // in append order

    std::map<std::pair<int64_t, std::string>, PhoneCode, std::less<>> phone_codes;  // by (user, phone key)
    std::vector<std::tuple<int64_t, std::string, TimePoint>> phone_code_sends;      // (user, phone, sent_at)

    domain::User* User(int64_t unique_num) {
        auto it = users.find(unique_num);
        return it == users.end() ? nullptr : &it->second;
    }
    // The wearer's open incident other than `except`, if any.
    Result<domain::Incident> PutIncident(const domain::Incident& incident,
                                         std::span<const domain::IncidentEvent> events,
                                         std::span<const NewOutboxMessage> outbox);
    const domain::Incident* OpenIncident(int64_t wearer, int64_t except = 0) const {
        for (const auto& [id, incident] : incidents) {
            if (id != except && incident.wearer == wearer && incident.open()) return &incident;
        }
        return nullptr;
    }
    // A link with its users' names, as SqliteStore's join reads it.
    GuardianLink Link(const LinkRow& row) const {
        GuardianLink l;
        l.id = row.id;
        l.wearer = row.wearer;
        l.guardian = row.guardian;
        if (auto w = users.find(row.wearer); w != users.end()) {
            l.wearer_id = w->second.profile.id;
            l.wearer_name = w->second.profile.name;
        }
        if (auto g = users.find(row.guardian); g != users.end()) {
            l.guardian_id = g->second.profile.id;
            l.guardian_name = g->second.profile.name;
            l.guardian_phone = g->second.profile.phone_num;
        }
        l.state = row.state;
        l.requested_by = row.requested_by;
        l.created_at = row.created_at;
        l.accepted_at = row.accepted_at;
        l.ended_at = row.ended_at;
        return l;
    }
    // A status row for an existing user: its limits, then the row and the user's danger_degree.
    static Status CheckStatus(const StatusRow& row) {
        if (row.status < 0 || row.status > kMaxStatus) {
            return Invalid("status " + std::to_string(row.status) + " is outside 0-2");
        }
        return Status::Ok();
    }
    // A posture row's limits (for an existing user).
    static Status CheckPosture(const PostureRow& row) {
        if (row.posture < 0 || row.posture > kMaxPosture) {
            return Invalid("posture " + std::to_string(row.posture) + " is outside 0-7");
        }
        return Status::Ok();
    }
    // A fall suspicion's limits.
    static Status CheckSuspicion(const FallSuspicion& suspicion) {
        if (suspicion.still_run < 0) return Invalid("still_run " + std::to_string(suspicion.still_run) + " < 0");
        return Status::Ok();
    }
    // Stores the reading; false when (device, seq) was stored before (a retry). REQUIRES: the user (and
    // the device, if any) exist.
    bool PutReading(int64_t user, std::optional<int64_t> device_id, const IncomingReading& in, TimePoint received_at) {
        const std::optional<int64_t> seq = device_id ? in.device_seq : std::nullopt;
        if (seq && !device_seqs.emplace(*device_id, *seq).second) return false;  // a retry
        StoredReading row;
        row.id = ++last_reading;
        row.device_id = device_id;
        row.device_seq = seq;
        row.reading = in.reading;
        row.received_at = received_at;
        readings[user].push_back(std::move(row));
        return true;
    }
    void PutStatus(domain::User& user, const StatusRow& row) {
        user.danger_degree = row.status;
        statuses[row.user_unique_num].push_back(row);
    }
    void PutPosture(domain::User& user, const PostureRow& row) {
        user.user_posture = row.posture;
        postures[row.user_unique_num].push_back(row);
    }
};

template <typename F>
auto MemoryStore::Locked(F&& fn) -> decltype(fn(std::declval<Tables&>())) {
    std::lock_guard lock(mu_);
    if (tables_ == nullptr) return Closed();
    return fn(*tables_);
}

MemoryStore::MemoryStore() : tables_(std::make_unique<Tables>()) {}

MemoryStore::~MemoryStore() = default;

Status MemoryStore::CheckHealth() {
    return Locked([](Tables&) { return Status::Ok(); });
}

void MemoryStore::Close() {
    std::unique_ptr<Tables> dropped;
    {
        std::lock_guard lock(mu_);
        dropped = std::move(tables_);
    }
}

// ---------------------------------------------------------------------------
// Accounts

Result<domain::User> MemoryStore::CreateUser(const NewUser& in) {
    return Locked([&](Tables& t) -> Result<domain::User> {
        if (in.profile.age < domain::kAgeMin || in.profile.age > domain::kAgeMax) {
            return Invalid("age " + std::to_string(in.profile.age) + " is outside 1-130");
        }
        if (t.user_ids.contains(in.profile.id)) {
            return Status::Error(ErrorCode::kConflict, "user id is already taken", {{"id", "is already taken"}});
        }
        domain::User user;
        user.unique_num = ++t.last_user;
        user.profile = in.profile;
        user.password_hash = in.password_hash;
        user.created_at = in.created_at;
        t.user_ids.emplace(in.profile.id, user.unique_num);
        t.users.emplace(user.unique_num, user);
        return user;
    });
}

Result<domain::User> MemoryStore::FindUserById(std::string_view id) {
    return Locked([&](Tables& t) -> Result<domain::User> {
        auto it = t.user_ids.find(id);
        if (it == t.user_ids.end()) return NotFound("user not found");
        return t.users.at(it->second);
    });
}

Result<domain::User> MemoryStore::FindUserByUniqueNum(int64_t unique_num) {
    return Locked([&](Tables& t) -> Result<domain::User> {
        const domain::User* user = t.User(unique_num);
        if (user == nullptr) return NotFound("user not found");
        return *user;
    });
}

Result<bool> MemoryStore::UserIdExists(std::string_view id) {
    return Locked([&](Tables& t) -> Result<bool> { return t.user_ids.contains(id); });
}

Status MemoryStore::CreateSession(const domain::Session& session) {
    return Locked([&](Tables& t) -> Status {
        if (t.sessions.contains(session.token_hash)) return Conflict("session token hash already exists");
        if (t.User(session.user_unique_num) == nullptr) return NotFound("user not found");
        t.sessions.emplace(session.token_hash, session);
        return Status::Ok();
    });
}

Result<domain::Session> MemoryStore::FindSession(std::string_view token_hash) {
    return Locked([&](Tables& t) -> Result<domain::Session> {
        auto it = t.sessions.find(token_hash);
        if (it == t.sessions.end()) return NotFound("session not found");
        return it->second;
    });
}

Status MemoryStore::TouchSession(std::string_view token_hash, TimePoint last_seen_at) {
    return Locked([&](Tables& t) -> Status {
        auto it = t.sessions.find(token_hash);
        if (it == t.sessions.end()) return NotFound("session not found");
        it->second.last_seen_at = last_seen_at;
        return Status::Ok();
    });
}

Status MemoryStore::DeleteSession(std::string_view token_hash) {
    return Locked([&](Tables& t) -> Status {
        auto it = t.sessions.find(token_hash);
        if (it == t.sessions.end()) return NotFound("session not found");
        t.sessions.erase(it);
        return Status::Ok();
    });
}

Result<int64_t> MemoryStore::DeleteExpiredSessions(TimePoint now, TimePoint idle_cutoff) {
    return Locked([&](Tables& t) -> Result<int64_t> {
        return static_cast<int64_t>(std::erase_if(t.sessions, [&](const auto& entry) {
            return entry.second.expires_at <= now || entry.second.last_seen_at < idle_cutoff;
        }));
    });
}

Result<domain::Device> MemoryStore::CreateDevice(const NewDevice& in) {
    return Locked([&](Tables& t) -> Result<domain::Device> {
        if (t.device_tokens.contains(in.token_hash)) return Conflict("device token hash already exists");
        if (t.User(in.user_unique_num) == nullptr) return NotFound("user not found");
        domain::Device device;
        device.device_id = ++t.last_device;
        device.user_unique_num = in.user_unique_num;
        device.name = in.name;
        device.token_hash = in.token_hash;
        device.created_at = in.created_at;
        t.device_tokens.emplace(in.token_hash, device.device_id);
        t.devices.emplace(device.device_id, device);
        return device;
    });
}

Result<domain::Device> MemoryStore::FindDeviceByTokenHash(std::string_view token_hash) {
    return Locked([&](Tables& t) -> Result<domain::Device> {
        auto it = t.device_tokens.find(token_hash);
        if (it == t.device_tokens.end()) return NotFound("device not found");
        return t.devices.at(it->second);
    });
}

Result<std::vector<domain::Device>> MemoryStore::ListDevices(int64_t user_unique_num) {
    return Locked([&](Tables& t) -> Result<std::vector<domain::Device>> {
        std::vector<domain::Device> devices;
        for (const auto& [id, device] : t.devices) {
            if (device.user_unique_num == user_unique_num) devices.push_back(device);
        }
        std::sort(devices.begin(), devices.end(), [](const domain::Device& a, const domain::Device& b) {
            return std::tie(a.created_at, a.device_id) > std::tie(b.created_at, b.device_id);
        });
        return devices;
    });
}

Status MemoryStore::RevokeDevice(int64_t user_unique_num, int64_t device_id, TimePoint at) {
    return Locked([&](Tables& t) -> Status {
        auto it = t.devices.find(device_id);
        // One answer for "no such device", "not yours" and "already revoked".
        if (it == t.devices.end() || it->second.user_unique_num != user_unique_num || it->second.revoked_at) {
            return NotFound("device not found");
        }
        it->second.revoked_at = at;
        return Status::Ok();
    });
}

Status MemoryStore::TouchDevice(int64_t device_id, TimePoint last_seen_at) {
    return Locked([&](Tables& t) -> Status {
        auto it = t.devices.find(device_id);
        if (it == t.devices.end()) return NotFound("device not found");
        it->second.last_seen_at = last_seen_at;
        return Status::Ok();
    });
}

Status MemoryStore::SetRuleProfile(int64_t user_unique_num, std::string_view profile) {
    return Locked([&](Tables& t) -> Status {
        domain::User* user = t.User(user_unique_num);
        if (user == nullptr) return NotFound("user not found");
        user->rule_profile = std::string(profile);
        return Status::Ok();
    });
}

Status MemoryStore::SetGuardEmail(int64_t user_unique_num, std::string_view guard_email,
                                  std::string_view unverify_key) {
    return Locked([&](Tables& t) -> Status {
        domain::User* user = t.User(user_unique_num);
        if (user == nullptr) return NotFound("user not found");
        user->profile.guard_email = std::string(guard_email);
        if (!unverify_key.empty()) t.phone_codes.erase({user_unique_num, std::string(unverify_key)});
        return Status::Ok();
    });
}

// ---------------------------------------------------------------------------
// Self-service and the operator (issues 15, 16)

namespace {
std::vector<std::string> EraseSessionsOf(std::map<std::string, domain::Session, std::less<>>& sessions, int64_t user,
                                         std::string_view keep) {
    std::vector<std::string> deleted;
    for (auto it = sessions.begin(); it != sessions.end();) {
        if (it->second.user_unique_num == user && it->first != keep) {
            deleted.push_back(it->first);
            it = sessions.erase(it);
        } else {
            ++it;
        }
    }
    return deleted;
}
}  // namespace

Result<domain::User> MemoryStore::UpdateUserProfile(const ProfileUpdate& u) {
    return Locked([&](Tables& t) -> Result<domain::User> {
        domain::User* user = t.User(u.user_unique_num);
        if (user == nullptr) return NotFound("user not found");
        const domain::UserProfile& p = u.profile;
        if (p.age < domain::kAgeMin || p.age > domain::kAgeMax) {
            return Invalid("age " + std::to_string(p.age) + " is outside 1-130");
        }
        domain::UserProfile& stored = user->profile;
        stored.name = p.name;
        stored.age = p.age;
        stored.address = p.address;
        stored.detailed_address = p.detailed_address;
        stored.phone_num = p.phone_num;
        stored.guard_name = p.guard_name;
        stored.guard_phone_num = p.guard_phone_num;
        stored.time_zone = p.time_zone;
        if (u.address_confirmed_at) user->address_confirmed_at = u.address_confirmed_at;
        for (const std::string& phone : u.unverify_phones) t.phone_codes.erase({u.user_unique_num, phone});
        return *user;
    });
}

Status MemoryStore::SetAddressConfirmed(int64_t user_unique_num, TimePoint at) {
    return Locked([&](Tables& t) -> Status {
        domain::User* user = t.User(user_unique_num);
        if (user == nullptr) return NotFound("user not found");
        user->address_confirmed_at = at;
        return Status::Ok();
    });
}

Result<std::vector<domain::Session>> MemoryStore::ListSessions(int64_t user_unique_num, int limit) {
    return Locked([&](Tables& t) -> Result<std::vector<domain::Session>> {
        std::vector<domain::Session> out;
        for (const auto& [hash, session] : t.sessions) {
            if (session.user_unique_num == user_unique_num) out.push_back(session);
        }
        std::sort(out.begin(), out.end(), [](const domain::Session& a, const domain::Session& b) {
            if (a.created_at != b.created_at) return a.created_at > b.created_at;
            return a.token_hash < b.token_hash;
        });
        out.resize(std::min(out.size(), static_cast<size_t>(std::clamp(limit, 1, kMaxSessionRows))));
        return out;
    });
}

Result<std::vector<std::string>> MemoryStore::DeleteSessionsExcept(int64_t user_unique_num,
                                                                   std::string_view keep_token_hash) {
    return Locked([&](Tables& t) -> Result<std::vector<std::string>> {
        return EraseSessionsOf(t.sessions, user_unique_num, keep_token_hash);
    });
}

Result<std::vector<std::string>> MemoryStore::SetPasswordHash(int64_t user_unique_num, std::string_view password_hash,
                                                              std::string_view keep_token_hash) {
    return Locked([&](Tables& t) -> Result<std::vector<std::string>> {
        domain::User* user = t.User(user_unique_num);
        if (user == nullptr) return NotFound("user not found");
        user->password_hash = std::string(password_hash);
        return EraseSessionsOf(t.sessions, user_unique_num, keep_token_hash);
    });
}

Result<std::vector<std::string>> MemoryStore::SetUserLock(int64_t user_unique_num, std::optional<TimePoint> at,
                                                          std::string_view reason) {
    return Locked([&](Tables& t) -> Result<std::vector<std::string>> {
        domain::User* user = t.User(user_unique_num);
        if (user == nullptr) return NotFound("user not found");
        user->locked_at = at;
        user->locked_reason = at ? std::string(reason) : std::string();
        if (!at) return std::vector<std::string>();
        return EraseSessionsOf(t.sessions, user_unique_num, "");
    });
}

Result<std::vector<UserSummary>> MemoryStore::ListUserSummaries(int64_t after, int limit) {
    return Locked([&](Tables& t) -> Result<std::vector<UserSummary>> {
        std::vector<UserSummary> out;
        const size_t max = static_cast<size_t>(std::clamp(limit, 1, kMaxSessionRows));
        for (auto it = t.users.upper_bound(after); it != t.users.end() && out.size() < max; ++it) {
            UserSummary s;
            s.user = it->second;
            auto later = [](std::optional<TimePoint>& slot, TimePoint v) {
                if (!slot || v > *slot) slot = v;
            };
            for (const auto& [hash, session] : t.sessions) {
                if (session.user_unique_num != it->first) continue;
                ++s.sessions;
                later(s.last_login_at, session.created_at);
                later(s.last_seen_at, session.last_seen_at);
            }
            for (const auto& [id, device] : t.devices) {
                if (device.user_unique_num != it->first) continue;
                if (!device.revoked_at) ++s.active_devices;
                if (device.last_seen_at) later(s.last_seen_at, *device.last_seen_at);
            }
            out.push_back(std::move(s));
        }
        return out;
    });
}

// ---------------------------------------------------------------------------
// Readings

Result<std::vector<bool>> MemoryStore::AppendReadings(int64_t user_unique_num, std::optional<int64_t> device_id,
                                                      std::span<const IncomingReading> readings,
                                                      TimePoint received_at) {
    return Locked([&](Tables& t) -> Result<std::vector<bool>> {
        if (t.User(user_unique_num) == nullptr) return NotFound("user not found");
        if (device_id && !t.devices.contains(*device_id)) {
            return Invalid("device " + std::to_string(*device_id) + " does not exist");
        }
        std::vector<bool> stored(readings.size(), false);
        for (size_t i = 0; i < readings.size(); ++i) {
            stored[i] = t.PutReading(user_unique_num, device_id, readings[i], received_at);
        }
        return stored;
    });
}

Result<std::vector<StoredReading>> MemoryStore::RecentReadings(int64_t user_unique_num, int limit) {
    return Locked([&](Tables& t) -> Result<std::vector<StoredReading>> {
        auto it = t.readings.find(user_unique_num);
        if (it == t.readings.end()) return std::vector<StoredReading>();
        return Newest(it->second, limit, kMaxRecentRows, [](const StoredReading& a, const StoredReading& b) {
            return std::tie(a.reading.measured_at, a.id) > std::tie(b.reading.measured_at, b.id);
        });
    });
}

Result<std::vector<ReadingBucket>> MemoryStore::SummarizeReadings(int64_t user_unique_num, TimePoint from, TimePoint to,
                                                                  Milliseconds bucket) {
    if (Status s = CheckSummaryRequest(from, to, bucket); !s.ok()) return s;
    return Locked([&](Tables& t) -> Result<std::vector<ReadingBucket>> {
        std::map<int64_t, ReadingBucket> buckets;  // by index from `from`
        std::map<int64_t, std::array<double, domain::kMetricCount>> sums;
        if (auto it = t.readings.find(user_unique_num); it != t.readings.end()) {
            for (const StoredReading& row : it->second) {
                const TimePoint at = row.reading.measured_at;
                if (at < from || at >= to) continue;
                const int64_t index = (at - from) / bucket;
                ReadingBucket& b = buckets[index];
                b.start = from + index * bucket;
                ++b.readings;
                for (int m = 0; m < domain::kMetricCount; ++m) {
                    const auto& value = row.reading.values[static_cast<size_t>(m)];
                    if (!value) continue;
                    MetricSummary& summary = b.metrics[static_cast<size_t>(m)];
                    summary.min = summary.count == 0 ? *value : std::min(summary.min, *value);
                    summary.max = summary.count == 0 ? *value : std::max(summary.max, *value);
                    ++summary.count;
                    sums[index][static_cast<size_t>(m)] += *value;
                }
            }
        }
        std::vector<ReadingBucket> out;
        out.reserve(buckets.size());
        for (auto& [index, b] : buckets) {
            for (size_t m = 0; m < b.metrics.size(); ++m) {
                if (b.metrics[m].count > 0)
                    b.metrics[m].mean = sums[index][m] / static_cast<double>(b.metrics[m].count);
            }
            out.push_back(b);
        }
        return out;
    });
}

Status MemoryStore::ForEachWearerReadingsSince(
    TimePoint since, const std::function<void(int64_t wearer, std::vector<domain::VitalsReading>&& readings)>& fn) {
    Result<std::vector<int64_t>> wearers = Locked([&](Tables& t) -> Result<std::vector<int64_t>> {
        std::vector<int64_t> nums;
        for (const auto& [wearer, rows] : t.readings) nums.push_back(wearer);
        return nums;
    });
    if (!wearers.ok()) return wearers.status();
    // One wearer at a time, and `fn` outside the lock: it may call the store.
    for (int64_t wearer : wearers.value()) {
        Result<std::vector<domain::VitalsReading>> readings =
            Locked([&](Tables& t) -> Result<std::vector<domain::VitalsReading>> {
                std::vector<domain::VitalsReading> out;
                if (auto it = t.readings.find(wearer); it != t.readings.end()) {
                    for (const StoredReading& row : it->second) {  // storage order
                        if (row.reading.measured_at >= since) out.push_back(row.reading);
                    }
                }
                std::stable_sort(out.begin(), out.end(),
                                 [](const auto& a, const auto& b) { return a.measured_at < b.measured_at; });
                return out;
            });
        if (!readings.ok()) return readings.status();
        if (!readings.value().empty()) fn(wearer, std::move(readings).value());
    }
    return Status::Ok();
}

// ---------------------------------------------------------------------------
// UserStatus / UserPosture

Status MemoryStore::AppendStatus(const StatusRow& row) {
    return Locked([&](Tables& t) -> Status {
        domain::User* user = t.User(row.user_unique_num);
        if (user == nullptr) return NotFound("user not found");
        VG_RETURN_IF_ERROR(Tables::CheckStatus(row));
        t.PutStatus(*user, row);
        return Status::Ok();
    });
}

Result<std::vector<Status>> MemoryStore::AppendStatuses(std::span<const StatusRow> rows) {
    return Locked([&](Tables& t) -> Result<std::vector<Status>> {
        // Everything is checked before anything is written: a bad row keeps nothing of the call.
        std::vector<Status> results(rows.size());
        for (size_t i = 0; i < rows.size(); ++i) {
            if (t.User(rows[i].user_unique_num) == nullptr) {
                results[i] = NotFound("user not found");
                continue;
            }
            VG_RETURN_IF_ERROR(Tables::CheckStatus(rows[i]));
        }
        for (size_t i = 0; i < rows.size(); ++i) {
            if (results[i].ok()) t.PutStatus(*t.User(rows[i].user_unique_num), rows[i]);
        }
        return results;
    });
}

Result<std::vector<Status>> MemoryStore::RecordVerdicts(std::span<const VerdictRecord> records) {
    return Locked([&](Tables& t) -> Result<std::vector<Status>> {
        // Everything is checked before anything is written: a bad record keeps nothing of the call.
        std::vector<Status> results(records.size());
        for (size_t i = 0; i < records.size(); ++i) {
            const VerdictRecord& r = records[i];
            if (r.save_suspicion && r.clear_suspicion) {
                return Invalid("a verdict record both saves and clears its fall suspicion");
            }
            if (t.User(r.user_unique_num) == nullptr) {
                results[i] = NotFound("user not found");
                continue;
            }
            if (r.reading && r.device_id && !t.devices.contains(*r.device_id)) {
                return Invalid("device " + std::to_string(*r.device_id) + " does not exist");
            }
            if (r.row) VG_RETURN_IF_ERROR(Tables::CheckStatus(*r.row));
            for (const PostureRow& posture : r.postures) VG_RETURN_IF_ERROR(Tables::CheckPosture(posture));
            if (r.save_suspicion) VG_RETURN_IF_ERROR(Tables::CheckSuspicion(*r.save_suspicion));
            if (r.incident && r.incident->incident.id != 0 && !t.incidents.contains(r.incident->incident.id)) {
                return NotFound("incident " + std::to_string(r.incident->incident.id) + " not found");
            }
        }
        for (size_t i = 0; i < records.size(); ++i) {
            if (!results[i].ok()) continue;
            const VerdictRecord& r = records[i];
            domain::User& user = *t.User(r.user_unique_num);
            if (r.reading) t.PutReading(r.user_unique_num, r.device_id, *r.reading, r.received_at);
            if (r.row) t.PutStatus(user, *r.row);
            for (const PostureRow& posture : r.postures) t.PutPosture(user, posture);
            if (r.save_suspicion) t.fall_suspicions[r.save_suspicion->wearer] = *r.save_suspicion;
            if (r.clear_suspicion) t.fall_suspicions.erase(r.user_unique_num);
            if (r.incident) {
                // Refused before anything of it is written: the record's other writes stand.
                auto saved = t.PutIncident(r.incident->incident, r.incident->events, r.incident->outbox);
                if (!saved.ok()) {
                    if (saved.status().code() != ErrorCode::kConflict) return saved.status();
                    results[i] = saved.status();
                }
            }
        }
        return results;
    });
}

Status MemoryStore::AppendPosture(const PostureRow& row) {
    return Locked([&](Tables& t) -> Status {
        domain::User* user = t.User(row.user_unique_num);
        if (user == nullptr) return NotFound("user not found");
        VG_RETURN_IF_ERROR(Tables::CheckPosture(row));
        t.PutPosture(*user, row);
        return Status::Ok();
    });
}

Result<std::vector<StatusRow>> MemoryStore::RecentStatuses(int64_t user_unique_num, int limit) {
    return Locked([&](Tables& t) -> Result<std::vector<StatusRow>> {
        auto it = t.statuses.find(user_unique_num);
        if (it == t.statuses.end()) return std::vector<StatusRow>();
        return NewestHistory(it->second, limit);
    });
}

Result<std::vector<PostureRow>> MemoryStore::RecentPostures(int64_t user_unique_num, int limit) {
    return Locked([&](Tables& t) -> Result<std::vector<PostureRow>> {
        auto it = t.postures.find(user_unique_num);
        if (it == t.postures.end()) return std::vector<PostureRow>();
        return NewestHistory(it->second, limit);
    });
}

// ---------------------------------------------------------------------------
// Incidents

// SaveIncident on the tables. Checked first, written after: an error leaves everything as it was.
Result<domain::Incident> MemoryStore::Tables::PutIncident(const domain::Incident& incident,
                                                          std::span<const domain::IncidentEvent> new_events,
                                                          std::span<const NewOutboxMessage> messages) {
    Tables& t = *this;
    domain::Incident saved = incident;
    if (incident.id == 0) {
        if (t.User(incident.wearer) == nullptr) return NotFound("user not found");
        if (incident.open() && t.OpenIncident(incident.wearer) != nullptr) {
            return Conflict("The wearer already has an open incident.");
        }
        saved.id = ++t.last_incident;
        saved.version = 1;
    } else {
        auto it = t.incidents.find(incident.id);
        if (it == t.incidents.end()) return NotFound("incident not found");
        if (it->second.version != incident.version) {
            return Conflict("Incident " + std::to_string(incident.id) + " changed meanwhile; reload it.");
        }
        if (t.User(incident.wearer) == nullptr)
            return Invalid("user " + std::to_string(incident.wearer) + " does not exist");
        if (incident.open() && t.OpenIncident(incident.wearer, incident.id) != nullptr) {
            return Conflict("The wearer already has an open incident.");
        }
        saved.version = incident.version + 1;
    }
    t.incidents[saved.id] = saved;
    std::vector<domain::IncidentEvent>& stored_events = t.events[saved.id];
    for (domain::IncidentEvent e : new_events) {
        e.id = ++t.last_event;
        e.incident_id = saved.id;
        stored_events.push_back(std::move(e));
    }
    for (const NewOutboxMessage& m : messages) {
        if (!t.outbox_keys.insert(m.idempotency_key).second) continue;  // written before: skipped
        OutboxMessage row;
        row.id = ++t.last_outbox;
        row.incident_id = saved.id;
        row.channel = m.channel;
        row.recipient = m.recipient;
        row.subject = m.subject;
        row.body = m.body;
        row.payload_json = m.payload_json;
        row.idempotency_key = m.idempotency_key;
        row.created_at = m.created_at;
        row.next_attempt_at = m.next_attempt_at;
        row.state = "pending";
        t.outbox.emplace(row.id, std::move(row));
    }
    return saved;
}

Result<domain::Incident> MemoryStore::SaveIncident(const domain::Incident& incident,
                                                   std::span<const domain::IncidentEvent> events,
                                                   std::span<const NewOutboxMessage> outbox) {
    return Locked([&](Tables& t) -> Result<domain::Incident> { return t.PutIncident(incident, events, outbox); });
}

Result<std::optional<domain::Incident>> MemoryStore::FindOpenIncident(int64_t user_unique_num) {
    return Locked([&](Tables& t) -> Result<std::optional<domain::Incident>> {
        const domain::Incident* open = t.OpenIncident(user_unique_num);
        if (open == nullptr) return std::optional<domain::Incident>();
        return std::optional<domain::Incident>(*open);
    });
}

Result<domain::Incident> MemoryStore::FindIncident(int64_t incident_id) {
    return Locked([&](Tables& t) -> Result<domain::Incident> {
        auto it = t.incidents.find(incident_id);
        if (it == t.incidents.end()) return NotFound("incident not found");
        return it->second;
    });
}

Result<std::vector<domain::Incident>> MemoryStore::ListIncidents(int64_t user_unique_num, int limit) {
    return Locked([&](Tables& t) -> Result<std::vector<domain::Incident>> {
        std::vector<domain::Incident> rows;
        for (const auto& [id, incident] : t.incidents) {
            if (incident.wearer == user_unique_num) rows.push_back(incident);
        }
        return Newest(std::move(rows), limit, kMaxRecentRows, [](const domain::Incident& a, const domain::Incident& b) {
            return std::tie(a.opened_at, a.id) > std::tie(b.opened_at, b.id);
        });
    });
}

Result<std::vector<domain::Incident>> MemoryStore::DueIncidents(TimePoint now, int limit) {
    return Locked([&](Tables& t) -> Result<std::vector<domain::Incident>> {
        std::vector<std::pair<TimePoint, const domain::Incident*>> due;
        for (const auto& [id, incident] : t.incidents) {
            if (auto at = incident.NextDue(); at && *at <= now) due.emplace_back(*at, &incident);
        }
        std::sort(due.begin(), due.end(), [](const auto& a, const auto& b) {
            return std::tie(a.first, a.second->id) < std::tie(b.first, b.second->id);
        });
        std::vector<domain::Incident> rows;
        const size_t n = std::min(due.size(), static_cast<size_t>(std::clamp(limit, 1, kMaxDueIncidents)));
        for (size_t i = 0; i < n; ++i) rows.push_back(*due[i].second);
        return rows;
    });
}

Result<std::optional<TimePoint>> MemoryStore::NextIncidentDue() {
    return Locked([&](Tables& t) -> Result<std::optional<TimePoint>> {
        std::optional<TimePoint> next;
        for (const auto& [id, incident] : t.incidents) {
            if (auto at = incident.NextDue(); at && (!next || *at < *next)) next = at;
        }
        return next;
    });
}

Result<std::vector<OpenIncidentPhase>> MemoryStore::OpenIncidentsByPhase() {
    return Locked([&](Tables& t) -> Result<std::vector<OpenIncidentPhase>> {
        std::map<domain::IncidentPhase, OpenIncidentPhase> by_phase;
        for (const auto& [id, incident] : t.incidents) {
            if (!incident.open()) continue;
            OpenIncidentPhase& p =
                by_phase.try_emplace(incident.phase, OpenIncidentPhase{incident.phase, 0, {}}).first->second;
            ++p.incidents;
            if (incident.deadline && (!p.earliest_deadline || *incident.deadline < *p.earliest_deadline)) {
                p.earliest_deadline = incident.deadline;
            }
        }
        std::vector<OpenIncidentPhase> phases;
        for (auto& [phase, p] : by_phase) phases.push_back(p);
        return phases;
    });
}

Result<std::vector<domain::IncidentEvent>> MemoryStore::IncidentEvents(int64_t incident_id) {
    return Locked([&](Tables& t) -> Result<std::vector<domain::IncidentEvent>> {
        auto it = t.events.find(incident_id);
        if (it == t.events.end()) return std::vector<domain::IncidentEvent>();
        return it->second;
    });
}

// ---------------------------------------------------------------------------
// Outbox

Result<std::vector<OutboxMessage>> MemoryStore::ClaimOutbox(TimePoint now, size_t max_items, Milliseconds lease) {
    return Locked([&](Tables& t) -> Result<std::vector<OutboxMessage>> {
        std::vector<OutboxMessage*> due;
        for (auto& [id, m] : t.outbox) {
            const bool pending_due = m.state == "pending" && m.next_attempt_at <= now;
            const bool lease_ran_out = m.state == "delivering" && m.leased_until && *m.leased_until < now;
            if (pending_due || lease_ran_out) due.push_back(&m);
        }
        std::sort(due.begin(), due.end(), [](const OutboxMessage* a, const OutboxMessage* b) {
            return std::tie(a->next_attempt_at, a->id) < std::tie(b->next_attempt_at, b->id);
        });
        due.resize(std::min(due.size(), std::min(max_items, kMaxOutboxClaim)));
        std::vector<OutboxMessage> claimed;
        for (OutboxMessage* m : due) {
            m->state = "delivering";
            m->leased_until = now + lease;
            ++m->attempts;
            claimed.push_back(*m);
        }
        return claimed;
    });
}

Status MemoryStore::MarkOutboxDelivered(int64_t id, int, TimePoint at, const std::string& detail) {
    return Locked([&](Tables& t) -> Status {
        auto it = t.outbox.find(id);
        if (it == t.outbox.end() || it->second.state == "delivered") return Conflict("already delivered or unknown");
        OutboxMessage& m = it->second;
        m.state = "delivered";
        m.leased_until.reset();
        m.last_attempt_at = at;
        m.delivered_at = at;
        m.delivered_detail = detail;
        return Status::Ok();
    });
}

Status MemoryStore::MarkOutboxFailed(int64_t id, int attempt, TimePoint at, const std::string& error,
                                     std::optional<TimePoint> retry_at) {
    return Locked([&](Tables& t) -> Status {
        auto it = t.outbox.find(id);
        if (it == t.outbox.end() || it->second.state != "delivering" || it->second.attempts != attempt) {
            return Conflict("the attempt is no longer current");
        }
        OutboxMessage& m = it->second;
        m.state = retry_at ? "pending" : "failed";
        if (retry_at) m.next_attempt_at = *retry_at;
        m.leased_until.reset();
        m.last_attempt_at = at;
        m.last_error = error;
        return Status::Ok();
    });
}

Status MemoryStore::ReleaseOutbox(int64_t id, int attempt) {
    return Locked([&](Tables& t) -> Status {
        auto it = t.outbox.find(id);
        if (it == t.outbox.end() || it->second.state != "delivering" || it->second.attempts != attempt) {
            return Conflict("the attempt is no longer current");
        }
        OutboxMessage& m = it->second;
        m.state = "pending";
        m.leased_until.reset();
        --m.attempts;
        return Status::Ok();
    });
}

Result<std::vector<OutboxBacklog>> MemoryStore::OutboxBacklogByChannel() {
    return Locked([&](Tables& t) -> Result<std::vector<OutboxBacklog>> {
        std::map<std::string, OutboxBacklog> by_channel;
        for (const auto& [id, m] : t.outbox) {
            if (m.state != "pending" && m.state != "delivering") continue;
            auto [it, fresh] = by_channel.try_emplace(m.channel, OutboxBacklog{m.channel, 0, m.created_at});
            ++it->second.messages;
            if (!fresh && m.created_at < it->second.oldest_created_at) it->second.oldest_created_at = m.created_at;
        }
        std::vector<OutboxBacklog> backlog;
        for (auto& [channel, b] : by_channel) backlog.push_back(std::move(b));
        return backlog;
    });
}

Result<std::optional<TimePoint>> MemoryStore::NextOutboxWake() {
    return Locked([&](Tables& t) -> Result<std::optional<TimePoint>> {
        std::optional<TimePoint> wake;
        auto consider = [&](TimePoint at) {
            if (!wake || at < *wake) wake = at;
        };
        for (const auto& [id, m] : t.outbox) {
            if (m.state == "pending") consider(m.next_attempt_at);
            if (m.state == "delivering" && m.leased_until) consider(*m.leased_until);
        }
        return wake;
    });
}

Result<OutboxMessage> MemoryStore::FindOutbox(int64_t id) {
    return Locked([&](Tables& t) -> Result<OutboxMessage> {
        auto it = t.outbox.find(id);
        if (it == t.outbox.end()) return NotFound("outbox message not found");
        return it->second;
    });
}

Result<std::vector<OutboxMessage>> MemoryStore::IncidentOutbox(int64_t incident_id) {
    return Locked([&](Tables& t) -> Result<std::vector<OutboxMessage>> {
        std::vector<OutboxMessage> rows;
        for (const auto& [id, m] : t.outbox) {
            if (m.incident_id == incident_id) rows.push_back(m);
        }
        return rows;
    });
}

// ---------------------------------------------------------------------------
// Suspected falls

Status MemoryStore::SaveFallSuspicion(const FallSuspicion& suspicion) {
    return Locked([&](Tables& t) -> Status {
        VG_RETURN_IF_ERROR(Tables::CheckSuspicion(suspicion));
        if (t.User(suspicion.wearer) == nullptr) return NotFound("user not found");
        t.fall_suspicions[suspicion.wearer] = suspicion;
        return Status::Ok();
    });
}

Status MemoryStore::ClearFallSuspicion(int64_t wearer) {
    return Locked([&](Tables& t) -> Status {
        t.fall_suspicions.erase(wearer);
        return Status::Ok();
    });
}

Result<std::vector<FallSuspicion>> MemoryStore::ListFallSuspicions() {
    return Locked([&](Tables& t) -> Result<std::vector<FallSuspicion>> {
        std::vector<FallSuspicion> rows;
        for (const auto& [wearer, suspicion] : t.fall_suspicions) rows.push_back(suspicion);
        return rows;
    });
}

// ---------------------------------------------------------------------------
// Guardian links and the audit log

Result<GuardianLink> MemoryStore::CreateGuardianLink(int64_t wearer, int64_t guardian, std::string_view requested_by,
                                                     TimePoint at) {
    return Locked([&](Tables& t) -> Result<GuardianLink> {
        if (wearer == guardian) {
            return Status::Error(ErrorCode::kValidationFailed, "A wearer cannot be their own guardian.");
        }
        for (const auto& [id, l] : t.links) {
            if (l.wearer == wearer && l.guardian == guardian && l.state != "ended") {
                return Conflict("These two accounts are already linked or asked to be.");
            }
        }
        if (t.User(wearer) == nullptr || t.User(guardian) == nullptr) return NotFound("user not found");
        LinkRow row;
        row.id = ++t.last_link;
        row.wearer = wearer;
        row.guardian = guardian;
        row.state = "pending";
        row.requested_by = std::string(requested_by);
        row.created_at = at;
        t.links.emplace(row.id, row);
        return t.Link(row);
    });
}

Result<GuardianLink> MemoryStore::FindGuardianLink(int64_t link_id) {
    return Locked([&](Tables& t) -> Result<GuardianLink> {
        auto it = t.links.find(link_id);
        if (it == t.links.end()) return NotFound("guardian link not found");
        return t.Link(it->second);
    });
}

Status MemoryStore::AcceptGuardianLink(int64_t link_id, TimePoint at) {
    return Locked([&](Tables& t) -> Status {
        auto it = t.links.find(link_id);
        if (it == t.links.end() || it->second.state != "pending") {
            return Conflict("The link is not waiting to be accepted.");
        }
        it->second.state = "active";
        it->second.accepted_at = at;
        return Status::Ok();
    });
}

Status MemoryStore::EndGuardianLink(int64_t link_id, TimePoint at) {
    return Locked([&](Tables& t) -> Status {
        auto it = t.links.find(link_id);
        if (it == t.links.end() || it->second.state == "ended") return Conflict("The link has already ended.");
        it->second.state = "ended";
        it->second.ended_at = at;
        return Status::Ok();
    });
}

Result<std::vector<GuardianLink>> MemoryStore::ListGuardianLinks(int64_t user) {
    return Locked([&](Tables& t) -> Result<std::vector<GuardianLink>> {
        std::vector<const LinkRow*> rows;
        for (const auto& [id, l] : t.links) {
            if ((l.wearer == user || l.guardian == user) && l.state != "ended") rows.push_back(&l);
        }
        std::sort(rows.begin(), rows.end(), [](const LinkRow* a, const LinkRow* b) {
            return std::tie(a->created_at, a->id) > std::tie(b->created_at, b->id);
        });
        std::vector<GuardianLink> links;
        for (const LinkRow* l : rows) links.push_back(t.Link(*l));
        return links;
    });
}

Result<std::vector<GuardianLink>> MemoryStore::ActiveGuardians(int64_t wearer) {
    return Locked([&](Tables& t) -> Result<std::vector<GuardianLink>> {
        std::vector<GuardianLink> links;
        for (const auto& [id, l] : t.links) {  // by id: oldest link first
            if (l.wearer == wearer && l.state == "active") links.push_back(t.Link(l));
        }
        return links;
    });
}

Result<bool> MemoryStore::IsActiveGuardian(int64_t guardian, int64_t wearer) {
    return Locked([&](Tables& t) -> Result<bool> {
        return std::any_of(t.links.begin(), t.links.end(), [&](const auto& entry) {
            const LinkRow& l = entry.second;
            return l.guardian == guardian && l.wearer == wearer && l.state == "active";
        });
    });
}

Status MemoryStore::AppendAudit(const AuditEntry& entry) {
    return Locked([&](Tables& t) -> Status {
        t.audit.push_back(entry);
        return Status::Ok();
    });
}

Result<std::vector<AuditEntry>> MemoryStore::AuditFor(int64_t wearer, int limit) {
    return Locked([&](Tables& t) -> Result<std::vector<AuditEntry>> {
        // Walking the log backwards gives newest-appended first, which a stable sort keeps for ties in `at`.
        std::vector<AuditEntry> rows;
        for (auto it = t.audit.rbegin(); it != t.audit.rend(); ++it) {
            if (it->wearer == wearer) rows.push_back(*it);
        }
        return Newest(std::move(rows), limit, kMaxAuditRows,
                      [](const AuditEntry& a, const AuditEntry& b) { return a.at > b.at; });
    });
}

// ---------------------------------------------------------------------------
// Phone verification

Status MemoryStore::IssuePhoneCode(const PhoneCode& code, const NewOutboxMessage& sms) {
    return Locked([&](Tables& t) -> Status {
        if (t.User(code.user) == nullptr) return Status::Error(ErrorCode::kNotFound, "user not found");
        PhoneCode row = code;
        row.attempts = 0;
        t.phone_codes[{code.user, code.phone}] = row;
        t.phone_code_sends.emplace_back(code.user, code.phone, code.sent_at);
        if (t.outbox_keys.insert(sms.idempotency_key).second) {
            OutboxMessage m;
            m.id = ++t.last_outbox;
            m.channel = sms.channel;
            m.recipient = sms.recipient;
            m.subject = sms.subject;
            m.body = sms.body;
            m.payload_json = sms.payload_json;
            m.idempotency_key = sms.idempotency_key;
            m.created_at = sms.created_at;
            m.next_attempt_at = sms.next_attempt_at;
            m.state = "pending";
            t.outbox.emplace(m.id, std::move(m));
        }
        return Status::Ok();
    });
}

Result<PhoneCode> MemoryStore::FindPhoneCode(int64_t user, std::string_view phone) {
    return Locked([&](Tables& t) -> Result<PhoneCode> {
        auto it = t.phone_codes.find(std::pair<int64_t, std::string>(user, std::string(phone)));
        if (it == t.phone_codes.end()) return Status::Error(ErrorCode::kNotFound, "no code was sent to this number");
        return it->second;
    });
}

Result<PhoneCode> MemoryStore::UsePhoneCodeAttempt(int64_t user, std::string_view phone) {
    return Locked([&](Tables& t) -> Result<PhoneCode> {
        auto it = t.phone_codes.find(std::pair<int64_t, std::string>(user, std::string(phone)));
        if (it == t.phone_codes.end()) return Status::Error(ErrorCode::kNotFound, "no code was sent to this number");
        ++it->second.attempts;
        return it->second;
    });
}

Status MemoryStore::MarkPhoneVerified(int64_t user, std::string_view phone, TimePoint at) {
    return Locked([&](Tables& t) -> Status {
        auto it = t.phone_codes.find(std::pair<int64_t, std::string>(user, std::string(phone)));
        if (it == t.phone_codes.end()) return Status::Error(ErrorCode::kNotFound, "no code was sent to this number");
        if (!it->second.verified_at) it->second.verified_at = at;
        return Status::Ok();
    });
}

Result<bool> MemoryStore::IsPhoneVerified(int64_t user, std::string_view phone) {
    return Locked([&](Tables& t) -> Result<bool> {
        auto it = t.phone_codes.find(std::pair<int64_t, std::string>(user, std::string(phone)));
        return it != t.phone_codes.end() && it->second.verified_at.has_value();
    });
}

Result<int64_t> MemoryStore::CountPhoneCodesSentByUser(int64_t user, TimePoint since) {
    return Locked([&](Tables& t) -> Result<int64_t> {
        int64_t n = 0;
        for (const auto& [u, phone, at] : t.phone_code_sends) n += (u == user && at >= since) ? 1 : 0;
        return n;
    });
}

Result<int64_t> MemoryStore::CountPhoneCodesSentToPhone(std::string_view phone, TimePoint since) {
    return Locked([&](Tables& t) -> Result<int64_t> {
        int64_t n = 0;
        for (const auto& [u, p, at] : t.phone_code_sends) n += (p == phone && at >= since) ? 1 : 0;
        return n;
    });
}

}  // namespace vg::store
