#pragma once
// vg_redis (src/redis/README.md): one blocking hiredis connection (RAII over redisContext), the redis:// URL,
// and small helpers to read RESP2 replies, shared by the Redis adapters (bus/redis_streams, auth/redis).
// hiredis.h stays out of this header.
//
// A connection that saw an I/O error, a timeout or a protocol error is broken for good (hiredis cannot
// resynchronise it): every later call fails with kUnavailable until the owner throws it away and connects
// again. A Redis error reply ("-NOGROUP ...") is not a broken connection: it is returned as a reply of type
// error for the caller to judge.
// Thread-safety: a RedisConnection is used by one thread at a time.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vg/common/status.hpp"

struct redisContext;
struct redisReply;

namespace vg::redis {

// redis://[[user]:password@]host[:port][/db]; host may be [v6-address]. Port 6379 and db 0 by default.
struct RedisAddress {
    std::string host;
    int port = 6379;
    int db = 0;
    std::string user;      // empty: AUTH with the password only (or no AUTH)
    std::string password;  // empty: no AUTH
    // "host:port" (and "/db" when not 0): for messages; never the password.
    std::string ToString() const;
};

// kInternal naming `option` (the option the URL came from, e.g. "RedisStreamsBusOptions.url") and what is
// wrong; the message never repeats a password.
Result<RedisAddress> ParseRedisUrl(std::string_view url, std::string_view option = "url");

struct ReplyDeleter {
    void operator()(redisReply* reply) const;
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

class RedisConnection {
  public:
    // Connects within `connect_timeout`, sets `command_timeout` on the socket (a reply slower than that
    // breaks the connection), authenticates, selects the db and names the client `client_name` (CLIENT
    // SETNAME; spaces are not allowed). kUnavailable "cannot reach Redis at host:port: why".
    static Result<std::unique_ptr<RedisConnection>> Connect(const RedisAddress& address, const std::string& client_name,
                                                            std::chrono::milliseconds connect_timeout,
                                                            std::chrono::milliseconds command_timeout);
    ~RedisConnection();
    RedisConnection(const RedisConnection&) = delete;
    RedisConnection& operator=(const RedisConnection&) = delete;

    // One command; its reply (which may be an error reply), or kUnavailable when the connection broke.
    Result<ReplyPtr> Command(const std::vector<std::string_view>& args);
    // Pipelining: Append commands, then read their replies in order with GetReply.
    Status Append(const std::vector<std::string_view>& args);
    Result<ReplyPtr> GetReply();
    // Sets the socket's read/write timeout (e.g. a blocking read's BLOCK plus the command timeout).
    void SetTimeout(std::chrono::milliseconds timeout);

    bool broken() const { return broken_; }
    // Whether the server closed this (idle) connection, e.g. after CLIENT KILL or a restart: a cheap peek
    // at the socket before the connection is used again. REQUIRES: no reply is outstanding.
    bool ClosedByPeer() const;

  private:
    RedisConnection(redisContext* context, std::string address) : context_(context), address_(std::move(address)) {}
    Status Broken(std::string_view during);

    redisContext* context_;
    std::string address_;
    bool broken_ = false;
};

// ---- reading replies (RESP2) ----

bool IsError(const redisReply* reply);
bool IsNil(const redisReply* reply);
bool IsArray(const redisReply* reply);
std::string_view StringOf(const redisReply* reply);  // a string, status or error reply's text; else ""
std::optional<int64_t> IntegerOf(const redisReply* reply);
size_t ElementCount(const redisReply* reply);                        // 0 unless an array
const redisReply* ElementAt(const redisReply* reply, size_t index);  // REQUIRES: index < ElementCount
// In a flat [name, value, name, value, ...] array (XINFO's answers), the value named `name`, else nullptr.
const redisReply* FieldOf(const redisReply* reply, std::string_view name);

// A stream entry id "ms-seq", ordered as Redis orders them.
struct StreamId {
    uint64_t ms = 0;
    uint64_t seq = 0;
    friend auto operator<=>(const StreamId&, const StreamId&) = default;
    std::string ToString() const;
};
std::optional<StreamId> ParseStreamId(std::string_view text);

}  // namespace vg::redis
