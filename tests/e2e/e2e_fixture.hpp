#pragma once
// Shared set-up for end-to-end tests: a data directory that outlives server
// restarts, a server started on it, and helpers for the common account steps.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>
#include <string>
#include <vector>

#include "vg/testing/http_client.hpp"
#include "vg/testing/server_process.hpp"
#include "vg/testing/temp_dir.hpp"

namespace vg::e2e {

namespace json = boost::json;

class ServerTest : public ::testing::Test {
  protected:
    // Starts (or restarts: the running one is stopped first) the server on the test's data directory
    // with extra flags.
    void StartServer(std::vector<std::string> extra_args = {});
    testing::HttpClient Client() const { return testing::HttpClient(server_->port()); }

    // A complete, valid sign-up body for `id`.
    static json::object SignupBody(const std::string& id);
    // Signs up `id` and logs in with `client`; returns the CSRF token (also set as the client's default header).
    std::string SignupAndLogin(testing::HttpClient& client, const std::string& id);
    // The "field" of every entry of error.fields, in order.
    static std::vector<std::string> ErrorFields(const testing::HttpResult& result);
    static std::string ErrorCode(const testing::HttpResult& result);
    // A full update_status load that ends in kill -9: one thread per client (each logged in) posts
    // `bodies[i]` until `target` calls were acknowledged in all (or 6 s passed), then the server is killed
    // with SIGKILL while calls are in flight. Returns each client's count of acknowledged (200) calls.
    std::vector<int> UpdateStatusUntilKilled(std::vector<testing::HttpClient>& clients,
                                             const std::vector<json::object>& bodies, int target);

    testing::TempDir data_dir_{"vg-e2e-data"};
    std::unique_ptr<testing::ServerProcess> server_;
};

}  // namespace vg::e2e
