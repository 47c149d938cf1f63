#pragma once
// libcurl underneath the channels (private to the module).
//
// CurlHandlePool keeps idle easy handles so that a channel reuses connections (and TLS sessions)
// to its receivers between deliveries. PerformHttp makes one HTTP request with the channel's
// limits and classifies transport failures; ClassifyHttpStatus (channel.hpp) classifies answers.
// Thread-safety: a pool may be used from any thread; each request holds its handle alone.

#include <curl/curl.h>

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "vg/common/status.hpp"
#include "vg/notify/channel.hpp"

namespace vg::notify::internal {

// Initialises libcurl once per process (curl_global_init is not thread-safe on its own).
void EnsureCurlInitialised();

class CurlHandlePool {
  public:
    CurlHandlePool() = default;
    ~CurlHandlePool();
    CurlHandlePool(const CurlHandlePool&) = delete;
    CurlHandlePool& operator=(const CurlHandlePool&) = delete;

    // A handle with no options set (connections kept); nullptr when libcurl cannot make one.
    CURL* Acquire();
    // Resets the handle's options and keeps it (or frees it when enough are idle).
    // REQUIRES: from Acquire(), not in use any more.
    void Release(CURL* handle);

  private:
    static constexpr size_t kMaxIdle = 16;
    std::mutex mu_;
    std::vector<CURL*> idle_;  // GUARDED_BY(mu_)
};

struct HttpCall {
    std::string method = "POST";  // GET, POST or PUT
    std::string url;
    HttpHeaders headers;
    std::string body;
};

struct HttpReply {
    long status = 0;
    std::string body_excerpt;      // the first bytes of the body, for error messages
    int retry_after_seconds = -1;  // from a Retry-After header in seconds; -1 when absent
};

// Performs the call. Transport failures: a malformed or non-HTTP(S) URL is kValidationFailed
// (permanent); everything else (refused, reset, DNS, TLS, timeout) is kUnavailable.
Result<HttpReply> PerformHttp(CurlHandlePool& pool, const HttpClientOptions& options, const HttpCall& call);

// PerformHttp, then ClassifyHttpStatus: the receipt on 2xx ("HTTP 202"), else the failure.
Result<DeliveryReceipt> DeliverHttp(CurlHandlePool& pool, const HttpClientOptions& options, const HttpCall& call);

// Lower-case ASCII copy.
std::string AsciiLower(std::string_view text);

// True when the text has a CR, LF or NUL (header injection).
bool HasLineBreak(std::string_view text);

}  // namespace vg::notify::internal
