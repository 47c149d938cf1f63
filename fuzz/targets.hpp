#pragma once
// The fuzz targets: one function per parser that takes outside input. Each must accept any bytes without
// crashing, hanging or leaking, and answer bad input with an error (never an exception or abort).
// They are linked two ways: into libFuzzer programs (fuzzer_main.cpp, built by scripts/fuzz with clang
// and -fsanitize=fuzzer,address,undefined), and into vg_fuzz_corpus_test, which replays every file of
// fuzz/corpus/<target>/ and fuzz/crashes/<target>/ through them in the ordinary test run.
//
// Thread-safety: each target may keep static state built on first use; call from one thread.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vg::fuzz {

using Target = int (*)(const uint8_t* data, size_t size);

struct NamedTarget {
    std::string_view name;  // the folder under fuzz/corpus and fuzz/crashes
    Target run;
};

int TimeText(const uint8_t* data, size_t size);        // ISO 8601 times and durations (common)
int IpRange(const uint8_t* data, size_t size);         // addresses and CIDR ranges (--trusted-proxy)
int RuleProfile(const uint8_t* data, size_t size);     // rule profiles (profiles/*.json)
int Scenario(const uint8_t* data, size_t size);        // simulator scenarios (sim/scenarios/*.json)
int StreamMessage(const uint8_t* data, size_t size);   // live-stream messages as the simulator reads them
int ApiRequest(const uint8_t* data, size_t size);      // a request through the API's router and readers
int HttpHead(const uint8_t* data, size_t size);        // a connection's bytes through the server's request reader
int WebSocketFrame(const uint8_t* data, size_t size);  // a client's frames on an accepted WebSocket
int KnowledgePage(const uint8_t* data, size_t size);   // knowledge pages (knowledge/<language>/*.md)
int ImuReaders(const uint8_t* data, size_t size);      // one IMU data set file (first byte picks the reader)
int TomlConfig(const uint8_t* data, size_t size);      // `vitalguard serve --config FILE` (defined in cli_target.cpp)

// Every target, in a fixed order.
inline constexpr NamedTarget kTargets[] = {
    {"time_text", TimeText},           {"ip_range", IpRange},
    {"rule_profile", RuleProfile},     {"scenario", Scenario},
    {"stream_message", StreamMessage}, {"api_request", ApiRequest},
    {"http_head", HttpHead},           {"websocket_frame", WebSocketFrame},
    {"knowledge_page", KnowledgePage}, {"imu_readers", ImuReaders},
    {"toml_config", TomlConfig},
};

}  // namespace vg::fuzz
