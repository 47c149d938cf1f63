#include "shard_consumer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <span>
#include <utility>
#include <vector>

namespace vg::app {

void ShardConsumer::OnShardAssigned(int shard, TimePoint now, const bus::ShardBacklogReader& backlog) {
    const auto started = std::chrono::steady_clock::now();
    OnShardRevoked(shard);  // whatever this node held of the shard is stale now
    size_t wearers = 0, readings = 0, left_for_delivery = 0;
    if (replay_window_.count() > 0) {
        // 1. The store first, then the bus's backlog: a reading stored and published between the two reads
        //    is in the backlog, so it is judged on delivery rather than taken for judged.
        std::vector<std::pair<int64_t, std::vector<domain::VitalsReading>>> stored;
        Status replayed = store_.ForEachWearerReadingsSince(
            now - replay_window_, [&](int64_t wearer, std::vector<domain::VitalsReading>&& rs) {
                if (bus::ShardFor(wearer, shards_) == shard) stored.emplace_back(wearer, std::move(rs));
            });
        if (!replayed.ok()) {
            // Detection goes on from the next readings (a cold start for these wearers) rather than not at all.
            spdlog::error("shard {}: cannot rebuild detection state from stored readings: {}", shard,
                          replayed.ToString());
            stored.clear();
        }
        auto unjudged = stored.empty() || !backlog ? Result<bus::ShardBacklog>(bus::ShardBacklog{}) : backlog();
        if (!unjudged.ok()) {
            // Without the backlog a rebuild could swallow readings nobody judged: start cold instead.
            spdlog::error("shard {}: cannot read the bus's backlog ({}); its wearers' detection starts cold", shard,
                          unjudged.status().ToString());
            stored.clear();
        }
        // 2. Each wearer's readings up to its earliest one still on the bus.
        for (auto& [wearer, rs] : stored) {
            std::span<const domain::VitalsReading> judged(rs);
            if (auto it = unjudged->earliest_unjudged.find(wearer); it != unjudged->earliest_unjudged.end()) {
                const auto end = std::find_if(
                    rs.begin(), rs.end(), [&](const domain::VitalsReading& r) { return r.measured_at >= it->second; });
                judged = judged.first(static_cast<size_t>(end - rs.begin()));
                left_for_delivery += rs.size() - judged.size();
            }
            readings += vitals_.Warm(shard, wearer, judged, now);
            ++wearers;
        }
    }
    size_t suspicions = 0;
    if (posture_ != nullptr) {
        auto restore = posture::SuspicionsToRestore(store_, store_);
        if (restore.ok()) {
            for (const store::FallSuspicion& f : *restore) {
                if (bus::ShardFor(f.wearer, shards_) != shard) continue;
                posture_->Restore(shard, f, now);
                ++suspicions;
            }
        } else {
            spdlog::error("shard {}: cannot restore the suspected falls: {}", shard, restore.status().ToString());
        }
    }
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    spdlog::info(
        "shard {} assigned: rebuilt {} wearers from {} stored readings ({} left to judge on delivery) and {} "
        "suspected falls in {} ms",
        shard, wearers, readings, left_for_delivery, suspicions, ms);
}

}  // namespace vg::app
