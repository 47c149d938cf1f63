// The toml_config target (targets.hpp), apart from the others because it links the whole CLI (vg_cli and
// the server it configures): only vg_fuzz_toml_config and vg_fuzz_corpus_test pay for that.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "targets.hpp"
#include "vg/cli/cli.hpp"

namespace vg::fuzz {

const std::filesystem::path& ScratchDir();  // targets.cpp

// The bytes are a config file given to `vitalguard serve --config FILE`: CLI11's TOML reader, then
// ApplyConfigFile mapping each item onto a serve option (with its checks and conversions), then the
// checks of the whole command. Any bytes end in a command or an error naming the problem.
int TomlConfig(const uint8_t* data, size_t size) {
    const std::string path = (ScratchDir() / "serve.toml").string();
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (file == nullptr) std::abort();
    if (size > 0 && std::fwrite(data, 1, size, file) != size) std::abort();
    std::fclose(file);
    auto command = cli::ParseServeCommand({"vitalguard", "serve", "--config", path});
    if (!command.ok() && command.status().message().empty()) __builtin_trap();
    return 0;
}

}  // namespace vg::fuzz
