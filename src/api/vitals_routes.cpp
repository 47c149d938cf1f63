// The seed's status API (3.1.2), device batch ingest and rule profiles; the quotas and the recent-rows
// limit the posture routes share.
#include "vitals_routes.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "vg/common/time_text.hpp"
#include "vg/messages/verdict_text.hpp"
#include "vg/store/limits.hpp"

namespace vg::api {
namespace {

// The bucket sizes a trend may have, in seconds: the smallest that gives at most `points` buckets.
constexpr std::array<int64_t, 12> kTrendBucketSeconds = {60,   120,  300,   600,   900,   1800,
                                                         3600, 7200, 10800, 21600, 43200, 86400};
constexpr int kDefaultTrendPoints = 300;
constexpr int kMaxTrendPoints = 1000;
constexpr int kMinTrendPoints = 10;
constexpr auto kMaxTrendRange = std::chrono::days(400);
// The personal baseline drawn on a chart: the middle 80 % of the hourly means over this long before `to`,
// given at least kMinUsualHours hours with readings of the metric.
constexpr auto kUsualWindow = std::chrono::days(7);
constexpr size_t kMinUsualHours = 24;
// The metrics a chart draws (steps and calories are activity, not vital signs: no bands or baseline).
constexpr std::array<domain::Metric, 5> kChartedMetrics = {domain::Metric::kHeartRate, domain::Metric::kRespirationRate,
                                                           domain::Metric::kSpo2, domain::Metric::kSkinTemp,
                                                           domain::Metric::kGlucose};

// Linear interpolation between closest ranks; `sorted` is not empty.
double Percentile(const std::vector<double>& sorted, double q) {
    const double rank = q * static_cast<double>(sorted.size() - 1);
    const auto lower = static_cast<size_t>(std::floor(rank));
    const size_t upper = std::min(lower + 1, sorted.size() - 1);
    return sorted[lower] + (rank - static_cast<double>(lower)) * (sorted[upper] - sorted[lower]);
}

double Rounded(double v) { return std::round(v * 100) / 100; }

json::object SummaryJson(const store::MetricSummary& m) {
    return json::object{
        {"count", m.count}, {"min", Rounded(m.min)}, {"max", Rounded(m.max)}, {"mean", Rounded(m.mean)}};
}

}  // namespace

http::Response VitalsRoutes::UpdateStatus(RequestContext& ctx) {
    if (!ingest_) return ErrorResponse(Unavailable("Vitals ingest"));
    if (QuotaMustLeaveIoThread(readings_quota_.get(), ctx)) return http::Response::RunOn(http::Lane::kUrgent);
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
    const bool charged = ChargesUpFront(readings_quota_.get());
    if (charged) ChargeQuota(readings_quota_.get(), ctx.wearer(), 1);
    // Answered when the verdict stage has the reading and its status row on disk, with no thread held
    // meanwhile (the group commit then grows with the callers waiting, not with a pool's threads).
    auto pending = http::Response::Later(ingest_->options().verdict_timeout,
                                         ErrorResponse(ingest::IngestService::VerdictTimeout()));
    http::Responder responder = std::move(pending.second);
    Status submitted = ingest_->Submit(ctx.wearer(), reading,
                                       ctx.device ? std::optional<int64_t>(ctx.device->device_id) : std::nullopt,
                                       [responder, quota = readings_quota_, wearer = ctx.wearer(), charged,
                                        measured_at = reading.measured_at](const Result<domain::Detection>& verdict) {
                                           if (!verdict.ok()) {
                                               responder.Send(ErrorResponse(verdict.status()));
                                               return;
                                           }
                                           if (!charged) ChargeQuota(quota.get(), wearer, 1);
                                           json::object out = DetectionJson(*verdict);
                                           out["timestamp"] = FormatIso8601(measured_at);
                                           responder.Send(JsonResponse(200, out));
                                       });
    if (!submitted.ok()) return ErrorResponse(submitted);
    return std::move(pending.first);
}

namespace detail {

std::unique_ptr<auth::TokenBucketLimiter> MakeDailyQuota(auth::RateLimits& rate_limits, std::string_view name,
                                                         const Clock& clock, int64_t per_day) {
    if (per_day <= 0) return nullptr;
    const double day = static_cast<double>(per_day);
    return rate_limits.TokenBucket(
        name, clock, auth::TokenBucketLimiter::Options{.capacity = day, .refill_per_second = day / 86'400.0});
}

Status CheckQuota(const auth::TokenBucketLimiter* quota, int64_t wearer, size_t n, std::string_view what) {
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

void ChargeQuota(auth::TokenBucketLimiter* quota, int64_t wearer, size_t used) {
    if (quota != nullptr && used > 0) (void)quota->Charge(std::to_string(wearer), static_cast<double>(used));
}

bool QuotaMustLeaveIoThread(const auth::TokenBucketLimiter* quota, const RequestContext& ctx) {
    return quota != nullptr && quota->waits_on_network() && ctx.request.lane == http::Lane::kInline;
}

Result<int> RecentRowsLimit(const RequestContext& ctx) {
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

}  // namespace detail

http::Response VitalsRoutes::GetStatus(RequestContext& ctx) {
    // Inline (Lane::kInline): a guardian's read of a wearer is audit-logged, a write.
    if (ctx.request.lane == http::Lane::kInline && ReadsAnotherWearer(ctx)) return http::Response::RunOnWorker();
    auto limit = RecentRowsLimit(ctx);
    if (!limit.ok()) return ErrorResponse(limit.status());
    auto wearer = access_.TargetWearer(ctx, "GET /api/get_status");
    if (!wearer.ok()) return ErrorResponse(wearer.status());
    auto rows = statuses_.RecentStatuses(*wearer, *limit);
    if (!rows.ok()) return ErrorResponse(rows.status());
    json::array list;
    for (const store::StatusRow& r : *rows) {
        json::array causes;
        std::vector<domain::Metric> metrics;
        std::string_view rest = r.causes;
        while (!rest.empty()) {
            size_t comma = rest.find(',');
            const std::string_view name = rest.substr(0, comma);
            causes.emplace_back(name);
            if (auto m = domain::MetricFromName(name)) metrics.push_back(*m);
            rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        }
        json::object row{{"status", r.status},
                         {"level", domain::LevelName(static_cast<domain::Level>(r.status))},
                         {"updated_at", FormatIso8601(r.updated_at)},
                         {"reading_at", TimeOrNull(r.reading_at)},
                         {"causes", std::move(causes)},
                         {"explanation", r.explanation}};
        if (r.status != 0) {
            // A row keeps its causes, not its rules: the plain words say which values were out of range.
            row["summary"] = json::object{{"ko", messages::VerdictSummary(metrics, {}, messages::Language::kKorean)},
                                          {"en", messages::VerdictSummary(metrics, {}, messages::Language::kEnglish)}};
        }
        list.push_back(std::move(row));
    }
    return JsonResponse(200, json::object{{"statuses", std::move(list)}});
}

http::Response VitalsRoutes::IngestBatch(RequestContext& ctx) {
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

http::Response VitalsRoutes::RecentVitals(RequestContext& ctx) {
    if (ctx.request.query_param("from") || ctx.request.query_param("to") || ctx.request.query_param("points")) {
        return Trend(ctx);
    }
    auto wearer = access_.TargetWearer(ctx, "GET /api/vitals");
    if (!wearer.ok()) return ErrorResponse(wearer.status());
    auto rows = readings_.RecentReadings(*wearer, 60);
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

http::Response VitalsRoutes::Trend(RequestContext& ctx) {
    std::vector<FieldError> problems;
    for (const auto& [name, value] : ctx.request.query) {
        if (name != "from" && name != "to" && name != "points" && name != "wearer") {
            problems.push_back({name, "is not a known parameter (from, to, points, wearer)"});
        }
    }
    auto time_param = [&](const char* name) -> std::optional<TimePoint> {
        const std::string* raw = ctx.request.query_param(name);
        if (raw == nullptr) {
            problems.push_back({name, "is required with from/to (an ISO 8601 time, e.g. 2026-12-07T09:00:00+09:00)"});
            return std::nullopt;
        }
        auto t = ParseIso8601(*raw);
        if (!t.ok()) {
            problems.push_back({name, "must be an ISO 8601 time with a zone, e.g. 2026-12-07T09:00:00+09:00"});
            return std::nullopt;
        }
        return *t;
    };
    const std::optional<TimePoint> from = time_param("from");
    const std::optional<TimePoint> to = time_param("to");
    if (from && to && *to <= *from) problems.push_back({"to", "must be after from"});
    if (from && to && *to - *from > kMaxTrendRange) problems.push_back({"to", "must be at most 400 days after from"});
    int points = kDefaultTrendPoints;
    if (const std::string* raw = ctx.request.query_param("points")) {
        auto [end, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), points);
        if (ec != std::errc() || end != raw->data() + raw->size() || points < kMinTrendPoints ||
            points > kMaxTrendPoints) {
            problems.push_back({"points", "must be a whole number from 10 to 1000"});
        }
    }
    if (!problems.empty()) {
        return ErrorResponse(
            Status::Error(ErrorCode::kValidationFailed, "The trend's range is not valid.", std::move(problems)));
    }
    const std::string account = std::to_string(ctx.auth->user.unique_num);
    if (int wait = trend_limiter_->TryAcquire(account)) {
        Status s = Status::Error(ErrorCode::kRateLimited,
                                 "Too many trend requests (at most " + std::to_string(trend_queries_per_minute_) +
                                     " a minute). Please try again in " + std::to_string(wait) + " seconds.");
        s.WithRetryAfter(wait);
        return ErrorResponse(s);
    }
    auto wearer = access_.TargetWearer(ctx, "GET /api/vitals (trend)");
    if (!wearer.ok()) return ErrorResponse(wearer.status());
    auto user = users_.FindUserByUniqueNum(*wearer);
    if (!user.ok()) return ErrorResponse(user.status());

    const int64_t span_s = std::chrono::duration_cast<std::chrono::seconds>(*to - *from).count();
    int64_t bucket_s = kTrendBucketSeconds.back();
    for (int64_t candidate : kTrendBucketSeconds) {
        if ((span_s + candidate - 1) / candidate <= points) {
            bucket_s = candidate;
            break;
        }
    }
    const Milliseconds bucket = std::chrono::seconds(bucket_s);
    // Buckets on multiples of their size since the epoch, so a chart refreshed a minute later draws the
    // same buckets.
    const TimePoint start = FromUnixMillis(ToUnixMillis(*from) / bucket.count() * bucket.count());
    auto buckets = readings_.SummarizeReadings(*wearer, start, *to, bucket);
    if (!buckets.ok()) return ErrorResponse(buckets.status());
    json::array bucket_list;
    for (const store::ReadingBucket& b : *buckets) {
        json::object o{{"start", FormatIso8601(b.start)}, {"readings", b.readings}};
        for (int i = 0; i < domain::kMetricCount; ++i) {
            const store::MetricSummary& m = b.metrics[static_cast<size_t>(i)];
            if (m.count > 0) o[domain::MetricName(static_cast<domain::Metric>(i))] = SummaryJson(m);
        }
        bucket_list.push_back(std::move(o));
    }

    json::object out{{"from", FormatIso8601(start)},
                     {"to", FormatIso8601(*to)},
                     {"bucket_seconds", bucket_s},
                     {"buckets", std::move(bucket_list)}};
    std::shared_ptr<const rules::RuleProfile> profile;
    if (profiles_) {
        profile = profiles_->Find(user->rule_profile);
        if (!profile) profile = profiles_->Find("adult-default");
    }
    json::object bands;
    if (profile) {
        out["profile"] = profile->name();
        for (domain::Metric metric : kChartedMetrics) {
            json::array list;
            for (const rules::ValueBand& band : rules::ValueBands(*profile, metric)) {
                json::object o{{"rule", band.rule}, {"level", domain::LevelName(band.level)}};
                o[band.compare] = band.value;
                if (band.for_s > 0) o["for_s"] = band.for_s;
                list.push_back(std::move(o));
            }
            bands[domain::MetricName(metric)] = std::move(list);
        }
    }
    out["bands"] = std::move(bands);

    const TimePoint usual_from = FromUnixMillis((ToUnixMillis(*to - kUsualWindow) / 3'600'000) * 3'600'000);
    auto hours = readings_.SummarizeReadings(*wearer, usual_from, *to, std::chrono::hours(1));
    if (!hours.ok()) return ErrorResponse(hours.status());
    json::object usual;
    for (domain::Metric metric : kChartedMetrics) {
        std::vector<double> means;
        for (const store::ReadingBucket& b : *hours) {
            const store::MetricSummary& m = b.metrics[static_cast<size_t>(metric)];
            if (m.count > 0) means.push_back(m.mean);
        }
        if (means.size() < kMinUsualHours) continue;
        double sum = 0;
        for (double v : means) sum += v;
        std::sort(means.begin(), means.end());
        usual[domain::MetricName(metric)] = json::object{{"low", Rounded(Percentile(means, 0.1))},
                                                         {"high", Rounded(Percentile(means, 0.9))},
                                                         {"mean", Rounded(sum / static_cast<double>(means.size()))},
                                                         {"hours", means.size()}};
    }
    out["usual"] = std::move(usual);
    return JsonResponse(200, out);
}

http::Response VitalsRoutes::ListRuleProfiles(RequestContext&) {
    if (!profiles_) return ErrorResponse(Unavailable("Rule profiles"));
    json::array names;
    for (const auto& n : profiles_->Names()) names.emplace_back(n);
    return JsonResponse(200, json::object{{"rule_profiles", std::move(names)}});
}

http::Response VitalsRoutes::SetRuleProfile(RequestContext& ctx) {
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
    Status s = users_.SetRuleProfile(ctx.wearer(), name);
    if (!s.ok()) return ErrorResponse(s);
    if (on_rule_profile_changed_) on_rule_profile_changed_(ctx.wearer());
    return JsonResponse(200, json::object{{"rule_profile", name}});
}

}  // namespace vg::api
