#pragma once
// Train/validation/test by SUBJECT, never by window: every window of a subject lands in the same
// split, so evaluation measures people the model has not seen.
//
// Thread-safety: pure functions over values.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "vg/imu/trial.hpp"

namespace vg::imu {

enum class Split : uint8_t { kTrain, kValidation, kTest };
std::string_view SplitName(Split split);  // "train", "validation", "test"

inline constexpr uint64_t kDefaultSplitSeed = 20260422;

// Assigns each subject of one data set to a split, 7 : 1 : 2 (the seed's ratio) by count of
// subjects: the subjects are grouped by their id without digits (SisFall "SA" adults and "SE" elderly
// are split separately so both are in every split where they are numerous enough; WEDA-FALL's elderly,
// U21 and above, likewise from its young adults), sorted, shuffled by
// a fixed-seed Fisher–Yates (splitmix64, identical on every platform), and cut in order test,
// validation, train with at least one test and one validation subject per group of ≥ 3.
// The same subjects and seed always give the same assignment; `dataset` enters the seed.
std::map<std::string, Split> AssignSplits(DatasetId dataset, const std::vector<std::string>& subjects,
                                          uint64_t seed = kDefaultSplitSeed);

}  // namespace vg::imu
