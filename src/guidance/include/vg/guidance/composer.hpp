#pragma once
// Composition of what-to-do guidance in the seed's four parts (docs/guidance.md):
//   1. current state — firm sentences naming the measured values, no hedging
//   2. cause — concise, from the pages' likely causes
//   3. immediate actions — numbered, from the retrieved pages, most urgent topic first, de-duplicated
//   4. warning — whether to call 119 now (danger: yes, now; caution: not yet, and when to)
//
// Deterministic: the same request and knowledge base give the same text, byte for byte. This is the
// guidance an alert carries; an LLM rewrite (llm_rewriter.hpp) may follow it, never replace it first.
//
// Thread-safety: Compose is a pure function of its arguments (the KnowledgeBase is thread-safe);
// call it from any number of threads.

#include <string>
#include <vector>

#include "vg/common/status.hpp"
#include "vg/domain/vitals.hpp"
#include "vg/guidance/knowledge_base.hpp"
#include "vg/guidance/topic.hpp"

namespace vg::guidance {

struct GuidanceRequest {
    domain::Level level = domain::Level::kCaution;  // kCaution or kDanger
    std::vector<Topic> topics;                      // most urgent first (as TopicsFor returns them)
    Language language = Language::kKo;
    // The current values; the state part names those its topics concern (heart rate for tachycardia,
    // SpO2 for low SpO2, ...). Absent values are not mentioned. measured_at is not used.
    domain::VitalsReading reading;
};

// At most this many numbered actions in part 3 (a person in distress reads few lines); the most
// urgent topic's actions come first, so they are the ones kept.
inline constexpr size_t kMaxActions = 10;

struct Guidance {
    domain::Level level = domain::Level::kCaution;
    Language language = Language::kKo;
    std::vector<Topic> topics;  // as used: de-duplicated, in order

    std::string state;                 // part 1
    std::string cause;                 // part 2
    std::vector<std::string> actions;  // part 3, without numbers
    std::string warning;               // part 4
    bool call_119 = false;             // true exactly when the level is danger: call 119 now

    std::vector<SourceRef> sources;     // cited, de-duplicated by URL, in page order
    std::vector<std::string> page_ids;  // pages used, in order
    std::string text;                   // the four parts numbered "1." to "4.", then the sources
};

// Composes the guidance. Errors: kValidationFailed for a level that is not caution or danger (field
// "level") or no topics (field "topics"); kNotFound when the knowledge base has no page for a topic in
// the language at the level (a complete knowledge base, the default of Load, always has one).
[[nodiscard]] Result<Guidance> Compose(const KnowledgeBase& kb, const GuidanceRequest& request);

// The request for a detection: its level (kDanger stays, anything else is kCaution), TopicsFor, and
// the reading's values.
GuidanceRequest RequestFor(const domain::Detection& detection, const domain::VitalsReading& reading, Language language,
                           bool fall_detected = false);

// Checks that `text` has the four numbered parts: lines starting with "1.", "2.", "3." and "4." (after
// optional spaces, "#" or "*" of Markdown), in this order, each with some text; and, when
// `require_119`, that it mentions 119. Returns the problem in words, or an empty string when it holds.
std::string CheckFourParts(std::string_view text, bool require_119);

}  // namespace vg::guidance
