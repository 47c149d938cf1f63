#pragma once
// Process-wide logging set-up (spdlog): one JSON object per line on stderr,
// {"ts":"2026-11-23T16:30:00.123Z","level":"info","msg":"…"}, or plain text
// for people at a terminal.
// Thread-safety: call SetupLogging once at start-up, before other threads log.

#include <string_view>

#include "vg/common/status.hpp"

namespace vg::app {

enum class LogFormat { kJson, kText };

// kValidationFailed (field "log-level") for an unknown level name.
Status SetupLogging(std::string_view level, LogFormat format);

// `s` as the contents of a JSON string literal (without quotes).
std::string JsonEscape(std::string_view s);

}  // namespace vg::app
