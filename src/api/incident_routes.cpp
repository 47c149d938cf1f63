// Emergency response (the seed's 3.1.3 and 6): incidents, "I'm OK", acknowledgement, snooze, SOS,
// predict_model2; and guardianship, with the access checks every read of a wearer goes through.
#include "api_impl.hpp"
#include "delivery_view.hpp"
#include "predict.hpp"
#include "vg/guidance/async_rewriter.hpp"
#include "vg/guidance/composer.hpp"

namespace vg::api {
namespace {

Status Unavailable(std::string_view what) {
    return Status::Error(ErrorCode::kUnavailable, std::string(what) + " is not available on this server.");
}

Status NoSuchIncident() { return Status::Error(ErrorCode::kNotFound, "There is no such incident."); }

guidance::Language LanguageOf(const http::Request& request) {
    if (const std::string* lang = request.query_param("lang")) {
        if (auto l = guidance::LanguageFromName(*lang)) return *l;
    }
    const std::string_view accept = request.header("accept-language");
    return accept.substr(0, 2) == "en" ? guidance::Language::kEn : guidance::Language::kKo;
}

Result<int64_t> PathId(const RequestContext& ctx, const char* name) {
    auto it = ctx.path_params.find(name);
    int64_t id = 0;
    if (it != ctx.path_params.end()) {
        const std::string& raw = it->second;
        auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), id);
        if (ec == std::errc() && end == raw.data() + raw.size() && id > 0) return id;
    }
    return Status::Error(ErrorCode::kNotFound, "There is no such item.");
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

// The guidance for `request`; null when it cannot be composed.
json::value ComposedJson(const guidance::KnowledgeBase& kb, const guidance::GuidanceRequest& request) {
    auto g = guidance::Compose(kb, request);
    if (!g.ok()) return nullptr;
    return GuidanceToJson(g);
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
        const std::optional<guidance::RewriteResult> r = rewriter->Get(key, *g);
        if (!r) {
            out["rewrite"] = json::object{{"state", "pending"}};
        } else if (r->rewritten) {
            out["rewrite"] = json::object{{"state", "done"}, {"text", r->text}};
        } else {
            out["rewrite"] = json::object{{"state", "fallback"}, {"reason", r->reason}};
        }
    }
    return out;
}

}  // namespace

Result<int64_t> Api::Impl::TargetWearer(RequestContext& ctx, std::string_view action) {
    const std::string* requested = ctx.request.query_param("wearer");
    if (!ctx.auth || requested == nullptr || *requested == ctx.auth->user.profile.id) return ctx.wearer();
    const Status not_found = Status::Error(ErrorCode::kNotFound, "There is no wearer " + *requested + " you watch.");
    auto wearer = store_.FindUserById(*requested);
    if (!wearer.ok()) return wearer.status().code() == ErrorCode::kNotFound ? not_found : wearer.status();
    auto linked = store_.IsActiveGuardian(ctx.auth->user.unique_num, wearer->unique_num);
    if (!linked.ok()) return linked.status();
    if (!*linked) return not_found;
    store::AuditEntry audit;
    audit.at = clock_.Now();
    audit.actor = ctx.auth->user.unique_num;
    audit.wearer = wearer->unique_num;
    audit.action = std::string(action);
    audit.detail = "guardian " + ctx.auth->user.profile.id + " read " + wearer->profile.id;
    if (Status s = store_.AppendAudit(audit); !s.ok()) return s;  // no unlogged reads
    return wearer->unique_num;
}

Result<domain::Incident> Api::Impl::VisibleIncident(RequestContext& ctx, std::string& role) {
    auto id = PathId(ctx, "incident_id");
    if (!id.ok()) return NoSuchIncident();
    auto incident = store_.FindIncident(*id);
    if (!incident.ok()) return incident.status().code() == ErrorCode::kNotFound ? NoSuchIncident() : incident.status();
    if (incident->wearer == ctx.wearer()) {
        role = "wearer";
        return incident;
    }
    if (!ctx.auth) return NoSuchIncident();
    auto linked = store_.IsActiveGuardian(ctx.auth->user.unique_num, incident->wearer);
    if (!linked.ok()) return linked.status();
    if (!*linked) return NoSuchIncident();
    role = "guardian";
    store::AuditEntry audit;
    audit.at = clock_.Now();
    audit.actor = ctx.auth->user.unique_num;
    audit.wearer = incident->wearer;
    audit.action = ctx.request.method + " /api/incidents/" + std::to_string(incident->id);
    audit.detail = "guardian " + ctx.auth->user.profile.id;
    if (Status s = store_.AppendAudit(audit); !s.ok()) return s;
    return incident;
}

http::Response Api::Impl::ListIncidents(RequestContext& ctx) {
    int limit = 20;
    if (const std::string* raw = ctx.request.query_param("limit")) {
        auto [end, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), limit);
        if (ec != std::errc() || end != raw->data() + raw->size() || limit < 1 || limit > 100) {
            return ErrorResponse(Status::Error(ErrorCode::kValidationFailed, "The limit is not valid.",
                                               {{"limit", "must be a whole number from 1 to 100"}}));
        }
    }
    auto wearer = TargetWearer(ctx, "GET /api/incidents");
    if (!wearer.ok()) return ErrorResponse(wearer.status());
    auto user = store_.FindUserByUniqueNum(*wearer);
    if (!user.ok()) return ErrorResponse(user.status());
    auto rows = store_.ListIncidents(*wearer, limit);
    if (!rows.ok()) return ErrorResponse(rows.status());
    const TimePoint now = clock_.Now();
    const guidance::Language language = LanguageOf(ctx.request);
    domain::VitalsReading last;
    if (auto r = store_.RecentReadings(*wearer, 1); r.ok() && !r->empty()) last = r->front().reading;
    json::array list;
    for (const domain::Incident& i : *rows) {
        json::object o = IncidentJson(i, user->profile.id, now);
        if (i.open()) o["guidance"] = GuidanceJson(knowledge_, rewriter_, i, last, language);
        list.push_back(std::move(o));
    }
    return JsonResponse(200, json::object{{"incidents", std::move(list)}});
}

http::Response Api::Impl::GetIncident(RequestContext& ctx) {
    std::string role;
    auto incident = VisibleIncident(ctx, role);
    if (!incident.ok()) return ErrorResponse(incident.status());
    auto user = store_.FindUserByUniqueNum(incident->wearer);
    if (!user.ok()) return ErrorResponse(user.status());
    auto events = store_.IncidentEvents(incident->id);
    if (!events.ok()) return ErrorResponse(events.status());
    auto outbox = store_.IncidentOutbox(incident->id);
    if (!outbox.ok()) return ErrorResponse(outbox.status());
    domain::VitalsReading last;
    if (auto r = store_.RecentReadings(incident->wearer, 1); r.ok() && !r->empty()) last = r->front().reading;
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

http::Response Api::Impl::IncidentOk(RequestContext& ctx) {
    if (!escalation_) return ErrorResponse(Unavailable("Emergency response"));
    std::string role;
    auto incident = VisibleIncident(ctx, role);
    if (!incident.ok()) return ErrorResponse(incident.status());
    if (role != "wearer") {
        return ErrorResponse(Status::Error(ErrorCode::kForbidden, "Only the wearer can answer \"I'm OK\"."));
    }
    return IncidentAnswer(escalation_->WearerOk(incident->id), ctx.auth->user.profile.id, clock_.Now());
}

http::Response Api::Impl::IncidentAck(RequestContext& ctx) {
    if (!escalation_) return ErrorResponse(Unavailable("Emergency response"));
    std::string role;
    auto incident = VisibleIncident(ctx, role);
    if (!incident.ok()) return ErrorResponse(incident.status());
    if (role != "guardian") {
        return ErrorResponse(
            Status::Error(ErrorCode::kForbidden, "A guardian acknowledges; the wearer answers \"I'm OK\" instead."));
    }
    auto wearer = store_.FindUserByUniqueNum(incident->wearer);
    return IncidentAnswer(escalation_->GuardianAck(incident->id, ctx.auth->user.profile.id),
                          wearer.ok() ? wearer->profile.id : std::string(), clock_.Now());
}

http::Response Api::Impl::IncidentSnooze(RequestContext& ctx) {
    if (!escalation_) return ErrorResponse(Unavailable("Emergency response"));
    auto body = ParseJsonObjectBody(ctx.request);
    if (!body.ok()) return ErrorResponse(body.status());
    ObjectReader reader(*body);
    auto minutes = reader.Integer("minutes", true);
    if (Status s = reader.Finish(); !s.ok()) return ErrorResponse(s);
    std::string role;
    auto incident = VisibleIncident(ctx, role);
    if (!incident.ok()) return ErrorResponse(incident.status());
    if (role != "guardian") {
        return ErrorResponse(Status::Error(ErrorCode::kForbidden, "Only a guardian can snooze reminders."));
    }
    auto wearer = store_.FindUserByUniqueNum(incident->wearer);
    const int64_t m = std::clamp<int64_t>(*minutes, 0, 100'000);
    return IncidentAnswer(escalation_->Snooze(incident->id, ctx.auth->user.profile.id, std::chrono::minutes(m)),
                          wearer.ok() ? wearer->profile.id : std::string(), clock_.Now());
}

http::Response Api::Impl::IncidentResolve(RequestContext& ctx) {
    if (!escalation_) return ErrorResponse(Unavailable("Emergency response"));
    std::string role;
    auto incident = VisibleIncident(ctx, role);
    if (!incident.ok()) return ErrorResponse(incident.status());
    auto wearer = store_.FindUserByUniqueNum(incident->wearer);
    const std::string actor = role == "wearer" ? "wearer" : ctx.auth->user.profile.id;
    return IncidentAnswer(escalation_->Resolve(incident->id, actor), wearer.ok() ? wearer->profile.id : std::string(),
                          clock_.Now());
}

http::Response Api::Impl::EmergencyCall(RequestContext& ctx) {
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
    auto wearer_user = store_.FindUserByUniqueNum(ctx.wearer());
    if (!wearer_user.ok()) return ErrorResponse(wearer_user.status());
    auto open = store_.FindOpenIncident(ctx.wearer());
    if (!open.ok()) return ErrorResponse(open.status());
    auto established = escalation_->Established(*wearer_user, clock_.Now());
    if (!established.ok()) return ErrorResponse(established.status());
    const bool limit_address = !*established && !open->has_value();
    if (limit_address) {
        if (int wait = sos_address_limiter_.RetryAfterSeconds(ctx.client_address); wait > 0) {
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
    if (limit_address) (void)sos_address_limiter_.Record(ctx.client_address);
    auto user = store_.FindUserByUniqueNum(ctx.wearer());
    return JsonResponse(
        201, json::object{{"incident", IncidentJson(*incident, user.ok() ? user->profile.id : "", clock_.Now())}});
}

http::Response Api::Impl::PredictModel2(RequestContext& ctx) {
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
    auto user = store_.FindUserByUniqueNum(ctx.wearer());
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
    out["guidance"] =
        needs_guidance ? ComposedJson(*knowledge_, guidance::RequestFor(d, reading, LanguageOf(ctx.request))) : nullptr;
    return JsonResponse(200, out);
}

namespace {
// A link as `viewer` may see it. The other person's name is hidden (null) from the one who asked until
// the link is accepted: asking with someone's id must not tell the asker who they are. The one asked
// sees the asker's name, which the asker chose to share by asking.
json::object LinkJson(const store::GuardianLink& l, int64_t viewer) {
    const bool hide_other = l.state != "active" && ((l.requested_by == "guardian" && viewer == l.guardian) ||
                                                    (l.requested_by == "wearer" && viewer == l.wearer));
    const json::value wearer_name =
        hide_other && viewer != l.wearer ? json::value(nullptr) : json::value(l.wearer_name);
    const json::value guardian_name =
        hide_other && viewer != l.guardian ? json::value(nullptr) : json::value(l.guardian_name);
    return json::object{{"id", l.id},
                        {"wearer", json::object{{"id", l.wearer_id}, {"name", wearer_name}}},
                        {"guardian", json::object{{"id", l.guardian_id}, {"name", guardian_name}}},
                        {"state", l.state},
                        {"requested_by", l.requested_by},
                        {"created_at", FormatIso8601(l.created_at)},
                        {"accepted_at", TimeOrNull(l.accepted_at)}};
}
}  // namespace

http::Response Api::Impl::ListGuardians(RequestContext& ctx) {
    auto links = store_.ListGuardianLinks(ctx.wearer());
    if (!links.ok()) return ErrorResponse(links.status());
    json::array wearers, guardians;
    for (const auto& l : *links) {
        (l.guardian == ctx.wearer() ? wearers : guardians).push_back(LinkJson(l, ctx.wearer()));
    }
    return JsonResponse(200, json::object{{"wearers", std::move(wearers)}, {"guardians", std::move(guardians)}});
}

http::Response Api::Impl::RequestGuardianLink(RequestContext& ctx) {
    auto body = ParseJsonObjectBody(ctx.request);
    if (!body.ok()) return ErrorResponse(body.status());
    ObjectReader reader(*body);
    auto guardian_id = reader.String("guardian_id", false);
    auto wearer_id = reader.String("wearer_id", false);
    if (guardian_id.has_value() == wearer_id.has_value()) {
        reader.AddProblem(guardian_id ? "wearer_id" : "guardian_id",
                          "give exactly one of guardian_id (invite a guardian) or wearer_id (ask to watch a wearer)");
    }
    if (Status s = reader.Finish(); !s.ok()) return ErrorResponse(s);
    const std::string& other_id = guardian_id ? *guardian_id : *wearer_id;
    const char* field = guardian_id ? "guardian_id" : "wearer_id";
    if (ctx.auth && other_id == ctx.auth->user.profile.id) {  // the asker knows their own id
        return ErrorResponse(Status::Error(ErrorCode::kValidationFailed, "You cannot link to yourself.",
                                           {{field, "must be another person's id"}}));
    }
    // The asker's own list shows the requests that reached someone, so requests are counted per account.
    if (int wait = guardian_request_limiter_.TryAcquire(std::to_string(ctx.wearer()))) {
        Status s = Status::Error(ErrorCode::kRateLimited, "You have sent many guardian requests (at most " +
                                                              std::to_string(options_.guardian_requests_per_hour) +
                                                              " an hour). Please try again in " +
                                                              std::to_string((wait + 59) / 60) + " minutes.");
        s.WithRetryAfter(wait);
        return ErrorResponse(s);
    }
    auto other = store_.FindUserById(other_id);
    if (!other.ok() && other.status().code() != ErrorCode::kNotFound) return ErrorResponse(other.status());
    if (other.ok()) {
        const int64_t wearer = guardian_id ? ctx.wearer() : other->unique_num;
        const int64_t guardian = guardian_id ? other->unique_num : ctx.wearer();
        auto link = store_.CreateGuardianLink(wearer, guardian, guardian_id ? "wearer" : "guardian", clock_.Now());
        // Already asked, or already linked: the same answer as a new request.
        if (!link.ok() && link.status().code() != ErrorCode::kConflict) return ErrorResponse(link.status());
    }
    // One answer whether or not the id belongs to anyone: who is behind an id is not the asker's to know
    // (issue 15 item 3). The other person, if there is one, sees the request and may accept it.
    return JsonResponse(202, json::object{{"requested", true},
                                          {field, other_id},
                                          {"note",
                                           "If this id belongs to someone, they will see your request. Once "
                                           "they accept it, they appear in your list with their name."}});
}

namespace {
// The live link of the path that the user is on (either side); kNotFound for anything else.
Result<store::GuardianLink> MyLink(store::Store& store, const RequestContext& ctx) {
    const Status not_found = Status::Error(ErrorCode::kNotFound, "There is no such guardian link.");
    auto id = PathId(ctx, "link_id");
    if (!id.ok()) return not_found;
    auto link = store.FindGuardianLink(*id);
    if (!link.ok()) return link.status().code() == ErrorCode::kNotFound ? not_found : link.status();
    if ((link->wearer != ctx.wearer() && link->guardian != ctx.wearer()) || link->state == "ended") return not_found;
    return link;
}
}  // namespace

http::Response Api::Impl::AcceptGuardianLink(RequestContext& ctx) {
    auto link = MyLink(store_, ctx);
    if (!link.ok()) return ErrorResponse(link.status());
    const bool is_wearer = link->wearer == ctx.wearer();
    const bool is_guardian = !is_wearer;
    const bool asked_by_me =
        (is_wearer && link->requested_by == "wearer") || (is_guardian && link->requested_by == "guardian");
    if (asked_by_me) {
        return ErrorResponse(Status::Error(ErrorCode::kForbidden, "The other person has to accept this request."));
    }
    if (Status s = store_.AcceptGuardianLink(link->id, clock_.Now()); !s.ok()) return ErrorResponse(s);
    auto accepted = store_.FindGuardianLink(link->id);
    if (!accepted.ok()) return ErrorResponse(accepted.status());
    return JsonResponse(200, json::object{{"link", LinkJson(*accepted, ctx.wearer())}});
}

http::Response Api::Impl::EndGuardianLink(RequestContext& ctx) {
    auto link = MyLink(store_, ctx);
    if (!link.ok()) return ErrorResponse(link.status());
    if (Status s = store_.EndGuardianLink(link->id, clock_.Now()); !s.ok()) return ErrorResponse(s);
    CloseGuardianStreams(link->guardian, link->wearer);
    return JsonResponse(200, json::object{{"ended", true}});
}

void Api::Impl::CloseGuardianStreams(int64_t guardian, int64_t wearer) {
    std::vector<std::shared_ptr<http::WebSocketConnection>> open;
    {
        std::lock_guard lock(guardian_streams_mu_);
        auto [first, last] = guardian_streams_.equal_range({guardian, wearer});
        for (auto it = first; it != last; ++it) {
            if (auto c = it->second.lock()) open.push_back(std::move(c));
        }
        guardian_streams_.erase(first, last);
    }
    for (auto& c : open) c->Close();
}

}  // namespace vg::api
