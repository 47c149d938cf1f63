#include "vg/app/status_recorder.hpp"

#include <spdlog/spdlog.h>

#include "vg/api/events.hpp"

namespace vg::app {

StatusRecorder::StatusRecorder(store::Store& store, live::LiveHub& hub, const Clock& clock)
    : store_(store), hub_(hub), clock_(clock) {}

std::string StatusRecorder::WearerId(int64_t wearer) {
    {
        std::lock_guard lock(ids_mu_);
        auto it = ids_.find(wearer);
        if (it != ids_.end()) return it->second;
    }
    auto user = store_.FindUserByUniqueNum(wearer);
    if (!user.ok()) return {};
    std::lock_guard lock(ids_mu_);
    return ids_.emplace(wearer, user->profile.id).first->second;
}

void StatusRecorder::OnDetection(int64_t wearer, const bus::ReadingEnvelope* envelope,
                                 const domain::Detection& detection, domain::Level previous) {
    const TimePoint now = clock_.Now();
    const bool changed = detection.level != previous;
    if (changed || (envelope && envelope->record_status)) {
        store::StatusRow row;
        row.user_unique_num = wearer;
        row.status = static_cast<int>(detection.level);
        row.updated_at = now;
        for (domain::Metric m : detection.causes) {
            if (!row.causes.empty()) row.causes += ',';
            row.causes += domain::MetricName(m);
        }
        row.explanation = detection.explanation;
        if (envelope) row.reading_at = envelope->reading.measured_at;
        if (Status s = store_.AppendStatus(row); !s.ok()) {
            spdlog::error("recording status {} for wearer {} failed: {}", row.status, wearer, s.ToString());
        }
    }
    if (escalation_) escalation_->OnVerdict(wearer, detection, envelope == nullptr);
    if (changed && detection.level != domain::Level::kNormal) {
        spdlog::warn("wearer {} is now {}: {}", wearer, domain::LevelName(detection.level), detection.explanation);
    }
    if (!hub_.HasSubscribers(wearer)) return;
    std::optional<TimePoint> reading_at, received_at;
    if (envelope) {
        reading_at = envelope->reading.measured_at;
        received_at = envelope->received_at;
    }
    hub_.Publish(wearer, api::DetectionEvent(WearerId(wearer), detection, previous, reading_at, received_at, now));
}

}  // namespace vg::app
