#pragma once
// Labelled vitals for training and evaluating the status and cause models (docs/models.md has the
// format, so that a hospital can train on its own records):
//
//   wearer,timestamp,heart_rate,respiration_rate,spo2,skin_temp,steps,calories,status,
//   cause_heart_rate,cause_respiration_rate,cause_skin_temp,cause_spo2
//
// One row per reading; `timestamp` in milliseconds since 1970 UTC; vitals in VitalGuard's units
// (docs/api.md), empty when missing; `status` 0 normal, 1 caution, 2 danger; the cause columns 0/1,
// required when status is 1 or 2, empty otherwise. The header must be exactly this (the cause
// columns may be left out entirely: the file then trains the status model only).
//
// Thread-safety: pure functions and values.

#include <array>
#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "vg/common/status.hpp"
#include "vg/domain/vitals.hpp"
#include "vg/models/booster.hpp"
#include "vg/models/features.hpp"

namespace vg::models {

inline constexpr std::array<domain::Metric, 4> kCauseMetrics = {
    domain::Metric::kHeartRate, domain::Metric::kRespirationRate, domain::Metric::kSkinTemp, domain::Metric::kSpo2};

struct LabelledReading {
    std::string wearer;
    domain::VitalsReading reading;
    int status = 0;
    std::array<int8_t, 4> causes{-1, -1, -1, -1};  // kCauseMetrics order; -1 when not given
};

struct Dataset {
    std::vector<LabelledReading> rows;  // as read
    bool has_causes = false;
};

// Parses the CSV. kValidationFailed with FieldErrors named "row N, column NAME" (N counts the header
// as row 1, like a spreadsheet) for every problem, at most 50 of them.
Result<Dataset> ReadDatasetCsv(std::istream& in);
Result<Dataset> ReadDatasetFile(const std::string& path);
// Writes the same format (with cause columns).
void WriteDatasetCsv(const Dataset& data, std::ostream& out);

// Features of every row, computed wearer by wearer in time order with a FeatureTracker — the same
// code the detector runs — so training and serving cannot drift. `order[i]` is the row of data.rows
// that matrix row i came from.
struct FeatureMatrix {
    Matrix matrix;
    std::vector<size_t> order;
};
FeatureMatrix BuildFeatures(const Dataset& data, const ExercisePca& pca);

// A deterministic split by wearer (never by row): each wearer lands in train, validation or test
// by a hash of its id with `seed`, in the proportions given.
enum class Split : uint8_t { kTrain, kValidation, kTest };
Split SplitOf(const std::string& wearer, uint64_t seed, double validation_fraction = 0.15, double test_fraction = 0.2);

}  // namespace vg::models
