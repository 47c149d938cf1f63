#pragma once
// Cryptographic primitives for accounts, all from libsodium.
//
// - PasswordHasher: Argon2id password hashes in libsodium's self-describing
//   string format ("$argon2id$v=19$m=...,t=...,p=1$salt$hash"), so the cost
//   can be raised later and old hashes still verify (NeedsRehash tells when).
// - RandomToken / HashToken: bearer tokens (sessions, devices) are 256 random
//   bits, shown to the client once; only their SHA-256 is stored, so a copy of
//   the database does not let anyone log in.
// Thread-safety: all functions and PasswordHasher's const methods are safe from
// any thread (libsodium is initialised once, on first use).

#include <cstdint>
#include <string>
#include <string_view>

#include "vg/common/status.hpp"

namespace vg::auth {

struct PasswordHashCost {
    uint64_t ops_limit;
    size_t mem_limit_bytes;
    // libsodium's INTERACTIVE limits: 2 passes over 64 MiB, ~90 ms on this class of machine.
    static PasswordHashCost Interactive();
    // The minimum libsodium allows; only for tests and benchmarks that hash thousands of passwords.
    static PasswordHashCost Minimum();
};

class PasswordHasher {
  public:
    explicit PasswordHasher(PasswordHashCost cost = PasswordHashCost::Interactive());

    // kInternal when the hash cannot be computed (out of memory).
    Result<std::string> Hash(std::string_view password) const;
    // True when `password` matches `stored_hash`. A malformed hash never matches.
    bool Verify(std::string_view stored_hash, std::string_view password) const;
    // Spends the time of one Verify without a stored hash, so that a login for an id that does not
    // exist takes as long as one with a wrong password (no user enumeration by timing).
    void VerifyDummy(std::string_view password) const;
    // True when `stored_hash` was made with other parameters than this hasher's.
    bool NeedsRehash(std::string_view stored_hash) const;

  private:
    PasswordHashCost cost_;
    std::string dummy_hash_;
};

// 32 random bytes as unpadded base64url (43 characters).
std::string RandomToken();
// Lower-case hex SHA-256 of the token (64 characters): what the store keeps.
std::string HashToken(std::string_view token);
// Constant-time equality for secrets of equal length; false when lengths differ.
bool SecretsEqual(std::string_view a, std::string_view b);

}  // namespace vg::auth
