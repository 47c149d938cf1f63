// The seed's status API (3.1.2), device batch ingest, rule profiles and the live stream.
#include "api_impl.hpp"

namespace vg::api {
namespace {

Status Unavailable(std::string_view what) {
    return Status::Error(ErrorCode::kUnavailable, std::string(what) + " is not available on this server.");
}

// A LiveHub subscriber that forwards to a WebSocket without keeping it alive.
class WebSocketSubscriber final : public live::LiveSubscriber {
  public:
    explicit WebSocketSubscriber(std::weak_ptr<http::WebSocketConnection> connection)
        : connection_(std::move(connection)) {}
    bool Deliver(const std::string& message) override {
        auto c = connection_.lock();
        return c && c->SendText(message);
    }

  private:
    std::weak_ptr<http::WebSocketConnection> connection_;
};

}  // namespace

http::Response Api::Impl::UpdateStatus(RequestContext& ctx) {
    if (!ingest_) return ErrorResponse(Unavailable("Vitals ingest"));
    auto body = ParseJsonObjectBody(ctx.request);
    if (!body.ok()) return ErrorResponse(body.status());
    ObjectReader reader(*body);
    domain::VitalsReading reading;
    ReadVitals(reader, reading);
    reading.measured_at = reader.Timestamp("timestamp", false).value_or(clock_.Now());
    Status shape = reader.Finish("Some values need to be corrected.");
    if (!shape.ok()) return ErrorResponse(shape);
    if (Status quota = CheckQuota(readings_quota_.get(), ctx.wearer(), 1, "readings"); !quota.ok()) {
        return ErrorResponse(quota);
    }
    // Answered when the verdict stage has the reading and its status row on disk, with no thread held
    // meanwhile (the group commit then grows with the callers waiting, not with a pool's threads).
    auto pending = http::Response::Later(ingest_->options().verdict_timeout,
                                         ErrorResponse(ingest::IngestService::VerdictTimeout()));
    http::Responder responder = std::move(pending.second);
    Status submitted = ingest_->Submit(ctx.wearer(), reading,
                                       ctx.device ? std::optional<int64_t>(ctx.device->device_id) : std::nullopt,
                                       [responder, quota = readings_quota_, wearer = ctx.wearer(),
                                        measured_at = reading.measured_at](const Result<domain::Detection>& verdict) {
                                           if (!verdict.ok()) {
                                               responder.Send(ErrorResponse(verdict.status()));
                                               return;
                                           }
                                           ChargeQuota(quota.get(), wearer, 1);
                                           json::object out = DetectionJson(*verdict);
                                           out["timestamp"] = FormatIso8601(measured_at);
                                           responder.Send(JsonResponse(200, out));
                                       });
    if (!submitted.ok()) return ErrorResponse(submitted);
    return std::move(pending.first);
}

std::unique_ptr<auth::TokenBucketLimiter> Api::Impl::MakeDailyQuota(int64_t per_day) const {
    if (per_day <= 0) return nullptr;
    const double day = static_cast<double>(per_day);
    return std::make_unique<auth::TokenBucketLimiter>(
        clock_, auth::TokenBucketLimiter::Options{.capacity = day, .refill_per_second = day / 86'400.0});
}

Status Api::Impl::CheckQuota(const auth::TokenBucketLimiter* quota, int64_t wearer, size_t n, std::string_view what) {
    if (quota == nullptr) return Status::Ok();
    const auto per_day = static_cast<int64_t>(quota->capacity());
    if (static_cast<double>(n) > quota->capacity()) {
        return Status::Error(ErrorCode::kRateLimited, "This request holds more " + std::string(what) +
                                                          " than a day's quota of " + std::to_string(per_day) +
                                                          "; send them in smaller requests.");
    }
    const int wait = quota->RetryAfterSeconds(std::to_string(wearer));
    if (wait == 0) return Status::Ok();
    Status s =
        Status::Error(ErrorCode::kRateLimited, "This wearer's devices have sent more " + std::string(what) +
                                                   " than the daily quota of " + std::to_string(per_day) +
                                                   " allows; please retry in " + std::to_string(wait) + " seconds.");
    s.WithRetryAfter(wait);
    return s;
}

void Api::Impl::ChargeQuota(auth::TokenBucketLimiter* quota, int64_t wearer, size_t used) {
    if (quota != nullptr && used > 0) (void)quota->Charge(std::to_string(wearer), static_cast<double>(used));
}

Result<int> Api::Impl::RecentRowsLimit(const RequestContext& ctx) {
    const std::string* raw = ctx.request.query_param("limit");
    if (raw == nullptr) return 10;  // the seed's chart shows the 10 most recent rows
    int parsed = 0;
    auto [end, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), parsed);
    if (ec != std::errc() || end != raw->data() + raw->size() || parsed < 1 || parsed > 1000) {
        return Status::Error(ErrorCode::kValidationFailed, "The limit is not valid.",
                             {{"limit", "must be a whole number from 1 to 1000"}});
    }
    return parsed;
}

http::Response Api::Impl::GetStatus(RequestContext& ctx) {
    // Inline (Lane::kInline): a guardian's read of a wearer is audit-logged, a write.
    if (ctx.request.lane == http::Lane::kInline && ReadsAnotherWearer(ctx)) return http::Response::RunOnWorker();
    auto limit = RecentRowsLimit(ctx);
    if (!limit.ok()) return ErrorResponse(limit.status());
    auto wearer = TargetWearer(ctx, "GET /api/get_status");
    if (!wearer.ok()) return ErrorResponse(wearer.status());
    auto rows = store_.RecentStatuses(*wearer, *limit);
    if (!rows.ok()) return ErrorResponse(rows.status());
    json::array list;
    for (const store::StatusRow& r : *rows) {
        json::array causes;
        std::string_view rest = r.causes;
        while (!rest.empty()) {
            size_t comma = rest.find(',');
            causes.emplace_back(rest.substr(0, comma));
            rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        }
        list.push_back(json::object{{"status", r.status},
                                    {"level", domain::LevelName(static_cast<domain::Level>(r.status))},
                                    {"updated_at", FormatIso8601(r.updated_at)},
                                    {"reading_at", TimeOrNull(r.reading_at)},
                                    {"causes", std::move(causes)},
                                    {"explanation", r.explanation}});
    }
    return JsonResponse(200, json::object{{"statuses", std::move(list)}});
}

http::Response Api::Impl::IngestBatch(RequestContext& ctx) {
    if (!ingest_) return ErrorResponse(Unavailable("Vitals ingest"));
    auto body = ParseJsonObjectBody(ctx.request);
    if (!body.ok()) return ErrorResponse(body.status());
    auto it = body->find("readings");
    std::vector<FieldError> problems;
    for (const auto& kv : *body) {
        if (kv.key() != "readings") problems.push_back({std::string(kv.key()), "is not a known field"});
    }
    if (it == body->end() || !it->value().is_array()) {
        problems.push_back({"readings", "is required and must be a list of readings"});
        return ErrorResponse(Status::Error(ErrorCode::kValidationFailed, "The batch is not valid.", problems));
    }
    const json::array& items = it->value().as_array();
    if (items.size() > ingest_->options().max_batch) {
        problems.push_back({"readings", "must contain at most " + std::to_string(ingest_->options().max_batch) +
                                            " readings; send the rest in another request"});
    }
    std::vector<store::IncomingReading> readings;
    readings.reserve(items.size());
    for (size_t i = 0; i < items.size() && problems.size() < 100; ++i) {
        const std::string prefix = "readings[" + std::to_string(i) + "]";
        if (!items[i].is_object()) {
            problems.push_back({prefix, "must be an object"});
            continue;
        }
        ObjectReader reader(items[i].as_object());
        store::IncomingReading in;
        ReadVitals(reader, in.reading);
        if (auto t = reader.Timestamp("timestamp", true)) in.reading.measured_at = *t;
        if (auto seq = reader.Integer("seq", false)) in.device_seq = *seq;
        Status s = reader.Finish();
        for (const auto& f : s.fields()) problems.push_back({prefix + "." + f.field, f.problem});
        readings.push_back(std::move(in));
    }
    if (!problems.empty()) {
        return ErrorResponse(Status::Error(ErrorCode::kValidationFailed,
                                           "Some readings need to be corrected; none of this batch was stored.",
                                           std::move(problems)));
    }
    if (Status quota = CheckQuota(readings_quota_.get(), ctx.wearer(), readings.size(), "readings"); !quota.ok()) {
        return ErrorResponse(quota);
    }
    auto result = ingest_->SubmitBatch(ctx.wearer(), ctx.device->device_id, readings);
    if (!result.ok()) return ErrorResponse(result.status());
    ChargeQuota(readings_quota_.get(), ctx.wearer(), result->stored + result->not_evaluated);
    return JsonResponse(200, json::object{{"stored", result->stored},
                                          {"duplicates", result->duplicates},
                                          {"not_evaluated", result->not_evaluated}});
}

http::Response Api::Impl::RecentVitals(RequestContext& ctx) {
    auto wearer = TargetWearer(ctx, "GET /api/vitals");
    if (!wearer.ok()) return ErrorResponse(wearer.status());
    auto rows = store_.RecentReadings(*wearer, 60);
    if (!rows.ok()) return ErrorResponse(rows.status());
    json::array list;
    for (const auto& r : *rows) {
        json::object o{{"timestamp", FormatIso8601(r.reading.measured_at)}};
        for (int i = 0; i < domain::kMetricCount; ++i) {
            const auto m = static_cast<domain::Metric>(i);
            if (auto v = r.reading.get(m)) o[domain::MetricName(m)] = *v;
        }
        list.push_back(std::move(o));
    }
    return JsonResponse(200, json::object{{"vitals", std::move(list)}});
}

http::Response Api::Impl::ListRuleProfiles(RequestContext&) {
    if (!profiles_) return ErrorResponse(Unavailable("Rule profiles"));
    json::array names;
    for (const auto& n : profiles_->Names()) names.emplace_back(n);
    return JsonResponse(200, json::object{{"rule_profiles", std::move(names)}});
}

http::Response Api::Impl::SetRuleProfile(RequestContext& ctx) {
    if (!profiles_) return ErrorResponse(Unavailable("Rule profiles"));
    auto body = ParseJsonObjectBody(ctx.request);
    if (!body.ok()) return ErrorResponse(body.status());
    ObjectReader reader(*body);
    std::string name = reader.String("rule_profile", true).value_or("");
    if (!name.empty() && !profiles_->Find(name)) {
        std::string known;
        for (const auto& n : profiles_->Names()) known += (known.empty() ? "" : ", ") + n;
        reader.AddProblem("rule_profile", "must be one of: " + known);
    }
    Status shape = reader.Finish();
    if (!shape.ok()) return ErrorResponse(shape);
    Status s = store_.SetRuleProfile(ctx.wearer(), name);
    if (!s.ok()) return ErrorResponse(s);
    if (on_rule_profile_changed_) on_rule_profile_changed_(ctx.wearer());
    return JsonResponse(200, json::object{{"rule_profile", name}});
}

http::WebSocketDecision Api::Impl::UpgradeWebSocket(const http::Request& request) {
    http::WebSocketDecision decision;
    auto refuse = [&](const Status& s) {
        http::Response r = ErrorResponse(s);
        ApplyCommonHeaders(r);
        decision.refusal = std::move(r);
        return decision;
    };
    if (Router::Split(request.path) != std::vector<std::string_view>{"api", "stream"}) {
        return refuse(Status::Error(ErrorCode::kNotFound, "There is no live stream at " + request.path));
    }
    // Browsers send Origin on WebSocket handshakes; refusing foreign origins stops another site from
    // opening the stream with the wearer's cookie (cross-site WebSocket hijacking).
    if (Status s = CheckOrigin(request); !s.ok()) return refuse(s);
    if (!live_) return refuse(Unavailable("The live stream"));
    const std::string session_token = CookieValue(request, kSessionCookie);
    auto auth = accounts_.Authenticate(session_token);
    if (!auth.ok()) return refuse(auth.status());
    const int64_t viewer = auth->user.unique_num;
    int64_t wearer = auth->user.unique_num;
    std::string wearer_id = auth->user.profile.id;
    int level = auth->user.danger_degree;
    if (const std::string* requested = request.query_param("wearer"); requested && *requested != wearer_id) {
        // A guardian watching a linked wearer: the same check (and audit) as every other read.
        RequestContext ctx{request, ClientAddress(request), {}, *auth, {}, std::nullopt};
        auto target = TargetWearer(ctx, "GET /api/stream");
        if (!target.ok()) return refuse(target.status());
        auto user = store_.FindUserByUniqueNum(*target);
        if (!user.ok()) return refuse(user.status());
        wearer = user->unique_num;
        wearer_id = user->profile.id;
        level = user->danger_degree;
    }
    // A place among the user's streams, held by the callbacks below: given back when the connection's
    // callbacks go, however it ended. The stream ends with its session (Logout, SweepStreams).
    const TimePoint session_ends_at =
        std::min(auth->session.expires_at, auth->session.last_seen_at + accounts_.options().idle_timeout);
    std::shared_ptr<live::StreamSlot> slot = streams_.Reserve(viewer, auth::HashToken(session_token), session_ends_at);
    if (!slot) {
        Status s = Status::Error(ErrorCode::kRateLimited,
                                 "You have " + std::to_string(streams_.max_per_user()) + " live views open (at most " +
                                     std::to_string(streams_.max_per_user()) +
                                     " per person, in all tabs and devices). Close one and try again.");
        s.WithRetryAfter(10);
        return refuse(s);
    }
    auto subscriber = std::make_shared<std::shared_ptr<WebSocketSubscriber>>();
    live::LiveHub* hub = live_;
    decision.callbacks.on_open = [this, hub, viewer, wearer, wearer_id, level, subscriber,
                                  slot](std::shared_ptr<http::WebSocketConnection> connection) {
        slot->Attach(
            [weak = std::weak_ptr<http::WebSocketConnection>(connection)](uint16_t code, const std::string& reason) {
                if (auto c = weak.lock()) c->Close(code, reason);
            });
        if (viewer != wearer) {
            std::lock_guard lock(guardian_streams_mu_);
            for (auto it = guardian_streams_.begin(); it != guardian_streams_.end();) {
                it = it->second.expired() ? guardian_streams_.erase(it) : std::next(it);  // tidy up closed ones
            }
            guardian_streams_.emplace(std::make_pair(viewer, wearer), connection);
        }
        connection->SendText(
            json::serialize(json::object{{"type", "hello"},
                                         {"wearer", wearer_id},
                                         {"status", level},
                                         {"level", domain::LevelName(static_cast<domain::Level>(level))}}));
        *subscriber = std::make_shared<WebSocketSubscriber>(connection);
        hub->Subscribe(wearer, *subscriber);
    };
    decision.callbacks.on_message = [](std::string) {};  // the stream is one-way; client messages are ignored
    decision.callbacks.on_close = [hub, wearer, subscriber, slot] {
        if (*subscriber) hub->Unsubscribe(wearer, subscriber->get());
    };
    spdlog::info("live stream opened for {}", wearer_id);
    return decision;
}

void Api::Impl::SweepStreams() {
    const TimePoint now = clock_.Now();
    streams_.Sweep(
        now, std::chrono::seconds(5),
        [&](const std::string& session_key) -> std::optional<TimePoint> {
            auto ends_at = accounts_.SessionEndsAt(session_key);
            if (ends_at.ok()) return *ends_at;
            if (ends_at.status().code() == ErrorCode::kUnauthenticated) return std::nullopt;
            return now + std::chrono::seconds(5);  // the store did not answer: look again later, keep the stream
        },
        "Your session has expired or ended. Please log in again.");
}

}  // namespace vg::api
