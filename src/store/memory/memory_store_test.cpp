#include "vg/store/memory_store.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "vg/store/store_conformance.hpp"

namespace vg::store::conformance {
namespace {

class MemoryHarness final : public StoreHarness {
  public:
    Store& store() override { return store_; }

  private:
    MemoryStore store_;
};

// The whole Store contract (store/conformance).
INSTANTIATE_TEST_SUITE_P(Memory, StoreConformance,
                         ::testing::Values(StoreImplementation{
                             "memory", [] { return std::unique_ptr<StoreHarness>(new MemoryHarness()); }}),
                         ImplementationName);

// Two stores share nothing: each is its own database.
TEST(MemoryStoreTest, StoresAreIndependent) {
    MemoryStore a;
    MemoryStore b;
    auto in_a = a.CreateUser(SampleUser("same_id"));
    ASSERT_TRUE(in_a.ok());
    EXPECT_FALSE(b.UserIdExists("same_id").value());
    auto in_b = b.CreateUser(SampleUser("same_id"));
    ASSERT_TRUE(in_b.ok()) << in_b.status().ToString();
    a.Close();
    EXPECT_TRUE(b.CheckHealth().ok());
    EXPECT_TRUE(b.FindUserById("same_id").ok());
}

}  // namespace
}  // namespace vg::store::conformance
