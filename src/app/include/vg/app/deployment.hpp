#pragma once
// Deployment: the embedded VitalGuard, every service of one process built in order and stopped in
// reverse.
//
// Build() opens the store and builds the services (accounts, rule profiles, knowledge base, notifier
// channels and delivery, live hub, escalation, the verdict stage, detector and bus, ingest, the posture
// and fall models and service, the API and the HTTP server), refusing with a Status that names what is
// wrong. Start() rebuilds detection state from stored readings, starts the stages from the last of the
// pipeline to the first (so nothing is ever handed to a stage that is not running) and binds the port.
// Destroying it stops everything in the reverse order of construction — the HTTP server first, then
// posture, the bus (which drains into the detector and the verdict stage), the verdict stage,
// escalation, delivery and finally the store — whether Start() succeeded, failed half-way or never ran:
// there is no hand-written teardown on any path.
//
// This is where `--role api|detector|notifier` will select which services a process builds.
// Thread-safety: Build/Start/Drain/destruction from one controlling thread. Ownership: owns every service.

#include <cstdint>
#include <memory>

#include "vg/app/serve.hpp"
#include "vg/common/status.hpp"

namespace vg::app {

class Deployment {
  public:
    static Result<std::unique_ptr<Deployment>> Build(const ServeConfig& config);
    ~Deployment();
    Deployment(const Deployment&) = delete;
    Deployment& operator=(const Deployment&) = delete;

    // Starts serving. Errors (the port is taken, stored state cannot be read) leave the deployment
    // to be destroyed, which stops whatever had started.
    Status Start();
    // The bound port. REQUIRES: Start() returned OK.
    uint16_t port() const;
    // Graceful end of serving: /readyz turns 503, the server stops accepting and finishes the requests
    // in flight (up to the shutdown grace). The rest stops on destruction.
    void Drain();

  private:
    struct Services;
    explicit Deployment(std::unique_ptr<Services> services);
    std::unique_ptr<Services> s_;
};

}  // namespace vg::app
