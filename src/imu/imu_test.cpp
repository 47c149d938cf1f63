// Readers, resampling, windows, labels, splits and the summary, on small slices of the real files.

#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "vg/imu/labels.hpp"
#include "vg/imu/series.hpp"
#include "vg/imu/split.hpp"
#include "vg/imu/summary.hpp"
#include "vg/imu/trial.hpp"
#include "vg/testing/shared_data.hpp"

namespace vg::imu {
namespace {

namespace fs = std::filesystem;
const fs::path kData = ::vg::testing::SharedDataRoot();

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

// A test of one data set skips without it (fails under VG_REQUIRE_DATA): tests/shared_data.
#define SKIP_WITHOUT(d) VG_REQUIRE_DATA_SET(DatasetName(d))

// Tests that go over every data set check those that are there (a missing one fails under VG_REQUIRE_DATA).
bool Have(DatasetId d) { return ::vg::testing::HaveDataSet(DatasetName(d)); }

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
    SKIP_WITHOUT(DatasetId::kSisFall);
    SKIP_WITHOUT(DatasetId::kUmaFall);
    SKIP_WITHOUT(DatasetId::kHifd);
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
    for (DatasetId d : kAllDatasets) {
        if (!Have(d)) continue;
        for (const auto& t : Listed(d)) ASSERT_NE(FindActivity(d, t.activity_code), nullptr) << t.path;
    }
}

TEST(LoadTrial, SisFallWalkingIs50HzWithGravity) {
    SKIP_WITHOUT(DatasetId::kSisFall);
    const TrialInfo info = Find(DatasetId::kSisFall, "SA01", "D01");
    auto l = LoadAll(info);
    ASSERT_EQ(l.trial.samples.size(), 4999u);  // 100 s at 50 Hz (the file has a header + 4999 rows)
    EXPECT_NEAR(l.trial.samples[1].t_s, 0.02, 1e-9);
    EXPECT_EQ(l.series.samples.size(), l.trial.samples.size());  // already 50 Hz: unchanged
    EXPECT_FLOAT_EQ(l.series.samples[100][1], l.trial.samples[100].v[1]);
    EXPECT_NEAR(MeanMagnitude(l.series, 0, l.series.samples.size()), 1.0, 0.1);
}

TEST(LoadTrial, UmaFallIsUpsampledFrom20Hz) {
    SKIP_WITHOUT(DatasetId::kUmaFall);
    const TrialInfo info = Find(DatasetId::kUmaFall, "Subject_02", "Aplausing", 1, Placement::kWaist);
    EXPECT_EQ(info.sensor_id, 2);
    auto l = LoadAll(info);
    ASSERT_GE(l.trial.samples.size(), 2u) << info.path;  // a trial that did not load is a failure, not a crash
    const double duration = l.trial.samples.back().t_s;
    EXPECT_NEAR(duration, 14.9, 0.3);
    const double raw_rate = static_cast<double>(l.trial.samples.size() - 1) / duration;
    EXPECT_NEAR(raw_rate, 20, 2);
    EXPECT_EQ(l.series.samples.size(), static_cast<size_t>(duration * 50) + 1);
    // The waist sensor at rest at the start: |a| ≈ 1 g.
    EXPECT_NEAR(MeanMagnitude(l.series, 0, 25), 1.0, 0.1);
}

TEST(LoadTrial, HifdHasNoGravity) {
    SKIP_WITHOUT(DatasetId::kHifd);
    const TrialInfo info = Find(DatasetId::kHifd, "subject_01", "walk");
    auto l = LoadAll(info);
    ASSERT_EQ(l.trial.samples.size(), 1055u);
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
    SKIP_WITHOUT(DatasetId::kSisFall);
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
    SKIP_WITHOUT(DatasetId::kSisFall);
    auto l = LoadAll(Find(DatasetId::kSisFall, "SA01", "D01"));
    size_t walking = 0;
    for (const auto& w : l.windows) {
        EXPECT_NE(w.label, Label::kFall);
        walking += w.label == Label::kWalking;
    }
    EXPECT_GT(static_cast<double>(walking), 0.9 * static_cast<double>(l.windows.size()));
}

TEST(Labels, SisFallChairIsStandSitStand) {
    SKIP_WITHOUT(DatasetId::kSisFall);
    auto l = LoadAll(Find(DatasetId::kSisFall, "SA01", "D07"));
    ASSERT_GT(l.samples.labels.size(), 575u);
    // Hand-checked: still standing 0–2 s, seated 4–8 s, standing again from ~10 s.
    EXPECT_EQ(l.samples.labels[25], Label::kStanding);
    EXPECT_EQ(l.samples.labels[300], Label::kSitting);
    EXPECT_EQ(l.samples.labels[575], Label::kStanding);
}

TEST(Labels, OtherActivitiesAreOtherNeverFall) {
    SKIP_WITHOUT(DatasetId::kSisFall);
    SKIP_WITHOUT(DatasetId::kHifd);
    SKIP_WITHOUT(DatasetId::kUmaFall);
    for (const TrialInfo& info :
         {Find(DatasetId::kSisFall, "SA01", "D19"), Find(DatasetId::kHifd, "subject_01", "clap"),
          Find(DatasetId::kUmaFall, "Subject_02", "Aplausing", 1, Placement::kWrist)}) {
        auto l = LoadAll(info);
        ASSERT_FALSE(l.windows.empty()) << info.path;
        for (const auto& w : l.windows) EXPECT_EQ(w.label, Label::kOther) << info.path << " @" << w.start;
    }
}

TEST(Labels, HifdFallFindsImpactWithoutGravity) {
    SKIP_WITHOUT(DatasetId::kHifd);
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
    SKIP_WITHOUT(DatasetId::kUmaFall);
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

// Found by reading the fuzz target's code (imu_readers): a sensor id or type far outside int's range was
// converted to int, which is undefined behaviour (UBSan stops the ASan build on it). Such rows are no row
// of the trial's sensor, and the file still loads.
TEST(LoadTrial, UmaFallRowsWithHugeSensorIdsOrTypesAreNotTheTrialsSensor) {
    TrialInfo info;
    info.dataset = DatasetId::kUmaFall;
    info.subject = "Subject_99";
    info.activity_code = "Walking";
    info.placement = Placement::kWrist;
    info.sensor_id = 3;
    std::string rows = "% header\n";
    for (int i = 0; i < 10; ++i) {
        const std::string t = std::to_string(i * 50);
        rows += t + ";" + std::to_string(i) + ";0.1;-1.0;0.2;0;3\n";  // accelerometer of sensor 3
        rows += t + ";" + std::to_string(i) + ";1.5;-2.5;3.5;1;3\n";  // its gyroscope
        rows += t + ";" + std::to_string(i) + ";1;1;1;1;1e300\n";     // a sensor id no int holds
        rows += t + ";" + std::to_string(i) + ";1;1;1;-1e300;3\n";    // a sensor type no int holds
    }
    info.path = WriteGz("UMAFall_Subject_99_ADL_Walking_1.csv.gz", rows);
    auto trial = LoadTrial(info);
    ASSERT_TRUE(trial.ok()) << trial.status().ToString();
    EXPECT_FALSE(trial->samples.empty());
    fs::remove_all(fs::temp_directory_path() / ("vg_imu_test_" + std::to_string(::getpid())));
}

TEST(Split, NoSubjectInTwoSplitsAndDeterministic) {
    SKIP_WITHOUT(DatasetId::kSisFall);
    for (DatasetId d : kAllDatasets) {
        if (!Have(d)) continue;
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

TEST(Split, WedaFallElderlyAndYoungAreSplitSeparately) {
    SKIP_WITHOUT(DatasetId::kWedaFall);
    std::set<std::string> subjects;
    for (const auto& t : Listed(DatasetId::kWedaFall)) subjects.insert(t.subject);
    std::map<Split, int> young, elderly;
    for (const auto& [s, split] : AssignSplits(DatasetId::kWedaFall, {subjects.begin(), subjects.end()}))
        (s >= "U21" ? elderly : young)[split]++;
    for (Split split : {Split::kTrain, Split::kValidation, Split::kTest}) {
        EXPECT_GT(young[split], 0) << SplitName(split);  // the falls
        EXPECT_GT(elderly[split], 0) << SplitName(split);
    }
}

// ---- WEDA-FALL and FallAllD ----

// Rows of a data set's trials.csv as field lists (header dropped).
std::vector<std::vector<std::string>> TrialsCsv(DatasetId d) {
    std::ifstream in(kData / std::string(DatasetName(d)) / "trials.csv");
    std::vector<std::vector<std::string>> rows;
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        std::vector<std::string> fields;
        std::stringstream ss(line);
        for (std::string f; std::getline(ss, f, ',');) fields.push_back(f);
        rows.push_back(fields);
    }
    return rows;
}

std::map<std::string, size_t> TrialsPerSubject(DatasetId d) {
    std::map<std::string, size_t> out;
    for (const auto& t : Listed(d)) ++out[t.subject];
    return out;
}

TEST(ListTrials, WedaFallMatchesItsReadme) {
    SKIP_WITHOUT(DatasetId::kWedaFall);
    const auto& weda = Listed(DatasetId::kWedaFall);
    ASSERT_EQ(weda.size(), 749u);
    const auto per_subject = TrialsPerSubject(DatasetId::kWedaFall);
    ASSERT_EQ(per_subject.size(), 19u);
    size_t elderly_trials = 0, falls = 0;
    for (const auto& [subject, n] : per_subject) {
        if (subject < "U21")
            EXPECT_EQ(n, 58u) << subject;  // young adults: every activity 3 times, F08 4 times
        else
            elderly_trials += n;
    }
    EXPECT_EQ(elderly_trials, 111u);
    const auto elderly_counts = std::map<std::string, size_t>(per_subject.find("U21"), per_subject.end());
    EXPECT_EQ(
        elderly_counts,
        (std::map<std::string, size_t>{
            {"U21", 12}, {"U22", 11}, {"U23", 15}, {"U24", 16}, {"U25", 10}, {"U26", 16}, {"U27", 15}, {"U28", 16}}));
    for (const auto& t : weda) {
        EXPECT_EQ(t.placement, Placement::kWrist);
        EXPECT_FALSE(t.gravity_removed);
        EXPECT_EQ(t.annotated_fall.has_value(), t.is_fall_trial) << t.path;
        if (t.is_fall_trial) {
            ++falls;
            EXPECT_LT(t.subject, "U21") << "no elderly person fell: " << t.path;
            EXPECT_LE(t.annotated_fall->begin_s, t.annotated_fall->end_s);
        }
    }
    EXPECT_EQ(falls, 275u);
    // Sorted like the others: by subject, activity, trial number.
    EXPECT_EQ(weda.front().path.filename(), "D01_U01_R01.csv.gz");
    EXPECT_EQ(weda.back().path.filename(), "D11_U28_R03.csv.gz");
}

TEST(ListTrials, FallAllDMatchesItsReadme) {
    SKIP_WITHOUT(DatasetId::kFallAllD);
    const auto& fad = Listed(DatasetId::kFallAllD);
    ASSERT_EQ(fad.size(), 1970u);
    EXPECT_EQ(TrialsPerSubject(DatasetId::kFallAllD), (std::map<std::string, size_t>{{"S01", 236},
                                                                                     {"S02", 239},
                                                                                     {"S03", 242},
                                                                                     {"S04", 108},
                                                                                     {"S05", 216},
                                                                                     {"S06", 234},
                                                                                     {"S09", 218},
                                                                                     {"S10", 159},
                                                                                     {"S11", 155},
                                                                                     {"S12", 163}}));
    size_t falls = 0;
    std::set<std::string> fallers;
    for (const auto& t : fad) {
        EXPECT_EQ(t.placement, Placement::kWrist);
        EXPECT_FALSE(t.gravity_removed);
        EXPECT_FALSE(t.annotated_fall.has_value());  // no annotation exists; the file centre is not one
        if (t.is_fall_trial) {
            ++falls;
            fallers.insert(t.subject);
        }
    }
    EXPECT_EQ(falls, 373u);
    EXPECT_EQ(fallers, (std::set<std::string>{"S01", "S02", "S03", "S05", "S06", "S09"}));
}

// The mapping is complete and agrees with the data set's own fall flag (trials.csv), with no code left unused.
void ExpectEveryCodeHasASpec(DatasetId d, size_t expected_codes) {
    const auto rows = TrialsCsv(d);
    ASSERT_EQ(rows.size(), Listed(d).size()) << DatasetName(d);
    std::set<std::string> codes;
    for (const auto& row : rows) {
        ASSERT_GE(row.size(), 4u);
        const ActivitySpec* spec = FindActivity(d, row[2]);
        ASSERT_NE(spec, nullptr) << DatasetName(d) << " " << row[2];
        EXPECT_EQ(spec->scenario == Scenario::kFall, row[3] == "1") << row[0];
        codes.insert(row[2]);
    }
    size_t specs = 0;
    for (const ActivitySpec& a : Activities()) {
        if (a.dataset != d) continue;
        ++specs;
        EXPECT_TRUE(codes.contains(std::string(a.code))) << DatasetName(d) << " " << a.code << " has no trial";
    }
    EXPECT_EQ(specs, codes.size());
    EXPECT_EQ(codes.size(), expected_codes);
}

TEST(Activities, EveryWedaFallCodeHasASpec) {
    SKIP_WITHOUT(DatasetId::kWedaFall);
    ExpectEveryCodeHasASpec(DatasetId::kWedaFall, 19);
}

TEST(Activities, EveryFallAllDCodeHasASpec) {
    SKIP_WITHOUT(DatasetId::kFallAllD);
    ExpectEveryCodeHasASpec(DatasetId::kFallAllD, 79);
}

TEST(LoadTrial, WedaFallIs50HzInGWithGravity) {
    SKIP_WITHOUT(DatasetId::kWedaFall);
    // An elderly subject seated still for the first ~5 s of "sit, wait, get up".
    auto l = LoadAll(Find(DatasetId::kWedaFall, "U21", "D04"));
    ASSERT_EQ(l.trial.samples.size(), 768u);
    EXPECT_NEAR(l.trial.samples[1].t_s, 0.02, 1e-9);
    EXPECT_EQ(l.series.samples.size(), l.trial.samples.size());  // already 50 Hz: unchanged
    EXPECT_FALSE(l.series.gravity_removed);
    EXPECT_NEAR(MeanMagnitude(l.series, 0, 200), 1.0, 0.05);
}

TEST(LoadTrial, FallAllDDropsTheResamplingFilterEdges) {
    SKIP_WITHOUT(DatasetId::kFallAllD);
    // Standing still for the first seconds of "sitting down".
    auto l = LoadAll(Find(DatasetId::kFallAllD, "S01", "A013", 2));
    ASSERT_EQ(l.trial.samples.size(), 980u);  // 1000 rows less 0.2 s at each end
    EXPECT_EQ(l.trial.samples.front().t_s, 0.0);
    EXPECT_NEAR(l.trial.samples.back().t_s, 19.58, 1e-9);
    EXPECT_NEAR(MeanMagnitude(l.series, 0, 300), 1.0, 0.05);
    // The file's first row reads |a| ≈ 0.6 g, the filter's ringing; what is kept starts at rest.
    EXPECT_NEAR(MeanMagnitude(l.series, 0, 1), 1.0, 0.05);
}

TEST(Labels, WedaFallImpactIsSearchedInTheAnnotatedFall) {
    SKIP_WITHOUT(DatasetId::kWedaFall);
    // Regression: U08 F06 R03's largest |a| (3.8 g at 0.82 s) is a knock while seated, 5 s before the annotated
    // fall (6.2–9.8 s); the impact of the fall is 3.45 g at 7.8 s.
    const TrialInfo info = Find(DatasetId::kWedaFall, "U08", "F06", 3);
    ASSERT_TRUE(info.annotated_fall.has_value());
    EXPECT_NEAR(info.annotated_fall->begin_s, 6.2, 1e-9);
    EXPECT_NEAR(info.annotated_fall->end_s, 9.8, 1e-9);
    auto l = LoadAll(info);
    ASSERT_TRUE(l.samples.impact.has_value());
    const double impact_s = static_cast<double>(*l.samples.impact) / 50;
    EXPECT_NEAR(impact_s, 7.8, 0.05);
    EXPECT_GE(impact_s, info.annotated_fall->begin_s - 0.5);
    EXPECT_LE(impact_s, info.annotated_fall->end_s + 0.5);
    size_t falls = 0;
    for (const auto& w : l.windows) falls += w.label == Label::kFall;
    EXPECT_GE(falls, 1u);

    TrialInfo unannotated = info;
    unannotated.annotated_fall.reset();
    auto global = LabelSamples(unannotated, l.series);
    ASSERT_TRUE(global.ok());
    EXPECT_NEAR(static_cast<double>(*global->impact) / 50, 0.82, 0.05);  // what the global peak would say

    // A slip while walking: walking before, the impact inside the annotation (4.7–7.7 s).
    auto slip = LoadAll(Find(DatasetId::kWedaFall, "U01", "F01", 1));
    ASSERT_TRUE(slip.samples.impact.has_value());
    EXPECT_NEAR(static_cast<double>(*slip.samples.impact) / 50, 5.52, 0.05);
    EXPECT_EQ(slip.windows.front().label, Label::kWalking);
}

TEST(Labels, FallAllDFallImpactIsTheAccelerationPeak) {
    SKIP_WITHOUT(DatasetId::kFallAllD);
    constexpr double kTrimmedS = 0.2;  // LoadTrial's clock starts 0.2 s into the file
    auto l = LoadAll(Find(DatasetId::kFallAllD, "S01", "A101", 1));
    ASSERT_TRUE(l.samples.impact.has_value());
    const double impact_in_file_s = static_cast<double>(*l.samples.impact) / 50 + kTrimmedS;
    EXPECT_GE(impact_in_file_s, 9.4);
    EXPECT_LE(impact_in_file_s, 10.8);
    EXPECT_NEAR(impact_in_file_s, 10.02, 0.05);  // hand-checked |a| peak, 5.3 g
    size_t falls = 0, lying_after = 0;
    for (const auto& w : l.windows) {
        falls += w.label == Label::kFall;
        if (w.start > *l.samples.impact) lying_after += w.label == Label::kLying;
    }
    EXPECT_GE(falls, 1u);
    EXPECT_GE(lying_after, 2u);  // still on the ground for the rest of the recording

    // "With recovery": still a fall, but the subject gets up again, so nothing after it is Lying.
    auto recovery = LoadAll(Find(DatasetId::kFallAllD, "S01", "A102", 1));
    ASSERT_TRUE(recovery.samples.impact.has_value());
    EXPECT_TRUE(recovery.trial.info.is_fall_trial);
    EXPECT_NEAR(static_cast<double>(*recovery.samples.impact) / 50 + kTrimmedS, 10.02, 0.05);
    for (Label label : recovery.samples.labels) EXPECT_NE(label, Label::kLying);
}

TEST(Labels, FallAllDTransitionsNameTheBeforeAndAfter) {
    SKIP_WITHOUT(DatasetId::kFallAllD);
    // Hand-checked: still standing to ~8 s, sits down, still seated from ~12 s.
    auto sit = LoadAll(Find(DatasetId::kFallAllD, "S01", "A013", 2));
    ASSERT_FALSE(sit.windows.empty());
    EXPECT_EQ(sit.windows.front().label, Label::kStanding);
    EXPECT_EQ(sit.windows.back().label, Label::kSitting);
    // Seated to ~7 s, stands up, still standing at the end.
    auto stand = LoadAll(Find(DatasetId::kFallAllD, "S01", "A014", 2));
    ASSERT_FALSE(stand.windows.empty());
    EXPECT_EQ(stand.windows.front().label, Label::kSitting);
    EXPECT_EQ(stand.windows.back().label, Label::kStanding);
    // In a lift: standing when still, never anything but Standing or Ignore.
    auto lift = LoadAll(Find(DatasetId::kFallAllD, "S01", "A037", 2));
    size_t standing = 0;
    for (const auto& w : lift.windows) {
        EXPECT_TRUE(w.label == Label::kStanding || w.label == Label::kIgnore) << LabelName(w.label);
        standing += w.label == Label::kStanding;
    }
    EXPECT_GE(standing, 1u);
}

// A data root in the temp folder holding only what a test writes.
fs::path TempDataRoot() { return fs::temp_directory_path() / ("vg_imu_root_" + std::to_string(::getpid())); }

void WriteGzAt(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    gzFile f = gzopen(p.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
    gzclose(f);
}

TEST(LoadTrial, WedaFallAndFallAllDBadFilesNameFileAndLine) {
    const fs::path root = TempDataRoot();
    const std::string header = "t_s,ax_g,ay_g,az_g,gx_dps,gy_dps,gz_dps\n";
    std::string rows = header;
    for (int i = 0; i < 1000; ++i) rows += std::to_string(i * 0.02) + ",0.0,0.0,1.0,0.0,0.0,0.0\n";

    // FallAllD: a bad row is named by its line; a good file loses 0.2 s at each end.
    const fs::path good = root / "fallalld" / "S01" / "A020_S01_T01.csv.gz";
    WriteGzAt(good, rows);
    const fs::path bad_row = root / "fallalld" / "S01" / "A020_S01_T02.csv.gz";
    WriteGzAt(bad_row, header + "0,0,0,1,0,0,0\n0.02,0,0,1,0,0\n");
    const fs::path bad_header = root / "fallalld" / "S01" / "A020_S01_T03.csv.gz";
    WriteGzAt(bad_header, "t_s,ax,ay,az,gx,gy,gz\n0,0,0,1,0,0,0\n");
    auto listed = ListTrials(root, DatasetId::kFallAllD);
    ASSERT_TRUE(listed.ok()) << listed.status().ToString();
    ASSERT_EQ(listed->size(), 3u);
    auto loaded = LoadTrial((*listed)[0]);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    EXPECT_EQ(loaded->samples.size(), 980u);
    auto short_row = LoadTrial((*listed)[1]);
    ASSERT_FALSE(short_row.ok());
    EXPECT_NE(short_row.status().message().find("A020_S01_T02.csv.gz:3:"), std::string::npos)
        << short_row.status().message();
    auto wrong_header = LoadTrial((*listed)[2]);
    ASSERT_FALSE(wrong_header.ok());
    EXPECT_NE(wrong_header.status().message().find("A020_S01_T03.csv.gz:1: header"), std::string::npos)
        << wrong_header.status().message();
    // A file whose name disagrees with its folder is refused by name.
    WriteGzAt(root / "fallalld" / "S02" / "A020_S01_T01.csv.gz", rows);
    auto misplaced = ListTrials(root, DatasetId::kFallAllD);
    ASSERT_FALSE(misplaced.ok());
    EXPECT_NE(misplaced.status().message().find("S02/A020_S01_T01.csv.gz"), std::string::npos);

    // WEDA-FALL: trials.csv is checked as strictly as the samples.
    const fs::path fall = root / "wedafall" / "U01" / "F01_U01_R01.csv.gz";
    WriteGzAt(fall, rows);
    const std::string table_header =
        "file,subject,code,is_fall,acc_native_hz,gyr_native_hz,max_gap_s,acc_clipped,fall_start_s,fall_end_s\n";
    auto with_table = [&](const std::string& body) {
        std::ofstream(root / "wedafall" / "trials.csv") << table_header << body;
        return ListTrials(root, DatasetId::kWedaFall);
    };
    auto ok = with_table("U01/F01_U01_R01.csv.gz,U01,F01,1,40.1,40.0,0.03,1,4.7,7.7\n");
    ASSERT_TRUE(ok.ok()) << ok.status().ToString();
    ASSERT_EQ(ok->size(), 1u);
    ASSERT_TRUE((*ok)[0].annotated_fall.has_value());
    EXPECT_DOUBLE_EQ((*ok)[0].annotated_fall->end_s, 7.7);
    auto backwards = with_table("U01/F01_U01_R01.csv.gz,U01,F01,1,40.1,40.0,0.03,1,7.7,4.7\n");
    ASSERT_FALSE(backwards.ok());
    EXPECT_NE(backwards.status().message().find("trials.csv:2: a fall needs"), std::string::npos)
        << backwards.status().message();
    auto not_annotated = with_table("U01/F01_U01_R01.csv.gz,U01,F01,1,40.1,40.0,0.03,1,,\n");
    ASSERT_FALSE(not_annotated.ok());
    EXPECT_NE(not_annotated.status().message().find("trials.csv:2:"), std::string::npos);
    auto not_a_fall = with_table("U01/F01_U01_R01.csv.gz,U01,F01,0,40.1,40.0,0.03,1,,\n");
    ASSERT_FALSE(not_a_fall.ok());
    EXPECT_NE(not_a_fall.status().message().find("trials.csv:2: is_fall does not match"), std::string::npos);
    auto no_row = with_table("");
    ASSERT_FALSE(no_row.ok());
    EXPECT_NE(no_row.status().message().find("has no row for U01/F01_U01_R01.csv.gz"), std::string::npos);
    auto short_table = with_table("U01/F01_U01_R01.csv.gz,U01,F01,1\n");
    ASSERT_FALSE(short_table.ok());
    EXPECT_NE(short_table.status().message().find("trials.csv:2: expected 10 fields"), std::string::npos);
    fs::remove_all(root);
}

TEST(Summary, CountsASliceOfEachDataSet) {
    SKIP_WITHOUT(DatasetId::kSisFall);
    SKIP_WITHOUT(DatasetId::kUmaFall);
    SKIP_WITHOUT(DatasetId::kHifd);
    SummaryOptions options;
    options.include = [](const TrialInfo& t) {
        return t.subject == "SA01" || t.subject == "Subject_02" || t.subject == "subject_01";
    };
    options.datasets = {DatasetId::kSisFall, DatasetId::kUmaFall, DatasetId::kHifd};
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
