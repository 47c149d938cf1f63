// Replays every file of fuzz/corpus/<target>/ (the seeds and what fuzzing kept) and fuzz/crashes/<target>/
// (every crash found, kept after its fix) through its target, in the ordinary test run: a parser that
// regresses on an input fuzzing once found fails here, without clang or libFuzzer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "targets.hpp"

namespace vg::fuzz {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> FilesUnder(const fs::path& dir) {
    std::vector<fs::path> files;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return files;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
    }
    return files;
}

class FuzzCorpusTest : public ::testing::TestWithParam<NamedTarget> {};

TEST_P(FuzzCorpusTest, EveryKeptInputRunsCleanly) {
    const NamedTarget target = GetParam();
    const fs::path root(VG_FUZZ_DIR);
    const std::vector<fs::path> seeds = FilesUnder(root / "corpus" / std::string(target.name));
    ASSERT_FALSE(seeds.empty()) << "fuzz/corpus/" << target.name << " has no seed inputs";
    std::vector<fs::path> inputs = seeds;
    for (const fs::path& crash : FilesUnder(root / "crashes" / std::string(target.name))) inputs.push_back(crash);
    for (const fs::path& input : inputs) {
        SCOPED_TRACE(input.string());
        std::ifstream in(input, std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        EXPECT_EQ(target.run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), 0);
    }
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzCorpusTest, ::testing::ValuesIn(kTargets),
                         [](const ::testing::TestParamInfo<NamedTarget>& param_info) {
                             return std::string(param_info.param.name);
                         });

}  // namespace
}  // namespace vg::fuzz
