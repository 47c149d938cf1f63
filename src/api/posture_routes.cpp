// The seed's posture API (update_posture, get_posture) and the device's batch of IMU windows, through
// posture::PostureService (docs/api.md, "Posture and falls").
#include "posture_routes.hpp"

#include "posture_input.hpp"

namespace vg::api {
namespace {

Status NoPostureModel() {
    return Status::Error(ErrorCode::kUnavailable,
                         "Posture and fall detection is not available on this server (no posture model is loaded).");
}

constexpr size_t kMaxBatchWindows = 32;

// The answer did not come within the posture service's answer_timeout; the work still completes, and the
// watch's retry of it is answered as late.
Status TakingTooLong() {
    return Status::Error(ErrorCode::kUnavailable, "Posture detection is taking too long; retry in a second.")
        .WithRetryAfter(1);
}

json::object WindowResultJson(const posture::WindowResult& r, const posture::ClassifierInfo& info) {
    json::object probabilities;
    for (size_t i = 0; i < posture::kNumPostures; ++i) {
        probabilities[posture::WireName(static_cast<posture::Posture>(i))] = r.prediction.probabilities[i];
    }
    probabilities["Other"] = r.prediction.probabilities[posture::kOtherClass];
    json::object fall{{"state", posture::FallStateName(r.fall)}};
    if (r.incident_id) fall["incident_id"] = *r.incident_id;
    return json::object{{"posture", static_cast<int>(r.posture)},
                        {"name", posture::WireName(r.posture)},
                        {"other", r.prediction.other},
                        {"probabilities", std::move(probabilities)},
                        {"updated_at", FormatIso8601(r.at)},
                        {"model", info.version},
                        {"fall", std::move(fall)},
                        {"late", r.late}};
}

}  // namespace

http::Response PostureRoutes::UpdatePosture(RequestContext& ctx) {
    if (!posture_) return ErrorResponse(NoPostureModel());
    if (QuotaMustLeaveIoThread(windows_quota_.get(), ctx)) return http::Response::RunOn(http::Lane::kUrgent);
    auto body = ParseJsonObjectBody(ctx.request);
    if (!body.ok()) return ErrorResponse(body.status());
    auto window = ReadPostureWindow(*body, "", /*measured_at_required=*/false, PostureTimeRules{clock_.Now()});
    if (!window.ok()) return ErrorResponse(window.status());
    std::vector<posture::TimedWindow> windows;
    windows.push_back(std::move(window).value());
    if (Status quota = CheckQuota(windows_quota_.get(), ctx.wearer(), 1, "IMU windows"); !quota.ok()) {
        return ErrorResponse(quota);
    }
    const bool charged = ChargesUpFront(windows_quota_.get());
    if (charged) ChargeQuota(windows_quota_.get(), ctx.wearer(), 1);
    // Answered by the verdict stage once the rows and the fall state are on disk; no thread waits meanwhile.
    auto pending = http::Response::Later(posture_->options().answer_timeout, ErrorResponse(TakingTooLong()));
    Status submitted =
        posture_->SubmitAsync(ctx.wearer(), std::move(windows), posture::RecordPolicy::kEveryCall,
                              [responder = std::move(pending.second), quota = windows_quota_, wearer = ctx.wearer(),
                               charged, info = &posture_->info()](Result<std::vector<posture::WindowResult>> results) {
                                  if (!results.ok()) {
                                      responder.Send(ErrorResponse(results.status()));
                                      return;
                                  }
                                  if (!charged) ChargeQuota(quota.get(), wearer, 1);
                                  responder.Send(JsonResponse(200, WindowResultJson(results->front(), *info)));
                              });
    if (!submitted.ok()) return ErrorResponse(submitted);
    return std::move(pending.first);
}

http::Response PostureRoutes::PostureBatch(RequestContext& ctx) {
    if (QuotaMustLeaveIoThread(windows_quota_.get(), ctx)) return http::Response::RunOn(http::Lane::kUrgent);
    if (!posture_) return ErrorResponse(NoPostureModel());
    auto body = ParseJsonObjectBody(ctx.request);
    if (!body.ok()) return ErrorResponse(body.status());
    ObjectReader reader(*body);
    const json::array* items = reader.Array("windows", true);
    Status shape = reader.Finish("The batch is not valid.");
    if (!shape.ok()) return ErrorResponse(shape);
    std::vector<FieldError> problems;
    if (items->empty()) problems.push_back({"windows", "must contain at least one window"});
    if (items->size() > kMaxBatchWindows) {
        problems.push_back({"windows", "must contain at most " + std::to_string(kMaxBatchWindows) +
                                           " windows; send the rest in another request"});
        return ErrorResponse(Status::Error(ErrorCode::kValidationFailed, "The batch is not valid.", problems));
    }
    const PostureTimeRules rules{clock_.Now()};
    std::vector<posture::TimedWindow> windows;
    windows.reserve(items->size());
    std::optional<TimePoint> previous_end;
    for (size_t i = 0; i < items->size() && problems.size() < 100; ++i) {
        const std::string prefix = "windows[" + std::to_string(i) + "].";
        if (!(*items)[i].is_object()) {
            problems.push_back({"windows[" + std::to_string(i) + "]", "must be an object"});
            previous_end.reset();
            continue;
        }
        auto w = ReadPostureWindow((*items)[i].as_object(), prefix, /*measured_at_required=*/true, rules);
        if (!w.ok()) {
            for (const FieldError& e : w.status().fields()) problems.push_back(e);
            previous_end.reset();
            continue;
        }
        if (previous_end && w->timing.end <= *previous_end) {
            problems.push_back({prefix + "measured_at", "must be later than the previous window's"});
        }
        previous_end = w->timing.end;
        windows.push_back(std::move(w).value());
    }
    if (!problems.empty()) {
        return ErrorResponse(Status::Error(ErrorCode::kValidationFailed,
                                           "Some windows need to be corrected; none of this batch was classified.",
                                           std::move(problems)));
    }
    const size_t count = windows.size();
    if (Status quota = CheckQuota(windows_quota_.get(), ctx.wearer(), count, "IMU windows"); !quota.ok()) {
        return ErrorResponse(quota);
    }
    const bool charged = ChargesUpFront(windows_quota_.get());
    if (charged) ChargeQuota(windows_quota_.get(), ctx.wearer(), count);
    auto pending = http::Response::Later(posture_->options().answer_timeout, ErrorResponse(TakingTooLong()));
    Status submitted = posture_->SubmitAsync(
        ctx.wearer(), std::move(windows), posture::RecordPolicy::kOnChange,
        [responder = std::move(pending.second), quota = windows_quota_, wearer = ctx.wearer(), count, charged,
         info = &posture_->info()](Result<std::vector<posture::WindowResult>> results) {
            if (!results.ok()) {
                responder.Send(ErrorResponse(results.status()));
                return;
            }
            if (!charged) ChargeQuota(quota.get(), wearer, count);
            json::array list;
            for (const posture::WindowResult& r : *results) list.push_back(WindowResultJson(r, *info));
            responder.Send(JsonResponse(200, json::object{{"results", std::move(list)}}));
        });
    if (!submitted.ok()) return ErrorResponse(submitted);
    return std::move(pending.first);
}

http::Response PostureRoutes::GetPosture(RequestContext& ctx) {
    // Inline (Lane::kInline): a guardian's read of a wearer is audit-logged, a write.
    if (ctx.request.lane == http::Lane::kInline && ReadsAnotherWearer(ctx)) return http::Response::RunOnWorker();
    if (!posture_) return ErrorResponse(NoPostureModel());
    auto limit = RecentRowsLimit(ctx);
    if (!limit.ok()) return ErrorResponse(limit.status());
    auto wearer = access_.TargetWearer(ctx, "GET /api/get_posture");
    if (!wearer.ok()) return ErrorResponse(wearer.status());
    auto rows = store_.RecentPostures(*wearer, *limit);
    if (!rows.ok()) return ErrorResponse(rows.status());
    json::array list;
    for (const store::PostureRow& r : *rows) {
        const bool known = r.posture >= 0 && r.posture < static_cast<int>(posture::kNumPostures);
        list.push_back(
            json::object{{"posture", r.posture},
                         {"name", known ? posture::WireName(static_cast<posture::Posture>(r.posture)) : "Unknown"},
                         {"updated_at", FormatIso8601(r.updated_at)}});
    }
    return JsonResponse(200, json::object{{"postures", std::move(list)}});
}

}  // namespace vg::api
