#include "e2e_fixture.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>

namespace vg::e2e {

void ServerTest::StartServer(std::vector<std::string> extra_args) {
    testing::ServerProcessOptions options;
    options.args = {"serve", "--port", "0", "--data-dir", data_dir_.file("data"), "--log-level", "info"};
    // Every test signs its people up from 127.0.0.1; a test of the sign-up limit passes its own value.
    if (std::find(extra_args.begin(), extra_args.end(), "--signups-per-address-per-hour") == extra_args.end()) {
        options.args.insert(options.args.end(), {"--signups-per-address-per-hour", "0"});
    }
    options.args.insert(options.args.end(), extra_args.begin(), extra_args.end());
    // A restart: the server already running on this data directory stops first (one server per data
    // directory; a second is refused).
    if (server_) {
        if (server_->running()) server_->Terminate();
        server_.reset();
    }
    server_ = std::make_unique<testing::ServerProcess>(testing::FindBinary("vitalguard"), options);
}

json::object ServerTest::SignupBody(const std::string& id) {
    return json::object{{"id", id},
                        {"password", "correct horse"},
                        {"name", "김영희"},
                        {"age", 78},
                        {"address", "서울특별시 종로구 세종대로 1"},
                        {"detailed_address", "101동 1203호"},
                        {"phone_num", "010-1234-5678"},
                        {"guard_name", "김철수"},
                        {"guard_phone_num", "010-9876-5432"}};
}

std::string ServerTest::SignupAndLogin(testing::HttpClient& client, const std::string& id) {
    auto signup = client.Post("/api/signup", SignupBody(id));
    EXPECT_EQ(signup.status, 201) << signup.body;
    auto login = client.Post("/api/login", json::object{{"id", id}, {"password", "correct horse"}});
    EXPECT_EQ(login.status, 200) << login.body;
    std::string csrf(login.json().at("csrf_token").as_string());
    client.SetDefaultHeader("X-CSRF-Token", csrf);
    return csrf;
}

std::vector<std::string> ServerTest::ErrorFields(const testing::HttpResult& result) {
    std::vector<std::string> fields;
    const json::value body = result.json();
    for (const auto& f : body.at("error").at("fields").as_array()) {
        fields.emplace_back(f.at("field").as_string());
    }
    return fields;
}

std::string ServerTest::ErrorCode(const testing::HttpResult& result) {
    return std::string(result.json().at("error").at("code").as_string());
}

std::vector<int> ServerTest::UpdateStatusUntilKilled(std::vector<testing::HttpClient>& clients,
                                                     const std::vector<json::object>& bodies, int target) {
    std::vector<std::atomic<int>> acknowledged(clients.size());
    std::atomic<bool> stop{false};
    std::vector<std::thread> senders;
    for (size_t i = 0; i < clients.size(); ++i) {
        senders.emplace_back([&, i] {
            while (!stop.load()) {
                try {
                    if (clients[i].Post("/api/update_status", bodies[i]).status == 200) acknowledged[i].fetch_add(1);
                } catch (const testing::HttpClientError&) {
                    return;  // the server is gone
                }
            }
        });
    }
    auto total = [&] {
        int n = 0;
        for (auto& a : acknowledged) n += a.load();
        return n;
    };
    for (int i = 0; i < 300 && total() < target; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(server_->Kill().signal, SIGKILL);  // requests in flight
    stop = true;
    for (auto& t : senders) t.join();
    std::vector<int> counts;
    for (auto& a : acknowledged) counts.push_back(a.load());
    return counts;
}

}  // namespace vg::e2e
