#include "vg/posture/posture_service.hpp"

#include <cassert>
#include <future>
#include <memory>

namespace vg::posture {
namespace {

Status Busy(std::string message) {
    return Status::Error(ErrorCode::kUnavailable, std::move(message)).WithRetryAfter(1);
}

}  // namespace

PostureService::PostureService(const ClassifierInfo& info, Publish publish, const Clock& clock,
                               PostureMetricsHook& metrics, PostureServiceOptions options)
    : info_(info), publish_(std::move(publish)), clock_(clock), metrics_(metrics), options_(options) {
    assert(options_.queue_capacity >= 1 && publish_);
}

Result<std::vector<WindowResult>> PostureService::Submit(int64_t wearer, std::vector<TimedWindow> windows,
                                                         RecordPolicy policy) {
    if (windows.empty()) return std::vector<WindowResult>{};
    if (stopped_.load()) return Busy("Posture detection is shutting down; retry shortly.");
    const size_t n = windows.size();
    size_t queued = queued_->load();
    do {
        if (queued + n > options_.queue_capacity) {
            metrics_.With([n](PostureMetrics& m) { m.OnRejected(n); });
            return Busy("Posture detection is busy (" + std::to_string(queued) +
                        " windows waiting); retry in a second.");
        }
    } while (!queued_->compare_exchange_weak(queued, queued + n));

    auto done = std::make_shared<std::promise<Result<std::vector<WindowResult>>>>();
    std::future<Result<std::vector<WindowResult>>> answer = done->get_future();
    WindowJob job;
    job.wearer = wearer;
    job.windows = std::move(windows);
    job.policy = policy;
    job.received = clock_.Now();
    job.answer = [done, in_flight = queued_, n](Result<std::vector<WindowResult>> result) {
        in_flight->fetch_sub(n);
        done->set_value(std::move(result));
    };
    if (Status published = publish_(std::move(job)); !published.ok()) {
        // Not taken: the job (and its answer) went with it unanswered.
        if (answer.wait_for(std::chrono::seconds(0)) != std::future_status::ready) queued_->fetch_sub(n);
        if (published.code() == ErrorCode::kUnavailable)
            return Busy("Posture detection is shutting down; retry shortly.");
        return Busy("Posture detection is busy; retry in a second.");
    }
    if (answer.wait_for(options_.answer_timeout) != std::future_status::ready) {
        return Busy("Posture detection is taking too long; retry in a second.");
    }
    return answer.get();
}

}  // namespace vg::posture
