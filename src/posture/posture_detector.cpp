#include "vg/posture/posture_detector.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <exception>

namespace vg::posture {
namespace {

// Whether `next` starts one sample period after `prev` ended, give or take a period (device timestamps
// are milliseconds; at 200 Hz a period is 5 ms, hence the 10 ms floor).
bool Contiguous(const WindowTiming& prev, const WindowTiming& next) {
    const Milliseconds gap = next.first - prev.end;
    const Milliseconds tolerance = std::max(next.period, Milliseconds(10));
    const Milliseconds off = gap - next.period;
    return off <= tolerance && -off <= tolerance;
}

// `w` starts where `previous` ended, from the same kind of sensor: one stream.
bool Continues(const TimedWindow& previous, const TimedWindow& w) {
    return Contiguous(previous.timing, w.timing) && previous.window.placement == w.window.placement &&
           previous.window.gravity_removed == w.window.gravity_removed;
}

MonitorWindow ToMonitor(const PosturePrediction& p, const ModelWindow& window, TimePoint end, TimePoint received,
                        bool boundary) {
    MonitorWindow m;
    m.end = end;
    m.received = received;
    m.fall_probability = p.fall_probability();
    m.posture = p.posture;
    m.posture_probability = p.probabilities[static_cast<size_t>(p.posture)];
    m.motion = MeasureMotion(window);
    m.gravity_removed = window.gravity_removed;
    m.boundary = boundary;
    return m;
}

// The stitched window's last sample is the 64th of the later window: 64 model periods before its end.
constexpr Milliseconds kHalfWindow{static_cast<int64_t>(kWindowSamples / 2 * 1000 / static_cast<size_t>(kModelRateHz))};

Status Busy(std::string message) {
    return Status::Error(ErrorCode::kUnavailable, std::move(message)).WithRetryAfter(1);
}

store::PostureRow Row(int64_t wearer, Posture posture, TimePoint at) {
    store::PostureRow row;
    row.user_unique_num = wearer;
    row.posture = static_cast<int>(posture);
    row.updated_at = at;
    return row;
}

// Whether an incident of `wearer` records a fall at or after `since` (server time). EscalationService::Fall
// records one as the `opened` event of a new incident of kind fall, or as a `fall` event on the wearer's
// open incident (escalation.cpp, OnFall); every transition also moves the incident's updated_at.
Result<bool> FallRecordedSince(store::IncidentStore& store, int64_t wearer, TimePoint since) {
    // At most one incident is open at a time, so a fall after `since` is on one of the newest few.
    auto incidents = store.ListIncidents(wearer, 20);
    if (!incidents.ok()) return incidents.status();
    for (const domain::Incident& incident : *incidents) {
        if (incident.updated_at < since) continue;
        auto events = store.IncidentEvents(incident.id);
        if (!events.ok()) return events.status();
        for (const domain::IncidentEvent& e : *events) {
            if (e.at < since) continue;
            if (e.type == "fall" || (e.type == "opened" && incident.kind == domain::IncidentKind::kFall)) return true;
        }
    }
    return false;
}

FallMonitorSnapshot ToSnapshot(const store::FallSuspicion& f) {
    FallMonitorSnapshot s;
    s.impact_at = f.impact_at;
    s.still_run = f.still_run;
    s.last_end = f.last_end;
    s.last_received = f.last_received;
    // No quiet period while suspected: raising a suspicion ends it (FallMonitor::Observe).
    return s;
}

}  // namespace

void DeliverPostureVerdict(PostureVerdict& verdict, const Status& committed, PostureListener* listener) {
    if (!committed.ok()) {
        spdlog::error("recording the posture of wearer {} failed: {}", verdict.wearer, committed.ToString());
        if ((verdict.save_suspicion || verdict.clear_suspicion) && verdict.store_failed) {
            verdict.store_failed->store(true);
        }
    }
    // Detection goes on when the rows could not be written: the fall and whoever must hear of it matter more.
    for (size_t i = 0; i < verdict.events.size(); ++i) {
        const std::optional<int64_t> incident =
            listener != nullptr ? listener->OnPostureEvent(verdict.events[i]) : std::nullopt;
        const std::optional<size_t> result =
            i < verdict.incident_result.size() ? verdict.incident_result[i] : std::nullopt;
        if (incident && result && *result < verdict.results.size()) verdict.results[*result].incident_id = incident;
    }
    if (!verdict.answer) return;
    WindowAnswer answer = std::move(verdict.answer);
    verdict.answer = nullptr;
    if (!verdict.error.ok()) {
        answer(verdict.error);
    } else if (!committed.ok() && verdict.save_suspicion) {
        // Acknowledged means stored: a suspected fall that is not on disk is not answered as seen.
        answer(Busy("The suspected fall could not be stored; retry in a second."));
    } else {
        answer(std::move(verdict.results));
    }
}

Result<std::vector<store::FallSuspicion>> SuspicionsToRestore(store::FallSuspicionStore& suspicions,
                                                              store::IncidentStore& incidents) {
    auto listed = suspicions.ListFallSuspicions();
    if (!listed.ok()) return listed.status();
    std::vector<store::FallSuspicion> stored = std::move(listed).value();
    std::vector<store::FallSuspicion> out;
    for (store::FallSuspicion& f : stored) {
        auto reported = FallRecordedSince(incidents, f.wearer, f.raised_at);
        if (!reported.ok()) return reported.status();
        if (*reported) {
            // Confirmed and escalated before the process died; only the clearing was lost.
            spdlog::info("wearer {}: the suspected fall at {} already reached an incident; not restoring it", f.wearer,
                         FormatIso8601(f.impact_at));
            VG_RETURN_IF_ERROR(suspicions.ClearFallSuspicion(f.wearer));
            continue;
        }
        spdlog::warn("wearer {}: restoring the fall suspected at {} (raised {}); it is decided as usual", f.wearer,
                     FormatIso8601(f.impact_at), FormatIso8601(f.raised_at));
        out.push_back(std::move(f));
    }
    return out;
}

PostureDetector::PostureDetector(const PostureClassifier& classifier, store::AccountStore& accounts,
                                 PostureVerdictSink& sink, PostureMetricsHook& metrics, int shards,
                                 PostureDetectorOptions options)
    : classifier_(classifier),
      accounts_(accounts),
      sink_(sink),
      metrics_(metrics),
      options_(std::move(options)),
      shards_(static_cast<size_t>(std::max(1, shards))) {
    assert(shards >= 1);
    options_.monitor.fall_threshold = classifier_.info().fall_threshold;
}

void PostureDetector::Restore(int shard, const store::FallSuspicion& f, TimePoint now) {
    WearerState& st = StateOf(shards_[static_cast<size_t>(shard)], f.wearer);
    if (st.last || st.monitor.suspected()) return;  // windows of this process came first: theirs is newer
    FallMonitorSnapshot snapshot = ToSnapshot(f);
    // Silence counts from the restart: while the process was down the watch may have been sending (and will
    // resend what was not answered), so the downtime is not the watch's silence. A person who lies still with
    // a quiet watch is confirmed silence_after after the restart.
    snapshot.last_received = std::max(f.last_received, now);
    st.monitor.Restore(snapshot);
    st.stored = snapshot;  // the stored row differs only in last_received, which a restore replaces anyway
    st.raised_at = f.raised_at;
    st.restored_end = f.last_end;
    st.last_seen = now;
}

void PostureDetector::Persist(int64_t wearer, WearerState& st, TimePoint now, PostureVerdict& verdict) {
    if (st.store_failed->exchange(false)) st.stored_unknown = true;
    verdict.store_failed = st.store_failed;
    if (st.monitor.suspected()) {
        const FallMonitorSnapshot snapshot = st.monitor.Snapshot();
        if (!st.stored_unknown && st.stored == snapshot) return;
        store::FallSuspicion row;
        row.wearer = wearer;
        row.impact_at = *snapshot.impact_at;
        row.still_run = snapshot.still_run;
        row.last_end = snapshot.last_end;
        row.last_received = snapshot.last_received;
        row.raised_at = st.raised_at;
        row.updated_at = now;
        verdict.save_suspicion = row;
        verdict.clear_suspicion = false;
        st.stored = snapshot;
        st.stored_unknown = false;
        return;
    }
    if (!st.stored_unknown && !st.stored) return;
    verdict.save_suspicion.reset();
    verdict.clear_suspicion = true;
    st.stored.reset();
    st.stored_unknown = false;
}

PostureDetector::WearerState& PostureDetector::StateOf(Wearers& wearers, int64_t wearer) {
    auto it = wearers.find(wearer);
    if (it == wearers.end()) it = wearers.emplace(wearer, WearerState(options_.monitor)).first;
    WearerState& st = it->second;
    if (!st.loaded) {
        st.loaded = true;
        auto user = accounts_.FindUserByUniqueNum(wearer);
        if (user.ok()) {
            if (user->user_posture && *user->user_posture >= 0 &&
                *user->user_posture < static_cast<int>(kNumPostures)) {
                st.posture = static_cast<Posture>(*user->user_posture);
            }
        } else {
            spdlog::warn("cannot read the last posture of wearer {}: {}", wearer, user.status().ToString());
        }
    }
    return st;
}

void PostureDetector::AddEvent(PostureVerdict& verdict, PostureEvent event, std::optional<size_t> incident_result) {
    if (event.transition) {
        const FallState state = event.transition->state;
        metrics_.With([state](PostureMetrics& m) { m.OnFallTransition(state); });
    }
    verdict.events.push_back(std::move(event));
    verdict.incident_result.push_back(incident_result);
}

void PostureDetector::OnWindows(int shard, std::span<WindowJob> jobs) {
    Wearers& wearers = shards_[static_cast<size_t>(shard)];
    for (WindowJob& job : jobs) {
        PostureVerdict verdict;
        verdict.wearer = job.wearer;
        verdict.answer = std::move(job.answer);
        Status status = Status::Ok();
        try {
            status = Process(wearers, job, verdict);
        } catch (const std::exception& e) {
            // The model threw: this request fails; the shard and the other wearers go on.
            spdlog::error("posture classification for wearer {} failed: {}", job.wearer, e.what());
            status = Status::Error(ErrorCode::kInternal, "Posture classification failed on our side.");
        }
        if (!status.ok()) verdict.error = status;
        const bool nothing_to_record =
            verdict.rows.empty() && verdict.events.empty() && !verdict.save_suspicion && !verdict.clear_suspicion;
        if (nothing_to_record && !status.ok()) {
            if (verdict.answer) verdict.answer(status);
            continue;
        }
        sink_.OnPostureVerdict(std::move(verdict));
    }
}

Status PostureDetector::Process(Wearers& wearers, WindowJob& job, PostureVerdict& verdict) {
    if (job.windows.empty()) return Status::Ok();
    WearerState& st = StateOf(wearers, job.wearer);
    st.last_seen = job.received;

    // Plan: which windows are late, which get a stitched companion, what goes to the model.
    struct Plan {
        bool late = false;
        size_t input = 0;
        std::optional<size_t> stitched;
    };
    std::vector<Plan> plans(job.windows.size());
    std::vector<ModelWindow> inputs;
    inputs.reserve(job.windows.size() * 2);
    const TimedWindow* prev = st.last ? &*st.last : nullptr;
    for (size_t i = 0; i < job.windows.size(); ++i) {
        const TimedWindow& w = job.windows[i];
        Plan& plan = plans[i];
        plan.late =
            prev != nullptr ? w.timing.end <= prev->timing.end : st.restored_end && w.timing.end <= *st.restored_end;
        if (!plan.late) {
            if (options_.fall_judge == nullptr && prev != nullptr && Continues(*prev, w)) {
                plan.stitched = inputs.size();
                inputs.push_back(StitchHalves(prev->window, w.window));
            }
            prev = &w;
        }
        plan.input = inputs.size();
        inputs.push_back(w.window);
    }

    const auto started = std::chrono::steady_clock::now();
    auto predicted = classifier_.Classify(inputs);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!predicted.ok()) {
        spdlog::error("posture classification for wearer {} failed: {}", job.wearer, predicted.status().ToString());
        return predicted.status();
    }
    if (predicted->size() != inputs.size()) {
        return Status::Error(ErrorCode::kInternal, "The posture model answered " + std::to_string(predicted->size()) +
                                                       " predictions for " + std::to_string(inputs.size()) +
                                                       " windows.");
    }
    const size_t classified = inputs.size();
    metrics_.With([classified, seconds](PostureMetrics& m) { m.OnClassified(classified, seconds); });

    const float threshold = classifier_.info().fall_threshold;
    std::vector<WindowResult>& results = verdict.results;
    results.reserve(job.windows.size());
    for (size_t i = 0; i < job.windows.size(); ++i) {
        const TimedWindow& w = job.windows[i];
        const Plan& plan = plans[i];
        const PosturePrediction& p = (*predicted)[plan.input];
        WindowResult r;
        r.prediction = p;
        r.at = w.timing.end;
        r.late = plan.late;
        r.posture = p.fall_probability() >= threshold ? Posture::kFall : p.posture;
        bool judged_fall = false;
        std::optional<FallEvent> dismissed_by_event;
        std::optional<std::pair<int64_t, int64_t>> window_range;
        if (options_.fall_judge != nullptr && !plan.late) {
            auto judged = JudgeWindow(st, st.last ? &*st.last : nullptr, w);
            if (!judged.ok()) {
                spdlog::error("fall judgement for wearer {} failed: {}", job.wearer, judged.status().ToString());
                Persist(job.wearer, st, job.received, verdict);
                return judged.status();
            }
            for (const JudgedImpact& impact : judged->impacts) {
                spdlog::log(impact.fall ? spdlog::level::warn : spdlog::level::debug,
                            "wearer {}: impact at stream sample {} judged {} (p {:.3f})", job.wearer, impact.sample,
                            impact.fall ? "a fall" : "not a fall", impact.probability);
                judged_fall = judged_fall || impact.fall;
                metrics_.With([fall = impact.fall](PostureMetrics& m) { m.OnImpactJudged(fall); });
            }
            window_range = {judged->first, judged->first + static_cast<int64_t>(kWindowSamples)};
            // A provisional suspicion stands when the judge found a fall; when a gap cut its stream it is left to
            // the monitor's own rules; when every impact of its windows is judged and none was a fall, it ends.
            if (judged_fall || judged->new_stream) {
                st.provisional.reset();
            } else if (st.provisional && st.judge_from >= st.provisional->second) {
                st.provisional.reset();
                dismissed_by_event = st.monitor.DismissByEvent(w.timing.end);
            }
            if (judged_fall) r.posture = Posture::kFall;
        }

        if (plan.late) {
            // Answered and recorded, but the monitor only sees windows in time order.
            if (job.policy == RecordPolicy::kEveryCall || r.posture == Posture::kFall) {
                verdict.rows.push_back(Row(job.wearer, r.posture, r.at));
            }
            if (r.posture == Posture::kFall) {
                spdlog::warn("late window of wearer {} at {} has fall probability {:.2f}; not monitored", job.wearer,
                             FormatIso8601(r.at), p.fall_probability());
            }
            r.fall = st.monitor.suspected() ? FallState::kSuspected : FallState::kNone;
            results.push_back(std::move(r));
            continue;
        }

        std::vector<FallEvent> transitions;
        if (plan.stitched) {
            const PosturePrediction& sp = (*predicted)[*plan.stitched];
            if (auto e = st.monitor.Observe(
                    ToMonitor(sp, inputs[*plan.stitched], w.timing.end - kHalfWindow, job.received, true))) {
                transitions.push_back(*e);
            }
        }
        if (dismissed_by_event) transitions.push_back(*dismissed_by_event);
        MonitorWindow monitored = ToMonitor(p, w.window, w.timing.end, job.received, false);
        monitored.judged_fall = judged_fall;
        if (auto e = st.monitor.Observe(monitored)) {
            transitions.push_back(*e);
        }
        if (window_range && !judged_fall && st.monitor.suspected() && p.fall_probability() >= threshold) {
            // This window's own probability raised or renewed the suspicion: the judge still has to speak.
            st.provisional = st.provisional ? std::pair{st.provisional->first, window_range->second} : *window_range;
        }
        const FallState after = st.monitor.suspected() ? FallState::kSuspected : FallState::kNone;

        // Rows and events, in time order. A suspicion raised by the stitched window is a Fall at its time.
        const size_t result_index = results.size();
        auto emit = [&](Posture posture, TimePoint at, const std::optional<FallEvent>& t) {
            PostureEvent e;
            e.wearer = job.wearer;
            e.posture = posture;
            e.previous = st.posture;
            e.changed = !st.posture || *st.posture != posture;
            e.fall = t ? t->state : after;
            e.transition = t;
            e.at = at;
            st.posture = posture;
            if (!e.changed && !t) return;
            const bool confirmed = t && t->state == FallState::kConfirmed;
            AddEvent(verdict, std::move(e), confirmed ? std::optional<size_t>(result_index) : std::nullopt);
        };
        size_t next = 0;
        if (!transitions.empty() && transitions[0].state == FallState::kSuspected && transitions[0].at < w.timing.end) {
            verdict.rows.push_back(Row(job.wearer, Posture::kFall, transitions[0].at));
            emit(Posture::kFall, transitions[0].at, transitions[0]);
            next = 1;
        }
        const bool changed = !st.posture || *st.posture != r.posture;
        if (job.policy == RecordPolicy::kEveryCall || changed || r.posture == Posture::kFall) {
            verdict.rows.push_back(Row(job.wearer, r.posture, r.at));
        }
        if (next == transitions.size()) {
            emit(r.posture, r.at, std::nullopt);
        } else {
            for (; next < transitions.size(); ++next) emit(r.posture, r.at, transitions[next]);
        }
        for (const FallEvent& t : transitions) {
            if (t.state == FallState::kSuspected) st.raised_at = job.received;
        }
        r.fall = transitions.empty() ? after : transitions.back().state;
        st.last = w;
        results.push_back(std::move(r));
    }
    // Acknowledged means stored: the sink answers only once the suspicion (or its end) is on disk.
    Persist(job.wearer, st, job.received, verdict);
    return Status::Ok();
}

Result<PostureDetector::JudgedWindow> PostureDetector::JudgeWindow(WearerState& st, const TimedWindow* previous,
                                                                   const TimedWindow& w) {
    const FallEventJudge& judge = *options_.fall_judge;
    JudgedWindow out;
    out.new_stream = previous == nullptr || !Continues(*previous, w);
    if (out.new_stream) {
        // A new stream: nothing before this window is known, so its index restarts past the old one.
        const int64_t next = st.stream_first + static_cast<int64_t>(st.stream.size());
        st.stream.clear();
        st.stream_first = next;
        st.judge_from = next;
    }
    out.first = st.stream_first + static_cast<int64_t>(st.stream.size());
    for (size_t t = 0; t < kWindowSamples; ++t) {
        StreamSample sample;
        std::copy_n(&w.window.values[t * kChannels], kChannels, sample.begin());
        st.stream.push_back(sample);
    }
    auto judged = judge.Judge(st.stream, st.stream_first, st.judge_from, w.window.placement, w.window.gravity_removed);
    if (!judged.ok()) return judged.status();
    st.judge_from = std::max(st.judge_from, judged->next_from);
    // Keep what the next judgement may read before judge_from; drop the rest.
    const int64_t keep_from = st.judge_from - static_cast<int64_t>(judge.context_before());
    if (keep_from > st.stream_first) {
        const auto drop = std::min<int64_t>(keep_from - st.stream_first, static_cast<int64_t>(st.stream.size()));
        st.stream.erase(st.stream.begin(), st.stream.begin() + drop);
        st.stream_first += drop;
    }
    out.impacts = std::move(judged->impacts);
    return out;
}

void PostureDetector::OnTick(int shard, TimePoint now) {
    Wearers& wearers = shards_[static_cast<size_t>(shard)];
    for (auto it = wearers.begin(); it != wearers.end();) {
        WearerState& st = it->second;
        PostureVerdict verdict;
        verdict.wearer = it->first;
        if (auto e = st.monitor.Tick(now)) {
            PostureEvent event;
            event.wearer = it->first;
            event.posture = st.posture.value_or(Posture::kFall);
            event.previous = st.posture;
            event.changed = false;
            event.fall = e->state;
            event.transition = e;
            event.at = now;
            spdlog::warn("wearer {}: no IMU window for {} s after a suspected fall; confirming it", it->first,
                         std::chrono::duration_cast<std::chrono::seconds>(options_.monitor.silence_after).count());
            AddEvent(verdict, std::move(event), std::nullopt);
        }
        // Clears a suspicion the silence rule just decided, and sends again a state whose commit failed.
        Persist(it->first, st, now, verdict);
        if (!verdict.events.empty() || verdict.save_suspicion || verdict.clear_suspicion) {
            sink_.OnPostureVerdict(std::move(verdict));
        }
        // A wearer whose stored state may be out of date is kept until the store has caught up.
        if (!st.monitor.suspected() && !st.stored && !st.stored_unknown && !st.store_failed->load() &&
            now - st.last_seen > options_.forget_idle_after) {
            it = wearers.erase(it);
        } else {
            ++it;
        }
    }
}

}  // namespace vg::posture
