// ProfileRegistry: profiles by name, loaded from a directory at start-up.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "vg/rules/rules.hpp"

namespace vg::rules {
namespace fs = std::filesystem;

namespace {

constexpr std::uintmax_t kMaxProfileFileBytes = 1 << 20;

}  // namespace

Status ProfileRegistry::LoadDirectory(const std::string& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        return Status::Error(ErrorCode::kNotFound, "The rule profile directory " + dir + " does not exist.");
    }
    std::vector<fs::path> files;
    for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
        if (e.is_regular_file(ec) && e.path().extension() == ".json") files.push_back(e.path());
    }
    if (ec) {
        return Status::Error(ErrorCode::kUnavailable,
                             "Cannot list the rule profile directory " + dir + ": " + ec.message());
    }
    if (files.empty()) {
        return Status::Error(ErrorCode::kNotFound, "The rule profile directory " + dir + " has no *.json file.");
    }
    std::sort(files.begin(), files.end());

    std::vector<FieldError> problems;
    std::vector<std::shared_ptr<const RuleProfile>> loaded;
    for (const fs::path& path : files) {
        const std::string file = path.filename().string();
        const std::string stem = path.stem().string();
        const std::uintmax_t size = fs::file_size(path, ec);
        if (ec || size > kMaxProfileFileBytes) {
            problems.push_back({file, ec ? "cannot be read: " + ec.message() : "is larger than 1 MiB"});
            continue;
        }
        std::ifstream in(path, std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        if (!in && !in.eof()) {
            problems.push_back({file, "cannot be read"});
            continue;
        }
        Result<std::shared_ptr<const RuleProfile>> parsed = ParseProfile(text.str(), file);
        if (!parsed.ok()) {
            for (const FieldError& f : parsed.status().fields()) {
                problems.push_back({file + ": " + f.field, f.problem});
            }
            continue;
        }
        const RuleProfile& profile = **parsed;
        if (profile.name() != stem) {
            problems.push_back({file + ": name", "must be \"" + stem + "\", the file's name without .json"});
            continue;
        }
        if (profiles_.count(profile.name())) {
            problems.push_back({file + ": name", "a profile named \"" + profile.name() + "\" is already loaded"});
            continue;
        }
        loaded.push_back(parsed.value());
    }
    if (!problems.empty()) {
        // The message is built before the call: argument evaluation order is unspecified, and the
        // moved-from vector would otherwise be counted.
        std::string message = "The rule profiles in " + dir + " have " + std::to_string(problems.size()) +
                              (problems.size() == 1 ? " problem." : " problems.");
        return Status::Error(ErrorCode::kValidationFailed, std::move(message), std::move(problems));
    }
    for (auto& p : loaded) profiles_.emplace(p->name(), std::move(p));
    return Status::Ok();
}

Status ProfileRegistry::Add(std::shared_ptr<const RuleProfile> profile) {
    if (!profile) return Status::Error(ErrorCode::kBadRequest, "No profile to add.");
    if (profiles_.count(profile->name())) {
        return Status::Error(ErrorCode::kConflict, "A rule profile named " + profile->name() + " is already loaded.",
                             {{"name", "is already taken"}});
    }
    const std::string name = profile->name();
    profiles_.emplace(name, std::move(profile));
    return Status::Ok();
}

std::shared_ptr<const RuleProfile> ProfileRegistry::Find(std::string_view name) const {
    auto it = profiles_.find(name);
    return it == profiles_.end() ? nullptr : it->second;
}

std::vector<std::string> ProfileRegistry::Names() const {
    std::vector<std::string> names;
    names.reserve(profiles_.size());
    for (const auto& [name, profile] : profiles_) names.push_back(name);
    return names;
}

}  // namespace vg::rules
