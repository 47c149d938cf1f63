#pragma once
// Private to bus/redis_streams: the binary encoding of what travels through Redis — a shard entry's
// readings ("r"), a window job ("w") and a reply ("d" a Detection, "v" window results) — little-endian,
// written and read byte by byte (no struct casts), each starting with a version byte and a kind byte.
//
// Decoding checks everything: lengths against the bytes left (so a garbled count cannot make it allocate
// much), enum values against their ranges, booleans against {0, 1}, no bytes left over. Bad input is
// kInternal naming what was wrong, never undefined behaviour (the fuzz-ish test feeds it random bytes).
// Callbacks do not travel: an envelope with on_detected (a job with answer) carries a reply sequence
// number instead, and the entry names the node to answer (its reply stream).
// Thread-safety: pure functions.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vg/bus/bus.hpp"
#include "vg/common/status.hpp"

namespace vg::bus::codec {

inline constexpr uint8_t kCodecVersion = 1;

struct DecodedReading {
    ReadingEnvelope envelope;           // on_detected empty
    std::optional<uint64_t> reply_seq;  // set when the publisher waits for the verdict
};
struct ReadingsEntry {
    std::string reply_node;  // the publisher's node id (its reply stream)
    std::vector<DecodedReading> readings;
};
// `seqs[i]` is readings[i]'s reply sequence number, if any. REQUIRES: seqs.size() == readings.size().
std::string EncodeReadings(std::string_view reply_node, std::span<const ReadingEnvelope> readings,
                           std::span<const std::optional<uint64_t>> seqs);
Result<ReadingsEntry> DecodeReadings(std::string_view bytes);

struct WindowJobEntry {
    std::string reply_node;
    posture::WindowJob job;  // answer empty
    std::optional<uint64_t> reply_seq;
};
std::string EncodeWindowJob(std::string_view reply_node, const posture::WindowJob& job,
                            std::optional<uint64_t> reply_seq);
Result<WindowJobEntry> DecodeWindowJob(std::string_view bytes);

enum class ReplyKind : uint8_t { kDetection, kWindows };
struct DecodedReply {
    uint64_t seq = 0;
    ReplyKind kind = ReplyKind::kDetection;
    std::optional<Result<domain::Detection>> detection;                 // kind kDetection
    std::optional<Result<std::vector<posture::WindowResult>>> windows;  // kind kWindows
};
std::string EncodeDetectionReply(uint64_t seq, const Result<domain::Detection>& result);
std::string EncodeWindowsReply(uint64_t seq, const Result<std::vector<posture::WindowResult>>& result);
Result<DecodedReply> DecodeReply(std::string_view bytes);

}  // namespace vg::bus::codec
