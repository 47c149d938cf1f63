#pragma once
// What the data sets hold after labelling: windows per class for each data set, placement and split.
//
// Thread-safety: Summarize only reads files; the result is a value.

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "vg/common/status.hpp"
#include "vg/imu/labels.hpp"
#include "vg/imu/split.hpp"
#include "vg/imu/trial.hpp"

namespace vg::imu {

struct SummaryKey {
    DatasetId dataset;
    Placement placement;
    Split split;
    friend auto operator<=>(const SummaryKey&, const SummaryKey&) = default;
};

struct SummaryCounts {
    size_t trials = 0;
    std::array<size_t, kNumClasses> windows{};  // by class 0..8
    size_t ignored = 0;                         // windows labelled Ignore
};

struct DataSummary {
    std::map<SummaryKey, SummaryCounts> counts;
    // A table a person can read: one row per data set, placement and split; one column per class.
    std::string ToText() const;
};

struct SummaryOptions {
    WindowSpec windows;
    LabelParams labels;
    uint64_t split_seed = kDefaultSplitSeed;
    // Which trials to include (all when empty); tests summarise a slice.
    std::function<bool(const TrialInfo&)> include;
    // Which data sets to list; each must be present under data_root.
    std::vector<DatasetId> datasets{kAllDatasets.begin(), kAllDatasets.end()};
};

// Lists, loads, resamples, labels and windows every included trial of the chosen data sets. The first
// data set that cannot be listed, or trial that fails to load or label, stops it with that Status.
Result<DataSummary> Summarize(const std::filesystem::path& data_root, const SummaryOptions& options = {});

}  // namespace vg::imu
