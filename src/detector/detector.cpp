#include "vg/detector/detector.hpp"

#include <algorithm>
#include <stdexcept>

namespace vg::detector {

Detector::Detector(int shards, const rules::ProfileRegistry& profiles, std::string default_profile,
                   ProfileResolver resolver, DetectionListener& listener)
    : profiles_(profiles),
      default_profile_(std::move(default_profile)),
      resolver_(std::move(resolver)),
      listener_(listener) {
    if (!profiles_.Find(default_profile_)) {
        throw std::invalid_argument("the default rule profile '" + default_profile_ + "' is not loaded");
    }
    for (int i = 0; i < std::max(1, shards); ++i) shards_.push_back(std::make_unique<Shard>());
}

Detector::~Detector() = default;

Detector::WearerSlot& Detector::SlotFor(Shard& shard, int64_t wearer) {
    auto it = shard.wearers.find(wearer);
    if (it != shard.wearers.end()) return it->second;
    WearerSlot slot;
    std::string name = resolver_ ? resolver_(wearer) : default_profile_;
    slot.profile = profiles_.Find(name);
    if (!slot.profile) slot.profile = profiles_.Find(default_profile_);  // a profile removed from disk
    slot.state = rules::NewWearerState(*slot.profile);
    shard.size.fetch_add(1, std::memory_order_relaxed);
    return shard.wearers.emplace(wearer, std::move(slot)).first->second;
}

void Detector::ApplyResets(Shard& shard) {
    if (!shard.has_resets.load(std::memory_order_acquire)) return;
    std::vector<int64_t> resets;
    {
        std::lock_guard lock(shard.resets_mu);
        resets.swap(shard.resets);
        shard.has_resets.store(false, std::memory_order_release);
    }
    for (int64_t w : resets) {
        if (shard.wearers.erase(w) > 0) shard.size.fetch_sub(1, std::memory_order_relaxed);
    }
}

void Detector::OnReadings(int shard_index, std::span<bus::ReadingEnvelope> batch) {
    Shard& shard = *shards_[static_cast<size_t>(shard_index)];
    ApplyResets(shard);
    if (models_) {
        OnReadingsWithModels(shard, batch);
        return;
    }
    for (bus::ReadingEnvelope& e : batch) {
        WearerSlot& slot = SlotFor(shard, e.wearer);
        const domain::Level previous = slot.level;
        if (slot.has_reading && e.reading.measured_at < slot.last_measured) {
            late_.fetch_add(1, std::memory_order_relaxed);
            domain::Detection current;
            current.level = slot.level;
            current.explanation = "This reading is older than the last one received; it was stored but not evaluated.";
            listener_.OnLateReading(e.wearer, e, current);
            continue;
        }
        domain::Detection d = rules::Evaluate(*slot.profile, *slot.state, e.reading);
        slot.level = d.level;
        slot.last_measured = e.reading.measured_at;
        slot.has_reading = true;
        evaluated_.fetch_add(1, std::memory_order_relaxed);
        listener_.OnDetection(e.wearer, &e, d, previous);
    }
}

void Detector::OnReadingsWithModels(Shard& shard, std::span<bus::ReadingEnvelope> batch) {
    const ModelSet& m = *models_;
    // 1. In order: each reading's slot, whether it is late, and its features. Features depend only on
    //    the wearer's earlier readings (never on a verdict), and lateness only on the last measured time,
    //    so both can run ahead of the rules and the listener.
    shard.pending.clear();
    shard.features.clear();
    for (bus::ReadingEnvelope& e : batch) {
        WearerSlot& slot = SlotFor(shard, e.wearer);
        const bool late = slot.has_reading && e.reading.measured_at < slot.last_measured;
        shard.pending.push_back({&slot, late});
        if (late) continue;
        const models::FeatureVector f = slot.features.Extract(e.reading, m.status->pca());
        shard.features.insert(shard.features.end(), f.begin(), f.end());
        slot.last_measured = e.reading.measured_at;
        slot.has_reading = true;
    }
    // 2. The status model on every evaluated reading at once.
    const size_t rows = shard.features.size() / models::kFeatureCount;
    shard.probabilities.resize(rows * 3);
    const bool rated = m.status->num_outputs() == 3 && m.status->PredictBatch(shard.features, shard.probabilities).ok();
    // 3. In order: rules, fusion (the cause model only where Fuse asks for it), the listener.
    size_t row = 0;
    for (size_t i = 0; i < batch.size(); ++i) {
        bus::ReadingEnvelope& e = batch[i];
        WearerSlot& slot = *shard.pending[i].slot;
        const domain::Level previous = slot.level;
        if (shard.pending[i].late) {
            late_.fetch_add(1, std::memory_order_relaxed);
            domain::Detection current;
            current.level = slot.level;
            current.explanation = "This reading is older than the last one received; it was stored but not evaluated.";
            listener_.OnLateReading(e.wearer, e, current);
            continue;
        }
        const float* f = shard.features.data() + row * models::kFeatureCount;
        std::optional<std::array<float, 3>> status;
        if (rated) {
            const float* p = shard.probabilities.data() + row * 3;
            status = std::array<float, 3>{p[0], p[1], p[2]};
        }
        ++row;
        std::function<std::vector<float>()> cause;
        if (m.cause) {
            cause = [&m, f]() -> std::vector<float> {
                models::FeatureVector features;
                std::copy(f, f + models::kFeatureCount, features.begin());
                auto c = m.cause->Predict(features);
                return c.ok() ? std::move(c).value() : std::vector<float>{};
            };
        }
        domain::Detection d = rules::Evaluate(*slot.profile, *slot.state, e.reading);
        d = models::Fuse(std::move(d), status, cause, m.fusion, slot.model_streak);
        slot.level = d.level;
        evaluated_.fetch_add(1, std::memory_order_relaxed);
        listener_.OnDetection(e.wearer, &e, d, previous);
    }
}

size_t Detector::Warm(int shard_index, int64_t wearer, std::span<const domain::VitalsReading> readings, TimePoint now) {
    Shard& shard = *shards_[static_cast<size_t>(shard_index)];
    WearerSlot& slot = SlotFor(shard, wearer);
    size_t evaluated = 0;
    for (const domain::VitalsReading& r : readings) {
        if (slot.has_reading && r.measured_at < slot.last_measured) continue;
        domain::Detection d = rules::Evaluate(*slot.profile, *slot.state, r);
        if (models_) ApplyModels(slot, r, d);
        slot.level = d.level;
        slot.last_measured = r.measured_at;
        slot.has_reading = true;
        ++evaluated;
    }
    if (const auto after = slot.profile->silence_after()) slot.silence_not_before = now + *after;
    return evaluated;
}

void Detector::ApplyModels(WearerSlot& slot, const domain::VitalsReading& reading, domain::Detection& d) {
    const ModelSet& m = *models_;
    const models::FeatureVector f = slot.features.Extract(reading, m.status->pca());
    d = models::Fuse(std::move(d), models::FusionModels{m.status.get(), m.cause.get()}, f, m.fusion, slot.model_streak);
}

void Detector::OnTick(int shard_index, TimePoint now) {
    Shard& shard = *shards_[static_cast<size_t>(shard_index)];
    ApplyResets(shard);
    for (auto& [wearer, slot] : shard.wearers) {
        if (!slot.has_reading || now < slot.silence_not_before) continue;
        auto silence = rules::CheckSilence(*slot.profile, *slot.state, now);
        if (!silence) continue;
        silence_alerts_.fetch_add(1, std::memory_order_relaxed);
        const domain::Level previous = slot.level;
        // Signal loss is reported, but it does not lower a higher level already reached.
        if (silence->level > slot.level) slot.level = silence->level;
        listener_.OnDetection(wearer, nullptr, *silence, previous);
    }
}

void Detector::ResetWearer(int shard_index, int64_t wearer) {
    Shard& shard = *shards_[static_cast<size_t>(shard_index)];
    std::lock_guard lock(shard.resets_mu);
    shard.resets.push_back(wearer);
    shard.has_resets.store(true, std::memory_order_release);
}

void Detector::DropShard(int shard_index) {
    Shard& shard = *shards_[static_cast<size_t>(shard_index)];
    shard.wearers.clear();
    shard.size.store(0, std::memory_order_relaxed);
    std::lock_guard lock(shard.resets_mu);
    shard.resets.clear();
    shard.has_resets.store(false, std::memory_order_release);
}

size_t Detector::wearer_count() const {
    size_t n = 0;
    for (const auto& s : shards_) n += s->size.load(std::memory_order_relaxed);
    return n;
}

DetectorStats Detector::stats() const { return {evaluated_.load(), late_.load(), silence_alerts_.load()}; }

}  // namespace vg::detector
