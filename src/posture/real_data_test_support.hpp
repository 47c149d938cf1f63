#pragma once
// Test support (not part of the module): real trials of the public IMU data sets as ModelWindows,
// read in place from ../shared/data (or $VG_SHARED_DATA: tests/shared_data) with vg_imu (docs/posture-data.md).
// A test that reads them starts with VG_REQUIRE_DATA_SET("sisfall"), so it is skipped without them.

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "vg/imu/labels.hpp"
#include "vg/imu/series.hpp"
#include "vg/imu/split.hpp"
#include "vg/imu/trial.hpp"
#include "vg/posture/classifier.hpp"
#include "vg/testing/shared_data.hpp"

namespace vg::posture::testdata {

inline const std::filesystem::path kData = ::vg::testing::SharedDataRoot();

inline const std::vector<imu::TrialInfo>& Listed(imu::DatasetId d) {
    static std::map<imu::DatasetId, std::vector<imu::TrialInfo>> cache;
    auto it = cache.find(d);
    if (it == cache.end()) {
        auto r = imu::ListTrials(kData, d);
        it = cache.emplace(d, r.ok() ? r.value() : std::vector<imu::TrialInfo>{}).first;
    }
    return it->second;
}

// Each subject's split (imu::AssignSplits with the default seed), by data set.
inline const std::map<std::string, imu::Split>& Splits(imu::DatasetId d) {
    static std::map<imu::DatasetId, std::map<std::string, imu::Split>> cache;
    auto it = cache.find(d);
    if (it == cache.end()) {
        std::vector<std::string> subjects;
        for (const auto& t : Listed(d)) subjects.push_back(t.subject);
        std::sort(subjects.begin(), subjects.end());
        subjects.erase(std::unique(subjects.begin(), subjects.end()), subjects.end());
        it = cache.emplace(d, imu::AssignSplits(d, subjects)).first;
    }
    return it->second;
}

inline bool InSplit(const imu::TrialInfo& t, imu::Split split) {
    const auto& s = Splits(t.dataset);
    auto it = s.find(t.subject);
    return it != s.end() && it->second == split;
}

inline Placement PlacementOf(imu::Placement p) {
    return p == imu::Placement::kWaist ? Placement::kWaist : Placement::kWrist;
}

// The model window of `series` starting at sample `start`. REQUIRES: start + 128 <= samples.
inline ModelWindow WindowAt(const imu::Series& series, const imu::TrialInfo& info, size_t start) {
    ModelWindow w;
    w.placement = PlacementOf(info.placement);
    w.gravity_removed = series.gravity_removed;
    const std::vector<float> v = imu::WindowValues(series, start, imu::WindowSpec{});
    std::copy(v.begin(), v.end(), w.values.begin());
    return w;
}

struct LoadedTrial {
    imu::TrialInfo info;
    imu::Series series;
    imu::SampleLabels labels;
    std::vector<imu::LabelledWindow> windows;  // stride 64
    bool ok = false;
};

inline LoadedTrial Load(const imu::TrialInfo& info) {
    LoadedTrial out;
    out.info = info;
    auto t = imu::LoadTrial(info);
    if (!t.ok()) return out;
    auto s = imu::Resample(*t);
    if (!s.ok()) return out;
    out.series = *s;
    auto l = imu::LabelSamples(info, out.series);
    if (!l.ok()) return out;
    out.labels = *l;
    out.windows = imu::LabelWindows(out.labels, imu::WindowSpec{});
    out.ok = true;
    return out;
}

// The listed trial, or an empty TrialInfo (path empty) when it is not there.
inline imu::TrialInfo Find(imu::DatasetId d, std::string_view subject, std::string_view code, int trial = 1,
                           imu::Placement p = imu::Placement::kWaist) {
    for (const imu::TrialInfo& t : Listed(d)) {
        if (t.subject == subject && t.activity_code == code && t.trial_number == trial &&
            (d != imu::DatasetId::kUmaFall || t.placement == p)) {
            return t;
        }
    }
    return {};
}

}  // namespace vg::posture::testdata
