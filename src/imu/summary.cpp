#include "vg/imu/summary.hpp"

#include <cstdio>
#include <set>

#include "vg/imu/series.hpp"

namespace vg::imu {

std::string DataSummary::ToText() const {
    std::string out;
    char buf[256];
    std::snprintf(buf, sizeof buf, "%-8s %-6s %-10s %6s", "dataset", "place", "split", "trials");
    out += buf;
    for (size_t c = 0; c < kNumClasses; ++c) {
        std::snprintf(buf, sizeof buf, " %10s", std::string(LabelName(static_cast<Label>(c))).c_str());
        out += buf;
    }
    out += "     Ignore\n";
    for (const auto& [key, c] : counts) {
        std::snprintf(buf, sizeof buf, "%-8s %-6s %-10s %6zu", std::string(DatasetName(key.dataset)).c_str(),
                      std::string(PlacementName(key.placement)).c_str(), std::string(SplitName(key.split)).c_str(),
                      c.trials);
        out += buf;
        for (size_t i = 0; i < kNumClasses; ++i) {
            std::snprintf(buf, sizeof buf, " %10zu", c.windows[i]);
            out += buf;
        }
        std::snprintf(buf, sizeof buf, " %10zu\n", c.ignored);
        out += buf;
    }
    return out;
}

Result<DataSummary> Summarize(const std::filesystem::path& data_root, const SummaryOptions& options) {
    DataSummary summary;
    for (DatasetId dataset : options.datasets) {
        auto trials = ListTrials(data_root, dataset);
        if (!trials.ok()) return trials.status();
        std::set<std::string> subject_set;
        for (const TrialInfo& t : *trials) subject_set.insert(t.subject);
        const auto splits = AssignSplits(dataset, {subject_set.begin(), subject_set.end()}, options.split_seed);
        for (const TrialInfo& info : *trials) {
            if (options.include && !options.include(info)) continue;
            auto trial = LoadTrial(info);
            if (!trial.ok()) return trial.status();
            auto series = Resample(*trial);
            if (!series.ok()) return series.status();
            auto labels = LabelSamples(info, *series, options.labels);
            if (!labels.ok()) return labels.status();
            SummaryCounts& c = summary.counts[{dataset, info.placement, splits.at(info.subject)}];
            ++c.trials;
            for (const LabelledWindow& w : LabelWindows(*labels, options.windows, options.labels, series->rate_hz)) {
                if (w.label == Label::kIgnore)
                    ++c.ignored;
                else
                    ++c.windows[static_cast<size_t>(w.label)];
            }
        }
    }
    return summary;
}

}  // namespace vg::imu
