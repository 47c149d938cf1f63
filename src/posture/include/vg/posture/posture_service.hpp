#pragma once
// PostureService: where the API hands a request's IMU windows to posture detection and waits for the answer.
// It bounds the windows in flight, publishes the request as a WindowJob onto the bus (sharded by wearer like
// readings; the shard's PostureDetector evaluates it, the verdict stage commits and answers) and waits for
// that answer (src/posture/README.md).
//
// Back-pressure: at most `queue_capacity` windows in flight (accepted, not yet answered), all wearers together;
// beyond that Submit answers kUnavailable with Retry-After 1 at once, so a burst cannot stall the HTTP workers.
//
// Thread-safety: Submit, SetMetrics and Stop may be called from any thread concurrently. Ownership: borrows
// the classifier's info, the clock and the metrics hook; they must outlive the service. The publish function
// must not call back into the service.

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"
#include "vg/posture/classifier.hpp"
#include "vg/posture/posture_detector.hpp"
#include "vg/posture/window_job.hpp"

namespace vg::posture {

struct PostureServiceOptions {
    size_t queue_capacity = 256;          // windows in flight, all wearers together
    Milliseconds answer_timeout{10'000};  // Submit gives up waiting (kUnavailable); the work still happens
};

class PostureService {
  public:
    // Puts a job on the bus (bus::ReadingBus::PublishWindows): its errors (a full or stopped bus) are Submit's.
    using Publish = std::function<Status(WindowJob)>;

    // REQUIRES: options.queue_capacity >= 1, publish set.
    PostureService(const ClassifierInfo& info, Publish publish, const Clock& clock, PostureMetricsHook& metrics,
                   PostureServiceOptions options);
    PostureService(const PostureService&) = delete;
    PostureService& operator=(const PostureService&) = delete;

    // Classifies `windows` of `wearer` (REQUIRES: strictly increasing timing.end) and waits for the results,
    // one per window in order, answered once their rows and the wearer's fall state are durable. kUnavailable
    // (Retry-After 1) when too many windows are in flight, the service or the bus is stopped, or the answer
    // takes longer than answer_timeout; kInternal when the model fails.
    Result<std::vector<WindowResult>> Submit(int64_t wearer, std::vector<TimedWindow> windows, RecordPolicy policy);

    // The same without waiting: `answer` is called exactly once, later, from the thread that finishes the
    // work (the verdict stage's) — unless this returns an error (too many windows in flight, stopped), in
    // which case it is never called. For handlers that answer through http::Response::Later, holding no
    // thread meanwhile. REQUIRES: windows not empty, answer set.
    Status SubmitAsync(int64_t wearer, std::vector<TimedWindow> windows, RecordPolicy policy, WindowAnswer answer);

    // Installs (or, with nullptr, removes) the metrics hooks (the detector's too); waits for a hook call in
    // progress.
    void SetMetrics(PostureMetrics* metrics) { metrics_.Set(metrics); }

    // Refuses new work (kUnavailable); what is in flight is still answered. Idempotent.
    void Stop() { stopped_.store(true); }

    // Windows accepted and not yet answered (a gauge for metrics; tests wait on it).
    size_t queued() const { return queued_->load(); }

    const ClassifierInfo& info() const { return info_; }
    const PostureServiceOptions& options() const { return options_; }

  private:
    const ClassifierInfo& info_;
    Publish publish_;
    const Clock& clock_;
    PostureMetricsHook& metrics_;
    PostureServiceOptions options_;
    // Shared with the answers in flight, which may come after a Submit that gave up waiting.
    std::shared_ptr<std::atomic<size_t>> queued_ = std::make_shared<std::atomic<size_t>>(0);
    std::atomic<bool> stopped_{false};
};

}  // namespace vg::posture
