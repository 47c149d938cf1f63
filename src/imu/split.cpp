#include "vg/imu/split.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>

namespace vg::imu {
namespace {

uint64_t SplitMix64(uint64_t& state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

std::string GroupOf(DatasetId dataset, const std::string& subject) {
    std::string g;
    std::string digits;
    for (char c : subject) (c < '0' || c > '9' ? g : digits) += c;
    // WEDA-FALL numbers its elderly subjects from U21 (U01–U20 are young adults): elderly people did only ADLs,
    // so each split needs both groups for its falls and its elderly gait alike.
    int number = 0;
    const bool numbered = std::from_chars(digits.data(), digits.data() + digits.size(), number).ec == std::errc();
    if (dataset == DatasetId::kWedaFall && numbered && number >= 21) g += "-elderly";
    return g;
}

}  // namespace

std::string_view SplitName(Split split) {
    switch (split) {
        case Split::kTrain:
            return "train";
        case Split::kValidation:
            return "validation";
        case Split::kTest:
            return "test";
    }
    return "?";
}

std::map<std::string, Split> AssignSplits(DatasetId dataset, const std::vector<std::string>& subjects, uint64_t seed) {
    std::map<std::string, std::vector<std::string>> groups;
    for (const std::string& s : subjects) groups[GroupOf(dataset, s)].push_back(s);
    std::map<std::string, Split> out;
    uint64_t state = seed * 31 + static_cast<uint64_t>(dataset) + 1;
    for (auto& [group, members] : groups) {
        std::sort(members.begin(), members.end());
        members.erase(std::unique(members.begin(), members.end()), members.end());
        for (size_t i = members.size(); i > 1; --i) std::swap(members[i - 1], members[SplitMix64(state) % i]);
        const size_t n = members.size();
        size_t n_test = static_cast<size_t>(std::lround(0.2 * static_cast<double>(n)));
        size_t n_val = static_cast<size_t>(std::lround(0.1 * static_cast<double>(n)));
        if (n >= 3) {
            n_test = std::max<size_t>(n_test, 1);
            n_val = std::max<size_t>(n_val, 1);
        }
        for (size_t i = 0; i < n; ++i)
            out[members[i]] = i < n_test ? Split::kTest : i < n_test + n_val ? Split::kValidation : Split::kTrain;
    }
    return out;
}

}  // namespace vg::imu
