#pragma once
// Private to the api module: the Impl behind Api, shared by api.cpp (dispatch, security,
// operations routes) and the *_routes.cpp files (one per group of routes).

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <thread>
#include <unordered_map>

#include "client_address.hpp"
#include "vg/api/api.hpp"
#include "vg/api/errors.hpp"
#include "vg/api/json_input.hpp"
#include "vg/api/router.hpp"
#include "vg/auth/token_bucket.hpp"
#include "vg/escalation/phone_verification.hpp"
#include "vg/events/events.hpp"
#include "vg/live/stream_registry.hpp"
#include "vg/models/fusion.hpp"
#include "vg/posture/posture_service.hpp"

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

}  // namespace detail

using namespace detail;  // NOLINT(google-build-using-namespace): private header
using events::DetectionJson;
using events::IncidentJson;

// The posture service's metrics hooks as Prometheus metrics (called on posture worker threads and HTTP
// workers; prometheus-cpp metrics are thread-safe).
class PosturePrometheus final : public posture::PostureMetrics {
  public:
    explicit PosturePrometheus(prometheus::Registry& registry)
        : classified_(prometheus::BuildCounter()
                          .Name("vitalguard_posture_windows_classified_total")
                          .Help("IMU windows classified by the posture model (stitched boundary windows included)")
                          .Register(registry)
                          .Add({})),
          latency_(prometheus::BuildHistogram()
                       .Name("vitalguard_posture_classification_seconds")
                       .Help("Time of one call of the posture model (all windows of one request)")
                       .Register(registry)
                       .Add({}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                                        0.1, 0.25, 0.5, 1})),
          falls_(prometheus::BuildCounter()
                     .Name("vitalguard_posture_falls_total")
                     .Help("Fall transitions by state: suspected, confirmed, dismissed")
                     .Register(registry)),
          suspected_(falls_.Add({{"state", "suspected"}})),
          confirmed_(falls_.Add({{"state", "confirmed"}})),
          dismissed_(falls_.Add({{"state", "dismissed"}})),
          rejected_(prometheus::BuildCounter()
                        .Name("vitalguard_posture_queue_rejections_total")
                        .Help("IMU windows refused because the posture queue was full (answered 503)")
                        .Register(registry)
                        .Add({})),
          judged_(prometheus::BuildCounter()
                      .Name("vitalguard_fall_impacts_judged_total")
                      .Help("Impacts the fall event model decided, by decision: fall, not_fall")
                      .Register(registry)),
          judged_fall_(judged_.Add({{"decision", "fall"}})),
          judged_not_fall_(judged_.Add({{"decision", "not_fall"}})) {}

    void OnClassified(size_t windows, double seconds) override {
        classified_.Increment(static_cast<double>(windows));
        latency_.Observe(seconds);
    }
    void OnFallTransition(posture::FallState state) override {
        if (state == posture::FallState::kSuspected) suspected_.Increment();
        if (state == posture::FallState::kConfirmed) confirmed_.Increment();
        if (state == posture::FallState::kDismissed) dismissed_.Increment();
    }
    void OnRejected(size_t windows) override { rejected_.Increment(static_cast<double>(windows)); }
    void OnImpactJudged(bool fall) override { (fall ? judged_fall_ : judged_not_fall_).Increment(); }

  private:
    prometheus::Counter& classified_;
    prometheus::Histogram& latency_;
    prometheus::Family<prometheus::Counter>& falls_;
    prometheus::Counter& suspected_;
    prometheus::Counter& confirmed_;
    prometheus::Counter& dismissed_;
    prometheus::Counter& rejected_;
    prometheus::Family<prometheus::Counter>& judged_;
    prometheus::Counter& judged_fall_;
    prometheus::Counter& judged_not_fall_;
};

// Runs `tick` every `interval` on a thread of its own until destroyed (the live streams' session
// sweeper). The destructor stops and joins the thread.
class StreamSweeper {
  public:
    StreamSweeper(std::chrono::milliseconds interval, std::function<void()> tick)
        : thread_([this, interval, tick = std::move(tick)] {
              std::unique_lock lock(mu_);
              while (!cv_.wait_for(lock, interval, [this] { return stop_; })) {
                  lock.unlock();
                  tick();
                  lock.lock();
              }
          }) {}
    ~StreamSweeper() {
        {
            std::lock_guard lock(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }
    StreamSweeper(const StreamSweeper&) = delete;
    StreamSweeper& operator=(const StreamSweeper&) = delete;

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;   // GUARDED_BY(mu_)
    std::thread thread_;  // last: starts once the members above exist
};

class Api::Impl {
  public:
    Impl(Api& api, ApiServices services, ApiOptions options)
        : api_(api),
          accounts_(services.accounts),
          store_(services.store),
          clock_(services.clock),
          ingest_(services.ingest),
          live_(services.live),
          profiles_(services.profiles),
          on_rule_profile_changed_(std::move(services.on_rule_profile_changed)),
          escalation_(services.escalation),
          knowledge_(services.knowledge),
          rewriter_(services.rewriter),
          status_model_(services.status_model),
          cause_model_(services.cause_model),
          posture_(services.posture),
          options_(std::move(options)),
          check_id_limiter_(services.clock, {options_.check_id_per_minute, std::chrono::minutes(1), 100'000}),
          guardian_request_limiter_(services.clock,
                                    {options_.guardian_requests_per_hour, std::chrono::hours(1), 100'000}),
          streams_(static_cast<size_t>(std::max(1, options_.max_streams_per_user))),
          registry_(services.metrics_registry ? services.metrics_registry : std::make_shared<prometheus::Registry>()),
          requests_(prometheus::BuildCounter()
                        .Name("vitalguard_http_requests_total")
                        .Help("HTTP requests answered, by method, route pattern and status code")
                        .Register(*registry_)),
          latency_(prometheus::BuildHistogram()
                       .Name("vitalguard_http_request_duration_seconds")
                       .Help("Time from a complete request to its response, by method and route pattern")
                       .Register(*registry_)) {
        AddRoutes();
        if (live_ != nullptr) {
            stream_sweeper_ =
                std::make_unique<StreamSweeper>(std::chrono::milliseconds(250), [this] { SweepStreams(); });
        }
        if (escalation_ != nullptr) {
            // Codes go out through the outbox, which the delivery worker polls (within its max idle wait).
            escalation::PhoneVerificationOptions phone_options;
            phone_options.language = escalation_->options().language;
            phone_options.email_enabled = escalation_->options().email_enabled;
            phones_ = std::make_unique<escalation::PhoneVerificationService>(store_, clock_, phone_options);
        }
        if (posture_ != nullptr) {
            posture_metrics_ = std::make_unique<PosturePrometheus>(*registry_);
            posture_->SetMetrics(posture_metrics_.get());
        }
    }
    ~Impl() {
        stream_sweeper_.reset();  // joins its thread before the registry and the services go
        if (posture_ != nullptr) posture_->SetMetrics(nullptr);  // waits for a hook call in progress
    }

    http::Response Handle(const http::Request& request) {
        const auto started = std::chrono::steady_clock::now();
        std::string route_label = "unmatched";
        http::Response response = Dispatch(request, route_label);
        // Not an answer: the server runs this request again on the worker lane, which records it.
        if (response.run_on_worker) return response;
        if (response.pending) {
            // Answered later (update_status, once its verdict is durable): the same finishing then. The
            // server runs finishers only while it runs, i.e. before this Api is destroyed.
            response.OnAnswer([this, started, route_label, method = request.method, path = request.path,
                               client = ClientAddress(request)](http::Response& answer) {
                Finish(answer, started, method, path, route_label, client);
            });
            return response;
        }
        Finish(response, started, request.method, request.path, route_label, ClientAddress(request));
        return response;
    }

    // Common headers, the route's request counter and latency, and the access log line.
    void Finish(http::Response& response, std::chrono::steady_clock::time_point started, const std::string& method,
                const std::string& path, const std::string& route_label, const std::string& client) {
        ApplyCommonHeaders(response);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        const RouteMetrics metrics = MetricsFor(KnownMethod(method), route_label, response.status);
        metrics.requests->Increment();
        metrics.latency->Observe(seconds);
        if (route_label != "/metrics" && route_label != "/healthz" && route_label != "/readyz" &&
            spdlog::should_log(spdlog::level::info)) {
            spdlog::info("{} {} {} {:.1f}ms client={}", method, path, response.status, seconds * 1000, client);
        }
    }

    prometheus::Registry& registry() { return *registry_; }

  private:
    // One (method, route, status)'s request counter and latency histogram.
    struct RouteMetrics {
        prometheus::Counter* requests;
        prometheus::Histogram* latency;
    };

    // Looked up once per label set, then from a cache (Family::Add builds and hashes a label map under
    // the family's lock on every call). The label sets are bounded: known methods, route patterns,
    // status codes.
    RouteMetrics MetricsFor(const std::string& method, const std::string& route, int status) {
        const std::string status_text = std::to_string(status);
        std::string key;
        key.reserve(method.size() + route.size() + status_text.size() + 2);
        key.append(method).append(" ").append(route).append(" ").append(status_text);
        {
            std::shared_lock lock(metrics_cache_mu_);
            if (auto it = metrics_cache_.find(key); it != metrics_cache_.end()) return it->second;
        }
        RouteMetrics metrics{
            &requests_.Add({{"method", method}, {"route", route}, {"status", status_text}}),
            &latency_.Add({{"method", method}, {"route", route}},
                          prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                                  0.25, 0.5, 1, 2.5})};
        std::unique_lock lock(metrics_cache_mu_);
        metrics_cache_.emplace(std::move(key), metrics);
        return metrics;
    }

    static std::string KnownMethod(std::string_view m) {
        for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
            if (m == known) return std::string(m);
        }
        return "other";  // keeps the label set bounded
    }

    // The peer, or the client a trusted proxy names (client_address.hpp): never an entry the client wrote.
    std::string ClientAddress(const http::Request& request) const {
        return ClientAddressOf(request, options_.trusted_proxies);
    }

    void ApplyCommonHeaders(http::Response& r) const {
        // The dashboard's files bring their own caching and policy (static_routes.cpp).
        auto has = [&](std::string_view name) {
            return std::any_of(r.headers.begin(), r.headers.end(), [&](const http::Header& h) {
                return std::equal(h.name.begin(), h.name.end(), name.begin(), name.end(),
                                  [](char a, char b) { return std::tolower(a) == std::tolower(b); });
            });
        };
        if (!has("cache-control")) r.set_header("Cache-Control", "no-store");
        r.set_header("X-Content-Type-Options", "nosniff");
        r.set_header("Referrer-Policy", "no-referrer");
        r.set_header("X-Frame-Options", "DENY");
        if (!has("content-security-policy")) {
            r.set_header("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
        }
    }
    // static_routes.cpp: the dashboard's files, or nullopt when `request` is not for one.
    std::optional<http::Response> ServeStatic(const http::Request& request) const;

    Status CheckOrigin(const http::Request& request) const {
        std::string_view origin = request.header("origin");
        if (origin.empty()) return Status::Ok();  // not a browser cross-site request
        const std::string origin_host = OriginHostPort(origin);
        if (origin_host == OriginHostPort(request.header("host"))) return Status::Ok();
        for (const auto& allowed : options_.allowed_origins) {
            if (OriginHostPort(allowed) == origin_host) return Status::Ok();
        }
        return Status::Error(ErrorCode::kForbidden,
                             "Requests that change data must come from VitalGuard's own pages (origin " +
                                 std::string(origin) + " is not allowed).");
    }

    http::Response Dispatch(const http::Request& request, std::string& route_label) {
        Router::Match match = router_.Find(request.method, request.path);
        if (!match.route) {
            if (!match.allowed_methods.empty()) {
                std::string allow;
                for (const auto& m : match.allowed_methods) allow += (allow.empty() ? "" : ", ") + m;
                http::Response r = ErrorResponse(Status::Error(
                    ErrorCode::kMethodNotAllowed, request.method + " is not supported here; use " + allow + "."));
                r.set_header("Allow", allow);
                return r;
            }
            if (auto page = ServeStatic(request)) {
                route_label = "static";
                return std::move(*page);
            }
            return ErrorResponse(Status::Error(ErrorCode::kNotFound, "There is no such page or API: " + request.path));
        }
        route_label = match.route->pattern;
        RequestContext ctx{request, ClientAddress(request), std::move(match.params), std::nullopt, {}, std::nullopt};
        const bool unsafe = IsUnsafeMethod(request.method);
        if (unsafe) {
            if (Status s = CheckOrigin(request); !s.ok()) return ErrorResponse(s);
        }
        const Access access = match.route->access;
        const std::string_view authorization = request.header("authorization");
        const bool bearer = authorization.size() > 7 &&
                            (authorization.substr(0, 7) == "Bearer " || authorization.substr(0, 7) == "bearer ");
        // On an io thread (Lane::kInline) nothing may wait on a commit: what would write goes to the workers.
        const bool on_io_thread = request.lane == http::Lane::kInline;
        // A hot path authenticates from the short-lived copies of sessions and devices (at most
        // credential_cache_ttl old), on whichever lane it runs; what cannot be answered from a copy
        // without a write moves to the route's own lane.
        const bool hot = match.route->hot != HotPath::kNo;
        const http::Lane fallback_lane = hot ? match.route->lane : http::Lane::kWorker;
        if (access == Access::kDevice || (access == Access::kSessionOrDevice && bearer)) {
            // A device token is not a cookie: a browser never sends it on its own, so no CSRF check.
            const std::string_view token = bearer ? Trim(authorization.substr(7)) : std::string_view();
            std::optional<Result<domain::Device>> device;
            // On an io thread only a copy will do: a store read there delays every connection on it.
            if (hot) device = accounts_.TryAuthenticateDeviceCached(token, /*read_store=*/!on_io_thread);
            if (!device) {
                // Authenticating a device may write its last use.
                if (on_io_thread) return http::Response::RunOn(fallback_lane);
                device = accounts_.AuthenticateDevice(token);
            }
            if (!device->ok()) return ErrorResponse(device->status());
            ctx.device = std::move(*device).value();
        } else if (access == Access::kSession || access == Access::kSessionOrDevice) {
            ctx.session_token = CookieValue(request, kSessionCookie);
            std::optional<Result<auth::AuthContext>> attempt;
            if (hot) attempt = accounts_.TryAuthenticateCached(ctx.session_token, /*read_store=*/!on_io_thread);
            if (attempt) {
                // answered from a copy, or from the store without a write
            } else if (on_io_thread) {
                if (!hot) attempt = accounts_.TryAuthenticateWithoutWriting(ctx.session_token);
                // A touch or an expiry is to be written.
                if (!attempt) return http::Response::RunOn(fallback_lane);
            } else {
                attempt = accounts_.Authenticate(ctx.session_token);
            }
            Result<auth::AuthContext>& auth = *attempt;
            if (!auth.ok()) {
                http::Response r = ErrorResponse(auth.status());
                if (!ctx.session_token.empty()) ClearSessionCookie(r);
                return r;
            }
            if (unsafe) {
                std::string_view csrf = request.header("x-csrf-token");
                if (!auth::SecretsEqual(csrf, auth->session.csrf_token)) {
                    return ErrorResponse(Status::Error(
                        ErrorCode::kCsrfFailed,
                        csrf.empty() ? "This request needs the X-CSRF-Token header from your login."
                                     : "The X-CSRF-Token header does not match your session. Please reload the page."));
                }
            }
            ctx.auth = std::move(auth).value();
        }
        try {
            http::Response response = match.route->handler(ctx);
            if (request.method == "HEAD") {
                if (response.pending) response.OnAnswer([](http::Response& answer) { answer.body.clear(); });
                response.body.clear();
            }
            return response;
        } catch (const std::exception& e) {
            spdlog::error("handler for {} {} failed: {}", request.method, route_label, e.what());
            return ErrorResponse(Status::Error(ErrorCode::kInternal, "Something went wrong on our side."));
        }
    }

    std::string SessionCookie(const std::string& token, std::chrono::milliseconds max_age) const {
        std::string c = std::string(kSessionCookie) + "=" + token + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(max_age).count());
        if (options_.secure_cookies) c += "; Secure";
        return c;
    }

    void ClearSessionCookie(http::Response& r) const {
        r.set_header("Set-Cookie", SessionCookie("", std::chrono::milliseconds(0)));
    }

    // The route table (api.cpp): every route with its access and lane.
    struct RouteSpec {
        std::string_view method;
        std::string_view pattern;
        Access access;
        http::Lane lane;
        http::Response (Impl::*handler)(RequestContext&);
        HotPath hot = HotPath::kNo;
    };
    static std::span<const RouteSpec> RouteTable();
    void AddRoutes();

  public:
    // The table's routes without handlers, built once: what Api::LaneOf looks a request up in.
    static const Router& LaneRouter();
    // The route table's (method, pattern) pairs, for Api::RouteList (openapi_routes.cpp).
    static std::vector<Api::RouteInfo> TableRoutes();
    // "/api" and everything under it: never the dashboard's files.
    static bool IsApiPath(std::string_view path) { return path == "/api" || path.rfind("/api/", 0) == 0; }

  private:
    // ---- handlers ----
    http::Response Signup(RequestContext& ctx);
    http::Response CheckId(RequestContext& ctx);
    http::Response Login(RequestContext& ctx);
    http::Response Logout(RequestContext& ctx);
    http::Response Me(RequestContext& ctx);
    http::Response PairDevice(RequestContext& ctx);
    http::Response ListDevices(RequestContext& ctx);
    http::Response RevokeDevice(RequestContext& ctx);
    http::Response Healthz(RequestContext& ctx);
    http::Response Readyz(RequestContext& ctx);
    http::Response Metrics(RequestContext& ctx);
    http::Response OpenApi(RequestContext& ctx);  // openapi_routes.cpp
    // vitals_routes.cpp
    http::Response UpdateStatus(RequestContext& ctx);
    http::Response GetStatus(RequestContext& ctx);
    http::Response IngestBatch(RequestContext& ctx);
    http::Response RecentVitals(RequestContext& ctx);
    http::Response ListRuleProfiles(RequestContext& ctx);
    // incident_routes.cpp: emergency response and guardians
    http::Response ListIncidents(RequestContext& ctx);
    http::Response GetIncident(RequestContext& ctx);
    http::Response IncidentOk(RequestContext& ctx);
    http::Response IncidentAck(RequestContext& ctx);
    http::Response IncidentSnooze(RequestContext& ctx);
    http::Response IncidentResolve(RequestContext& ctx);
    http::Response EmergencyCall(RequestContext& ctx);
    http::Response PredictModel2(RequestContext& ctx);
    http::Response ListGuardians(RequestContext& ctx);
    http::Response RequestGuardianLink(RequestContext& ctx);
    http::Response AcceptGuardianLink(RequestContext& ctx);
    http::Response EndGuardianLink(RequestContext& ctx);
    // self_service_routes.cpp: the account's own details, password and sessions (issues 15, 16)
    http::Response UpdateMe(RequestContext& ctx);
    http::Response ChangePassword(RequestContext& ctx);
    http::Response ConfirmAddress(RequestContext& ctx);
    http::Response ListSessions(RequestContext& ctx);
    http::Response EndOtherSessions(RequestContext& ctx);
    http::Response EndSession(RequestContext& ctx);
    // GET /api/me's answer for the session's user `user` (also the answer of PATCH /api/me).
    http::Response MeResponse(const RequestContext& ctx, const domain::User& user);
    // Closes the live streams of sessions that ended (code 4401, `reason`).
    void EndSessionStreams(const std::vector<std::string>& token_hashes, const std::string& reason);
    // An audit entry of the account's own change (actor and wearer: the account). Logged, not failed,
    // when it cannot be written: the change has happened.
    void AuditOwnChange(const RequestContext& ctx, std::string action, std::string detail);
    // phone_routes.cpp: phone verification, and the guardian's e-mail address (verified the same way)
    http::Response SetGuardEmail(RequestContext& ctx);
    http::Response SendPhoneCode(RequestContext& ctx);
    http::Response ConfirmPhoneCode(RequestContext& ctx);
    // UserJson with guard_phone_verified and phone_verified (false when the server has no verification).
    json::object ProfileJson(const domain::User& user);
    // The wearer a session request reads: itself, or with ?wearer=<login id> a wearer it is an active
    // guardian of (the read is audit-logged as `action`). kNotFound for anyone else, so that a stranger
    // cannot even learn whether the wearer exists. Device requests always read their own wearer.
    Result<int64_t> TargetWearer(RequestContext& ctx, std::string_view action);
    // The `?limit=` of the seed's recent-rows reads (get_status, get_posture): 10 by default, 1–1000.
    static Result<int> RecentRowsLimit(const RequestContext& ctx);
    // A daily quota of `per_day` (see ApiOptions); null for 0 (none).
    std::unique_ptr<auth::TokenBucketLimiter> MakeDailyQuota(int64_t per_day) const;
    // Whether a request of `n` readings (or windows: `what`) may go ahead: kRateLimited with Retry-After,
    // naming the quota, when the wearer's quota is spent or `n` is more than a day's quota. OK with no quota.
    static Status CheckQuota(const auth::TokenBucketLimiter* quota, int64_t wearer, size_t n, std::string_view what);
    // Charges what the request used (its new readings: duplicates of an earlier upload cost nothing).
    static void ChargeQuota(auth::TokenBucketLimiter* quota, int64_t wearer, size_t used);
    void CloseGuardianStreams(int64_t guardian, int64_t wearer);
    // vitals_routes.cpp: ends the live streams whose session has expired or was ended elsewhere.
    void SweepStreams();
    // An incident the session's user may see: "wearer" or "guardian" as `role`. kNotFound otherwise.
    Result<domain::Incident> VisibleIncident(RequestContext& ctx, std::string& role);
    http::Response SetRuleProfile(RequestContext& ctx);
    // posture_routes.cpp
    http::Response UpdatePosture(RequestContext& ctx);
    http::Response PostureBatch(RequestContext& ctx);
    http::Response GetPosture(RequestContext& ctx);

  public:
    http::WebSocketDecision UpgradeWebSocket(const http::Request& request);

  private:
    Api& api_;
    auth::AccountService& accounts_;
    store::Store& store_;
    const Clock& clock_;
    ingest::IngestService* ingest_;
    live::LiveHub* live_;
    const rules::ProfileRegistry* profiles_;
    std::function<void(int64_t)> on_rule_profile_changed_;
    escalation::EscalationService* escalation_;
    const guidance::KnowledgeBase* knowledge_;
    guidance::AsyncRewriter* rewriter_;
    const models::StatusModel* status_model_;  // predict_model2: fused with the rules by models::Fuse
    const models::StatusModel* cause_model_;
    // predict_model2's fusion options: the defaults, which are the detector's (serve leaves ModelSet::fusion
    // as it is); ApiServices is the place for them should they ever be configured.
    const models::FusionOptions fusion_{};
    posture::PostureService* posture_;
    // Live streams a guardian opened on a wearer, closed when their link ends (a guardian who is no
    // longer linked must not keep watching through a socket opened before).
    std::mutex guardian_streams_mu_;
    std::multimap<std::pair<int64_t, int64_t>, std::weak_ptr<http::WebSocketConnection>>
        guardian_streams_;  // GUARDED_BY(guardian_streams_mu_); (guardian, wearer)
    const ApiOptions options_;
    auth::SlidingWindowLimiter check_id_limiter_;
    auth::SlidingWindowLimiter guardian_request_limiter_;  // per account (unique_num)
    // Live streams per user and per session: capped, and ended when their session ends (Logout ends
    // them at once; the sweeper ends those whose session expired or was ended elsewhere).
    live::StreamRegistry streams_;
    std::unique_ptr<StreamSweeper> stream_sweeper_;                 // while live_ is set; stopped before streams_ goes
    std::unique_ptr<escalation::PhoneVerificationService> phones_;  // with escalation only
    // New SOS incidents of accounts that are not established (EscalationService::Established), per client
    // address: many throw-away accounts from one place cannot loop SOS (docs/escalation.md, "Limits").
    auth::SlidingWindowLimiter sos_address_limiter_{clock_, {10, std::chrono::hours(1), 100'000}};
    // The wearers' daily quotas of readings and IMU windows (ApiOptions); null when unlimited.
    // Shared: update_status charges it when its verdict comes, on the verdict stage's thread, which may
    // be after this Api is gone.
    std::shared_ptr<auth::TokenBucketLimiter> readings_quota_ = MakeDailyQuota(options_.readings_per_wearer_per_day);
    std::unique_ptr<auth::TokenBucketLimiter> windows_quota_ = MakeDailyQuota(options_.windows_per_wearer_per_day);
    Router router_;
    std::shared_ptr<prometheus::Registry> registry_;
    prometheus::Family<prometheus::Counter>& requests_;
    prometheus::Family<prometheus::Histogram>& latency_;
    // SOS presses refused (429), by the limit that refused them: account_sos, account_calls, address.
    prometheus::Family<prometheus::Counter>& sos_refused_ = prometheus::BuildCounter()
                                                                .Name("vitalguard_sos_refused_total")
                                                                .Help("SOS presses refused by a limit (answered 429)")
                                                                .Register(*registry_);
    std::shared_mutex metrics_cache_mu_;
    std::unordered_map<std::string, RouteMetrics> metrics_cache_;  // guarded by metrics_cache_mu_; see MetricsFor
    std::unique_ptr<PosturePrometheus> posture_metrics_;           // installed on posture_ while the Api lives
};

}  // namespace vg::api
