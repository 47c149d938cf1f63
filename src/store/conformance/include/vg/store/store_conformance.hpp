#pragma once
// The Store conformance suite: the contract of vg::store::Store (store.hpp and its ports), aggregate
// by aggregate, as GoogleTest tests that every implementation runs.
//
// An implementation plugs in with a harness that gives each test a fresh, empty, open store, and one
// instantiation in its own test (see README.md):
//
//   INSTANTIATE_TEST_SUITE_P(Postgres, StoreConformance,
//                            ::testing::Values(conformance::StoreImplementation{"postgres", &OpenPostgres}),
//                            conformance::ImplementationName);
//
// What the suite cannot reach through the ports (durability across a restart, migrations, group
// commit, driver errors) stays in the implementation's own tests.

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "vg/common/clock.hpp"
#include "vg/store/store.hpp"

namespace vg::store::conformance {

// Owns one store under test and whatever it needs (a temporary database, a schema), and cleans up
// when destroyed.
class StoreHarness {
  public:
    virtual ~StoreHarness() = default;
    // The store: open, empty when the test starts, valid until the harness is destroyed. A test may
    // Close() it.
    virtual Store& store() = 0;
};

struct StoreImplementation {
    std::string name;  // the instantiation's test name suffix: letters, digits and '_'
    // A new harness for one test; nullptr (after reporting why with ADD_FAILURE) when it cannot be made,
    // or after GTEST_SKIP (in a void helper it calls) when its live server is not there: then the test
    // is skipped.
    std::function<std::unique_ptr<StoreHarness>()> open;
};

// For INSTANTIATE_TEST_SUITE_P's name generator.
std::string ImplementationName(const ::testing::TestParamInfo<StoreImplementation>& info);
void PrintTo(const StoreImplementation& implementation, std::ostream* os);

// Samples shared by the suite and by implementations' own tests.
inline const TimePoint kT0 = FromUnixMillis(1'700'000'000'000);
inline const TimePoint kNow = FromUnixMillis(1'800'000'000'000);

NewUser SampleUser(std::string id);
domain::Session SampleSession(std::string token_hash, int64_t user, TimePoint created = kT0);
NewDevice SampleDevice(int64_t user, std::string token_hash, TimePoint created = kT0);
// A reading at `ms` ms since the epoch with heart rate `hr` and SpO2 97.5.
IncomingReading ReadingAt(int64_t ms, std::optional<int64_t> seq, double hr);
// An open danger incident in countdown, opened at `at`, due at `at` + 60 s.
domain::Incident DangerIncident(int64_t wearer, TimePoint at);
// An SMS outbox message with `key`, due at `at`.
NewOutboxMessage Message(const std::string& key, TimePoint at);

class StoreConformance : public ::testing::TestWithParam<StoreImplementation> {
  protected:
    void SetUp() override;
    void TearDown() override;

    Store& store() { return harness_->store(); }
    // A new user with SampleUser(id); its unique_num (0 after a test failure).
    int64_t CreateUserOrDie(const std::string& id);

  private:
    std::unique_ptr<StoreHarness> harness_;
};

}  // namespace vg::store::conformance
