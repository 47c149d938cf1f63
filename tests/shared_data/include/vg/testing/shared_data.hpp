#pragma once
// Test support (header-only, GoogleTest): where the tests find the public IMU data sets (../shared/data
// beside the repository, never copied into it), and what a test does when one is missing.
//
//   VG_SHARED_DATA=DIR   read the data sets from DIR instead of the default (set and non-empty wins).
//   VG_REQUIRE_DATA=1    a missing data set fails the test instead of skipping it (.ci/run sets it, so
//                        CI never passes by skipping). Any value other than empty or "0" counts.
//
// A test that reads a data set starts with VG_REQUIRE_DATA_SET("sisfall") (a folder or file relative
// to the data root: "wedafall/trials.csv" works too): without it the test is skipped with one line
// naming the missing path, where to get it and how to point elsewhere. A test that checks whichever
// sets are there asks HaveDataSet() per set instead. Static initialisers and TEST_P parameter
// generators run before main(), where no test can be skipped: they may call SharedDataRoot() (it only
// reads the environment) but must not list or read trials; do that inside the test, after the
// VG_REQUIRE_DATA_SET. Everything here reads the environment on each call and keeps no state (safe from
// any thread as long as nothing calls setenv concurrently).

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

#ifndef VG_SHARED_DATA_DEFAULT
#error "VG_SHARED_DATA_DEFAULT (the default data root) is set by linking the vg_shared_data CMake target"
#endif

namespace vg::testing {

// The folder holding sisfall/, umafall/, hifd/, wedafall/, fallalld/: $VG_SHARED_DATA when set and
// non-empty, otherwise ../shared/data beside the source tree (fixed when the test was built).
inline std::filesystem::path SharedDataRoot() {
    const char* env = std::getenv("VG_SHARED_DATA");
    const std::filesystem::path root = env != nullptr && *env != '\0' ? env : VG_SHARED_DATA_DEFAULT;
    return root.lexically_normal();
}

// `relative` (a data set's folder, or a file or folder inside one) under SharedDataRoot().
inline std::filesystem::path SharedDataPath(std::string_view relative) { return SharedDataRoot() / relative; }

// Whether a missing data set is a failure (VG_REQUIRE_DATA set to anything but "" or "0").
inline bool DataRequired() {
    const char* env = std::getenv("VG_REQUIRE_DATA");
    return env != nullptr && *env != '\0' && std::string_view(env) != "0";
}

// Nothing when SharedDataPath(relative) exists; otherwise the line a skipped (or failed) test prints.
inline std::optional<std::string> MissingData(std::string_view relative) {
    const std::filesystem::path path = SharedDataPath(relative);
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) return std::nullopt;
    const std::string set(relative.substr(0, relative.find('/')));
    std::string line = "missing test data: " + path.string() + " (data set " + set + "; see ../shared/data/" + set +
                       "/README.md and docs/posture-data.md for its source; VG_SHARED_DATA=DIR to point " +
                       "elsewhere)";
    if (DataRequired()) line += "; VG_REQUIRE_DATA is set, so a missing data set is a failure";
    return line;
}

// For a test that checks whichever data sets are there: true when SharedDataPath(relative) exists;
// otherwise false, after printing the missing line to stdout (the test goes on without that set) or,
// under VG_REQUIRE_DATA, recording it as a non-fatal failure of the current test.
inline bool HaveDataSet(std::string_view relative) {
    const std::optional<std::string> missing = MissingData(relative);
    if (!missing) return true;
    if (DataRequired()) {
        ADD_FAILURE() << *missing;
    } else {
        std::cout << "[  NO DATA ] " << *missing << "\n";
    }
    return false;
}

}  // namespace vg::testing

// Skips the current test (or, with VG_REQUIRE_DATA=1, fails it) unless `relative` exists under the data
// root. Returns from the enclosing function like GTEST_SKIP: use it in TEST bodies, SetUp, SetUpTestSuite
// or a void helper (then check IsSkipped()/HasFatalFailure() after calling the helper).
#define VG_REQUIRE_DATA_SET(relative)                                             \
    do {                                                                          \
        if (const auto vg_missing_data_ = ::vg::testing::MissingData(relative)) { \
            if (::vg::testing::DataRequired()) GTEST_FAIL() << *vg_missing_data_; \
            GTEST_SKIP() << *vg_missing_data_;                                    \
        }                                                                         \
    } while (false)
