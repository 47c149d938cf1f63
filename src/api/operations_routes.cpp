// /healthz, /readyz and /metrics (GET /api/openapi.json: openapi_routes.cpp).
#include "operations_routes.hpp"

#include <prometheus/text_serializer.h>

#include "vg/auth/crypto.hpp"

namespace vg::api {

http::Response OperationsRoutes::Healthz(RequestContext&) {
    return JsonResponse(200, json::object{{"status", "ok"}, {"version", version_}, {"demo", demo_}});
}

http::Response OperationsRoutes::Readyz(RequestContext&) {
    if (draining_.load()) {
        return ErrorResponse(Status::Error(ErrorCode::kUnavailable, "VitalGuard is shutting down.").WithRetryAfter(5));
    }
    Status store = store_.CheckHealth();
    if (!store.ok()) {
        // The store's own words (SQLite's errors, paths) are for the operator's log, not for whoever asks.
        spdlog::error("/readyz: the database is not ready: {}", store.ToString());
        Status s = Status::Error(ErrorCode::kUnavailable, "The database is not ready.");
        s.WithRetryAfter(5);
        return ErrorResponse(s);
    }
    return JsonResponse(200, json::object{{"status", "ready"}, {"store", "ok"}});
}

http::Response OperationsRoutes::Metrics(RequestContext& ctx) {
    if (!metrics_token_.empty()) {
        const std::string_view authorization = ctx.request.header("authorization");
        const bool bearer = authorization.size() > 7 &&
                            (authorization.substr(0, 7) == "Bearer " || authorization.substr(0, 7) == "bearer ");
        if (!bearer || !auth::SecretsEqual(Trim(authorization.substr(7)), metrics_token_)) {
            http::Response r = ErrorResponse(Status::Error(
                ErrorCode::kUnauthenticated, "/metrics needs the metrics token (Authorization: Bearer)."));
            r.set_header("WWW-Authenticate", "Bearer realm=\"metrics\"");
            return r;
        }
    }
    http::Response r;
    r.status = 200;
    r.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    r.body = prometheus::TextSerializer().Serialize(registry_.Collect());
    return r;
}

}  // namespace vg::api
