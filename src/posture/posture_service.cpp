#include "vg/posture/posture_service.hpp"

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

// Whether an incident of `wearer` records a fall at or after `since` (server time). EscalationService::Fall
// records one as the `opened` event of a new incident of kind fall, or as a `fall` event on the wearer's
// open incident (escalation.cpp, OnFall); every transition also moves the incident's updated_at.
Result<bool> FallRecordedSince(store::Store& store, int64_t wearer, TimePoint since) {
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

PostureService::PostureService(const PostureClassifier& classifier, store::Store& store, const Clock& clock,
                               PostureListener* listener, PostureServiceOptions options)
    : classifier_(classifier), store_(store), clock_(clock), listener_(listener), options_(std::move(options)) {
    assert(options_.workers >= 1 && options_.queue_capacity >= 1);
    options_.monitor.fall_threshold = classifier_.info().fall_threshold;
    for (int i = 0; i < options_.workers; ++i) shards_.push_back(std::make_unique<Shard>());
    for (auto& shard : shards_) {
        Shard* s = shard.get();
        s->thread = std::thread([this, s] { Run(*s); });
    }
}

PostureService::~PostureService() { Stop(); }

void PostureService::Stop() {
    std::lock_guard stop_lock(stop_mu_);
    stopped_.store(true);
    for (auto& shard : shards_) {
        {
            std::lock_guard lock(shard->mu);
            shard->stopping = true;
        }
        shard->cv.notify_all();
    }
    for (auto& shard : shards_) {
        if (shard->thread.joinable()) shard->thread.join();
    }
}

void PostureService::SetMetrics(PostureMetrics* metrics) {
    std::unique_lock lock(metrics_mu_);
    metrics_ = metrics;
}

template <typename Fn>
void PostureService::WithMetrics(Fn&& fn) {
    std::shared_lock lock(metrics_mu_);
    if (metrics_ != nullptr) fn(*metrics_);
}

Result<std::vector<WindowResult>> PostureService::Submit(int64_t wearer, std::vector<TimedWindow> windows,
                                                         RecordPolicy policy) {
    if (windows.empty()) return std::vector<WindowResult>{};
    if (stopped_.load()) return Busy("Posture detection is shutting down; retry shortly.");
    const size_t n = windows.size();
    size_t queued = queued_.load();
    do {
        if (queued + n > options_.queue_capacity) {
            WithMetrics([n](PostureMetrics& m) { m.OnRejected(n); });
            return Busy("Posture detection is busy (" + std::to_string(queued) +
                        " windows waiting); retry in a second.");
        }
    } while (!queued_.compare_exchange_weak(queued, queued + n));

    Shard& shard = *shards_[static_cast<uint64_t>(wearer) % shards_.size()];
    Job job;
    job.wearer = wearer;
    job.windows = std::move(windows);
    job.policy = policy;
    job.received = clock_.Now();
    std::future<Result<std::vector<WindowResult>>> answer = job.done.get_future();
    {
        std::lock_guard lock(shard.mu);
        if (shard.stopping) {
            queued_.fetch_sub(n);
            return Busy("Posture detection is shutting down; retry shortly.");
        }
        shard.jobs.push_back(std::move(job));
    }
    shard.cv.notify_one();
    if (answer.wait_for(options_.answer_timeout) != std::future_status::ready) {
        return Busy("Posture detection is taking too long; retry in a second.");
    }
    return answer.get();
}

void PostureService::TickAll() {
    std::vector<std::future<void>> waits;
    for (auto& shard : shards_) {
        Job job;
        job.tick = std::make_shared<std::promise<void>>();
        waits.push_back(job.tick->get_future());
        {
            std::lock_guard lock(shard->mu);
            if (shard->stopping) {
                waits.pop_back();
                continue;
            }
            shard->jobs.push_back(std::move(job));
        }
        shard->cv.notify_one();
    }
    for (auto& w : waits) w.wait();
}

Status PostureService::RestoreFallSuspicions() {
    auto stored = store_.ListFallSuspicions();
    if (!stored.ok()) return stored.status();
    std::vector<store::FallSuspicion> suspicions = std::move(stored).value();
    std::vector<std::vector<store::FallSuspicion>> per_shard(shards_.size());
    for (store::FallSuspicion& f : suspicions) {
        auto reported = FallRecordedSince(store_, f.wearer, f.raised_at);
        if (!reported.ok()) return reported.status();
        if (*reported) {
            // Confirmed and escalated before the process died; only the clearing was lost.
            spdlog::info("wearer {}: the suspected fall at {} already reached an incident; not restoring it", f.wearer,
                         FormatIso8601(f.impact_at));
            VG_RETURN_IF_ERROR(store_.ClearFallSuspicion(f.wearer));
            continue;
        }
        spdlog::warn("wearer {}: restoring the fall suspected at {} (raised {}); it is decided as usual", f.wearer,
                     FormatIso8601(f.impact_at), FormatIso8601(f.raised_at));
        per_shard[static_cast<uint64_t>(f.wearer) % shards_.size()].push_back(std::move(f));
    }
    std::vector<std::future<void>> waits;
    for (size_t i = 0; i < shards_.size(); ++i) {
        if (per_shard[i].empty()) continue;
        Shard& shard = *shards_[i];
        Job job;
        job.restore_done = std::make_shared<std::promise<void>>();
        job.restore = std::move(per_shard[i]);
        std::future<void> done = job.restore_done->get_future();
        {
            std::lock_guard lock(shard.mu);
            if (shard.stopping) return Busy("Posture detection is shutting down.");
            shard.jobs.push_back(std::move(job));
        }
        shard.cv.notify_one();
        waits.push_back(std::move(done));
    }
    for (auto& w : waits) w.wait();
    return Status::Ok();
}

void PostureService::Restore(Shard& shard, const std::vector<store::FallSuspicion>& suspicions, TimePoint now) {
    for (const store::FallSuspicion& f : suspicions) {
        WearerState& st = StateOf(shard, f.wearer);
        if (st.last || st.monitor.suspected()) continue;  // windows of this process came first: theirs is newer
        FallMonitorSnapshot snapshot = ToSnapshot(f);
        // Silence counts from the restart: while the process was down the watch may have been sending (and
        // will resend what was not answered), so the downtime is not the watch's silence. A person who lies
        // still with a quiet watch is confirmed silence_after after the restart.
        snapshot.last_received = std::max(f.last_received, now);
        st.monitor.Restore(snapshot);
        st.stored = snapshot;  // the stored row differs only in last_received, which a restore replaces anyway
        st.raised_at = f.raised_at;
        st.restored_end = f.last_end;
        st.last_seen = now;
    }
}

Status PostureService::Persist(int64_t wearer, WearerState& st, TimePoint now) {
    if (st.monitor.suspected()) {
        const FallMonitorSnapshot snapshot = st.monitor.Snapshot();
        if (st.stored == snapshot) return Status::Ok();
        store::FallSuspicion row;
        row.wearer = wearer;
        row.impact_at = *snapshot.impact_at;
        row.still_run = snapshot.still_run;
        row.last_end = snapshot.last_end;
        row.last_received = snapshot.last_received;
        row.raised_at = st.raised_at;
        row.updated_at = now;
        VG_RETURN_IF_ERROR(store_.SaveFallSuspicion(row));
        st.stored = snapshot;
        return Status::Ok();
    }
    if (!st.stored) return Status::Ok();
    VG_RETURN_IF_ERROR(store_.ClearFallSuspicion(wearer));
    st.stored.reset();
    return Status::Ok();
}

void PostureService::Run(Shard& shard) {
    auto next_tick = std::chrono::steady_clock::now() + options_.tick_every;
    for (;;) {
        std::unique_lock lock(shard.mu);
        shard.cv.wait_until(lock, next_tick, [&] { return shard.stopping || !shard.jobs.empty(); });
        if (shard.jobs.empty()) {
            if (shard.stopping) return;
            lock.unlock();
            Tick(shard, clock_.Now());
            next_tick = std::chrono::steady_clock::now() + options_.tick_every;
            continue;
        }
        Job job = std::move(shard.jobs.front());
        shard.jobs.pop_front();
        lock.unlock();
        if (job.tick) {
            Tick(shard, clock_.Now());
            job.tick->set_value();
            continue;
        }
        if (job.restore_done) {
            Restore(shard, job.restore, clock_.Now());
            job.restore_done->set_value();
            continue;
        }
        queued_.fetch_sub(job.windows.size());
        Result<std::vector<WindowResult>> result = Status::Error(ErrorCode::kInternal, "not processed");
        try {
            result = Process(shard, job);
        } catch (const std::exception& e) {
            // The model (or the store) threw: this request fails; the worker and the other wearers go on.
            spdlog::error("posture classification for wearer {} failed: {}", job.wearer, e.what());
            result = Status::Error(ErrorCode::kInternal, "Posture classification failed on our side.");
        }
        job.done.set_value(std::move(result));
        if (std::chrono::steady_clock::now() >= next_tick) {
            Tick(shard, clock_.Now());
            next_tick = std::chrono::steady_clock::now() + options_.tick_every;
        }
    }
}

PostureService::WearerState& PostureService::StateOf(Shard& shard, int64_t wearer) {
    auto it = shard.wearers.find(wearer);
    if (it == shard.wearers.end()) it = shard.wearers.emplace(wearer, WearerState(options_.monitor)).first;
    WearerState& st = it->second;
    if (!st.loaded) {
        st.loaded = true;
        auto user = store_.FindUserByUniqueNum(wearer);
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

void PostureService::Record(int64_t wearer, Posture posture, TimePoint at) {
    store::PostureRow row;
    row.user_unique_num = wearer;
    row.posture = static_cast<int>(posture);
    row.updated_at = at;
    // Detection goes on when a row cannot be written: the fall monitor and the listener matter more.
    if (Status s = store_.AppendPosture(row); !s.ok()) {
        spdlog::error("recording posture {} for wearer {} failed: {}", row.posture, wearer, s.ToString());
    }
}

std::optional<int64_t> PostureService::Emit(const PostureEvent& event) {
    if (event.transition) {
        const FallState state = event.transition->state;
        WithMetrics([state](PostureMetrics& m) { m.OnFallTransition(state); });
    }
    return listener_ != nullptr ? listener_->OnPostureEvent(event) : std::nullopt;
}

Result<std::vector<WindowResult>> PostureService::Process(Shard& shard, Job& job) {
    WearerState& st = StateOf(shard, job.wearer);
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
    WithMetrics([classified, seconds](PostureMetrics& m) { m.OnClassified(classified, seconds); });

    const float threshold = classifier_.info().fall_threshold;
    std::vector<WindowResult> results;
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
                return judged.status();
            }
            for (const JudgedImpact& impact : judged->impacts) {
                spdlog::log(impact.fall ? spdlog::level::warn : spdlog::level::debug,
                            "wearer {}: impact at stream sample {} judged {} (p {:.3f})", job.wearer, impact.sample,
                            impact.fall ? "a fall" : "not a fall", impact.probability);
                judged_fall = judged_fall || impact.fall;
                WithMetrics([fall = impact.fall](PostureMetrics& m) { m.OnImpactJudged(fall); });
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
                Record(job.wearer, r.posture, r.at);
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
            const std::optional<int64_t> incident = Emit(e);
            if (t && t->state == FallState::kConfirmed && incident) r.incident_id = incident;
        };
        size_t next = 0;
        if (!transitions.empty() && transitions[0].state == FallState::kSuspected && transitions[0].at < w.timing.end) {
            Record(job.wearer, Posture::kFall, transitions[0].at);
            emit(Posture::kFall, transitions[0].at, transitions[0]);
            next = 1;
        }
        const bool changed = !st.posture || *st.posture != r.posture;
        if (job.policy == RecordPolicy::kEveryCall || changed || r.posture == Posture::kFall) {
            Record(job.wearer, r.posture, r.at);
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
    // Acknowledged means stored: the answer goes out only once the suspicion (or its end) is on disk.
    if (Status s = Persist(job.wearer, st, job.received); !s.ok()) {
        spdlog::error("storing the fall state of wearer {} failed: {}", job.wearer, s.ToString());
        if (st.monitor.suspected()) return Busy("The suspected fall could not be stored; retry in a second.");
    }
    return results;
}

Result<PostureService::JudgedWindow> PostureService::JudgeWindow(WearerState& st, const TimedWindow* previous,
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

void PostureService::Tick(Shard& shard, TimePoint now) {
    for (auto it = shard.wearers.begin(); it != shard.wearers.end();) {
        WearerState& st = it->second;
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
            Emit(event);
        }
        // Clears a suspicion the silence rule just decided, and retries a write that failed before.
        if (Status s = Persist(it->first, st, now); !s.ok()) {
            spdlog::error("storing the fall state of wearer {} failed: {}", it->first, s.ToString());
        }
        // A wearer whose stored state is out of date is kept until the store has caught up.
        if (!st.monitor.suspected() && !st.stored && now - st.last_seen > options_.forget_idle_after) {
            it = shard.wearers.erase(it);
        } else {
            ++it;
        }
    }
}

}  // namespace vg::posture
