// The fuzz targets; see targets.hpp.
#include "targets.hpp"

#include <boost/json.hpp>
#include <memory>
#include <string>

#include "vg/api/api.hpp"
#include "vg/auth/account_service.hpp"
#include "vg/common/clock.hpp"
#include "vg/common/ip_range.hpp"
#include "vg/common/time_text.hpp"
#include "vg/rules/rules.hpp"
#include "vg/sim/scenario.hpp"
#include "vg/store/memory_store.hpp"
#include "wire.hpp"

namespace vg::fuzz {
namespace {

std::string_view Text(const uint8_t* data, size_t size) { return {reinterpret_cast<const char*>(data), size}; }

}  // namespace

int TimeText(const uint8_t* data, size_t size) {
    const std::string_view text = Text(data, size);
    if (auto t = ParseIso8601(text); t.ok()) {
        // What is accepted prints and reads back as the same instant.
        auto again = ParseIso8601(FormatIso8601(*t));
        if (!again.ok() || *again != *t) __builtin_trap();
    }
    (void)ParseDuration(text);
    return 0;
}

int IpRange(const uint8_t* data, size_t size) {
    const std::string_view text = Text(data, size);
    auto address = ParseIpAddress(text);
    auto range = ParseIpRange(text);
    if (range.ok() && address && !range->Contains(*address) && text.find('/') == std::string_view::npos) {
        __builtin_trap();  // a plain address is a range that contains itself
    }
    return 0;
}

int RuleProfile(const uint8_t* data, size_t size) {
    (void)rules::ParseProfile(Text(data, size), "fuzz.json");
    return 0;
}

int Scenario(const uint8_t* data, size_t size) {
    (void)sim::ParseScenario(Text(data, size), "fuzz.json");
    return 0;
}

int StreamMessage(const uint8_t* data, size_t size) {
    (void)sim::wire::ParseStreamMessage(Text(data, size), FromUnixMillis(1'800'000'000'000));
    return 0;
}

// The first byte picks a public route with a JSON body (sign-up, login, check_id, and a session route
// that must refuse without a session); the rest is the body. The API runs on an in-memory store with the
// cheapest password hash, so each input costs microseconds, not an Argon2 hash.
int ApiRequest(const uint8_t* data, size_t size) {
    struct World {
        ManualClock clock;
        store::MemoryStore store;
        std::unique_ptr<auth::AccountService> accounts;
        std::unique_ptr<api::Api> api;
        World() {
            auth::AccountOptions options;
            options.password_cost = auth::PasswordHashCost::Minimum();
            options.max_signups_per_address = 0;  // no limit: every input reaches the readers
            accounts = std::make_unique<auth::AccountService>(store, clock, options);
            api::ApiOptions api_options;
            api_options.check_id_per_minute = 1'000'000;
            api = std::make_unique<api::Api>(*accounts, store, clock, api_options);
        }
    };
    static World world;
    if (size == 0) return 0;
    static constexpr std::string_view kRoutes[] = {"/api/signup", "/api/login", "/api/check_id", "/api/update_status",
                                                   "/api/devices/readings"};
    http::Request request;
    request.method = "POST";
    request.target = request.path = std::string(kRoutes[data[0] % std::size(kRoutes)]);
    request.headers.push_back({"content-type", "application/json"});
    request.headers.push_back({"host", "localhost"});
    request.body.assign(reinterpret_cast<const char*>(data + 1), size - 1);
    request.remote_address = "127.0.0.1";
    const http::Response response = world.api->Handle(request);
    if (response.status < 200 || response.status > 599) __builtin_trap();
    if (response.status >= 400) {
        // Every error answer is the documented JSON envelope.
        boost::system::error_code ec;
        const boost::json::value body = boost::json::parse(response.body, ec);
        if (ec || !body.is_object() || !body.as_object().contains("error")) __builtin_trap();
    }
    return 0;
}

}  // namespace vg::fuzz
