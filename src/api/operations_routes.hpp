#pragma once
// OperationsRoutes: /healthz, /readyz, /metrics and GET /api/openapi.json (operations_routes.cpp,
// openapi_routes.cpp).
// Thread-safety: handlers are called concurrently (io threads and the HTTP lanes); no state of their own.
// Ownership: borrows the store, the Api's draining flag and the metrics registry, which must outlive it.

#include <prometheus/registry.h>

#include <atomic>
#include <string>

#include "api_detail.hpp"

namespace vg::api {

class OperationsRoutes {
  public:
    // `version`, `demo`, `metrics_token`: ApiOptions's. `draining`: Api::SetDraining's flag.
    OperationsRoutes(store::StoreLifecycle& store, const std::atomic<bool>& draining, prometheus::Registry& registry,
                     std::string version, bool demo, std::string metrics_token)
        : store_(store),
          draining_(draining),
          registry_(registry),
          version_(std::move(version)),
          demo_(demo),
          metrics_token_(std::move(metrics_token)) {}

    http::Response Healthz(RequestContext& ctx);
    http::Response Readyz(RequestContext& ctx);
    http::Response Metrics(RequestContext& ctx);
    http::Response OpenApi(RequestContext& ctx);  // openapi_routes.cpp

  private:
    store::StoreLifecycle& store_;  // /readyz's health check
    const std::atomic<bool>& draining_;
    prometheus::Registry& registry_;
    const std::string version_;
    const bool demo_;
    const std::string metrics_token_;
};

}  // namespace vg::api
