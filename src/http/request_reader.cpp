// How the server reads a connection's bytes; see request_reader.hpp.

#include "request_reader.hpp"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/url/parse.hpp>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <limits>

namespace vg::http::internal {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using boost::system::error_code;

std::string ToLower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// A synchronous read stream over a buffer: at most `chunk` bytes per read (all that is left when 0),
// then end of stream, as a client that sent these bytes and shut down its side.
class BufferStream {
  public:
    BufferStream(std::string_view bytes, size_t chunk) : bytes_(bytes), chunk_(chunk) {}

    template <class MutableBufferSequence>
    size_t read_some(const MutableBufferSequence& buffers) {
        error_code ec;
        const size_t n = read_some(buffers, ec);
        if (ec) throw boost::system::system_error(ec);
        return n;
    }

    template <class MutableBufferSequence>
    size_t read_some(const MutableBufferSequence& buffers, error_code& ec) {
        ec = {};
        if (bytes_.empty()) {
            ec = asio::error::eof;
            return 0;
        }
        std::string_view next = chunk_ == 0 ? bytes_ : bytes_.substr(0, chunk_);
        const size_t n = asio::buffer_copy(buffers, asio::buffer(next.data(), next.size()));
        bytes_.remove_prefix(n);
        return n;
    }

    bool exhausted() const { return bytes_.empty(); }

  private:
    std::string_view bytes_;
    size_t chunk_;
};

}  // namespace

void ConfigureRequestParser(RequestParser& parser, const ServerOptions& options) {
    parser.header_limit(static_cast<std::uint32_t>(
        std::min<size_t>(options.header_limit_bytes, std::numeric_limits<std::uint32_t>::max())));
    parser.body_limit(static_cast<std::uint64_t>(options.body_limit_bytes));
}

bool DeclaredBodyTooLarge(const bhttp::fields& fields, size_t body_limit) {
    // The field is read as text because boost::optional trips -Wmaybe-uninitialized under ASan.
    auto it = fields.find(bhttp::field::content_length);
    if (it == fields.end()) return false;
    const std::string_view text = it->value();
    uint64_t length = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), length);
    return ec == std::errc() && end == text.data() + text.size() && length > body_limit;
}

std::optional<ErrorReply> ReplyToReadError(const error_code& ec, const ServerOptions& options) {
    if (ec == bhttp::error::body_limit) {
        return ErrorReply{ErrorCode::kPayloadTooLarge, "request body too large; the limit is " +
                                                           std::to_string(options.body_limit_bytes) + " bytes"};
    }
    if (ec == bhttp::error::header_limit) {
        return ErrorReply{ErrorCode::kBadRequest, "request head too large; the limit is " +
                                                      std::to_string(options.header_limit_bytes) + " bytes"};
    }
    if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
        ec.category() != bhttp::make_error_code(bhttp::error::end_of_stream).category()) {
        return std::nullopt;  // the client went away (or the network failed): nobody to answer
    }
    return ErrorReply{ErrorCode::kBadRequest, "malformed HTTP request: " + ec.message()};
}

std::optional<Request> ToRequest(RequestMessage& message, std::string remote_address) {
    auto url = boost::urls::parse_origin_form(message.target());
    if (!url) return std::nullopt;
    Request request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    request.path = url->path();
    for (auto param : url->params()) {
        request.query.emplace_back(std::move(param.key), std::move(param.value));
    }
    request.headers.reserve(static_cast<size_t>(std::distance(message.begin(), message.end())));
    for (const auto& field : message) {
        request.headers.push_back(Header{ToLower(field.name_string()), std::string(field.value())});
    }
    request.body = std::move(message.body());
    request.remote_address = std::move(remote_address);
    return request;
}

ReadOutcome ReadRequests(std::string_view bytes, const ServerOptions& options, size_t chunk) {
    ReadOutcome outcome;
    BufferStream stream(bytes, chunk);
    beast::flat_buffer buffer;
    for (;;) {
        if (buffer.size() == 0 && stream.exhausted()) return outcome;  // the client closed between requests
        RequestParser parser;
        ConfigureRequestParser(parser, options);
        error_code ec;
        bhttp::read_header(stream, buffer, parser, ec);
        if (!ec && DeclaredBodyTooLarge(parser.get(), options.body_limit_bytes)) {
            ec = bhttp::error::body_limit;
        } else if (!ec && !parser.is_done()) {
            bhttp::read(stream, buffer, parser, ec);
        }
        if (ec) {
            outcome.error = ReplyToReadError(ec, options);
            return outcome;
        }
        RequestMessage message = parser.release();
        const bool keep_alive = message.keep_alive();
        if (auto request = ToRequest(message, "127.0.0.1")) {
            outcome.requests.push_back(std::move(*request));
        } else {
            ++outcome.bad_targets;
        }
        if (!keep_alive) return outcome;
    }
}

std::vector<std::string> ReadWebSocketMessages(std::string_view bytes, const ServerOptions& options) {
    std::vector<std::string> messages;
    asio::io_context io;
    beast::test::stream client(io);  // takes what the server writes (the 101, pongs, the close frame)
    websocket::stream<beast::test::stream> ws(io);
    ws.next_layer().connect(client);
    ConfigureWebSocket(ws, options);

    RequestMessage upgrade{bhttp::verb::get, "/api/stream", 11};
    upgrade.set(bhttp::field::host, "localhost");
    upgrade.set(bhttp::field::upgrade, "websocket");
    upgrade.set(bhttp::field::connection, "upgrade");
    upgrade.set(bhttp::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
    upgrade.set(bhttp::field::sec_websocket_version, "13");
    error_code ec;
    ws.accept(upgrade, ec);
    if (ec) return messages;

    ws.next_layer().append(bytes);
    ws.next_layer().close_remote();  // then end of stream
    beast::flat_buffer buffer;
    for (;;) {
        ws.read(buffer, ec);
        if (ec) return messages;
        if (!ws.got_text()) return messages;  // the server closes with 1003
        messages.push_back(beast::buffers_to_string(buffer.data()));
        buffer.clear();
    }
}

}  // namespace vg::http::internal
