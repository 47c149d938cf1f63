#pragma once
// Private to the api module: what Api::Impl and the route groups (*_routes.hpp) share: cookies, the
// JSON of users and devices, the quotas, the recent-rows limit, the audit entry of an own change.
// Free functions with no state of their own: thread-safe as far as the objects passed in are.

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "vg/api/api.hpp"
#include "vg/api/errors.hpp"
#include "vg/api/json_input.hpp"
#include "vg/api/router.hpp"
#include "vg/auth/rate_limits.hpp"
#include "vg/auth/token_bucket.hpp"
#include "vg/common/clock.hpp"
#include "vg/events/events.hpp"
#include "vg/store/store.hpp"

namespace vg::api {

namespace json = boost::json;

namespace detail {

inline constexpr std::string_view kSessionCookie = "vg_session";

inline bool IsUnsafeMethod(std::string_view method) {
    return method != "GET" && method != "HEAD" && method != "OPTIONS";
}

inline std::string_view Trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

inline std::string CookieValue(const http::Request& request, std::string_view name) {
    for (const auto& h : request.headers) {
        if (h.name != "cookie") continue;
        std::string_view rest = h.value;
        while (!rest.empty()) {
            size_t semi = rest.find(';');
            std::string_view pair = Trim(rest.substr(0, semi));
            rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
            size_t eq = pair.find('=');
            if (eq != std::string_view::npos && Trim(pair.substr(0, eq)) == name) {
                return std::string(Trim(pair.substr(eq + 1)));
            }
        }
    }
    return {};
}

// A session read of another wearer (a guardian's ?wearer=<id>): TargetWearer writes an audit entry
// before it, so such a read cannot be answered on an io thread.
inline bool ReadsAnotherWearer(const RequestContext& ctx) {
    const std::string* requested = ctx.request.query_param("wearer");
    return ctx.auth && requested != nullptr && *requested != ctx.auth->user.profile.id;
}

inline json::value TimeOrNull(const std::optional<TimePoint>& t) {
    if (!t) return nullptr;
    return json::value(FormatIso8601(*t));
}

inline json::object UserJson(const domain::User& user) {
    const domain::UserProfile& p = user.profile;
    json::object o{{"id", p.id},
                   {"name", p.name},
                   {"age", p.age},
                   {"address", p.address},
                   {"detailed_address", p.detailed_address},
                   {"phone_num", p.phone_num},
                   {"guard_name", p.guard_name},
                   {"guard_phone_num", p.guard_phone_num},
                   {"guard_email", p.guard_email},
                   {"time_zone", p.time_zone},
                   {"danger_degree", user.danger_degree},
                   {"created_at", FormatIso8601(user.created_at)}};
    o["user_posture"] = user.user_posture ? json::value(*user.user_posture) : json::value(nullptr);
    o["rule_profile"] = user.rule_profile;
    return o;
}

// How long an address confirmation holds: after it the dashboard asks the wearer whether the address
// 119 would be told is still right. Twice a year: people move, and a wrong address costs minutes when
// an ambulance is sent; asking more often would train the wearer to click it away.
inline constexpr std::chrono::hours kAddressConfirmInterval{180 * 24};

inline json::object DeviceJson(const domain::Device& d) {
    return json::object{{"device_id", d.device_id},
                        {"name", d.name},
                        {"created_at", FormatIso8601(d.created_at)},
                        {"last_seen_at", TimeOrNull(d.last_seen_at)},
                        {"revoked_at", TimeOrNull(d.revoked_at)},
                        {"active", !d.revoked_at.has_value()}};
}

// Reads the vitals fields of one reading object (every metric optional).
inline void ReadVitals(ObjectReader& reader, domain::VitalsReading& reading) {
    for (int i = 0; i < domain::kMetricCount; ++i) {
        const auto m = static_cast<domain::Metric>(i);
        if (auto v = reader.Number(domain::MetricName(m), false)) reading.set(m, *v);
    }
}

// The host part of an origin or Host header value, lower-cased, port kept: "localhost:8080".
inline std::string OriginHostPort(std::string_view origin) {
    size_t scheme = origin.find("://");
    if (scheme != std::string_view::npos) origin.remove_prefix(scheme + 3);
    if (size_t slash = origin.find('/'); slash != std::string_view::npos) origin = origin.substr(0, slash);
    std::string out(origin);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

inline Status Unavailable(std::string_view what) {
    return Status::Error(ErrorCode::kUnavailable, std::string(what) + " is not available on this server.");
}

// A positive whole-number path parameter (`name`); kNotFound for anything else.
inline Result<int64_t> PathId(const RequestContext& ctx, const char* name) {
    auto it = ctx.path_params.find(name);
    int64_t id = 0;
    if (it != ctx.path_params.end()) {
        const std::string& raw = it->second;
        auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), id);
        if (ec == std::errc() && end == raw.data() + raw.size() && id > 0) return id;
    }
    return Status::Error(ErrorCode::kNotFound, "There is no such item.");
}

// The session cookie's Set-Cookie value (Secure with `secure`, ApiOptions::secure_cookies).
inline std::string SessionCookie(const std::string& token, std::chrono::milliseconds max_age, bool secure) {
    std::string c = std::string(kSessionCookie) + "=" + token + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                    std::to_string(std::chrono::duration_cast<std::chrono::seconds>(max_age).count());
    if (secure) c += "; Secure";
    return c;
}

inline void ClearSessionCookie(http::Response& r, bool secure) {
    r.set_header("Set-Cookie", SessionCookie("", std::chrono::milliseconds(0), secure));
}

// vitals_routes.cpp:
// The `?limit=` of the seed's recent-rows reads (get_status, get_posture): 10 by default, 1–1000.
Result<int> RecentRowsLimit(const RequestContext& ctx);
// A daily quota of `per_day` (see ApiOptions) made by `rate_limits` under `name`; null for 0 (none).
std::unique_ptr<auth::TokenBucketLimiter> MakeDailyQuota(auth::RateLimits& rate_limits, std::string_view name,
                                                         const Clock& clock, int64_t per_day);
// Whether a request of `n` readings (or windows: `what`) may go ahead: kRateLimited with Retry-After,
// naming the quota, when the wearer's quota is spent or `n` is more than a day's quota. OK with no quota.
Status CheckQuota(const auth::TokenBucketLimiter* quota, int64_t wearer, size_t n, std::string_view what);
// Charges what the request used (its new readings: duplicates of an earlier upload cost nothing).
void ChargeQuota(auth::TokenBucketLimiter* quota, int64_t wearer, size_t used);
// A quota shared between servers waits on the network (auth::TokenBucketLimiter::waits_on_network). Such a
// quota is checked on a lane that may wait, never on an io thread: true when `ctx`'s handler must move to
// the urgent lane first. It is charged when the request is admitted (ChargesUpFront) rather than on the
// thread that answers, which answers every caller of the bus or the posture queue and must not wait.
bool QuotaMustLeaveIoThread(const auth::TokenBucketLimiter* quota, const RequestContext& ctx);
inline bool ChargesUpFront(const auth::TokenBucketLimiter* quota) {
    return quota != nullptr && quota->waits_on_network();
}

// self_service_routes.cpp: an audit entry of the account's own change (actor and wearer: the account).
// Logged, not failed, when it cannot be written: the change has happened.
void AuditOwnChange(store::AuditStore& audit, const Clock& clock, const RequestContext& ctx, std::string action,
                    std::string detail);

}  // namespace detail

using namespace detail;  // NOLINT(google-build-using-namespace): private header
using events::DetectionJson;
using events::IncidentJson;

}  // namespace vg::api
