#pragma once
// Test support (header-only, GoogleTest): the live PostgreSQL and Redis servers that the *_pgtest.cpp
// and *_redistest.cpp tests need, and what such a test does when its server is not there.
//
//   VG_TEST_POSTGRES=URI   a libpq connection URI of a database the tests may fill and empty
//                          (scripts/test-servers starts a private server and prints it)
//   VG_TEST_REDIS=URL      redis://HOST:PORT of a Redis server the tests may fill and empty
//   VG_REQUIRE_SERVERS=1   a missing server fails the test instead of skipping it (.ci/run sets it, so
//                          CI never passes by skipping). Any value other than empty or "0" counts.
//
// A test that needs a server starts with VG_REQUIRE_POSTGRES() or VG_REQUIRE_REDIS(): without the
// variable the test is skipped with one line saying how to get a server. Everything here reads the
// environment on each call and keeps no state (safe from any thread as long as nothing calls setenv
// concurrently).

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace vg::testing {

// The value of `variable` when set and non-empty.
inline std::optional<std::string> LiveServerAddress(const char* variable) {
    const char* env = std::getenv(variable);
    if (env == nullptr || *env == '\0') return std::nullopt;
    return std::string(env);
}
inline std::optional<std::string> PostgresUri() { return LiveServerAddress("VG_TEST_POSTGRES"); }
inline std::optional<std::string> RedisUrl() { return LiveServerAddress("VG_TEST_REDIS"); }

// Whether a missing server is a failure (VG_REQUIRE_SERVERS set to anything but "" or "0").
inline bool ServersRequired() {
    const char* env = std::getenv("VG_REQUIRE_SERVERS");
    return env != nullptr && *env != '\0' && std::string_view(env) != "0";
}

// Nothing when `variable` is set; otherwise the line a skipped (or failed) test prints.
inline std::optional<std::string> MissingServer(const char* variable, std::string_view server) {
    if (LiveServerAddress(variable)) return std::nullopt;
    std::string line = "no live " + std::string(server) + " server: " + variable +
                       " is not set (scripts/test starts private servers with scripts/test-servers and sets it)";
    if (ServersRequired()) line += "; VG_REQUIRE_SERVERS is set, so a missing server is a failure";
    return line;
}

}  // namespace vg::testing

// Skips the current test (or, with VG_REQUIRE_SERVERS=1, fails it) unless the server's variable is set.
// Returns from the enclosing function like GTEST_SKIP: use it in TEST bodies, SetUp or a void helper.
#define VG_REQUIRE_LIVE_SERVER_(variable, server)                                             \
    do {                                                                                      \
        if (const auto vg_missing_server_ = ::vg::testing::MissingServer(variable, server)) { \
            if (::vg::testing::ServersRequired()) GTEST_FAIL() << *vg_missing_server_;        \
            GTEST_SKIP() << *vg_missing_server_;                                              \
        }                                                                                     \
    } while (false)
#define VG_REQUIRE_POSTGRES() VG_REQUIRE_LIVE_SERVER_("VG_TEST_POSTGRES", "PostgreSQL")
#define VG_REQUIRE_REDIS() VG_REQUIRE_LIVE_SERVER_("VG_TEST_REDIS", "Redis")
