#include "http_transport.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <memory>
#include <stdexcept>

namespace vg::notify::internal {
namespace {

constexpr size_t kBodyExcerptLimit = 512;

struct ReplyCollector {
    HttpReply reply;
};

size_t CollectBody(char* data, size_t size, size_t count, void* user) {
    auto* collector = static_cast<ReplyCollector*>(user);
    const size_t bytes = size * count;
    std::string& excerpt = collector->reply.body_excerpt;
    if (excerpt.size() < kBodyExcerptLimit) excerpt.append(data, std::min(bytes, kBodyExcerptLimit - excerpt.size()));
    return bytes;  // the rest is read and dropped: a receiver's long answer is not our business
}

size_t CollectHeader(char* data, size_t size, size_t count, void* user) {
    auto* collector = static_cast<ReplyCollector*>(user);
    const size_t bytes = size * count;
    std::string_view line(data, bytes);
    if (line.rfind("HTTP/", 0) == 0) collector->reply.retry_after_seconds = -1;  // a new response (after 100)
    const auto colon = line.find(':');
    if (colon != std::string_view::npos && AsciiLower(line.substr(0, colon)) == "retry-after") {
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
        int seconds = -1;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
        (void)end;
        // An HTTP-date Retry-After is not parsed: the retry policy's own delay applies then.
        if (ec == std::errc() && seconds >= 0) collector->reply.retry_after_seconds = seconds;
    }
    return bytes;
}

struct SlistDeleter {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

// curl_slist_append returns the (unchanged) head, or nullptr leaving the list as it was.
bool AppendHeader(std::unique_ptr<curl_slist, SlistDeleter>& list, const std::string& line) {
    curl_slist* head = curl_slist_append(list.get(), line.c_str());
    if (head == nullptr) return false;
    (void)list.release();
    list.reset(head);
    return true;
}

class PooledHandle {
  public:
    explicit PooledHandle(CurlHandlePool& pool) : pool_(pool), handle_(pool.Acquire()) {}
    ~PooledHandle() {
        if (handle_ != nullptr) pool_.Release(handle_);
    }
    PooledHandle(const PooledHandle&) = delete;
    PooledHandle& operator=(const PooledHandle&) = delete;
    CURL* get() const { return handle_; }

  private:
    CurlHandlePool& pool_;
    CURL* handle_;
};

}  // namespace

void EnsureCurlInitialised() {
    static const bool initialised = [] {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("libcurl failed to initialise");
        return true;
    }();
    (void)initialised;
}

CurlHandlePool::~CurlHandlePool() {
    for (CURL* handle : idle_) curl_easy_cleanup(handle);
}

CURL* CurlHandlePool::Acquire() {
    {
        std::lock_guard lock(mu_);
        if (!idle_.empty()) {
            CURL* handle = idle_.back();
            idle_.pop_back();
            return handle;
        }
    }
    EnsureCurlInitialised();
    return curl_easy_init();
}

void CurlHandlePool::Release(CURL* handle) {
    // Forget every option (pointers into the caller's frame among them); keep the connections.
    curl_easy_reset(handle);
    std::lock_guard lock(mu_);
    if (idle_.size() < kMaxIdle) {
        idle_.push_back(handle);
    } else {
        curl_easy_cleanup(handle);
    }
}

std::string AsciiLower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool HasLineBreak(std::string_view text) { return text.find_first_of(std::string_view("\r\n\0", 3)) != text.npos; }

Result<HttpReply> PerformHttp(CurlHandlePool& pool, const HttpClientOptions& options, const HttpCall& call) {
    const std::string method = AsciiLower(call.method);
    if (method != "get" && method != "post" && method != "put") {
        return Status::Error(ErrorCode::kValidationFailed, "unsupported HTTP method " + call.method);
    }
    const std::string url_lower = AsciiLower(call.url.substr(0, 8));
    if (url_lower.rfind("http://", 0) != 0 && url_lower.rfind("https://", 0) != 0) {
        return Status::Error(ErrorCode::kValidationFailed, "not an http(s) URL: " + call.url);
    }
    std::unique_ptr<curl_slist, SlistDeleter> headers;
    for (const auto& [name, value] : call.headers) {
        if (HasLineBreak(name) || HasLineBreak(value) || name.empty()) {
            return Status::Error(ErrorCode::kValidationFailed, "invalid HTTP header " + name);
        }
        if (!AppendHeader(headers, name + ": " + value)) return Status::Error(ErrorCode::kInternal, "out of memory");
    }
    // No "Expect: 100-continue" round trip before the body.
    if (!AppendHeader(headers, "Expect:")) return Status::Error(ErrorCode::kInternal, "out of memory");

    PooledHandle handle(pool);
    CURL* curl = handle.get();
    if (curl == nullptr) return Status::Error(ErrorCode::kInternal, "libcurl could not create a handle");

    ReplyCollector collector;
    char error_buffer[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(curl, CURLOPT_URL, call.url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // required with several threads
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect is an answer, not a hop
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, options.verify_tls ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, options.verify_tls ? 2L : 0L);
    if (!options.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options.ca_file.c_str());
    curl_easy_setopt(curl, CURLOPT_USERAGENT, options.user_agent.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, CollectBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &collector);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, CollectHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &collector);
    if (method == "get") {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, call.body.data());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(call.body.size()));
        if (method == "put") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PUT");
    }

    const CURLcode code = curl_easy_perform(curl);
    if (code != CURLE_OK) {
        std::string reason = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
        switch (code) {
            case CURLE_URL_MALFORMAT:
            case CURLE_UNSUPPORTED_PROTOCOL:
                return Status::Error(ErrorCode::kValidationFailed, "bad receiver URL: " + reason);
            case CURLE_OPERATION_TIMEDOUT:
                return Status::Error(ErrorCode::kUnavailable,
                                     "timed out after " + std::to_string(options.timeout.count()) + " ms: " + reason);
            default:
                return Status::Error(ErrorCode::kUnavailable, "could not reach the receiver: " + reason);
        }
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &collector.reply.status);
    return collector.reply;
}

Result<DeliveryReceipt> DeliverHttp(CurlHandlePool& pool, const HttpClientOptions& options, const HttpCall& call) {
    auto reply = PerformHttp(pool, options, call);
    if (!reply.ok()) return reply.status();
    Status status = ClassifyHttpStatus(reply->status, reply->retry_after_seconds, reply->body_excerpt);
    if (!status.ok()) return status;
    return DeliveryReceipt{"HTTP " + std::to_string(reply->status)};
}

}  // namespace vg::notify::internal
