#pragma once
// Router: (method, path pattern) -> handler, with path parameters.
//
// Patterns are literal segments and "{name}" placeholders, e.g.
// "/api/devices/{device_id}". Paths are matched with and without a trailing
// slash ("/api/signup" and "/api/signup/" are the same route), as the seed's
// API uses both. Find() tells a 404 (no such path) from a 405 (path exists,
// other methods). Each route also names its http::Lane: where the server runs
// its handler (kWorker unless said otherwise). Routes are added at start-up,
// then only read.
// Thread-safety: Add before serving; Find from any thread afterwards.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vg/auth/account_service.hpp"
#include "vg/http/server.hpp"

namespace vg::api {

// Who may call a route.
enum class Access {
    kPublic,           // anyone
    kSession,          // a logged-in person (cookie session); unsafe methods also need the CSRF token
    kDevice,           // a paired watch: "Authorization: Bearer <device token>"
    kSessionOrDevice,  // either of the two (the wearer's page or the watch)
};

struct RequestContext {
    const http::Request& request;
    std::string client_address;
    std::map<std::string, std::string, std::less<>> path_params;
    std::optional<auth::AuthContext> auth;  // set when authenticated by session
    std::string session_token;              // the raw cookie value, for session routes
    std::optional<domain::Device> device;   // set when authenticated by device token

    // The wearer the request acts for: the session's user or the device's owner.
    int64_t wearer() const { return auth ? auth->user.unique_num : device->user_unique_num; }
};

using RouteHandler = std::function<http::Response(RequestContext&)>;

// Hot paths, called many times a second per wearer, whose handlers use only who the caller is.
enum class HotPath {
    kNo,
    // Authenticated from short-lived copies of sessions and devices (AccountService::TryAuthenticateCached:
    // at most credential_cache_ttl old) instead of store reads, on the route's lane.
    kCachedAuth,
    // The same, and with a credential the request runs on the io thread first (Api::LaneOf); it moves to
    // the route's lane when a copy cannot answer without a store read or write, or the handler must wait.
    kInlineFirst,
};

struct Route {
    std::string method;
    std::string pattern;  // also the metrics label
    Access access;
    http::Lane lane = http::Lane::kWorker;
    RouteHandler handler;
    std::vector<std::string> segments;  // Split(pattern), kept so that Find splits only the path
    HotPath hot = HotPath::kNo;
};

class Router {
  public:
    void Add(std::string method, std::string pattern, Access access, http::Lane lane, RouteHandler handler,
             HotPath hot = HotPath::kNo);
    // On the worker lane.
    void Add(std::string method, std::string pattern, Access access, RouteHandler handler) {
        Add(std::move(method), std::move(pattern), access, http::Lane::kWorker, std::move(handler));
    }

    struct Match {
        const Route* route = nullptr;  // null when nothing matched
        std::map<std::string, std::string, std::less<>> params;
        std::vector<std::string> allowed_methods;  // non-empty when the path exists for other methods
    };
    Match Find(std::string_view method, std::string_view path) const;

    // The non-empty segments of a path: "/api/signup/" -> {"api", "signup"}.
    static std::vector<std::string_view> Split(std::string_view path);

  private:
    std::vector<Route> routes_;
};

}  // namespace vg::api
