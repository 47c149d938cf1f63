#include "encoding.hpp"

#include <sodium.h>

#include <stdexcept>

namespace vg::notify::internal {

void EnsureSodiumInitialised() {
    static const bool initialised = [] {
        if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
        return true;
    }();
    (void)initialised;
}

std::string Base64(std::string_view bytes) {
    const size_t length = sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL);
    std::string out(length, '\0');
    sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                      sodium_base64_VARIANT_ORIGINAL);
    out.resize(length - 1);  // the terminating NUL
    return out;
}

std::string Sha256Hex(std::string_view bytes) {
    EnsureSodiumInitialised();
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
    char hex[crypto_hash_sha256_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
    return std::string(hex, crypto_hash_sha256_BYTES * 2);
}

}  // namespace vg::notify::internal
