#include "vg/auth/crypto.hpp"

#include <sodium.h>

#include <mutex>
#include <stdexcept>

namespace vg::auth {
namespace {

void EnsureSodium() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
    });
}

}  // namespace

PasswordHashCost PasswordHashCost::Interactive() {
    return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}

PasswordHashCost PasswordHashCost::Minimum() { return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN}; }

PasswordHasher::PasswordHasher(PasswordHashCost cost) : cost_(cost) {
    EnsureSodium();
    auto dummy = Hash(RandomToken());
    if (!dummy.ok()) throw std::runtime_error("cannot compute a password hash: " + dummy.status().message());
    dummy_hash_ = std::move(dummy).value();
}

Result<std::string> PasswordHasher::Hash(std::string_view password) const {
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(out, password.data(), password.size(), cost_.ops_limit, cost_.mem_limit_bytes,
                              crypto_pwhash_ALG_ARGON2ID13) != 0) {
        return Status::Error(ErrorCode::kInternal, "password hashing ran out of memory");
    }
    return std::string(out);
}

bool PasswordHasher::Verify(std::string_view stored_hash, std::string_view password) const {
    if (stored_hash.empty() || stored_hash.size() >= crypto_pwhash_STRBYTES) return false;
    // libsodium needs a NUL-terminated hash string.
    char hash[crypto_pwhash_STRBYTES] = {};
    stored_hash.copy(hash, stored_hash.size());
    return crypto_pwhash_str_verify(hash, password.data(), password.size()) == 0;
}

void PasswordHasher::VerifyDummy(std::string_view password) const { (void)Verify(dummy_hash_, password); }

bool PasswordHasher::NeedsRehash(std::string_view stored_hash) const {
    if (stored_hash.empty() || stored_hash.size() >= crypto_pwhash_STRBYTES) return true;
    char hash[crypto_pwhash_STRBYTES] = {};
    stored_hash.copy(hash, stored_hash.size());
    return crypto_pwhash_str_needs_rehash(hash, cost_.ops_limit, cost_.mem_limit_bytes) != 0;
}

std::string RandomToken() {
    EnsureSodium();
    unsigned char bytes[32];
    randombytes_buf(bytes, sizeof(bytes));
    char out[sodium_base64_ENCODED_LEN(sizeof(bytes), sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    sodium_bin2base64(out, sizeof(out), bytes, sizeof(bytes), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return std::string(out);
}

std::string HashToken(std::string_view token) {
    EnsureSodium();
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(token.data()), token.size());
    char hex[crypto_hash_sha256_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
    return std::string(hex);
}

bool SecretsEqual(std::string_view a, std::string_view b) {
    if (a.size() != b.size() || a.empty()) return false;
    return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace vg::auth
