// GET /api/openapi.json and the route list the document is checked against (openapi_test.cpp).
#include "api_impl.hpp"
#include "openapi_document.hpp"

namespace vg::api {

std::vector<Api::RouteInfo> Api::Impl::TableRoutes() {
    std::vector<Api::RouteInfo> routes;
    for (const RouteSpec& spec : RouteTable()) routes.push_back({spec.method, spec.pattern, false});
    return routes;
}

std::vector<Api::RouteInfo> Api::RouteList() {
    std::vector<RouteInfo> routes = Impl::TableRoutes();
    // Not in the table: the upgrade is decided by UpgradeWebSocket before any route is looked up.
    routes.push_back({"GET", "/api/stream", true});
    return routes;
}

std::string_view Api::OpenApiDocument() { return detail::OpenApiDocumentText(); }

http::Response OperationsRoutes::OpenApi(RequestContext&) {
    http::Response r;
    r.status = 200;
    r.set_header("Content-Type", "application/json; charset=utf-8");
    // Revalidated on every use: a new build serves a new document under the same name.
    r.set_header("Cache-Control", "no-cache");
    r.body = std::string(Api::OpenApiDocument());
    return r;
}

}  // namespace vg::api
