#include "vg/redis/connection.hpp"

#include <hiredis/hiredis.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <charconv>

namespace vg::redis {
namespace {

timeval ToTimeval(std::chrono::milliseconds d) {
    const int64_t ms = std::max<int64_t>(1, d.count());
    timeval tv{};
    tv.tv_sec = static_cast<decltype(tv.tv_sec)>(ms / 1000);
    tv.tv_usec = static_cast<decltype(tv.tv_usec)>((ms % 1000) * 1000);
    return tv;
}

std::optional<int64_t> ParseInt(std::string_view text) {
    int64_t value = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
    return value;
}

Status BadUrl(std::string_view option, std::string_view why) {
    return Status::Error(ErrorCode::kInternal,
                         std::string(option) + " is not redis://host[:port][/db]: " + std::string(why));
}

}  // namespace

std::string RedisAddress::ToString() const {
    std::string s = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    s += ":" + std::to_string(port);
    if (db != 0) s += "/" + std::to_string(db);
    return s;
}

Result<RedisAddress> ParseRedisUrl(std::string_view url, std::string_view option) {
    constexpr std::string_view kScheme = "redis://";
    if (url.substr(0, kScheme.size()) != kScheme) return BadUrl(option, "it does not start with redis://");
    std::string_view rest = url.substr(kScheme.size());
    RedisAddress address;
    // userinfo: everything up to the last '@' before the path
    const size_t slash = rest.find('/');
    const std::string_view authority = rest.substr(0, slash);
    const std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    std::string_view hostport = authority;
    if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
        const std::string_view userinfo = authority.substr(0, at);
        hostport = authority.substr(at + 1);
        const size_t colon = userinfo.find(':');
        if (colon == std::string_view::npos) {
            address.password = std::string(userinfo);  // redis://secret@host: the password alone
        } else {
            address.user = std::string(userinfo.substr(0, colon));
            address.password = std::string(userinfo.substr(colon + 1));
        }
    }
    std::string_view port_text;
    if (!hostport.empty() && hostport.front() == '[') {
        const size_t close = hostport.find(']');
        if (close == std::string_view::npos) return BadUrl(option, "an IPv6 host has no closing ']'");
        address.host = std::string(hostport.substr(1, close - 1));
        const std::string_view after = hostport.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return BadUrl(option, "junk after the IPv6 host");
            port_text = after.substr(1);
            if (port_text.empty()) return BadUrl(option, "an empty port");
        }
    } else {
        const size_t colon = hostport.find(':');
        address.host = std::string(hostport.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = hostport.substr(colon + 1);
            if (port_text.empty()) return BadUrl(option, "an empty port");
        }
    }
    if (address.host.empty()) return BadUrl(option, "no host");
    for (char c : address.host) {
        if (c == '/' || c == '?' || c == '#' || c == ' ' || c == '@')
            return BadUrl(option, "a host with a bad character");
    }
    if (!port_text.empty()) {
        const auto port = ParseInt(port_text);
        if (!port || *port < 1 || *port > 65535) return BadUrl(option, "the port is not a number from 1 to 65535");
        address.port = static_cast<int>(*port);
    }
    if (!path.empty()) {
        const auto db = ParseInt(path);
        if (!db || *db < 0 || *db > 1'000'000) return BadUrl(option, "the database (after '/') is not a number");
        address.db = static_cast<int>(*db);
    }
    return address;
}

void ReplyDeleter::operator()(redisReply* reply) const { freeReplyObject(reply); }

Result<std::unique_ptr<RedisConnection>> RedisConnection::Connect(const RedisAddress& address,
                                                                  const std::string& client_name,
                                                                  std::chrono::milliseconds connect_timeout,
                                                                  std::chrono::milliseconds command_timeout) {
    const std::string where = address.ToString();
    redisContext* context = redisConnectWithTimeout(address.host.c_str(), address.port, ToTimeval(connect_timeout));
    if (context == nullptr) {
        return Status::Error(ErrorCode::kUnavailable, "cannot reach Redis at " + where + ": out of memory");
    }
    if (context->err != 0) {
        std::string why = context->errstr;
        redisFree(context);
        return Status::Error(ErrorCode::kUnavailable, "cannot reach Redis at " + where + ": " + why);
    }
    auto connection = std::unique_ptr<RedisConnection>(new RedisConnection(context, where));
    connection->SetTimeout(command_timeout);
    auto expect_ok = [&](const std::vector<std::string_view>& args, std::string_view what) -> Status {
        auto reply = connection->Command(args);
        if (!reply.ok()) return reply.status();
        if (IsError(reply->get())) {
            // The server's words (e.g. WRONGPASS) carry no secret.
            return Status::Error(ErrorCode::kUnavailable, "Redis at " + where + " refused " + std::string(what) + ": " +
                                                              std::string(StringOf(reply->get())));
        }
        return Status::Ok();
    };
    if (!address.password.empty()) {
        std::vector<std::string_view> auth{"AUTH"};
        if (!address.user.empty()) auth.emplace_back(address.user);
        auth.emplace_back(address.password);
        VG_RETURN_IF_ERROR(expect_ok(auth, "AUTH"));
    }
    if (address.db != 0) {
        const std::string db = std::to_string(address.db);
        VG_RETURN_IF_ERROR(expect_ok({"SELECT", db}, "SELECT"));
    }
    if (!client_name.empty()) VG_RETURN_IF_ERROR(expect_ok({"CLIENT", "SETNAME", client_name}, "CLIENT SETNAME"));
    return connection;
}

RedisConnection::~RedisConnection() { redisFree(context_); }

void RedisConnection::SetTimeout(std::chrono::milliseconds timeout) {
    if (!broken_) redisSetTimeout(context_, ToTimeval(timeout));
}

Status RedisConnection::Broken(std::string_view during) {
    std::string why = context_->errstr[0] != '\0' ? std::string(context_->errstr) : std::string("connection lost");
    if (context_->err == REDIS_ERR_IO && (why.find("Resource temporarily unavailable") != std::string::npos ||
                                          why.find("timed out") != std::string::npos)) {
        why = "no answer in time";
    }
    broken_ = true;
    return Status::Error(ErrorCode::kUnavailable,
                         "Redis at " + address_ + " failed during " + std::string(during) + ": " + why);
}

Status RedisConnection::Append(const std::vector<std::string_view>& args) {
    if (broken_) return Status::Error(ErrorCode::kUnavailable, "the connection to Redis at " + address_ + " is broken");
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (std::string_view a : args) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
    }
    if (redisAppendCommandArgv(context_, static_cast<int>(args.size()), argv.data(), lengths.data()) != REDIS_OK) {
        return Broken(args.empty() ? std::string_view("a command") : args.front());
    }
    return Status::Ok();
}

Result<ReplyPtr> RedisConnection::GetReply() {
    if (broken_) return Status::Error(ErrorCode::kUnavailable, "the connection to Redis at " + address_ + " is broken");
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
        if (raw != nullptr) freeReplyObject(raw);
        return Broken("a reply");
    }
    return ReplyPtr(static_cast<redisReply*>(raw));
}

Result<ReplyPtr> RedisConnection::Command(const std::vector<std::string_view>& args) {
    VG_RETURN_IF_ERROR(Append(args));
    return GetReply();
}

bool RedisConnection::ClosedByPeer() const {
    if (broken_) return true;
    char byte = 0;
    const ssize_t n = ::recv(context_->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return true;  // orderly shutdown by the server
    if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
    return false;  // unsolicited bytes on an idle RESP2 connection: treat as alive, the next reply will tell
}

bool IsError(const redisReply* reply) { return reply != nullptr && reply->type == REDIS_REPLY_ERROR; }
bool IsNil(const redisReply* reply) { return reply == nullptr || reply->type == REDIS_REPLY_NIL; }
bool IsArray(const redisReply* reply) { return reply != nullptr && reply->type == REDIS_REPLY_ARRAY; }

std::string_view StringOf(const redisReply* reply) {
    if (reply == nullptr) return {};
    if (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS || reply->type == REDIS_REPLY_ERROR) {
        return std::string_view(reply->str, reply->len);
    }
    return {};
}

std::optional<int64_t> IntegerOf(const redisReply* reply) {
    if (reply == nullptr) return std::nullopt;
    if (reply->type == REDIS_REPLY_INTEGER) return static_cast<int64_t>(reply->integer);
    if (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS) return ParseInt(StringOf(reply));
    return std::nullopt;
}

size_t ElementCount(const redisReply* reply) { return IsArray(reply) ? reply->elements : 0; }

const redisReply* ElementAt(const redisReply* reply, size_t index) { return reply->element[index]; }

const redisReply* FieldOf(const redisReply* reply, std::string_view name) {
    const size_t n = ElementCount(reply);
    for (size_t i = 0; i + 1 < n; i += 2) {
        if (StringOf(ElementAt(reply, i)) == name) return ElementAt(reply, i + 1);
    }
    return nullptr;
}

std::string StreamId::ToString() const { return std::to_string(ms) + "-" + std::to_string(seq); }

std::optional<StreamId> ParseStreamId(std::string_view text) {
    const size_t dash = text.find('-');
    if (dash == std::string_view::npos) return std::nullopt;
    StreamId id;
    const std::string_view ms = text.substr(0, dash), seq = text.substr(dash + 1);
    auto [p1, e1] = std::from_chars(ms.data(), ms.data() + ms.size(), id.ms);
    auto [p2, e2] = std::from_chars(seq.data(), seq.data() + seq.size(), id.seq);
    if (e1 != std::errc() || e2 != std::errc() || p1 != ms.data() + ms.size() || p2 != seq.data() + seq.size() ||
        ms.empty() || seq.empty()) {
        return std::nullopt;
    }
    return id;
}

}  // namespace vg::redis
