#include "shard_consumer.hpp"

#include <spdlog/spdlog.h>

#include <vector>

namespace vg::app {

void ShardConsumer::OnShardAssigned(int shard, TimePoint now) {
    const auto started = std::chrono::steady_clock::now();
    OnShardRevoked(shard);  // whatever this node held of the shard is stale now
    size_t wearers = 0, readings = 0;
    if (replay_window_.count() > 0) {
        Status replayed = store_.ForEachWearerReadingsSince(
            now - replay_window_, [&](int64_t wearer, std::vector<domain::VitalsReading>&& rs) {
                if (bus::ShardFor(wearer, shards_) != shard) return;
                readings += vitals_.Warm(shard, wearer, rs, now);
                ++wearers;
            });
        if (!replayed.ok()) {
            // Detection goes on from the next readings (a cold start for these wearers) rather than not at all.
            spdlog::error("shard {}: cannot rebuild detection state from stored readings: {}", shard,
                          replayed.ToString());
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
    spdlog::info("shard {} assigned: rebuilt {} wearers from {} stored readings and {} suspected falls in {} ms", shard,
                 wearers, readings, suspicions, ms);
}

}  // namespace vg::app
