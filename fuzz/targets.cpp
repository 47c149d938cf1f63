// The fuzz targets; see targets.hpp.
#include "targets.hpp"

#include <unistd.h>
#include <zlib.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "page_parser.hpp"     // src/guidance
#include "request_reader.hpp"  // src/http
#include "vg/api/api.hpp"
#include "vg/auth/account_service.hpp"
#include "vg/common/clock.hpp"
#include "vg/common/ip_range.hpp"
#include "vg/common/time_text.hpp"
#include "vg/imu/trial.hpp"
#include "vg/rules/rules.hpp"
#include "vg/sim/scenario.hpp"
#include "vg/store/memory_store.hpp"
#include "wire.hpp"  // src/sim

namespace vg::fuzz {
namespace {

std::string_view Text(const uint8_t* data, size_t size) { return {reinterpret_cast<const char*>(data), size}; }

bool IsLower(std::string_view s) {
    for (char c : s) {
        if (c >= 'A' && c <= 'Z') return false;
    }
    return true;
}

}  // namespace

// A private folder for targets that can only read files, made once per process and removed at exit.
const std::filesystem::path& ScratchDir() {
    static const std::filesystem::path dir = [] {
        std::string pattern = (std::filesystem::temp_directory_path() / "vg-fuzz-XXXXXX").string();
        if (mkdtemp(pattern.data()) == nullptr) std::abort();
        std::atexit([] {
            std::error_code ec;
            std::filesystem::remove_all(ScratchDir(), ec);
        });
        return std::filesystem::path(pattern);
    }();
    return dir;
}

namespace {}  // namespace

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

// The first byte picks how the bytes arrive (all at once, or 1 to 127 bytes per read: the parser must give
// the same answer however the head is split); the rest is what a client sent on one connection. Small
// limits, so that the limit paths are reached too.
int HttpHead(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    http::ServerOptions options;
    options.header_limit_bytes = 2048;
    options.body_limit_bytes = 4096;
    const size_t chunk = data[0] & 0x7f;
    const std::string_view bytes = Text(data + 1, size - 1);
    const http::internal::ReadOutcome outcome = http::internal::ReadRequests(bytes, options, chunk);
    for (const http::Request& request : outcome.requests) {
        if (request.method.empty() || request.path.empty() || request.path.front() != '/') __builtin_trap();
        if (request.body.size() > options.body_limit_bytes) __builtin_trap();
        for (const http::Header& header : request.headers) {
            if (header.name.empty() || !IsLower(header.name)) __builtin_trap();
        }
    }
    if (outcome.error && outcome.error->message.empty()) __builtin_trap();
    if (chunk != 0) {
        // Split delivery reads the same requests as one read. (Not always the same error: Beast parses the
        // request line as soon as its first read holds one, but after a partial read it waits for the whole
        // head, so a malformed head cut short by the client is answered 400 in one case and closed without
        // an answer in the other. Both are fine; fuzz/crashes/http_head/ keeps the input that showed it.)
        const http::internal::ReadOutcome whole = http::internal::ReadRequests(bytes, options, 0);
        // Beast checks the head limit against what one read holds, and consumes a head line by line as it
        // arrives: a head a little over header_limit_bytes is refused when it comes in one piece and may be
        // taken when it comes in small ones (fuzz/crashes/http_head/crash-227b…: 2,102 bytes against 2,048).
        // The limit still bounds the head, by at most what one read adds; nothing else may differ.
        auto head_too_large = [](const http::internal::ReadOutcome& o) {
            return o.error && o.error->message.starts_with("request head too large");
        };
        if (head_too_large(whole) != head_too_large(outcome)) return 0;
        if (whole.requests.size() != outcome.requests.size() || whole.bad_targets != outcome.bad_targets) {
            __builtin_trap();
        }
        for (size_t i = 0; i < whole.requests.size(); ++i) {
            if (whole.requests[i].target != outcome.requests[i].target ||
                whole.requests[i].body != outcome.requests[i].body) {
                __builtin_trap();
            }
        }
    }
    return 0;
}

// The bytes are what a client sends after the handshake; the message limit is small so that 1009 is reachable.
int WebSocketFrame(const uint8_t* data, size_t size) {
    http::ServerOptions options;
    options.websocket_message_limit_bytes = 1024;
    for (const std::string& message : http::internal::ReadWebSocketMessages(Text(data, size), options)) {
        if (message.size() > options.websocket_message_limit_bytes) __builtin_trap();
    }
    return 0;
}

// The first byte picks the file name (its language must match the page's); the rest is the page.
int KnowledgePage(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    static const std::string kFiles[] = {"en/fuzz.md", "ko/fuzz.md", "fuzz.md", "xx/deep/fuzz.md"};
    std::vector<FieldError> problems;
    auto page = guidance::internal::ParsePage(Text(data + 1, size - 1), kFiles[data[0] % std::size(kFiles)], problems);
    if (page.has_value() != problems.empty()) __builtin_trap();  // a page exactly when there is no problem
    return 0;
}

// The first byte picks the reader (low 3 bits: SisFall, UMAFall, HIFD, WEDA-FALL, FallAllD), whether the file
// is gzip-compressed (bit 3; the readers also take a plain file, as zlib does) and UMAFall's sensor id (the
// high 4 bits); the rest is the file.
int ImuReaders(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    imu::TrialInfo info;
    info.dataset = imu::kAllDatasets[(data[0] & 7) % imu::kAllDatasets.size()];
    info.sensor_id = data[0] >> 4;
    info.path = ScratchDir() / "trial.csv.gz";
    const bool compress = (data[0] & 8) != 0;
    gzFile file = gzopen(info.path.c_str(), compress ? "wb1" : "wbT");  // T: written as is
    if (file == nullptr) std::abort();
    if (size > 1 && gzwrite(file, data + 1, static_cast<unsigned>(size - 1)) <= 0) std::abort();
    gzclose(file);
    auto trial = imu::LoadTrial(info);
    if (trial.ok()) {
        if (trial->samples.empty()) __builtin_trap();
        double last = 0;
        for (const imu::Sample& s : trial->samples) {
            if (!(s.t_s >= last)) __builtin_trap();  // from 0, non-decreasing (and never NaN)
            last = s.t_s;
        }
    }
    return 0;
}

}  // namespace vg::fuzz
