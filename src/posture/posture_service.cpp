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

Status PostureService::SubmitAsync(int64_t wearer, std::vector<TimedWindow> windows, RecordPolicy policy,
                                   WindowAnswer answer) {
    assert(!windows.empty() && answer);
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

    // Whether the answer ran: a job the bus refused is dropped unanswered, and its windows are freed here.
    auto answered = std::make_shared<std::atomic<bool>>(false);
    WindowJob job;
    job.wearer = wearer;
    job.windows = std::move(windows);
    job.policy = policy;
    job.received = clock_.Now();
    job.answer = [answer = std::move(answer), in_flight = queued_, n,
                  answered](Result<std::vector<WindowResult>> result) {
        answered->store(true);
        in_flight->fetch_sub(n);
        answer(std::move(result));
    };
    if (Status published = publish_(std::move(job)); !published.ok()) {
        if (!answered->load()) queued_->fetch_sub(n);
        if (published.code() == ErrorCode::kUnavailable)
            return Busy("Posture detection is shutting down; retry shortly.");
        return Busy("Posture detection is busy; retry in a second.");
    }
    return Status::Ok();
}

Result<std::vector<WindowResult>> PostureService::Submit(int64_t wearer, std::vector<TimedWindow> windows,
                                                         RecordPolicy policy) {
    if (windows.empty()) return std::vector<WindowResult>{};
    auto done = std::make_shared<std::promise<Result<std::vector<WindowResult>>>>();
    std::future<Result<std::vector<WindowResult>>> answer = done->get_future();
    VG_RETURN_IF_ERROR(
        SubmitAsync(wearer, std::move(windows), policy,
                    [done](Result<std::vector<WindowResult>> result) { done->set_value(std::move(result)); }));
    if (answer.wait_for(options_.answer_timeout) != std::future_status::ready) {
        return Busy("Posture detection is taking too long; retry in a second.");
    }
    return answer.get();
}

}  // namespace vg::posture
