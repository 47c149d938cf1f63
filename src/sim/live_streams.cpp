#include "live_streams.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <functional>
#include <future>

#include "wire.hpp"

namespace vg::sim {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

struct LiveStreamsIo {
    asio::io_context ioc;
    asio::executor_work_guard<asio::io_context::executor_type> guard{ioc.get_executor()};
};

class LiveStreams::Session : public std::enable_shared_from_this<Session> {
  public:
    Session(LiveStreams& owner, int index, std::string wearer_id)
        : owner_(owner), index_(index), wearer_id_(std::move(wearer_id)), ws_(owner.io_->ioc) {}

    // On the I/O thread. `ready` is called once: with OK when the hello arrived, else with the failure.
    void Start(tcp::resolver::results_type endpoints, std::string cookie, std::function<void(Status)> ready) {
        ready_ = std::move(ready);
        beast::get_lowest_layer(ws_).expires_after(owner_.timeout_);
        beast::get_lowest_layer(ws_).async_connect(
            endpoints, [self = shared_from_this(), cookie](beast::error_code ec, const tcp::endpoint&) {
                if (ec) return self->Fail("cannot connect: " + ec.message());
                beast::get_lowest_layer(self->ws_).expires_never();
                websocket::stream_base::timeout timeouts =
                    websocket::stream_base::timeout::suggested(beast::role_type::client);
                timeouts.handshake_timeout = self->owner_.timeout_;
                self->ws_.set_option(timeouts);
                const std::string origin = self->owner_.server_.origin();
                self->ws_.set_option(websocket::stream_base::decorator([cookie, origin](websocket::request_type& req) {
                    req.set(http::field::cookie, "vg_session=" + cookie);
                    req.set(http::field::origin, origin);
                    req.set(http::field::user_agent, "vitalguard-simulate");
                }));
                self->ws_.read_message_max(4 * 1024 * 1024);
                const std::string host = self->owner_.server_.host + ":" + std::to_string(self->owner_.server_.port);
                self->ws_.async_handshake(self->response_, host, "/api/stream", [self](beast::error_code hec) {
                    if (hec) {
                        if (self->response_.result_int() != 0 && self->response_.result_int() != 101) {
                            return self->Fail("the server answered " + std::to_string(self->response_.result_int()) +
                                              ": " + self->response_.body());
                        }
                        return self->Fail("handshake failed: " + hec.message());
                    }
                    self->open_ = true;
                    self->Read();
                });
            });
    }

    // On the I/O thread.
    void Close() {
        if (open_) {
            ws_.async_close(websocket::close_code::normal, [self = shared_from_this()](beast::error_code) {});
        } else {
            beast::error_code ec;
            beast::get_lowest_layer(ws_).socket().close(ec);
        }
    }

  private:
    void Fail(std::string why) {
        if (ready_) {
            auto ready = std::move(ready_);
            ready_ = nullptr;
            ready(Status::Error(ErrorCode::kUnavailable, "The live stream of " + wearer_id_ + " did not open: " + why));
        } else if (!owner_.closing_.load()) {
            owner_.lost_.fetch_add(1, std::memory_order_relaxed);
        }
        open_ = false;
    }

    void Read() {
        ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, size_t) {
            const TimePoint now = SystemClock::Instance().Now();
            if (ec) return self->Fail("closed: " + ec.message());
            const std::string text = beast::buffers_to_string(self->buffer_.data());
            self->buffer_.consume(self->buffer_.size());
            self->OnMessage(text, now);
            self->Read();
        });
    }

    void OnMessage(const std::string& text, TimePoint now) {
        wire::StreamMessage msg = wire::ParseStreamMessage(text, now);
        if (msg.kind == wire::MessageKind::kHello) {
            owner_.hellos_.fetch_add(1, std::memory_order_relaxed);
            if (ready_) {
                auto ready = std::move(ready_);
                ready_ = nullptr;
                ready(Status::Ok());
            }
            return;
        }
        if (msg.kind == wire::MessageKind::kPosture) {
            if (!msg.wearer_id.empty() && msg.wearer_id != wearer_id_) return;
            msg.posture.wearer = index_;
            owner_.postures_.push_back(msg.posture);
            owner_.posture_events_.fetch_add(1, std::memory_order_relaxed);
            const bool suspected = msg.posture.fall == FallPhase::kSuspected;
            const bool decided = msg.posture.fall == FallPhase::kConfirmed || msg.posture.fall == FallPhase::kDismissed;
            const bool flag = owner_.suspected_[static_cast<size_t>(index_)];
            if (decided) owner_.decisions_[static_cast<size_t>(index_)].fetch_add(1);
            if (suspected && !flag) {
                owner_.suspected_[static_cast<size_t>(index_)] = true;
                owner_.open_suspicions_.fetch_add(1);
            } else if (decided && flag) {
                owner_.suspected_[static_cast<size_t>(index_)] = false;
                owner_.open_suspicions_.fetch_sub(1);
            }
            return;
        }
        if (msg.kind == wire::MessageKind::kIncident) {
            if (!msg.wearer_id.empty() && msg.wearer_id != wearer_id_) return;
            msg.incident.wearer = index_;
            owner_.incidents_.push_back(msg.incident);
            return;
        }
        if (msg.kind != wire::MessageKind::kDetection) return;
        if (!msg.wearer_id.empty() && msg.wearer_id != wearer_id_) return;  // another (linked) wearer
        msg.detection.wearer = index_;
        owner_.received_.push_back(msg.detection);
        owner_.detections_.fetch_add(1, std::memory_order_relaxed);
        if (!msg.detection.signal_loss) owner_.per_wearer_[static_cast<size_t>(index_)].fetch_add(1);
    }

    LiveStreams& owner_;
    int index_;
    std::string wearer_id_;
    websocket::stream<beast::tcp_stream> ws_;
    beast::flat_buffer buffer_;
    websocket::response_type response_;
    std::function<void(Status)> ready_;
    bool open_ = false;
};

LiveStreams::LiveStreams(ServerAddress server, int wearers, Milliseconds timeout)
    : server_(std::move(server)),
      timeout_(timeout),
      io_(std::make_unique<LiveStreamsIo>()),
      per_wearer_(std::make_unique<std::atomic<int64_t>[]>(static_cast<size_t>(wearers))),
      wearers_(wearers) {
    sessions_.resize(static_cast<size_t>(wearers));
    suspected_.assign(static_cast<size_t>(wearers), false);
    decisions_ = std::make_unique<std::atomic<int64_t>[]>(static_cast<size_t>(wearers));
    for (int i = 0; i < wearers; ++i) decisions_[static_cast<size_t>(i)].store(0);
    for (int i = 0; i < wearers; ++i) per_wearer_[static_cast<size_t>(i)].store(0);
    thread_ = std::thread([this] { io_->ioc.run(); });
}

LiveStreams::~LiveStreams() { Close(); }

Status LiveStreams::Open(int index, const std::string& wearer_id, const std::string& session_cookie) {
    if (index < 0 || index >= wearers_) return Status::Error(ErrorCode::kInternal, "no such wearer");
    asio::io_context resolver_ioc;
    tcp::resolver resolver(resolver_ioc);
    beast::error_code ec;
    auto endpoints = resolver.resolve(server_.host, std::to_string(server_.port), ec);
    if (ec) return Status::Error(ErrorCode::kUnavailable, "Cannot resolve " + server_.host + ": " + ec.message());
    auto session = std::make_shared<Session>(*this, index, wearer_id);
    {
        std::lock_guard lock(sessions_mu_);
        sessions_[static_cast<size_t>(index)] = session;
    }
    auto outcome = std::make_shared<std::promise<Status>>();
    std::future<Status> result = outcome->get_future();
    asio::post(io_->ioc, [session, endpoints, session_cookie, outcome] {
        session->Start(endpoints, session_cookie, [outcome](Status s) { outcome->set_value(std::move(s)); });
    });
    if (result.wait_for(timeout_ + std::chrono::seconds(2)) != std::future_status::ready) {
        return Status::Error(ErrorCode::kUnavailable,
                             "The live stream of " + wearer_id + " did not say hello within " +
                                 std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout_).count()) +
                                 " s");
    }
    return result.get();
}

int64_t LiveStreams::reading_detections(int index) const {
    return per_wearer_[static_cast<size_t>(index)].load(std::memory_order_relaxed);
}

int64_t LiveStreams::fall_decisions(int index) const {
    return decisions_[static_cast<size_t>(index)].load(std::memory_order_relaxed);
}

void LiveStreams::Close() {
    if (closed_) return;
    closed_ = true;
    closing_.store(true);
    asio::post(io_->ioc, [this] {
        std::lock_guard lock(sessions_mu_);
        for (auto& s : sessions_) {
            if (s) s->Close();
        }
    });
    io_->guard.reset();
    // Give the close handshakes a moment, then stop whatever is left.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (!io_->ioc.stopped() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    io_->ioc.stop();
    thread_.join();
    std::lock_guard lock(sessions_mu_);
    sessions_.clear();
}

std::vector<ObservedDetection> LiveStreams::TakeDetections() { return std::move(received_); }
std::vector<ObservedPosture> LiveStreams::TakePostures() { return std::move(postures_); }
std::vector<ObservedIncident> LiveStreams::TakeIncidents() { return std::move(incidents_); }

}  // namespace vg::sim
