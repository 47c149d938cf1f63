#include "vg/api/api.hpp"

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <charconv>
#include <chrono>

#include "vg/api/errors.hpp"
#include "vg/api/json_input.hpp"
#include "vg/api/router.hpp"

namespace vg::api {
namespace {

namespace json = boost::json;

constexpr std::string_view kSessionCookie = "vg_session";

bool IsUnsafeMethod(std::string_view method) { return method != "GET" && method != "HEAD" && method != "OPTIONS"; }

std::string_view Trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::string CookieValue(const http::Request& request, std::string_view name) {
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

json::value TimeOrNull(const std::optional<TimePoint>& t) {
    if (!t) return nullptr;
    return json::value(FormatIso8601(*t));
}

json::object UserJson(const domain::User& user) {
    const domain::UserProfile& p = user.profile;
    json::object o{{"id", p.id},
                   {"name", p.name},
                   {"age", p.age},
                   {"address", p.address},
                   {"detailed_address", p.detailed_address},
                   {"phone_num", p.phone_num},
                   {"guard_name", p.guard_name},
                   {"guard_phone_num", p.guard_phone_num},
                   {"danger_degree", user.danger_degree},
                   {"created_at", FormatIso8601(user.created_at)}};
    o["user_posture"] = user.user_posture ? json::value(*user.user_posture) : json::value(nullptr);
    return o;
}

json::object DeviceJson(const domain::Device& d) {
    return json::object{{"device_id", d.device_id},
                        {"name", d.name},
                        {"created_at", FormatIso8601(d.created_at)},
                        {"last_seen_at", TimeOrNull(d.last_seen_at)},
                        {"revoked_at", TimeOrNull(d.revoked_at)},
                        {"active", !d.revoked_at.has_value()}};
}

// The host part of an origin or Host header value, lower-cased, port kept: "localhost:8080".
std::string OriginHostPort(std::string_view origin) {
    size_t scheme = origin.find("://");
    if (scheme != std::string_view::npos) origin.remove_prefix(scheme + 3);
    if (size_t slash = origin.find('/'); slash != std::string_view::npos) origin = origin.substr(0, slash);
    std::string out(origin);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace

class Api::Impl {
  public:
    Impl(Api& api, auth::AccountService& accounts, store::Store& store, const Clock& clock, ApiOptions options)
        : api_(api),
          accounts_(accounts),
          store_(store),
          options_(std::move(options)),
          check_id_limiter_(clock, {options_.check_id_per_minute, std::chrono::minutes(1), 100'000}),
          registry_(std::make_shared<prometheus::Registry>()),
          requests_(prometheus::BuildCounter()
                        .Name("vitalguard_http_requests_total")
                        .Help("HTTP requests answered, by method, route pattern and status code")
                        .Register(*registry_)),
          latency_(prometheus::BuildHistogram()
                       .Name("vitalguard_http_request_duration_seconds")
                       .Help("Time from a complete request to its response, by method and route pattern")
                       .Register(*registry_)) {
        AddRoutes();
    }

    http::Response Handle(const http::Request& request) {
        const auto started = std::chrono::steady_clock::now();
        std::string route_label = "unmatched";
        http::Response response = Dispatch(request, route_label);
        ApplyCommonHeaders(response);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        const std::string method = KnownMethod(request.method);
        requests_.Add({{"method", method}, {"route", route_label}, {"status", std::to_string(response.status)}})
            .Increment();
        latency_
            .Add({{"method", method}, {"route", route_label}},
                 prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                         0.5, 1, 2.5})
            .Observe(seconds);
        if (route_label != "/metrics" && route_label != "/healthz" && route_label != "/readyz") {
            spdlog::info("{} {} {} {:.1f}ms client={}", request.method, request.path, response.status, seconds * 1000,
                         ClientAddress(request));
        }
        return response;
    }

    prometheus::Registry& registry() { return *registry_; }

  private:
    static std::string KnownMethod(std::string_view m) {
        for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
            if (m == known) return std::string(m);
        }
        return "other";  // keeps the label set bounded
    }

    std::string ClientAddress(const http::Request& request) const {
        if (options_.trust_proxy) {
            std::string_view forwarded = request.header("x-forwarded-for");
            if (!forwarded.empty()) {
                // The left-most address is the original client.
                return std::string(Trim(forwarded.substr(0, forwarded.find(','))));
            }
        }
        return request.remote_address;
    }

    void ApplyCommonHeaders(http::Response& r) const {
        r.set_header("Cache-Control", "no-store");
        r.set_header("X-Content-Type-Options", "nosniff");
        r.set_header("Referrer-Policy", "no-referrer");
        r.set_header("X-Frame-Options", "DENY");
        r.set_header("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    }

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
            return ErrorResponse(Status::Error(ErrorCode::kNotFound, "There is no such page or API: " + request.path));
        }
        route_label = match.route->pattern;
        RequestContext ctx{request, ClientAddress(request), std::move(match.params), std::nullopt, {}};
        const bool unsafe = IsUnsafeMethod(request.method);
        if (unsafe) {
            if (Status s = CheckOrigin(request); !s.ok()) return ErrorResponse(s);
        }
        if (match.route->access == Access::kSession) {
            ctx.session_token = CookieValue(request, kSessionCookie);
            auto auth = accounts_.Authenticate(ctx.session_token);
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
            if (request.method == "HEAD") response.body.clear();
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

    void AddRoutes();

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

    Api& api_;
    auth::AccountService& accounts_;
    store::Store& store_;
    const ApiOptions options_;
    auth::SlidingWindowLimiter check_id_limiter_;
    Router router_;
    std::shared_ptr<prometheus::Registry> registry_;
    prometheus::Family<prometheus::Counter>& requests_;
    prometheus::Family<prometheus::Histogram>& latency_;
};

void Api::Impl::AddRoutes() {
    auto bind = [this](http::Response (Impl::*fn)(RequestContext&)) {
        return [this, fn](RequestContext& ctx) { return (this->*fn)(ctx); };
    };
    router_.Add("POST", "/api/signup", Access::kPublic, bind(&Impl::Signup));
    router_.Add("GET", "/api/check_id", Access::kPublic, bind(&Impl::CheckId));
    router_.Add("POST", "/api/login", Access::kPublic, bind(&Impl::Login));
    router_.Add("POST", "/api/logout", Access::kSession, bind(&Impl::Logout));
    router_.Add("GET", "/api/me", Access::kSession, bind(&Impl::Me));
    router_.Add("POST", "/api/devices", Access::kSession, bind(&Impl::PairDevice));
    router_.Add("GET", "/api/devices", Access::kSession, bind(&Impl::ListDevices));
    router_.Add("DELETE", "/api/devices/{device_id}", Access::kSession, bind(&Impl::RevokeDevice));
    router_.Add("GET", "/healthz", Access::kPublic, bind(&Impl::Healthz));
    router_.Add("GET", "/readyz", Access::kPublic, bind(&Impl::Readyz));
    router_.Add("GET", "/metrics", Access::kPublic, bind(&Impl::Metrics));
}

http::Response Api::Impl::Signup(RequestContext& ctx) {
    auto body = ParseJsonObjectBody(ctx.request);
    if (!body.ok()) return ErrorResponse(body.status());
    ObjectReader reader(*body);
    domain::SignupInput input;
    input.profile.id = reader.String("id", true).value_or("");
    input.password = reader.String("password", true).value_or("");
    input.profile.name = reader.String("name", true).value_or("");
    auto age = reader.Integer("age", true);
    if (age) input.profile.age = *age < -1000 || *age > 1000 ? -1 : static_cast<int>(*age);
    input.profile.address = reader.String("address", true).value_or("");
    input.profile.detailed_address = reader.String("detailed_address", false).value_or("");
    input.profile.phone_num = reader.String("phone_num", true).value_or("");
    input.profile.guard_name = reader.String("guard_name", false).value_or("");
    input.profile.guard_phone_num = reader.String("guard_phone_num", false).value_or("");
    reader.Refuse("danger_degree", "is set by VitalGuard, not at sign-up");
    reader.Refuse("user_posture", "is set by VitalGuard, not at sign-up");
    reader.Refuse("unique_num", "is assigned by VitalGuard");
    Status shape = reader.Finish();
    if (!shape.ok()) {
        // Report type and unknown-field problems together with the value checks of the fields that parsed.
        std::vector<FieldError> all = shape.fields();
        for (auto& f : domain::ValidateSignup(input)) {
            bool already = false;
            for (const auto& a : all) already = already || a.field == f.field;
            if (!already) all.push_back(std::move(f));
        }
        return ErrorResponse(Status::Error(ErrorCode::kValidationFailed, shape.message(), std::move(all)));
    }
    auto user = accounts_.Signup(input);
    if (!user.ok()) {
        if (user.status().code() == ErrorCode::kConflict) {
            return ErrorResponse(Status::Error(ErrorCode::kConflict, "This id is already taken. Please choose another.",
                                               {{"id", "is already taken"}}));
        }
        return ErrorResponse(user.status());
    }
    http::Response r = JsonResponse(201, json::object{{"user", UserJson(*user)}});
    r.set_header("Location", "/api/me");
    return r;
}

http::Response Api::Impl::CheckId(RequestContext& ctx) {
    if (int wait = check_id_limiter_.RetryAfterSeconds(ctx.client_address)) {
        Status s = Status::Error(ErrorCode::kRateLimited, "Too many id checks. Please wait a moment.");
        s.WithRetryAfter(wait);
        return ErrorResponse(s);
    }
    check_id_limiter_.Record(ctx.client_address);
    for (const auto& [name, value] : ctx.request.query) {
        if (name != "id") {
            return ErrorResponse(Status::Error(ErrorCode::kValidationFailed, "Unknown query parameter.",
                                               {{name, "is not a known parameter"}}));
        }
    }
    const std::string* id = ctx.request.query_param("id");
    if (!id) {
        return ErrorResponse(
            Status::Error(ErrorCode::kValidationFailed, "Which id should be checked?", {{"id", "is required"}}));
    }
    auto available = accounts_.IsIdAvailable(*id);
    if (!available.ok()) return ErrorResponse(available.status());
    return JsonResponse(200, json::object{{"id", *id}, {"available", *available}});
}

http::Response Api::Impl::Login(RequestContext& ctx) {
    auto body = ParseJsonObjectBody(ctx.request);
    if (!body.ok()) return ErrorResponse(body.status());
    ObjectReader reader(*body);
    std::string id = reader.String("id", true).value_or("");
    std::string password = reader.String("password", true).value_or("");
    Status shape = reader.Finish("Please enter your id and password.");
    if (!shape.ok()) return ErrorResponse(shape);
    auto login = accounts_.Login(id, password, {ctx.client_address, std::string(ctx.request.header("user-agent"))});
    if (!login.ok()) return ErrorResponse(login.status());
    http::Response r = JsonResponse(
        200,
        json::object{{"user", UserJson(login->user)},
                     {"csrf_token", login->session.csrf_token},
                     {"session_expires_at", FormatIso8601(login->session.expires_at)},
                     {"idle_timeout_seconds",
                      std::chrono::duration_cast<std::chrono::seconds>(accounts_.options().idle_timeout).count()}});
    r.set_header("Set-Cookie", SessionCookie(login->token, accounts_.options().session_ttl));
    return r;
}

http::Response Api::Impl::Logout(RequestContext& ctx) {
    if (!ctx.request.body.empty()) {
        // Logout takes no input, but a JSON client may send "{}".
        auto body = ParseJsonObjectBody(ctx.request);
        if (!body.ok()) return ErrorResponse(body.status());
        ObjectReader reader(*body);
        if (Status s = reader.Finish(); !s.ok()) return ErrorResponse(s);
    }
    Status s = accounts_.Logout(ctx.session_token);
    if (!s.ok()) return ErrorResponse(s);
    http::Response r = JsonResponse(200, json::object{{"logged_out", true}});
    ClearSessionCookie(r);
    return r;
}

http::Response Api::Impl::Me(RequestContext& ctx) {
    return JsonResponse(200, json::object{{"user", UserJson(ctx.auth->user)},
                                          {"csrf_token", ctx.auth->session.csrf_token},
                                          {"session_expires_at", FormatIso8601(ctx.auth->session.expires_at)}});
}

http::Response Api::Impl::PairDevice(RequestContext& ctx) {
    auto body = ParseJsonObjectBody(ctx.request);
    if (!body.ok()) return ErrorResponse(body.status());
    ObjectReader reader(*body);
    std::string name = reader.String("name", true).value_or("");
    Status shape = reader.Finish();
    if (!shape.ok()) return ErrorResponse(shape);
    auto paired = accounts_.PairDevice(ctx.auth->user.unique_num, name);
    if (!paired.ok()) return ErrorResponse(paired.status());
    json::object device = DeviceJson(paired->device);
    return JsonResponse(201, json::object{{"device", std::move(device)},
                                          {"device_token", paired->token},
                                          {"note", "Store this token on the watch now; it is shown only once."}});
}

http::Response Api::Impl::ListDevices(RequestContext& ctx) {
    auto devices = accounts_.ListDevices(ctx.auth->user.unique_num);
    if (!devices.ok()) return ErrorResponse(devices.status());
    json::array list;
    for (const auto& d : *devices) list.push_back(DeviceJson(d));
    return JsonResponse(200, json::object{{"devices", std::move(list)}});
}

http::Response Api::Impl::RevokeDevice(RequestContext& ctx) {
    const std::string& raw = ctx.path_params.at("device_id");
    int64_t device_id = 0;
    auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), device_id);
    if (ec != std::errc() || end != raw.data() + raw.size() || device_id <= 0) {
        return ErrorResponse(Status::Error(ErrorCode::kValidationFailed, "The device id is not valid.",
                                           {{"device_id", "must be a positive whole number"}}));
    }
    Status s = accounts_.RevokeDevice(ctx.auth->user.unique_num, device_id);
    if (!s.ok()) {
        if (s.code() == ErrorCode::kNotFound) {
            return ErrorResponse(Status::Error(ErrorCode::kNotFound, "You have no active device with this id."));
        }
        return ErrorResponse(s);
    }
    return JsonResponse(200, json::object{{"revoked", true}, {"device_id", device_id}});
}

http::Response Api::Impl::Healthz(RequestContext&) {
    return JsonResponse(200, json::object{{"status", "ok"}, {"version", options_.version}});
}

http::Response Api::Impl::Readyz(RequestContext&) {
    if (api_.draining_.load()) {
        return ErrorResponse(Status::Error(ErrorCode::kUnavailable, "VitalGuard is shutting down.").WithRetryAfter(5));
    }
    Status store = store_.CheckHealth();
    if (!store.ok()) {
        Status s = Status::Error(ErrorCode::kUnavailable, "The database is not ready: " + store.message());
        s.WithRetryAfter(5);
        return ErrorResponse(s);
    }
    return JsonResponse(200, json::object{{"status", "ready"}, {"store", "ok"}});
}

http::Response Api::Impl::Metrics(RequestContext&) {
    http::Response r;
    r.status = 200;
    r.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    r.body = prometheus::TextSerializer().Serialize(registry_->Collect());
    return r;
}

Api::Api(auth::AccountService& accounts, store::Store& store, const Clock& clock, ApiOptions options)
    : impl_(std::make_unique<Impl>(*this, accounts, store, clock, std::move(options))) {}

Api::~Api() = default;

http::Response Api::Handle(const http::Request& request) { return impl_->Handle(request); }

prometheus::Registry& Api::metrics_registry() { return impl_->registry(); }

}  // namespace vg::api
