// Readers, resampling, windows, labels, splits and the summary, on small slices of the real files.

#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "vg/imu/labels.hpp"
#include "vg/imu/series.hpp"
#include "vg/imu/split.hpp"
#include "vg/imu/summary.hpp"
#include "vg/imu/trial.hpp"

namespace vg::imu {
namespace {

namespace fs = std::filesystem;
const fs::path kData = VG_DATA_DIR;

const std::vector<TrialInfo>& Listed(DatasetId d) {
    static std::map<DatasetId, std::vector<TrialInfo>> cache;
    auto it = cache.find(d);
    if (it == cache.end()) {
        auto r = ListTrials(kData, d);
        EXPECT_TRUE(r.ok()) << r.status().ToString();
        it = cache.emplace(d, r.ok() ? r.value() : std::vector<TrialInfo>{}).first;
    }
    return it->second;
}

TrialInfo Find(DatasetId d, std::string_view subject, std::string_view code, int trial = 1,
               Placement p = Placement::kWaist) {
    for (const TrialInfo& t : Listed(d))
        if (t.subject == subject && t.activity_code == code && t.trial_number == trial &&
            (d != DatasetId::kUmaFall || t.placement == p))
            return t;
    ADD_FAILURE() << "trial not listed: " << subject << " " << code;
    return {};
}

struct Loaded {
    Trial trial;
    Series series;
    SampleLabels samples;
    std::vector<LabelledWindow> windows;
};

Loaded LoadAll(const TrialInfo& info) {
    Loaded out;
    auto t = LoadTrial(info);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    if (!t.ok()) return out;
    out.trial = *t;
    auto s = Resample(out.trial);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) return out;
    out.series = *s;
    auto l = LabelSamples(info, out.series);
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    if (!l.ok()) return out;
    out.samples = *l;
    out.windows = LabelWindows(out.samples, WindowSpec{});
    return out;
}

double MeanMagnitude(const Series& s, size_t begin, size_t end) {
    double sum = 0;
    for (size_t i = begin; i < end; ++i)
        sum += std::sqrt(s.samples[i][0] * s.samples[i][0] + s.samples[i][1] * s.samples[i][1] +
                         s.samples[i][2] * s.samples[i][2]);
    return sum / static_cast<double>(end - begin);
}

TEST(ListTrials, EnumeratesEveryDataSetWithMetadata) {
    const auto& sis = Listed(DatasetId::kSisFall);
    EXPECT_GT(sis.size(), 3000u);
    std::set<std::string> subjects;
    for (const auto& t : sis) {
        subjects.insert(t.subject);
        EXPECT_EQ(t.placement, Placement::kWaist);
        EXPECT_EQ(t.is_fall_trial, t.activity_code[0] == 'F') << t.path;
    }
    EXPECT_EQ(subjects.size(), 32u);  // SA01–SA20, SE01–SE12

    const auto& uma = Listed(DatasetId::kUmaFall);
    std::set<Placement> placements;
    for (const auto& t : uma) placements.insert(t.placement);
    EXPECT_EQ(placements.size(), 2u);
    EXPECT_GT(uma.size(), 563u);  // most files hold both a wrist and a waist sensor

    const auto& hifd = Listed(DatasetId::kHifd);
    EXPECT_GT(hifd.size(), 250u);
    for (const auto& t : hifd) {
        EXPECT_TRUE(t.gravity_removed);
        EXPECT_EQ(t.placement, Placement::kWrist);
    }
    // Every listed activity has a mapping (FillActivity would have refused it otherwise).
    for (DatasetId d : kAllDatasets)
        for (const auto& t : Listed(d)) ASSERT_NE(FindActivity(d, t.activity_code), nullptr) << t.path;
}

TEST(LoadTrial, SisFallWalkingIs50HzWithGravity) {
    const TrialInfo info = Find(DatasetId::kSisFall, "SA01", "D01");
    auto l = LoadAll(info);
    ASSERT_EQ(l.trial.samples.size(), 4999u);  // 100 s at 50 Hz (the file has a header + 4999 rows)
    EXPECT_NEAR(l.trial.samples[1].t_s, 0.02, 1e-9);
    EXPECT_EQ(l.series.samples.size(), l.trial.samples.size());  // already 50 Hz: unchanged
    EXPECT_FLOAT_EQ(l.series.samples[100][1], l.trial.samples[100].v[1]);
    EXPECT_NEAR(MeanMagnitude(l.series, 0, l.series.samples.size()), 1.0, 0.1);
}

TEST(LoadTrial, UmaFallIsUpsampledFrom20Hz) {
    const TrialInfo info = Find(DatasetId::kUmaFall, "Subject_02", "Aplausing", 1, Placement::kWaist);
    EXPECT_EQ(info.sensor_id, 2);
    auto l = LoadAll(info);
    const double duration = l.trial.samples.back().t_s;
    EXPECT_NEAR(duration, 14.9, 0.3);
    const double raw_rate = static_cast<double>(l.trial.samples.size() - 1) / duration;
    EXPECT_NEAR(raw_rate, 20, 2);
    EXPECT_EQ(l.series.samples.size(), static_cast<size_t>(duration * 50) + 1);
    // The waist sensor at rest at the start: |a| ≈ 1 g.
    EXPECT_NEAR(MeanMagnitude(l.series, 0, 25), 1.0, 0.1);
}

TEST(LoadTrial, HifdHasNoGravity) {
    const TrialInfo info = Find(DatasetId::kHifd, "subject_01", "walk");
    auto l = LoadAll(info);
    EXPECT_EQ(l.trial.samples.size(), 1055u);
    EXPECT_TRUE(l.series.gravity_removed);
    EXPECT_NEAR(static_cast<double>(l.series.samples.size()), l.trial.samples.back().t_s * 50, 2);
    EXPECT_LT(MeanMagnitude(l.series, 0, l.series.samples.size()), 0.9);  // gravity-free: far from 1 g
}

TEST(Resample, InterpolatesLinearlyAndKeepsTheLastOfRepeatedTimes) {
    Trial t;
    t.info.path = "synthetic";
    auto sample = [](double ts, float v) {
        Sample s;
        s.t_s = ts;
        s.v.fill(v);
        return s;
    };
    t.samples = {sample(0, 0), sample(0.05, 5), sample(0.05, 1), sample(0.1, 2)};
    auto s = Resample(t, 50);
    ASSERT_TRUE(s.ok());
    ASSERT_EQ(s->samples.size(), 6u);
    EXPECT_NEAR(s->samples[1][0], 0.4f, 1e-5);  // 0.02 s on the way from 0 to 1 (the later sample at 0.05)
    EXPECT_NEAR(s->samples[3][0], 1.2f, 1e-5);  // 0.06 s between 1 @0.05 and 2 @0.1
    EXPECT_NEAR(s->samples[5][5], 2.0f, 1e-5);
    t.samples = {sample(0, 0), sample(0.1, 1), sample(0.05, 2)};
    EXPECT_FALSE(Resample(t, 50).ok());
}

TEST(Windows, FixedLengthAndStride) {
    EXPECT_EQ(WindowStarts(127, {}), std::vector<size_t>{});
    EXPECT_EQ(WindowStarts(320, {}), (std::vector<size_t>{0, 64, 128, 192}));
    Series s;
    s.samples.resize(200);
    for (size_t i = 0; i < s.samples.size(); ++i) s.samples[i].fill(static_cast<float>(i));
    auto v = WindowValues(s, 64, {});
    ASSERT_EQ(v.size(), 128u * kChannels);
    EXPECT_EQ(v[0], 64.f);
    EXPECT_EQ(v[127 * kChannels + 5], 191.f);
}

TEST(Labels, SisFallFallHasImpactWindowAndEndsLying) {
    auto l = LoadAll(Find(DatasetId::kSisFall, "SA01", "F01"));
    ASSERT_TRUE(l.samples.impact.has_value());
    EXPECT_NEAR(static_cast<double>(*l.samples.impact) / 50, 7.3, 0.1);  // hand-checked |a| peak, 9.1 g
    int falls = 0;
    for (const auto& w : l.windows) {
        if (w.label != Label::kFall) continue;
        ++falls;
        EXPECT_LE(w.start, *l.samples.impact);
        EXPECT_GT(w.start + 128, *l.samples.impact);
    }
    EXPECT_GE(falls, 1);
    EXPECT_LE(falls, 2);
    ASSERT_GE(l.windows.size(), 3u);
    EXPECT_EQ(l.windows.back().label, Label::kLying);
    EXPECT_EQ(l.windows[l.windows.size() - 2].label, Label::kLying);
    EXPECT_EQ(l.windows.front().label, Label::kWalking);  // F01: a slip while walking
}

TEST(Labels, SisFallWalkingIsWalking) {
    auto l = LoadAll(Find(DatasetId::kSisFall, "SA01", "D01"));
    size_t walking = 0;
    for (const auto& w : l.windows) {
        EXPECT_NE(w.label, Label::kFall);
        walking += w.label == Label::kWalking;
    }
    EXPECT_GT(static_cast<double>(walking), 0.9 * static_cast<double>(l.windows.size()));
}

TEST(Labels, SisFallChairIsStandSitStand) {
    auto l = LoadAll(Find(DatasetId::kSisFall, "SA01", "D07"));
    // Hand-checked: still standing 0–2 s, seated 4–8 s, standing again from ~10 s.
    EXPECT_EQ(l.samples.labels[25], Label::kStanding);
    EXPECT_EQ(l.samples.labels[300], Label::kSitting);
    EXPECT_EQ(l.samples.labels[575], Label::kStanding);
}

TEST(Labels, OtherActivitiesAreOtherNeverFall) {
    for (const TrialInfo& info :
         {Find(DatasetId::kSisFall, "SA01", "D19"), Find(DatasetId::kHifd, "subject_01", "clap"),
          Find(DatasetId::kUmaFall, "Subject_02", "Aplausing", 1, Placement::kWrist)}) {
        auto l = LoadAll(info);
        ASSERT_FALSE(l.windows.empty()) << info.path;
        for (const auto& w : l.windows) EXPECT_EQ(w.label, Label::kOther) << info.path << " @" << w.start;
    }
}

TEST(Labels, HifdFallFindsImpactWithoutGravity) {
    auto l = LoadAll(Find(DatasetId::kHifd, "subject_01", "fall1"));
    ASSERT_TRUE(l.samples.impact.has_value());
    EXPECT_NEAR(static_cast<double>(*l.samples.impact) / 50, 8.35, 0.1);  // hand-checked, 2.9 g
    int falls = 0;
    for (const auto& w : l.windows) falls += w.label == Label::kFall;
    EXPECT_GE(falls, 1);
    // Hand-checked: still on the ground from ~11 s to ~18 s (lying by trial type), moving again after.
    size_t lying_after = 0;
    for (const auto& w : l.windows) {
        if (w.start > *l.samples.impact) lying_after += w.label == Label::kLying;
        if (w.start + 128 <= *l.samples.impact) {
            EXPECT_NE(w.label, Label::kLying);
        }
    }
    EXPECT_GE(lying_after, 2u);
}

TEST(Labels, UmaFallStairsKeepTheirDirection) {
    auto up = LoadAll(Find(DatasetId::kUmaFall, "Subject_09", "GoUpstairs", 2, Placement::kWrist));
    size_t n = 0;
    for (const auto& w : up.windows) n += w.label == Label::kUpstairs;
    EXPECT_GT(n, up.windows.size() / 2);
}

// Writes `text` gzip-compressed (truncated to `keep` compressed bytes when given) and returns the path.
fs::path WriteGz(const std::string& name, const std::string& text, long keep = -1) {
    const fs::path dir = fs::temp_directory_path() / ("vg_imu_test_" + std::to_string(::getpid()));
    fs::create_directories(dir / "SA99");
    const fs::path p = dir / "SA99" / name;
    gzFile f = gzopen(p.c_str(), "wb");
    EXPECT_NE(f, nullptr);
    gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
    gzclose(f);
    if (keep >= 0) fs::resize_file(p, static_cast<uintmax_t>(keep));
    return p;
}

TrialInfo SisFallFile(const fs::path& p) {
    TrialInfo info;
    info.dataset = DatasetId::kSisFall;
    info.subject = "SA99";
    info.activity_code = "D01";
    info.path = p;
    return info;
}

TEST(LoadTrial, BadFilesNameFileAndLine) {
    const std::string header = "t_s,ax_g,ay_g,az_g,gx_dps,gy_dps,gz_dps\n";
    auto bad_number =
        LoadTrial(SisFallFile(WriteGz("D01_SA99_R01.csv.gz", header + "0,1,2,3,4,5,6\n0.02,1,x,3,4,5,6\n")));
    ASSERT_FALSE(bad_number.ok());
    EXPECT_NE(bad_number.status().message().find("D01_SA99_R01.csv.gz:3:"), std::string::npos)
        << bad_number.status().message();

    auto short_row = LoadTrial(SisFallFile(WriteGz("D01_SA99_R02.csv.gz", header + "0,1,2,3,4,5\n")));
    ASSERT_FALSE(short_row.ok());
    EXPECT_NE(short_row.status().message().find("D01_SA99_R02.csv.gz:2:"), std::string::npos);

    auto bad_header = LoadTrial(SisFallFile(WriteGz("D01_SA99_R03.csv.gz", "t,x\n0,1\n")));
    ASSERT_FALSE(bad_header.ok());
    EXPECT_NE(bad_header.status().message().find("D01_SA99_R03.csv.gz:1:"), std::string::npos);

    std::string rows = header;
    for (int i = 0; i < 3000; ++i) rows += std::to_string(i * 0.02) + ",0.1,-1.0,0.2,1.5,-2.5,3.5\n";
    auto truncated = LoadTrial(SisFallFile(WriteGz("D01_SA99_R04.csv.gz", rows, 2000)));
    ASSERT_FALSE(truncated.ok());
    EXPECT_NE(truncated.status().message().find("D01_SA99_R04.csv.gz:"), std::string::npos);
    EXPECT_NE(truncated.status().message().find("truncated"), std::string::npos) << truncated.status().message();

    auto missing = LoadTrial(SisFallFile("/nonexistent/D01_SA99_R05.csv.gz"));
    EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);

    auto backwards =
        LoadTrial(SisFallFile(WriteGz("D01_SA99_R06.csv.gz", header + "0.04,1,2,3,4,5,6\n0.02,1,2,3,4,5,6\n")));
    ASSERT_FALSE(backwards.ok());
    EXPECT_NE(backwards.status().message().find("D01_SA99_R06.csv.gz:3: time goes backwards"), std::string::npos);
    fs::remove_all(fs::temp_directory_path() / ("vg_imu_test_" + std::to_string(::getpid())));
}

TEST(Split, NoSubjectInTwoSplitsAndDeterministic) {
    for (DatasetId d : kAllDatasets) {
        std::set<std::string> subjects;
        for (const auto& t : Listed(d)) subjects.insert(t.subject);
        const std::vector<std::string> list(subjects.begin(), subjects.end());
        const auto a = AssignSplits(d, list);
        EXPECT_EQ(a, AssignSplits(d, {list.rbegin(), list.rend()}));  // order of the input does not matter
        EXPECT_EQ(a.size(), subjects.size());                         // a map: one split per subject
        std::map<Split, std::set<std::string>> by_split;
        for (const auto& [s, split] : a) by_split[split].insert(s);
        EXPECT_EQ(by_split.size(), 3u) << DatasetName(d);
        for (const auto& [s1, m1] : by_split)
            for (const auto& [s2, m2] : by_split)
                if (s1 != s2) {
                    for (const auto& s : m1) {
                        EXPECT_FALSE(m2.contains(s));
                    }
                }
        // Every trial's windows therefore follow its subject: check on the listing.
        for (const auto& t : Listed(d)) EXPECT_TRUE(a.contains(t.subject));
    }
    // SisFall: adults and elderly both appear in test.
    std::set<std::string> sis;
    for (const auto& t : Listed(DatasetId::kSisFall)) sis.insert(t.subject);
    int sa = 0, se = 0;
    for (const auto& [s, split] : AssignSplits(DatasetId::kSisFall, {sis.begin(), sis.end()}))
        if (split == Split::kTest) {
            (s.starts_with("SA") ? sa : se)++;
        }
    EXPECT_GT(sa, 0);
    EXPECT_GT(se, 0);
}

TEST(Summary, CountsASliceOfEachDataSet) {
    SummaryOptions options;
    options.include = [](const TrialInfo& t) {
        return t.subject == "SA01" || t.subject == "Subject_02" || t.subject == "subject_01";
    };
    auto s = Summarize(kData, options);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    std::cout << s->ToText();
    size_t sis_trials = 0, fall_windows = 0, other_windows = 0;
    std::set<DatasetId> datasets;
    for (const auto& [key, c] : s->counts) {
        datasets.insert(key.dataset);
        if (key.dataset == DatasetId::kSisFall) sis_trials += c.trials;
        fall_windows += c.windows[static_cast<size_t>(Label::kFall)];
        other_windows += c.windows[static_cast<size_t>(Label::kOther)];
    }
    EXPECT_EQ(datasets.size(), 3u);
    EXPECT_EQ(sis_trials, 154u);
    EXPECT_GT(fall_windows, 75u);  // 75 SisFall fall trials of SA01, at least one Fall window each
    EXPECT_GT(other_windows, 0u);
    EXPECT_NE(s->ToText().find("sisfall"), std::string::npos);
}

// The whole data (tens of seconds): ./vg_imu_test --gtest_also_run_disabled_tests --gtest_filter=*Full*
TEST(Summary, DISABLED_FullData) {
    auto s = Summarize(kData);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    std::cout << s->ToText();
}

}  // namespace
}  // namespace vg::imu
