#pragma once
// Test-side WebSocket client (RFC 6455) for driving a real server over a real socket.
//
// Synchronous, like HttpClient: every call has a deadline, so a hung server fails the test
// instead of hanging the run. It reads only inside Receive/ReceiveJson/WaitClosed/Close: a
// client that stops calling them stops reading, which is how a test plays a slow consumer (it
// then also stops answering the server's pings, as a frozen browser tab would).
//
//   WebSocketClient ws;
//   auto handshake = ws.Connect(port, "/api/ws", {{"Cookie", "vg_session=..."}});
//   ASSERT_TRUE(handshake.accepted()) << handshake.status << " " << handshake.body;
//   ws.Send(R"({"type":"subscribe"})");
//   std::optional<boost::json::value> event = ws.ReceiveJson();
//
// A refused handshake (the server answered with an ordinary HTTP response, e.g. 401) is a
// result, not an exception: Connect returns its status, headers and body.
// Thread-safety: one thread at a time per client; use one client per thread.

#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "vg/testing/http_client.hpp"  // Headers, HttpClientError

namespace vg::testing {

// The server's answer to the opening handshake.
struct WebSocketHandshake {
    int status = 0;    // 101 when the connection was upgraded
    Headers headers;   // as received
    std::string body;  // the refusal's body (empty on 101)

    [[nodiscard]] bool accepted() const { return status == 101; }
    // First header with this (case-insensitive) name; empty when absent.
    [[nodiscard]] std::string header(std::string_view name) const;
};

class WebSocketClient {
  public:
    // Close codes this client reports besides the server's own (as browsers do).
    static constexpr int kNoStatus = 1005;  // a close frame without a code
    static constexpr int kAbnormal = 1006;  // the connection ended without a close frame

    // Does not connect yet. `timeout` is the default deadline for each operation.
    explicit WebSocketClient(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    ~WebSocketClient();
    WebSocketClient(WebSocketClient&&) noexcept;
    WebSocketClient& operator=(WebSocketClient&&) noexcept;

    // Opens ws://host:port<target> and performs the handshake, sending `headers` as well (e.g.
    // Cookie, Origin). Returns the server's answer; accepted() means the WebSocket is open. A
    // refused handshake leaves the client closed (closed() stays false: nothing was opened).
    // Throws HttpClientError when the TCP connection fails or the deadline passes, and when
    // called twice.
    WebSocketHandshake Connect(uint16_t port, std::string_view target, const Headers& headers = {},
                               std::string host = "127.0.0.1");

    // Sends one text (or binary) message. False when the connection is closed or the deadline passed.
    [[nodiscard]] bool Send(std::string_view text);
    [[nodiscard]] bool SendBinary(std::string_view data);

    // The next message from the server (text or binary, as bytes), in order. nullopt when none
    // arrives within `timeout` (the read stays pending, nothing is lost) or when the connection
    // has closed (see closed()). Messages that arrived before the close are still returned first.
    std::optional<std::string> Receive(std::chrono::milliseconds timeout);
    std::optional<std::string> Receive();  // with the default timeout
    // Receive, parsed as JSON. Throws std::runtime_error (with the text) when it is not JSON.
    std::optional<boost::json::value> ReceiveJson(std::chrono::milliseconds timeout);
    std::optional<boost::json::value> ReceiveJson();

    // Reads until the server closes the connection or `within` passes; messages that arrive
    // meanwhile stay available to Receive. Returns closed().
    bool WaitClosed(std::chrono::milliseconds within);

    // Closing handshake initiated by the client: sends a close frame with `code`, waits (with the
    // default deadline) for the server's answer, then closes the socket. Idempotent.
    void Close(int code = 1000);
    // Closes the TCP connection without a close frame, as a crashed or vanished client would.
    void Abort();

    // Whether the connection has ended (server's close frame seen, closed by us, or lost).
    [[nodiscard]] bool closed() const;
    // The server's close code once closed(): 1000, 1001, 1009, ...; kNoStatus when its close frame
    // carried none, kAbnormal when the connection ended without one. 0 while open.
    [[nodiscard]] int close_code() const;
    [[nodiscard]] std::string close_reason() const;

    void set_timeout(std::chrono::milliseconds timeout);

  private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace vg::testing
