#pragma once
// Trials of the public IMU data sets (SisFall, UMAFall, HIFD, WEDA-FALL, FallAllD) read in place from their
// gzip CSV files (docs/posture-data.md has the formats, units and licences).
//
// ListTrials enumerates the trials of one data set with their metadata (subject, placement, activity)
// without parsing samples; LoadTrial parses one trial's samples on demand. Units are VitalGuard's:
// time in seconds from the trial's first sample, acceleration in g, angular velocity in °/s. HIFD's
// acceleration has gravity removed by the device and its "gyroscope" is Euler-angle rates; both are
// passed through unchanged and flagged (TrialInfo::gravity_removed), never faked.
//
// Thread-safety: pure functions over values; distinct calls may run concurrently (they only read files).

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vg/common/status.hpp"

namespace vg::imu {

enum class DatasetId : uint8_t { kSisFall, kUmaFall, kHifd, kWedaFall, kFallAllD };
inline constexpr std::array<DatasetId, 5> kAllDatasets = {DatasetId::kSisFall, DatasetId::kUmaFall, DatasetId::kHifd,
                                                          DatasetId::kWedaFall, DatasetId::kFallAllD};
// "sisfall", "umafall", "hifd", "wedafall", "fallalld" (the folder names)
std::string_view DatasetName(DatasetId dataset);

enum class Placement : uint8_t { kWrist, kWaist };
std::string_view PlacementName(Placement placement);  // "wrist", "waist"

// Channel order of every sample and window: ax, ay, az (g), gx, gy, gz (°/s).
inline constexpr size_t kChannels = 6;

struct Sample {
    double t_s = 0;                    // seconds since the trial's first sample
    std::array<float, kChannels> v{};  // ax ay az gx gy gz
};

// A stretch of a trial's clock, in seconds since its first sample.
struct TimeInterval {
    double begin_s = 0;
    double end_s = 0;  // >= begin_s
};

struct TrialInfo {
    DatasetId dataset = DatasetId::kSisFall;
    std::string subject;  // "SA01", "SE06", "Subject_02", "subject_01", "U01" (WEDA-FALL), "S01" (FallAllD)
    Placement placement = Placement::kWaist;
    // "D01", "F05" (SisFall, WEDA-FALL), "Walking" (UMAFall), "fall1", "walk" (HIFD), "A101" (FallAllD)
    std::string activity_code;
    std::string activity_name;  // the data set's description, e.g. "walking slowly"
    bool is_fall_trial = false;
    bool gravity_removed = false;  // HIFD: the acceleration has no gravity component
    int trial_number = 1;          // SisFall and WEDA-FALL R<NN>, FallAllD T<NN>, UMAFall <trial>; 1 for HIFD
    int sensor_id = -1;            // UMAFall: the Sensor_ID of the file's WRIST or WAIST sensor
    // WEDA-FALL falls: the authors' manual annotation of the fall (trials.csv fall_start_s/fall_end_s, on the
    // file's clock, which starts at 0 as the trial's does). The labelling looks for the impact only near it
    // (LabelParams::impact_search_margin_s). Absent elsewhere.
    std::optional<TimeInterval> annotated_fall;
    std::filesystem::path path;  // the gzip CSV file
};

struct Trial {
    TrialInfo info;
    std::vector<Sample> samples;  // in file order; t_s non-decreasing
};

// The trials of `dataset` under `data_root` (the folder holding sisfall/, umafall/, hifd/, wedafall/,
// fallalld/), sorted by subject, activity, trial number and placement. SisFall, HIFD and FallAllD are listed
// from file names alone; WEDA-FALL from file names plus its trials.csv (the fall annotations; every fall
// trial must have one); UMAFall files hold two sensors, so each file is scanned (not parsed) for which of
// its WRIST/WAIST sensors actually logged rows, and yields one trial per such sensor.
// kNotFound when the data set's folder (or WEDA-FALL's trials.csv) is missing; kValidationFailed naming
// the file (and line) when a file name, a UMAFall header or a trials.csv row cannot be understood.
Result<std::vector<TrialInfo>> ListTrials(const std::filesystem::path& data_root, DatasetId dataset);

// Parses the samples of one listed trial. FallAllD loses its first and last 0.2 s: the converter's
// 238 → 50 Hz polyphase filter rings there (the first sample's |a| is ~0.6 g even at rest), an artefact,
// not motion (docs/posture-data.md). kValidationFailed "<file>:<line>: <problem>" for a bad header,
// a malformed or non-numeric row, time going backwards, or a truncated gzip stream; kNotFound when the
// file is missing or (UMAFall) the sensor has no accelerometer or gyroscope rows.
Result<Trial> LoadTrial(const TrialInfo& info);

}  // namespace vg::imu
