#pragma once
// Private helpers of the readers: whole-file gzip text, line iteration, numeric fields.

#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "vg/common/status.hpp"

namespace vg::imu::internal {

// "<path>:<line>: <problem>" as kValidationFailed (line 0: the file as a whole).
Status FileError(const std::filesystem::path& path, size_t line, std::string_view problem);

// The decompressed file. kNotFound when missing; kValidationFailed naming the line after the last
// complete one when the stream is corrupt or truncated. The gzFile is always closed.
Result<std::string> ReadGzipText(const std::filesystem::path& path);

// Calls fn(line_number from 1, line without '\n'/'\r') until it returns false.
void ForEachLine(std::string_view text, const std::function<bool(size_t, std::string_view)>& fn);

// Parses exactly out.size() numbers separated by `sep` (one trailing separator allowed). On failure
// *got is the index of the offending field.
bool ParseFields(std::string_view line, char sep, std::span<double> out, size_t* got);

}  // namespace vg::imu::internal
