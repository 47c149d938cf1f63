#pragma once
// WearerIds: a wearer's public login id by unique_num, for live events (which name the wearer as the
// dashboard knows them). Cached: ids never change once taken.
// Thread-safety: every method from any thread. Ownership: borrows the store, which must outlive it.

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "vg/store/store.hpp"

namespace vg::verdict {

class WearerIds {
  public:
    explicit WearerIds(store::AccountStore& accounts) : accounts_(accounts) {}
    // The login id; empty when the wearer is unknown (or the store cannot be read now: not cached).
    std::string Of(int64_t wearer);

  private:
    store::AccountStore& accounts_;
    std::mutex mu_;
    std::unordered_map<int64_t, std::string> ids_;  // GUARDED_BY(mu_)
};

}  // namespace vg::verdict
