#include "vg/app/serve.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "vg/app/deployment.hpp"

#ifndef VG_VERSION
#define VG_VERSION "dev"
#endif

namespace vg::app {
namespace {

namespace fs = std::filesystem;

Status WriteReadyFile(const std::string& path, uint16_t port) {
    // Write then rename, so a reader never sees a half-written file.
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << port << "\n";
        if (!out) return Status::Error(ErrorCode::kUnavailable, "cannot write the ready file " + path);
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) return Status::Error(ErrorCode::kUnavailable, "cannot write the ready file " + path + ": " + ec.message());
    return Status::Ok();
}

}  // namespace

int RunServe(const ServeConfig& config) {
    // Block termination signals in every thread created from here on; this thread takes them with sigwait.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    // A client that disconnects mid-write must not kill the server.
    ::signal(SIGPIPE, SIG_IGN);

    auto built = Deployment::Build(config);
    if (!built.ok()) {
        spdlog::critical("{}", built.status().message());
        return 1;
    }
    std::unique_ptr<Deployment> deployment = std::move(built).value();
    if (Status started = deployment->Start(); !started.ok()) {
        spdlog::critical("{}", started.message());
        return 1;  // destroying the deployment stops what had started
    }
    spdlog::info("vitalguard {} serving on http://{}:{} with data in {}", VG_VERSION, config.host, deployment->port(),
                 fs::absolute(config.data_dir).string());
    if (!config.ready_file.empty()) {
        if (Status s = WriteReadyFile(config.ready_file, deployment->port()); !s.ok()) spdlog::error("{}", s.message());
    }
    int received = 0;
    sigwait(&signals, &received);
    spdlog::info("received {}; shutting down gracefully", received == SIGINT ? "SIGINT" : "SIGTERM");
    deployment->Drain();
    // Every acknowledged reading is already stored; the bus lets detection and the verdict stage finish
    // what is queued so the last verdicts are recorded too, then the store closes.
    deployment.reset();
    spdlog::info("stopped cleanly");
    return 0;
}

}  // namespace vg::app
