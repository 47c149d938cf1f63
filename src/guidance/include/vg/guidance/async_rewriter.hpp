#pragma once
// AsyncRewriter: LLM rewrites off the request path. A reader asks for the rewrite of some guidance
// under a key (e.g. incident 12, version 3, Korean); the first ask queues the work and answers
// "pending" at once, a worker thread calls the (slow, possibly failing) LlmRewriter, and later asks
// get the result from a bounded cache. The deterministic guidance is always there first, so a slow or
// absent endpoint never delays what a person in trouble reads.
//
// Thread-safety: every method may be called from any thread. Ownership: owns its worker thread and
// the LlmRewriter; the destructor stops the worker (a rewrite in flight finishes within its timeout).

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "vg/guidance/llm_rewriter.hpp"

namespace vg::guidance {

class AsyncRewriter {
  public:
    // `max_queued`: asks beyond this many waiting are dropped (asked again later, they queue again).
    // `max_cached`: results kept; the oldest go first.
    explicit AsyncRewriter(std::unique_ptr<LlmRewriter> rewriter, size_t max_queued = 64, size_t max_cached = 1024);
    ~AsyncRewriter();
    AsyncRewriter(const AsyncRewriter&) = delete;
    AsyncRewriter& operator=(const AsyncRewriter&) = delete;

    // The result for `key` if there is one; otherwise queues `guidance` for rewriting (once per key)
    // and returns nullopt ("pending").
    std::optional<RewriteResult> Get(const std::string& key, const Guidance& guidance);
    // Whether `key` was asked already: rewritten, failed, or queued or in progress (a caller that must
    // decide whether to start a rewrite; Get on a key asked already starts nothing).
    bool Asked(const std::string& key);

  private:
    void Run();

    std::unique_ptr<LlmRewriter> rewriter_;
    const size_t max_queued_;
    const size_t max_cached_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::pair<std::string, Guidance>> queue_;  // GUARDED_BY(mu_)
    std::map<std::string, bool> in_flight_;               // GUARDED_BY(mu_): queued or being rewritten
    std::map<std::string, RewriteResult> cache_;          // GUARDED_BY(mu_)
    std::deque<std::string> cache_order_;                 // GUARDED_BY(mu_): oldest first
    bool stopping_ = false;                               // GUARDED_BY(mu_)
    std::thread worker_;
};

}  // namespace vg::guidance
