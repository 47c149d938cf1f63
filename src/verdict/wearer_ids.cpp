#include "vg/verdict/wearer_ids.hpp"

namespace vg::verdict {

std::string WearerIds::Of(int64_t wearer) {
    {
        std::lock_guard lock(mu_);
        auto it = ids_.find(wearer);
        if (it != ids_.end()) return it->second;
    }
    auto user = accounts_.FindUserByUniqueNum(wearer);
    if (!user.ok()) return {};
    std::lock_guard lock(mu_);
    return ids_.emplace(wearer, user->profile.id).first->second;
}

}  // namespace vg::verdict
