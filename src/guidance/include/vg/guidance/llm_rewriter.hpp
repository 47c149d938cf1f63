#pragma once
// LlmRewriter: optional rewrite of composed guidance by an OpenAI-compatible chat endpoint, with the
// seed's prompt template (section 4.5: 현재 상태 / 원인 / 대처 방법, an English variant for "en").
//
// It never stands between a detection and an alert. Callers send the deterministic guidance
// (Compose) with the alert first; a rewrite, when configured, may follow as an update. Rewrite
// blocks for at most about `timeout` (connection included), so call it from a worker thread, never
// from the detector's shard thread or an HTTP io thread.
//
// On any failure — timeout, connection refused, HTTP status other than 200, a body that is not the
// expected JSON, missing choices[0].message.content, or an answer without the four numbered parts
// (or without 119 when the guidance says to call 119) — the result is the deterministic text, with
// the reason. Nothing is thrown for these.
//
// The API key is sent only in the Authorization header. It is never logged, never part of a reason
// and never returned.
//
// Thread-safety: Rewrite is const and may be called from any number of threads at once (each call has
// its own libcurl handle; the configuration is immutable).

#include <chrono>
#include <memory>
#include <string>

#include "vg/common/status.hpp"
#include "vg/guidance/composer.hpp"

namespace vg::guidance {

struct LlmConfig {
    std::string base_url;  // e.g. "https://api.openai.com" or "http://127.0.0.1:8000"; the request goes to
                           // {base_url}/v1/chat/completions
    std::string api_key;   // sent as "Authorization: Bearer <key>"; may be empty for local servers
    std::string model;     // e.g. "gpt-4o-mini"
    std::chrono::milliseconds timeout{3000};  // the whole exchange, connection included
    size_t max_output_chars = 4000;           // longer answers are refused (a screen, not an essay)
};

struct RewriteResult {
    std::string text;        // the rewrite, or the deterministic guidance.text on fallback
    bool rewritten = false;  // true when `text` is the endpoint's answer
    std::string reason;      // why it fell back; empty when rewritten
};

class LlmRewriter {
  public:
    // kValidationFailed (fields "base_url", "model", "timeout") for a configuration that cannot work.
    [[nodiscard]] static Result<std::unique_ptr<LlmRewriter>> Create(LlmConfig config);

    // The prompt sent for `guidance` (the template filled with its parts), for tests and operators.
    static std::string BuildPrompt(const Guidance& guidance);

    // Asks the endpoint to rewrite `guidance`; see the file comment for the fallback.
    RewriteResult Rewrite(const Guidance& guidance) const;

  private:
    explicit LlmRewriter(LlmConfig config);
    LlmConfig config_;
};

}  // namespace vg::guidance
