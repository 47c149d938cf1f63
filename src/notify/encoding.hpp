#pragma once
// Small encodings shared inside the module (private): base64, hex digests, libsodium set-up.

#include <string>
#include <string_view>

namespace vg::notify::internal {

// Initialises libsodium once per process.
void EnsureSodiumInitialised();

// Standard base64 (RFC 4648, with padding), one line.
std::string Base64(std::string_view bytes);

// Lower-case hex of SHA-256(bytes).
std::string Sha256Hex(std::string_view bytes);

}  // namespace vg::notify::internal
