#pragma once
// How the server reads a connection's bytes (private to the module; Beast inside, so never included by
// the public header). Session (server.cpp) uses the pieces below on its live socket; ReadRequests and
// ReadWebSocketMessages run the same pieces over a buffer, synchronously, so that fuzz/ (the http_head
// and websocket_frame targets) and tests can drive the parsers without sockets, threads or timers.
//
// Thread-safety: pure functions over their arguments.

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/system/error_code.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vg/common/status.hpp"
#include "vg/http/server.hpp"

namespace vg::http::internal {

using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;
using RequestMessage = boost::beast::http::request<boost::beast::http::string_body>;

// A fresh parser with the server's head and body limits.
void ConfigureRequestParser(RequestParser& parser, const ServerOptions& options);

// Whether the head declares a Content-Length beyond `body_limit` (refused before reading the body).
bool DeclaredBodyTooLarge(const boost::beast::http::fields& fields, size_t body_limit);

// What the server answers to a read error that is not a timeout: nullopt when the client went away or
// the network failed (nobody to answer: the connection is just closed).
struct ErrorReply {
    ErrorCode code;
    std::string message;
};
std::optional<ErrorReply> ReplyToReadError(const boost::system::error_code& ec, const ServerOptions& options);

// The Request the Handler sees for a complete message (body moved out of `message`, the rest left for a
// WebSocket handshake); nullopt when the request-target is not origin-form (answered 400, connection kept).
std::optional<Request> ToRequest(RequestMessage& message, std::string remote_address);

// Replays `bytes` as one connection's input, delivered `chunk` bytes per read (0: all at once), the way
// Session reads it: request after request while the client keeps the connection alive, until the bytes
// end or the server would answer an error and close.
struct ReadOutcome {
    std::vector<Request> requests;    // complete requests with an origin-form target, in order
    size_t bad_targets = 0;           // complete requests answered 400 "malformed request target"
    std::optional<ErrorReply> error;  // the error that ended the connection, if any
};
ReadOutcome ReadRequests(std::string_view bytes, const ServerOptions& options, size_t chunk = 0);

// The server's settings of a WebSocket stream other than its timeouts (which need a socket).
template <class NextLayer>
void ConfigureWebSocket(boost::beast::websocket::stream<NextLayer>& ws, const ServerOptions& options) {
    namespace websocket = boost::beast::websocket;
    // Beast would announce its version in a Server header; the HTTP responses don't either.
    ws.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& response) { response.erase(boost::beast::http::field::server); }));
    ws.read_message_max(options.websocket_message_limit_bytes);  // 0: no limit (Beast's convention)
    ws.auto_fragment(false);  // each message in one frame, written with one gathered write
}

// Replays `bytes` as what a client sends on an accepted WebSocket (frames: masking, lengths, fragments,
// control frames, close codes, UTF-8 of text), on a websocket stream configured as the server's, reading
// messages until the stream fails or closes. Returns the text messages the application would get (a
// binary message ends the stream, as the server closes it with 1003).
std::vector<std::string> ReadWebSocketMessages(std::string_view bytes, const ServerOptions& options);

}  // namespace vg::http::internal
