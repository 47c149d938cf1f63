// The command line as a person runs it: `vitalguard train|eval|convert posture` are carried out by the
// `vitalguard-posture` program beside `vitalguard` (the server is not linked to libtorch), and a missing
// `vitalguard-posture` is said plainly.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include "vg/testing/server_process.hpp"
#include "vg/testing/temp_dir.hpp"

namespace vg {
namespace {

namespace fs = std::filesystem;

struct Output {
    int exit_code = -1;
    std::string text;  // stdout and stderr
};

Output RunCommand(const std::string& command) {
    Output out;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr) return out;
    std::array<char, 4096> buf{};
    while (size_t n = std::fread(buf.data(), 1, buf.size(), pipe)) out.text.append(buf.data(), n);
    const int status = ::pclose(pipe);
    out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
}

std::string Quoted(const fs::path& p) { return "'" + p.string() + "'"; }

TEST(CliE2eTest, PostureCommandsRunTheProgramWithLibtorchBesideTheServer) {
    const fs::path binary = testing::FindBinary("vitalguard");
    testing::TempDir empty;
    // Only vitalguard-posture can answer this: `vitalguard` itself has no posture weights code.
    const Output convert = RunCommand(Quoted(binary) + " convert posture --model " + Quoted(empty.path()));
    EXPECT_EQ(convert.exit_code, 2) << convert.text;
    EXPECT_NE(convert.text.find("posture.manifest.json does not exist"), std::string::npos) << convert.text;
    const Output eval = RunCommand(Quoted(binary) + " eval posture --data " + Quoted(empty.path()) + " --model " +
                                   Quoted(empty.path()) + " --split all");
    EXPECT_EQ(eval.exit_code, 2) << eval.text;
    EXPECT_NE(eval.text.find("posture.manifest.json"), std::string::npos) << eval.text;
}

TEST(CliE2eTest, AMissingPostureProgramIsNamed) {
    const fs::path binary = testing::FindBinary("vitalguard");
    testing::TempDir alone;
    const fs::path copy = alone.path() / "vitalguard";
    fs::copy_file(binary, copy);
    fs::permissions(copy, fs::perms::owner_all);
    const Output out = RunCommand(Quoted(copy) + " convert posture --model " + Quoted(alone.path()));
    EXPECT_EQ(out.exit_code, 127) << out.text;
    EXPECT_NE(out.text.find("vitalguard-posture"), std::string::npos) << out.text;
    // The server's own commands do not need it.
    const Output version = RunCommand(Quoted(copy) + " version");
    EXPECT_EQ(version.exit_code, 0) << version.text;
}

}  // namespace
}  // namespace vg
