// Emergency response (the seed's 3.1.3 and 6): incidents, "I'm OK", acknowledgement, snooze, SOS,
// predict_model2. Guardianship is in guardian_routes.cpp, the access checks every read of a wearer goes
// through in wearer_access.cpp.
#include "incident_routes.hpp"

#include "delivery_view.hpp"
#include "predict.hpp"
#include "vg/guidance/async_rewriter.hpp"
#include "vg/guidance/composer.hpp"

namespace vg::api {
namespace {

guidance::Language LanguageOf(const http::Request& request) {
    if (const std::string* lang = request.query_param("lang")) {
        if (auto l = guidance::LanguageFromName(*lang)) return *l;
    }
    const std::string_view accept = request.header("accept-language");
    return accept.substr(0, 2) == "en" ? guidance::Language::kEn : guidance::Language::kKo;
}

std::string PurposeOf(const std::string& key, const std::string& channel) {
    if (channel == "emergency") return "emergency_dispatch";
    for (std::string_view p : {"guardians_alert", "guardians_reminder", "guardians_dispatched", "guardians_wearer_ok",
                               "guardians_all_clear"}) {
        if (key.find(p) != std::string::npos) return std::string(p);
    }
    return "notification";
}

// Guidance as docs/api.md shows it.
json::object GuidanceToJson(const Result<guidance::Guidance>& g) {
    json::array actions, sources;
    for (const auto& a : g->actions) actions.emplace_back(a);
    for (const auto& s : g->sources) {
        sources.push_back(json::object{{"publisher", s.publisher}, {"title", s.title}, {"url", s.url}});
    }
    return json::object{{"language", guidance::LanguageName(g->language)},
                        {"state", g->state},
                        {"cause", g->cause},
                        {"actions", std::move(actions)},
                        {"warning", g->warning},
                        {"call_119", g->call_119},
                        {"sources", std::move(sources)},
                        {"text", g->text}};
}

// The state of a rewrite as docs/api.md shows it: nullopt is "pending".
json::object RewriteJson(const std::optional<guidance::RewriteResult>& r) {
    if (!r) return json::object{{"state", "pending"}};
    if (r->rewritten) return json::object{{"state", "done"}, {"text", r->text}};
    return json::object{{"state", "fallback"}, {"reason", r->reason}};
}

// An incident's guidance, with the LLM rewrite when one is configured: "pending" on the first read
// (never waiting for the endpoint), then "done" with its text, or "fallback" with the reason.
json::value GuidanceJson(const guidance::KnowledgeBase* kb, guidance::AsyncRewriter* rewriter,
                         const domain::Incident& i, const domain::VitalsReading& reading, guidance::Language language) {
    if (kb == nullptr || i.level == domain::Level::kNormal) return nullptr;
    domain::Detection d;
    d.level = i.level;
    d.causes = i.causes;
    for (const std::string& rule : i.rules) {
        domain::FiredRule f;
        f.rule = rule;
        f.kind = rule.find("exercise") != std::string::npos ? "exercise" : "threshold";
        f.level = i.level;
        const std::string metric = rule.substr(0, rule.find('.'));
        if (auto m = domain::MetricFromName(metric))
            f.metric = *m;
        else
            continue;
        d.fired.push_back(f);
    }
    guidance::GuidanceRequest request =
        guidance::RequestFor(d, reading, language, i.kind == domain::IncidentKind::kFall);
    if (request.topics.empty()) return nullptr;  // e.g. an SOS press: nothing measured to explain
    auto g = guidance::Compose(*kb, request);
    if (!g.ok()) return nullptr;
    json::object out = GuidanceToJson(g);
    if (rewriter != nullptr) {
        const std::string key = "incident-" + std::to_string(i.id) + "-v" + std::to_string(i.version) + "-" +
                                std::string(guidance::LanguageName(language));
        out["rewrite"] = RewriteJson(rewriter->Get(key, *g));
    }
    return out;
}

}  // namespace

http::Response IncidentRoutes::ListIncidents(RequestContext& ctx) {
    int limit = 20;
    if (const std::string* raw = ctx.request.query_param("limit")) {
        auto [end, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), limit);
        if (ec != std::errc() || end != raw->data() + raw->size() || limit < 1 || limit > 100) {
            return ErrorResponse(Status::Error(ErrorCode::kValidationFailed, "The limit is not valid.",
                                               {{"limit", "must be a whole number from 1 to 100"}}));
        }
    }
    auto wearer = access_.TargetWearer(ctx, "GET /api/incidents");
    if (!wearer.ok()) return ErrorResponse(wearer.status());
    auto user = users_.FindUserByUniqueNum(*wearer);
    if (!user.ok()) return ErrorResponse(user.status());
    auto rows = incidents_.ListIncidents(*wearer, limit);
    if (!rows.ok()) return ErrorResponse(rows.status());
    const TimePoint now = clock_.Now();
    const guidance::Language language = LanguageOf(ctx.request);
    domain::VitalsReading last;
    if (auto r = readings_.RecentReadings(*wearer, 1); r.ok() && !r->empty()) last = r->front().reading;
    json::array list;
    for (const domain::Incident& i : *rows) {
        json::object o = IncidentJson(i, user->profile.id, now);
        if (i.open()) o["guidance"] = GuidanceJson(knowledge_, rewriter_, i, last, language);
        list.push_back(std::move(o));
    }
    return JsonResponse(200, json::object{{"incidents", std::move(list)}});
}

http::Response IncidentRoutes::GetIncident(RequestContext& ctx) {
    std::string role;
    auto incident = access_.VisibleIncident(ctx, role);
    if (!incident.ok()) return ErrorResponse(incident.status());
    auto user = users_.FindUserByUniqueNum(incident->wearer);
    if (!user.ok()) return ErrorResponse(user.status());
    auto events = incidents_.IncidentEvents(incident->id);
    if (!events.ok()) return ErrorResponse(events.status());
    auto outbox = outbox_.IncidentOutbox(incident->id);
    if (!outbox.ok()) return ErrorResponse(outbox.status());
    domain::VitalsReading last;
    if (auto r = readings_.RecentReadings(incident->wearer, 1); r.ok() && !r->empty()) last = r->front().reading;
    json::object o = IncidentJson(*incident, user->profile.id, clock_.Now());
    o["guidance"] = GuidanceJson(knowledge_, rewriter_, *incident, last, LanguageOf(ctx.request));
    json::array event_list, notifications;
    for (const auto& e : *events) {
        event_list.push_back(
            json::object{{"at", FormatIso8601(e.at)}, {"type", e.type}, {"actor", e.actor}, {"detail", e.detail}});
    }
    for (const auto& m : *outbox) {
        // The receiver's own error text stays in the outbox table and the log (delivery_view.hpp).
        const std::optional<DeliveryFailure> failure = DeliveryFailureOf(m.last_error);
        notifications.push_back(
            json::object{{"channel", m.channel},
                         {"to", MaskedRecipient(m.channel, m.recipient)},
                         {"purpose", PurposeOf(m.idempotency_key, m.channel)},
                         {"state", m.state},
                         {"attempts", m.attempts},
                         {"last_error_code", failure ? json::value(failure->code) : json::value(nullptr)},
                         {"last_error", failure ? json::value(failure->message) : json::value(nullptr)},
                         {"created_at", FormatIso8601(m.created_at)},
                         {"delivered_at", TimeOrNull(m.delivered_at)}});
    }
    return JsonResponse(200, json::object{{"incident", std::move(o)},
                                          {"role", role},
                                          {"events", std::move(event_list)},
                                          {"notifications", std::move(notifications)}});
}

namespace {
http::Response IncidentAnswer(const Result<domain::Incident>& r, std::string_view wearer_id, TimePoint now) {
    if (!r.ok()) return ErrorResponse(r.status());
    return JsonResponse(200, json::object{{"incident", IncidentJson(*r, wearer_id, now)}});
}
}  // namespace

http::Response IncidentRoutes::IncidentOk(RequestContext& ctx) {
    if (!escalation_) return ErrorResponse(Unavailable("Emergency response"));
    std::string role;
    auto incident = access_.VisibleIncident(ctx, role);
    if (!incident.ok()) return ErrorResponse(incident.status());
    if (role != "wearer") {
        return ErrorResponse(Status::Error(ErrorCode::kForbidden, "Only the wearer can answer \"I'm OK\"."));
    }
    return IncidentAnswer(escalation_->WearerOk(incident->id), ctx.auth->user.profile.id, clock_.Now());
}

http::Response IncidentRoutes::IncidentAck(RequestContext& ctx) {
    if (!escalation_) return ErrorResponse(Unavailable("Emergency response"));
    std::string role;
    auto incident = access_.VisibleIncident(ctx, role);
    if (!incident.ok()) return ErrorResponse(incident.status());
    if (role != "guardian") {
        return ErrorResponse(
            Status::Error(ErrorCode::kForbidden, "A guardian acknowledges; the wearer answers \"I'm OK\" instead."));
    }
    auto wearer = users_.FindUserByUniqueNum(incident->wearer);
    return IncidentAnswer(escalation_->GuardianAck(incident->id, ctx.auth->user.profile.id),
                          wearer.ok() ? wearer->profile.id : std::string(), clock_.Now());
}

http::Response IncidentRoutes::IncidentSnooze(RequestContext& ctx) {
    if (!escalation_) return ErrorResponse(Unavailable("Emergency response"));
    auto body = ParseJsonObjectBody(ctx.request);
    if (!body.ok()) return ErrorResponse(body.status());
    ObjectReader reader(*body);
    auto minutes = reader.Integer("minutes", true);
    if (Status s = reader.Finish(); !s.ok()) return ErrorResponse(s);
    std::string role;
    auto incident = access_.VisibleIncident(ctx, role);
    if (!incident.ok()) return ErrorResponse(incident.status());
    if (role != "guardian") {
        return ErrorResponse(Status::Error(ErrorCode::kForbidden, "Only a guardian can snooze reminders."));
    }
    auto wearer = users_.FindUserByUniqueNum(incident->wearer);
    const int64_t m = std::clamp<int64_t>(*minutes, 0, 100'000);
    return IncidentAnswer(escalation_->Snooze(incident->id, ctx.auth->user.profile.id, std::chrono::minutes(m)),
                          wearer.ok() ? wearer->profile.id : std::string(), clock_.Now());
}

http::Response IncidentRoutes::IncidentResolve(RequestContext& ctx) {
    if (!escalation_) return ErrorResponse(Unavailable("Emergency response"));
    std::string role;
    auto incident = access_.VisibleIncident(ctx, role);
    if (!incident.ok()) return ErrorResponse(incident.status());
    auto wearer = users_.FindUserByUniqueNum(incident->wearer);
    const std::string actor = role == "wearer" ? "wearer" : ctx.auth->user.profile.id;
    return IncidentAnswer(escalation_->Resolve(incident->id, actor), wearer.ok() ? wearer->profile.id : std::string(),
                          clock_.Now());
}

http::Response IncidentRoutes::EmergencyCall(RequestContext& ctx) {
    if (!escalation_) return ErrorResponse(Unavailable("Emergency response"));
    std::optional<escalation::Location> location;
    if (!ctx.request.body.empty()) {
        auto body = ParseJsonObjectBody(ctx.request);
        if (!body.ok()) return ErrorResponse(body.status());
        ObjectReader reader(*body);
        auto lat = reader.Number("latitude", false);
        auto lon = reader.Number("longitude", false);
        auto accuracy = reader.Number("accuracy_m", false);
        if (lat && (*lat < -90 || *lat > 90)) reader.AddProblem("latitude", "must be between -90 and 90");
        if (lon && (*lon < -180 || *lon > 180)) reader.AddProblem("longitude", "must be between -180 and 180");
        if (accuracy && (*accuracy < 0 || *accuracy > 100'000)) {
            reader.AddProblem("accuracy_m", "must be between 0 and 100000");
        }
        if (lat.has_value() != lon.has_value()) {
            reader.AddProblem(lat ? "longitude" : "latitude", "is required together with the other coordinate");
        }
        if (Status s = reader.Finish("The location needs to be corrected."); !s.ok()) return ErrorResponse(s);
        if (lat && lon) location = escalation::Location{*lat, *lon, accuracy};
    }
    // Per client address (docs/escalation.md, "Limits"): new SOS incidents of accounts that are not
    // established, so that throw-away accounts from one place cannot loop. Never for an established
    // account, nor for a press that joins the open incident.
    auto wearer_user = users_.FindUserByUniqueNum(ctx.wearer());
    if (!wearer_user.ok()) return ErrorResponse(wearer_user.status());
    auto open = incidents_.FindOpenIncident(ctx.wearer());
    if (!open.ok()) return ErrorResponse(open.status());
    auto established = escalation_->Established(*wearer_user, clock_.Now());
    if (!established.ok()) return ErrorResponse(established.status());
    const bool limit_address = !*established && !open->has_value();
    if (limit_address) {
        if (int wait = sos_address_limiter_->RetryAfterSeconds(ctx.client_address); wait > 0) {
            sos_refused_.Add({{"limit", "address"}}).Increment();
            spdlog::warn("SOS of wearer {} refused: 10 SOS an hour from {} for new accounts", ctx.wearer(),
                         ctx.client_address);
            return ErrorResponse(
                Status::Error(ErrorCode::kRateLimited,
                              "At most 10 SOS an hour from one network address for accounts that are new or have "
                              "no verified phone number. If this is an emergency, call 119 directly.")
                    .WithRetryAfter(wait));
        }
    }
    auto incident = escalation_->Sos(ctx.wearer(), location);
    if (!incident.ok()) {
        if (incident.status().code() == ErrorCode::kRateLimited) {
            const bool calls = incident.status().message().find("emergency calls") != std::string::npos;
            sos_refused_.Add({{"limit", calls ? "account_calls" : "account_sos"}}).Increment();
        }
        return ErrorResponse(incident.status());
    }
    if (limit_address) (void)sos_address_limiter_->Record(ctx.client_address);
    auto user = users_.FindUserByUniqueNum(ctx.wearer());
    return JsonResponse(
        201, json::object{{"incident", IncidentJson(*incident, user.ok() ? user->profile.id : "", clock_.Now())}});
}

http::Response IncidentRoutes::PredictModel2(RequestContext& ctx) {
    if (!profiles_) return ErrorResponse(Unavailable("Rule profiles"));
    auto body = ParseJsonObjectBody(ctx.request);
    if (!body.ok()) return ErrorResponse(body.status());
    ObjectReader reader(*body);
    domain::VitalsReading reading;
    ReadVitals(reader, reading);
    reading.measured_at = reader.Timestamp("timestamp", false).value_or(clock_.Now());
    if (Status s = reader.Finish("Some values need to be corrected."); !s.ok()) return ErrorResponse(s);
    if (auto problems = domain::ValidateReading(reading); !problems.empty()) {
        return ErrorResponse(
            Status::Error(ErrorCode::kValidationFailed, "Some values need to be corrected.", std::move(problems)));
    }
    auto user = users_.FindUserByUniqueNum(ctx.wearer());
    if (!user.ok()) return ErrorResponse(user.status());
    auto profile = profiles_->Find(user->rule_profile);
    if (!profile) profile = profiles_->Find("adult-default");
    if (!profile) return ErrorResponse(Unavailable("The default rule profile"));
    // The values on their own, as the detector would judge a new wearer sending them (predict.hpp): the
    // rules, then the status model may raise the level (never lower it) and the cause model names the
    // metrics at fault — models::Fuse, the detector's own fusion, with the detector's options.
    std::optional<models::FusionModels> models;
    if (status_model_ != nullptr) models = models::FusionModels{status_model_, cause_model_};
    const domain::Detection d = AssessAlone(*profile, reading, models, fusion_);
    // Abnormal: the metrics of the rules that fired above normal, and those the cause model blames.
    json::object abnormal{{"heart_rate", false}, {"respiration_rate", false}, {"skin_temp", false}, {"spo2", false}};
    auto mark = [&](domain::Metric m) {
        const std::string_view name = domain::MetricName(m);
        if (abnormal.contains(name)) abnormal[name] = true;
    };
    for (const auto& f : d.fired) {
        if (f.level != domain::Level::kNormal && f.kind != "model") mark(f.metric);
    }
    for (domain::Metric m : d.model_causes) mark(m);
    json::object out = DetectionJson(d);
    out["abnormal"] = std::move(abnormal);
    const bool needs_guidance = knowledge_ && d.level != domain::Level::kNormal && !d.advice_only;
    out["guidance"] = nullptr;
    if (needs_guidance) {
        auto g = guidance::Compose(*knowledge_, guidance::RequestFor(d, reading, LanguageOf(ctx.request)));
        if (g.ok()) {
            json::object guidance_json = GuidanceToJson(g);
            if (rewriter_ != nullptr) {
                // The seed's predict_model2 answers with the LLM's four parts. Keyed by the composed text: the same
                // values ask once, and asking again later gets "done". Each new text costs an LLM call, so one
                // wearer may start predict_rewrites_per_hour_ of them; after that the knowledge base's text stands.
                const std::string key = "predict-" + std::string(guidance::LanguageName(g->language)) + "-" +
                                        std::to_string(std::hash<std::string>{}(g->text));
                if (rewriter_->Asked(key)) {
                    guidance_json["rewrite"] = RewriteJson(rewriter_->Get(key, *g));
                } else if (predict_rewrite_limiter_->TryAcquire(std::to_string(ctx.wearer())) != 0) {
                    guidance_json["rewrite"] = json::object{{"state", "fallback"}, {"reason", "rate_limited"}};
                } else {
                    guidance_json["rewrite"] = RewriteJson(rewriter_->Get(key, *g));
                }
            }
            out["guidance"] = std::move(guidance_json);
        }
    }
    return JsonResponse(200, out);
}

}  // namespace vg::api
