#pragma once
// Private to the api module: the Impl behind Api. It keeps what every request goes through (api.cpp):
// dispatch (the router, origin, authentication, CSRF, the lanes and hot paths), the common headers,
// the request metrics and the access log, and the route table; it owns the groups of routes, each of
// which receives only the services it uses (src/api/README.md, "Route groups"):
//   AccountRoutes      account_routes.cpp       sign-up, check_id, login, logout, me, devices
//   SelfServiceRoutes  self_service_routes.cpp  the account's own details, password and sessions
//   PhoneRoutes        phone_routes.cpp         phone and guardian e-mail verification; ProfileView
//   VitalsRoutes       vitals_routes.cpp        update_status, get_status, readings, vitals, rule profiles
//   IncidentRoutes     incident_routes.cpp      incidents, emergency_call, predict_model2
//   GuardianRoutes     guardian_routes.cpp      guardian links
//   PostureRoutes      posture_routes.cpp       update_posture, get_posture, the device's IMU windows
//   OperationsRoutes   operations_routes.cpp    /healthz, /readyz, /metrics, /api/openapi.json
//   LiveStreams        live_streams.cpp         GET /api/stream, its sweeper, ending streams
//   WearerAccess       wearer_access.cpp        the check (and audit) of every read of another wearer
// and the dashboard's files (static_routes.cpp), the fallback of dispatch.

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <unordered_map>

#include "account_routes.hpp"
#include "api_detail.hpp"
#include "client_address.hpp"
#include "guardian_routes.hpp"
#include "incident_routes.hpp"
#include "live_streams.hpp"
#include "operations_routes.hpp"
#include "phone_routes.hpp"
#include "posture_routes.hpp"
#include "self_service_routes.hpp"
#include "vg/api/api.hpp"
#include "vg/api/router.hpp"
#include "vg/posture/posture_service.hpp"
#include "vitals_routes.hpp"
#include "wearer_access.hpp"

namespace vg::api {

// The posture path's metrics hooks as Prometheus metrics (called on bus shard threads and HTTP
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

class Api::Impl {
  public:
    Impl(Api& api, ApiServices services, ApiOptions options)
        : accounts_(services.accounts),
          posture_(services.posture),
          options_(std::move(options)),
          registry_(services.metrics_registry ? services.metrics_registry : std::make_shared<prometheus::Registry>()),
          rate_limits_(services.rate_limits ? services.rate_limits : auth::InProcessRateLimits()),
          requests_(prometheus::BuildCounter()
                        .Name("vitalguard_http_requests_total")
                        .Help("HTTP requests answered, by method, route pattern and status code")
                        .Register(*registry_)),
          latency_(prometheus::BuildHistogram()
                       .Name("vitalguard_http_request_duration_seconds")
                       .Help("Time from a complete request to its response, by method and route pattern")
                       .Register(*registry_)),
          wearer_access_(services.store, services.store, services.store, services.store, services.clock),
          live_streams_(services.accounts, services.store, services.clock, services.live, wearer_access_,
                        options_.max_streams_per_user),
          phone_routes_(services.accounts, services.store, services.clock, services.escalation),
          account_routes_(services.accounts, services.clock, *rate_limits_, phone_routes_.profile_view(), live_streams_,
                          options_.check_id_per_minute, options_.secure_cookies),
          self_service_routes_(services.accounts, services.store, services.clock, phone_routes_.profile_view(),
                               live_streams_, options_.secure_cookies),
          vitals_routes_(services.store, services.store, services.store, services.clock, services.ingest,
                         services.profiles, std::move(services.on_rule_profile_changed), wearer_access_, *rate_limits_,
                         options_.readings_per_wearer_per_day, options_.trend_queries_per_minute),
          incident_routes_(services.store, services.store, services.store, services.store, services.clock,
                           services.escalation, services.knowledge, services.rewriter, services.profiles,
                           services.status_model, services.cause_model, wearer_access_, *rate_limits_,
                           *registry_),  // registers vitalguard_sos_refused_total
          guardian_routes_(services.store, services.store, services.clock, live_streams_, *rate_limits_,
                           options_.guardian_requests_per_hour),
          posture_routes_(services.store, services.clock, services.posture, wearer_access_, *rate_limits_,
                          options_.windows_per_wearer_per_day),
          operations_routes_(services.store, api.draining_, *registry_, options_.version, options_.demo,
                             options_.metrics_token) {
        AddRoutes();
        if (posture_ != nullptr) {
            posture_metrics_ = std::make_unique<PosturePrometheus>(*registry_);
            posture_->SetMetrics(posture_metrics_.get());
        }
    }
    ~Impl() {
        live_streams_.StopSweeper();  // joins its thread before the registry and the services go
        if (posture_ != nullptr) posture_->SetMetrics(nullptr);  // waits for a hook call in progress
    }
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

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
                // Only a session that is really gone ends the browser's cookie: a store that cannot answer now
                // (503, kUnavailable) must not log a family's dashboard out.
                const ErrorCode code = auth.status().code();
                if (!ctx.session_token.empty() &&
                    (code == ErrorCode::kUnauthenticated || code == ErrorCode::kSessionExpired)) {
                    ClearSessionCookie(r, options_.secure_cookies);
                }
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

    // The route table (api.cpp): every route with its access, lane and handler. A handler is a plain
    // function of the Impl (Handler<group, method>), so the table is static data usable without one.
    struct RouteSpec {
        std::string_view method;
        std::string_view pattern;
        Access access;
        http::Lane lane;
        http::Response (*handler)(Impl&, RequestContext&);
        HotPath hot = HotPath::kNo;
    };
    // The handler `Method` of the group `Group` (a member of Impl), as a RouteSpec handler.
    template <auto Group, auto Method>
    static http::Response Handler(Impl& impl, RequestContext& ctx) {
        return ((impl.*Group).*Method)(ctx);
    }
    static std::span<const RouteSpec> RouteTable();
    void AddRoutes();

  public:
    // The table's routes without handlers, built once: what Api::LaneOf looks a request up in.
    static const Router& LaneRouter();
    // The route table's (method, pattern) pairs, for Api::RouteList (openapi_routes.cpp).
    static std::vector<Api::RouteInfo> TableRoutes();
    // "/api" and everything under it: never the dashboard's files.
    static bool IsApiPath(std::string_view path) { return path == "/api" || path.rfind("/api/", 0) == 0; }

    // GET /api/stream: the path and origin checks here, the rest in LiveStreams::Upgrade.
    http::WebSocketDecision UpgradeWebSocket(const http::Request& request);

  private:
    auth::AccountService& accounts_;  // dispatch's authentication
    // The Api installs its Prometheus hooks on it while it lives (PosturePrometheus, below).
    posture::PostureService* posture_;
    const ApiOptions options_;
    Router router_;
    std::shared_ptr<prometheus::Registry> registry_;
    std::shared_ptr<auth::RateLimits> rate_limits_;  // the routes' limiters come from it
    prometheus::Family<prometheus::Counter>& requests_;
    prometheus::Family<prometheus::Histogram>& latency_;
    std::shared_mutex metrics_cache_mu_;
    std::unordered_map<std::string, RouteMetrics> metrics_cache_;  // guarded by metrics_cache_mu_; see MetricsFor
    // The groups of routes and what they share, in the order they need each other (a group borrows only
    // those declared before it); destroyed in reverse, before the registry above.
    WearerAccess wearer_access_;
    LiveStreams live_streams_;  // its sweeper is stopped first, in ~Impl
    PhoneRoutes phone_routes_;  // owns the phone verification service and the ProfileView
    AccountRoutes account_routes_;
    SelfServiceRoutes self_service_routes_;
    VitalsRoutes vitals_routes_;
    IncidentRoutes incident_routes_;
    GuardianRoutes guardian_routes_;
    PostureRoutes posture_routes_;
    OperationsRoutes operations_routes_;
    std::unique_ptr<PosturePrometheus> posture_metrics_;  // installed on posture_ while the Api lives
};

}  // namespace vg::api
