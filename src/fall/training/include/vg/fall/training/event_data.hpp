#pragma once
// Events of the IMU data sets: every trial of every data set in imu::kAllDatasets → 50 Hz series → impact
// candidates → EventFeatures (the serving code, vg/fall/event_features.hpp) → labels, split by subject with
// imu::AssignSplits (the posture model's seed, so both models hold out the same people).
//
// Labels (docs/posture-model.md, "Fall decision on the event"): in a fall trial the candidate nearest the
// labelled impact (imu::LabelSamples' impact, the |a| peak) within `label_tolerance_s` is a fall (1); the
// trial's other candidates are left out of training (-1: a hand hitting the floor before the hip, or the
// aftermath, is neither a clean fall nor a clean non-fall); every candidate of an activity (ADL) trial is 0.
// Only candidates with their whole span (HasEventContext) become events.
//
// Thread-safety: LoadEventData reads files on `threads` threads and calls classifier.Classify concurrently
// (PostureClassifier allows it); the result is a value.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "vg/common/status.hpp"
#include "vg/fall/event_features.hpp"
#include "vg/fall/impact_candidates.hpp"
#include "vg/imu/split.hpp"
#include "vg/imu/trial.hpp"
#include "vg/posture/classifier.hpp"

namespace vg::fall::training {

struct TrialRecord {
    imu::DatasetId dataset = imu::DatasetId::kSisFall;
    imu::Placement placement = imu::Placement::kWaist;
    imu::Split split = imu::Split::kTrain;
    std::string subject;
    std::string activity_code;
    bool is_fall_trial = false;
    bool gravity_removed = false;
    double duration_s = 0;
    size_t candidates = 0;  // all candidates, scored or not
    // Fall trials only:
    std::optional<size_t> impact;      // the labelled impact (sample index)
    float impact_peak_g = 0;           // |a| there
    bool impact_is_candidate = false;  // a candidate lies within label_tolerance_s of it
    bool impact_is_scored = false;     // … and has its whole span, so it is an event
};

struct EventRow {
    uint32_t trial = 0;  // index into EventData::trials
    size_t impact = 0;   // sample index in the trial's 50 Hz series
    int8_t label = 0;    // 1 the fall's impact, 0 an activity's candidate, -1 another candidate of a fall trial
    EventFeatures features{};
};

struct EventData {
    std::vector<TrialRecord> trials;
    std::vector<EventRow> events;  // in trial order, then by impact
    // Per data set ("sisfall", …): each subject's split.
    std::map<std::string, std::map<std::string, imu::Split>> splits;
    std::vector<std::string> datasets;    // the data sets found
    std::vector<std::string> unreadable;  // files skipped with skip_unreadable: "<file>:<line>: <problem>"
    std::string posture_model;            // the version of the network the features hold
};

struct EventDataOptions {
    uint64_t split_seed = imu::kDefaultSplitSeed;
    CandidateParams candidates;
    double label_tolerance_s = 1.0;
    int threads = 2;
    // Skip a trial file that cannot be read (named in EventData::unreadable) instead of failing.
    bool skip_unreadable = false;
    // Which trials to include (all when empty); tests take a slice.
    std::function<bool(const imu::TrialInfo&)> include;
    // Every subject in split kTest (evaluating a folder none of whose subjects trained the model), except
    // the subjects listed here per data set (those that trained or tuned it), which are left out.
    bool all_as_test = false;
    std::map<std::string, std::set<std::string>> exclude_subjects;
    // Called as trials finish: (done, total).
    std::function<void(size_t, size_t)> progress;
};

// Reads every included trial of the data sets under `data_root` (data sets whose folder is missing are
// skipped; kNotFound when none is there). The first unreadable trial stops it with its Status unless
// skip_unreadable.
Result<EventData> LoadEventData(const std::filesystem::path& data_root, const posture::PostureClassifier& classifier,
                                const EventDataOptions& options);

// "sisfall/waist"
std::string GroupName(const TrialRecord& trial);

}  // namespace vg::fall::training
