#include "vg/fall/training/event_data.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <future>

#include "vg/imu/labels.hpp"
#include "vg/imu/series.hpp"

namespace vg::fall::training {
namespace {

namespace fs = std::filesystem;

posture::Placement ToPlacement(imu::Placement p) {
    return p == imu::Placement::kWaist ? posture::Placement::kWaist : posture::Placement::kWrist;
}

struct LoadedTrial {
    TrialRecord record;
    std::vector<EventRow> events;
};

Result<LoadedTrial> LoadOne(const imu::TrialInfo& info, TrialRecord record,
                            const posture::PostureClassifier& classifier, const EventDataOptions& options) {
    auto trial = imu::LoadTrial(info);
    if (!trial.ok()) return trial.status();
    auto series = imu::Resample(*trial, kRateHz);
    if (!series.ok()) return series.status();
    LoadedTrial out;
    out.record = std::move(record);
    TrialRecord& r = out.record;
    r.gravity_removed = series->gravity_removed;
    r.duration_s = static_cast<double>(series->samples.size()) / kRateHz;
    const SampleStream stream{series->samples, ToPlacement(info.placement), series->gravity_removed};
    const std::vector<size_t> candidates = FindImpactCandidates(stream, options.candidates);
    r.candidates = candidates.size();

    // The candidate that stands for the labelled impact: the nearest within the tolerance.
    std::optional<size_t> positive;
    if (info.is_fall_trial) {
        auto labels = imu::LabelSamples(info, *series);
        if (!labels.ok()) return labels.status();
        if (labels->impact) {
            r.impact = *labels->impact;
            r.impact_peak_g = AccelerationMagnitude(series->samples[*r.impact]);
            const auto tolerance = static_cast<size_t>(std::lround(options.label_tolerance_s * kRateHz));
            size_t best_distance = tolerance + 1;
            for (size_t c : candidates) {
                const size_t distance = c > *r.impact ? c - *r.impact : *r.impact - c;
                if (distance < best_distance) {
                    best_distance = distance;
                    positive = c;
                }
            }
            r.impact_is_candidate = positive.has_value();
            r.impact_is_scored = positive && HasEventContext(series->samples.size(), *positive);
        }
    }
    std::vector<size_t> scored;
    for (size_t c : candidates) {
        if (HasEventContext(series->samples.size(), c)) scored.push_back(c);
    }
    auto features = ComputeEventFeatures(stream, scored, classifier);
    if (!features.ok()) return features.status();
    for (size_t k = 0; k < scored.size(); ++k) {
        EventRow row;
        row.impact = scored[k];
        row.label = !info.is_fall_trial ? int8_t{0} : (positive && *positive == scored[k]) ? int8_t{1} : int8_t{-1};
        row.features = (*features)[k];
        out.events.push_back(row);
    }
    return out;
}

}  // namespace

std::string GroupName(const TrialRecord& trial) {
    return std::string(imu::DatasetName(trial.dataset)) + "/" + std::string(imu::PlacementName(trial.placement));
}

Result<EventData> LoadEventData(const fs::path& data_root, const posture::PostureClassifier& classifier,
                                const EventDataOptions& options) {
    EventData data;
    data.posture_model = classifier.info().version;
    std::vector<imu::TrialInfo> infos;
    std::vector<TrialRecord> records;
    for (imu::DatasetId dataset : imu::kAllDatasets) {
        auto trials = imu::ListTrials(data_root, dataset);
        if (!trials.ok() && trials.status().code() == ErrorCode::kNotFound) continue;
        if (!trials.ok()) return trials.status();
        const std::string name(imu::DatasetName(dataset));
        data.datasets.push_back(name);
        std::set<std::string> subjects;
        for (const imu::TrialInfo& t : *trials) subjects.insert(t.subject);
        auto splits = imu::AssignSplits(dataset, {subjects.begin(), subjects.end()}, options.split_seed);
        const auto excluded = options.exclude_subjects.find(name);
        for (const imu::TrialInfo& info : *trials) {
            if (options.include && !options.include(info)) continue;
            imu::Split split = splits.at(info.subject);
            if (options.all_as_test) {
                if (excluded != options.exclude_subjects.end() && excluded->second.contains(info.subject)) continue;
                split = imu::Split::kTest;
            }
            data.splits[name][info.subject] = split;
            TrialRecord r;
            r.dataset = dataset;
            r.placement = info.placement;
            r.split = split;
            r.subject = info.subject;
            r.activity_code = info.activity_code;
            r.is_fall_trial = info.is_fall_trial;
            r.gravity_removed = info.gravity_removed;
            records.push_back(std::move(r));
            infos.push_back(info);
        }
    }
    if (data.datasets.empty()) {
        return Status::Error(ErrorCode::kNotFound, data_root.string() + " holds none of the IMU data set folders");
    }
    std::vector<Result<LoadedTrial>> loaded(infos.size(), Status::Error(ErrorCode::kInternal, "not loaded"));
    std::atomic<size_t> next{0}, done{0};
    auto work = [&] {
        for (size_t i = next++; i < infos.size(); i = next++) {
            loaded[i] = LoadOne(infos[i], records[i], classifier, options);
            const size_t d = ++done;
            if (options.progress && (d % 25 == 0 || d == infos.size())) options.progress(d, infos.size());
        }
    };
    std::vector<std::future<void>> helpers;
    for (int t = 1; t < options.threads; ++t) helpers.push_back(std::async(std::launch::async, work));
    work();
    for (auto& h : helpers) h.get();
    for (size_t i = 0; i < infos.size(); ++i) {
        if (!loaded[i].ok()) {
            if (!options.skip_unreadable) return loaded[i].status();
            data.unreadable.push_back(loaded[i].status().message());
            continue;
        }
        const auto trial = static_cast<uint32_t>(data.trials.size());
        data.trials.push_back(std::move(loaded[i]->record));
        for (EventRow& row : loaded[i]->events) {
            row.trial = trial;
            data.events.push_back(row);
        }
    }
    return data;
}

}  // namespace vg::fall::training
