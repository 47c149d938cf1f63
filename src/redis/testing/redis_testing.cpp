#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <chrono>

#include "vg/redis/testing.hpp"
#include "vg/testing/live_servers.hpp"

namespace vg::redis::testing {

std::unique_ptr<RedisConnection> Connect(const std::string& client_name) {
    const auto url = ::vg::testing::RedisUrl();
    if (!url) return nullptr;  // the test was skipped (or failed) for it
    auto address = ParseRedisUrl(*url);
    EXPECT_TRUE(address.ok()) << address.status().ToString();
    if (!address.ok()) return nullptr;
    auto connection = RedisConnection::Connect(*address, client_name, std::chrono::milliseconds(2000),
                                               std::chrono::milliseconds(5000));
    EXPECT_TRUE(connection.ok()) << connection.status().ToString();
    if (!connection.ok()) return nullptr;
    return std::move(connection).value();
}

std::vector<std::string> KeysUnder(const std::string& prefix) {
    std::vector<std::string> keys;
    auto redis = Connect("vg-test-keys");
    if (redis == nullptr) return keys;
    std::string cursor = "0";
    const std::string pattern = prefix + ":*";
    do {
        auto reply = redis->Command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
        if (!reply.ok() || ElementCount(reply->get()) < 2) break;
        cursor = std::string(StringOf(ElementAt(reply->get(), 0)));
        const redisReply* found = ElementAt(reply->get(), 1);
        for (size_t i = 0; i < ElementCount(found); ++i) keys.emplace_back(StringOf(ElementAt(found, i)));
    } while (cursor != "0");
    return keys;
}

void DeleteKeysUnder(const std::string& prefix) {
    const std::vector<std::string> keys = KeysUnder(prefix);
    if (keys.empty()) return;
    auto redis = Connect("vg-test-keys");
    if (redis == nullptr) return;
    for (size_t from = 0; from < keys.size(); from += 500) {
        std::vector<std::string_view> del{"DEL"};
        for (size_t i = from; i < keys.size() && i < from + 500; ++i) del.push_back(keys[i]);
        (void)redis->Command(del);
    }
}

int KillClientsNamed(const std::string& name_prefix) {
    auto redis = Connect("vg-test-killer");
    if (redis == nullptr) return 0;
    auto list = redis->Command({"CLIENT", "LIST", "TYPE", "normal"});
    if (!list.ok()) return 0;
    const std::string text(StringOf(list->get()));
    const std::string wanted = "name=" + name_prefix;
    int killed = 0;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        const std::string line = text.substr(start, end - start);
        start = end + 1;
        if (line.find(wanted) == std::string::npos || line.rfind("id=", 0) != 0) continue;
        const std::string id = line.substr(3, line.find(' ') - 3);
        auto reply = redis->Command({"CLIENT", "KILL", "ID", id});
        if (reply.ok()) killed += static_cast<int>(IntegerOf(reply->get()).value_or(0));
    }
    return killed;
}

}  // namespace vg::redis::testing
