#pragma once
// Test support for the *_redistest binaries (vg_redis_testing): their own connection to the live Redis of
// $VG_TEST_REDIS (tests/live_servers), and what they clean up or break there. Each call makes a connection
// of its own. Only for tests: the server is shared by every test of the run, so everything here is limited
// to one test's prefix or client names.

#include <memory>
#include <string>
#include <vector>

#include "vg/redis/connection.hpp"

namespace vg::redis::testing {

// A connection named `client_name`, or null: when the test has no server (it was skipped), or with a test
// failure when it cannot be made.
std::unique_ptr<RedisConnection> Connect(const std::string& client_name);
// Every key under `prefix` (those matching "prefix:*").
std::vector<std::string> KeysUnder(const std::string& prefix);
// Deletes every key under `prefix`.
void DeleteKeysUnder(const std::string& prefix);
// Closes (CLIENT KILL ID) every normal client whose name starts with `name_prefix` — never other tests'
// connections, as CLIENT KILL TYPE normal would. How many were closed.
int KillClientsNamed(const std::string& name_prefix);

}  // namespace vg::redis::testing
