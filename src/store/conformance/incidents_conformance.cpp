// IncidentStore and OutboxStore (incidents.hpp): incidents, their events, the transactional outbox.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "vg/store/store_conformance.hpp"

namespace vg::store::conformance {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

domain::IncidentEvent Event(std::string type, TimePoint at, std::string detail = "") {
    domain::IncidentEvent e;
    e.at = at;
    e.type = std::move(type);
    e.actor = "system";
    e.detail = std::move(detail);
    return e;
}

// ---- incidents ----

TEST_P(StoreConformance, IncidentTransitionsAreStoredWholeWithVersionChecks) {
    const int64_t user = CreateUserOrDie("incident_kim");
    const TimePoint t0 = kNow;
    std::vector<domain::IncidentEvent> events{Event("opened", t0, "Heart rate 150 bpm.")};
    std::vector<NewOutboxMessage> outbox{Message("incident-x-alert", t0)};
    auto saved = store().SaveIncident(DangerIncident(user, t0), events, outbox);
    ASSERT_TRUE(saved.ok()) << saved.status().ToString();
    EXPECT_GT(saved->id, 0);
    EXPECT_EQ(saved->version, 1);

    // Read back whole, including optional times and the lists.
    auto open = store().FindOpenIncident(user);
    ASSERT_TRUE(open.ok() && open->has_value());
    const domain::Incident& read = **open;
    EXPECT_EQ(read.id, saved->id);
    EXPECT_EQ(read.phase, domain::IncidentPhase::kCountdown);
    EXPECT_EQ(read.causes, (std::vector<domain::Metric>{domain::Metric::kHeartRate, domain::Metric::kSpo2}));
    EXPECT_EQ(read.rules.size(), 2u);
    EXPECT_EQ(read.deadline, t0 + seconds(60));
    EXPECT_FALSE(read.dispatched_at);

    // A second open incident for the same wearer is refused.
    auto twice = store().SaveIncident(DangerIncident(user, t0), {}, {});
    EXPECT_EQ(twice.status().code(), ErrorCode::kConflict);

    // Due by its deadline (the earliest of its times).
    EXPECT_TRUE(store().DueIncidents(t0 + seconds(59), 10)->empty());
    ASSERT_EQ(store().DueIncidents(t0 + seconds(60), 10)->size(), 1u);
    EXPECT_EQ(store().NextIncidentDue().value(), t0 + seconds(60));

    // Update with the right version; a stale version is a conflict and changes nothing.
    domain::Incident next = read;
    next.phase = domain::IncidentPhase::kDispatched;
    next.dispatched_at = t0 + seconds(60);
    next.deadline.reset();
    std::vector<NewOutboxMessage> dispatch{Message("incident-x-dispatch", t0), Message("incident-x-alert", t0)};
    auto updated = store().SaveIncident(next, {}, dispatch);
    ASSERT_TRUE(updated.ok()) << updated.status().ToString();
    EXPECT_EQ(updated->version, 2);
    auto stale = store().SaveIncident(next, {}, {});
    EXPECT_EQ(stale.status().code(), ErrorCode::kConflict);
    EXPECT_EQ(store().FindIncident(read.id)->phase, domain::IncidentPhase::kDispatched);
    // The repeated idempotency key was not written twice.
    auto messages = store().IncidentOutbox(read.id);
    ASSERT_TRUE(messages.ok());
    EXPECT_EQ(messages->size(), 2u);
    EXPECT_EQ(store().IncidentEvents(read.id)->size(), 1u);
    EXPECT_EQ(store().ListIncidents(user, 10)->size(), 1u);
}

TEST_P(StoreConformance, IncidentRoundTripsEveryField) {
    const int64_t user = CreateUserOrDie("incident_kim");
    domain::Incident in;
    in.wearer = user;
    in.kind = domain::IncidentKind::kFall;
    in.phase = domain::IncidentPhase::kGuardians;
    in.level = domain::Level::kCaution;
    in.max_level = domain::Level::kDanger;
    in.causes = {domain::Metric::kSkinTemp};
    in.rules = {"fall.confirmed"};
    in.explanation = "넘어짐이 확인되었습니다.";
    in.opened_at = kNow;
    in.updated_at = kNow + seconds(1);
    in.escalate_at = kNow + seconds(2);
    in.deadline = kNow + seconds(3);
    in.guardians_notified_at = kNow + seconds(4);
    in.next_reraise_at = kNow + seconds(5);
    in.reraise_count = 2;
    in.dispatched_at = kNow + seconds(6);
    in.acknowledged_at = kNow + seconds(7);
    in.acknowledged_by = "guardian_lee";
    in.wearer_ok_at = kNow + seconds(8);
    in.wearer_ok_until = kNow + seconds(9);
    in.snoozed_until = kNow + seconds(10);
    in.version = 42;  // ignored on insert
    auto saved = store().SaveIncident(in, {}, {});
    ASSERT_TRUE(saved.ok()) << saved.status().ToString();
    EXPECT_EQ(saved->version, 1);

    auto check = [&](const domain::Incident& r) {
        EXPECT_EQ(r.id, saved->id);
        EXPECT_EQ(r.wearer, user);
        EXPECT_EQ(r.kind, in.kind);
        EXPECT_EQ(r.phase, in.phase);
        EXPECT_EQ(r.level, in.level);
        EXPECT_EQ(r.max_level, in.max_level);
        EXPECT_EQ(r.causes, in.causes);
        EXPECT_EQ(r.rules, in.rules);
        EXPECT_EQ(r.explanation, in.explanation);
        EXPECT_EQ(r.opened_at, in.opened_at);
        EXPECT_EQ(r.updated_at, in.updated_at);
        EXPECT_EQ(r.escalate_at, in.escalate_at);
        EXPECT_EQ(r.deadline, in.deadline);
        EXPECT_EQ(r.guardians_notified_at, in.guardians_notified_at);
        EXPECT_EQ(r.next_reraise_at, in.next_reraise_at);
        EXPECT_EQ(r.reraise_count, 2);
        EXPECT_EQ(r.dispatched_at, in.dispatched_at);
        EXPECT_EQ(r.acknowledged_at, in.acknowledged_at);
        EXPECT_EQ(r.acknowledged_by, "guardian_lee");
        EXPECT_EQ(r.wearer_ok_at, in.wearer_ok_at);
        EXPECT_EQ(r.wearer_ok_until, in.wearer_ok_until);
        EXPECT_EQ(r.snoozed_until, in.snoozed_until);
        EXPECT_EQ(r.closed_at, std::nullopt);
        EXPECT_EQ(r.close_reason, domain::CloseReason::kNone);
        EXPECT_EQ(r.version, 1);
    };
    auto found = store().FindIncident(saved->id);
    ASSERT_TRUE(found.ok()) << found.status().ToString();
    check(*found);
    auto listed = store().ListIncidents(user, 10);
    ASSERT_TRUE(listed.ok());
    ASSERT_EQ(listed->size(), 1u);
    check(listed->front());

    // Closing keeps the close fields and frees the wearer.
    domain::Incident closed = *found;
    closed.phase = domain::IncidentPhase::kClosed;
    closed.closed_at = kNow + minutes(1);
    closed.close_reason = domain::CloseReason::kResolved;
    ASSERT_TRUE(store().SaveIncident(closed, {}, {}).ok());
    auto reread = store().FindIncident(saved->id);
    ASSERT_TRUE(reread.ok());
    EXPECT_EQ(reread->phase, domain::IncidentPhase::kClosed);
    EXPECT_EQ(reread->closed_at, kNow + minutes(1));
    EXPECT_EQ(reread->close_reason, domain::CloseReason::kResolved);
    EXPECT_EQ(reread->version, 2);
    EXPECT_FALSE(store().FindOpenIncident(user)->has_value());
}

TEST_P(StoreConformance, IncidentErrorsAreNotFoundOrConflictAndWriteNothing) {
    const int64_t user = CreateUserOrDie("incident_kim");
    EXPECT_EQ(store().SaveIncident(DangerIncident(user + 100, kNow), {}, {}).status().code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().FindIncident(424242).status().code(), ErrorCode::kNotFound);
    domain::Incident ghost = DangerIncident(user, kNow);
    ghost.id = 424242;
    ghost.version = 1;
    EXPECT_EQ(store().SaveIncident(ghost, {}, {}).status().code(), ErrorCode::kNotFound);
    EXPECT_FALSE(store().FindOpenIncident(user)->has_value());
    EXPECT_TRUE(store().ListIncidents(user, 10)->empty());

    auto saved = store().SaveIncident(DangerIncident(user, kNow), {}, {});
    ASSERT_TRUE(saved.ok());
    // A refused transition keeps none of its events and messages.
    std::vector<domain::IncidentEvent> events{Event("escalated", kNow)};
    std::vector<NewOutboxMessage> outbox{Message("lost-1", kNow)};
    domain::Incident stale = *saved;
    stale.version = 0;
    EXPECT_EQ(store().SaveIncident(stale, events, outbox).status().code(), ErrorCode::kConflict);
    EXPECT_EQ(store().SaveIncident(DangerIncident(user, kNow), events, outbox).status().code(), ErrorCode::kConflict);
    EXPECT_TRUE(store().IncidentEvents(saved->id)->empty());
    EXPECT_TRUE(store().IncidentOutbox(saved->id)->empty());
    EXPECT_EQ(store().NextOutboxWake().value(), std::nullopt);
    EXPECT_EQ(store().FindIncident(saved->id)->version, 1);
    // The key of a refused message is still free.
    domain::Incident next = *saved;
    auto accepted = store().SaveIncident(next, events, outbox);
    ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
    EXPECT_EQ(store().IncidentOutbox(saved->id)->size(), 1u);
    EXPECT_EQ(store().IncidentEvents(saved->id)->size(), 1u);
}

TEST_P(StoreConformance, OneOpenIncidentPerWearerClosedOnesDoNotCount) {
    const int64_t kim = CreateUserOrDie("incident_kim");
    const int64_t lee = CreateUserOrDie("incident_lee");
    auto first = store().SaveIncident(DangerIncident(kim, kNow), {}, {});
    ASSERT_TRUE(first.ok());
    EXPECT_TRUE(store().SaveIncident(DangerIncident(lee, kNow), {}, {}).ok()) << "another wearer is not affected";
    // A closed incident may be stored beside the open one (an episode recorded after the fact).
    domain::Incident closed_one = DangerIncident(kim, kNow);
    closed_one.phase = domain::IncidentPhase::kClosed;
    closed_one.closed_at = kNow;
    auto closed_saved = store().SaveIncident(closed_one, {}, {});
    ASSERT_TRUE(closed_saved.ok()) << closed_saved.status().ToString();

    // Close the first; a new one may open; reopening the first while it is open is a conflict.
    domain::Incident close = *first;
    close.phase = domain::IncidentPhase::kClosed;
    close.closed_at = kNow + minutes(1);
    auto closed = store().SaveIncident(close, {}, {});
    ASSERT_TRUE(closed.ok());
    auto second = store().SaveIncident(DangerIncident(kim, kNow + minutes(2)), {}, {});
    ASSERT_TRUE(second.ok()) << second.status().ToString();
    EXPECT_GT(second->id, first->id);
    domain::Incident reopen = *closed;
    reopen.phase = domain::IncidentPhase::kGuardians;
    reopen.closed_at.reset();
    EXPECT_EQ(store().SaveIncident(reopen, {}, {}).status().code(), ErrorCode::kConflict);
    EXPECT_EQ(store().FindIncident(first->id)->phase, domain::IncidentPhase::kClosed);
    auto open = store().FindOpenIncident(kim);
    ASSERT_TRUE(open.ok() && open->has_value());
    EXPECT_EQ((*open)->id, second->id);
}

TEST_P(StoreConformance, ListIncidentsNewestOpenedFirst) {
    const int64_t user = CreateUserOrDie("incident_kim");
    const int64_t other = CreateUserOrDie("incident_lee");
    auto closed_at = [](domain::Incident i, TimePoint at) {
        i.phase = domain::IncidentPhase::kClosed;
        i.closed_at = at;
        return i;
    };
    auto a = store().SaveIncident(closed_at(DangerIncident(user, kNow + minutes(2)), kNow), {}, {});
    auto b = store().SaveIncident(closed_at(DangerIncident(user, kNow), kNow), {}, {});
    auto c = store().SaveIncident(closed_at(DangerIncident(user, kNow + minutes(2)), kNow), {}, {});  // tie with a
    auto d = store().SaveIncident(DangerIncident(user, kNow + minutes(1)), {}, {});
    ASSERT_TRUE(store().SaveIncident(DangerIncident(other, kNow + minutes(5)), {}, {}).ok());
    ASSERT_TRUE(a.ok() && b.ok() && c.ok() && d.ok());
    auto list = store().ListIncidents(user, 10);
    ASSERT_TRUE(list.ok()) << list.status().ToString();
    ASSERT_EQ(list->size(), 4u);
    EXPECT_EQ((*list)[0].id, c->id);
    EXPECT_EQ((*list)[1].id, a->id);
    EXPECT_EQ((*list)[2].id, d->id);
    EXPECT_EQ((*list)[3].id, b->id);
    auto two = store().ListIncidents(user, 2);
    ASSERT_EQ(two->size(), 2u);
    EXPECT_EQ((*two)[1].id, a->id);
    auto one = store().ListIncidents(user, 0);
    ASSERT_EQ(one->size(), 1u);
    EXPECT_EQ(one->front().id, c->id);
    EXPECT_TRUE(store().ListIncidents(424242, 10)->empty());
}

TEST_P(StoreConformance, DueIncidentsEarliestFirstOnlyOpenOnes) {
    std::vector<int64_t> users;
    for (int i = 0; i < 5; ++i) users.push_back(CreateUserOrDie("due_" + std::to_string(i)));
    auto due_at = [&](int64_t user, TimePoint deadline) {
        domain::Incident i = DangerIncident(user, kNow);
        i.deadline = deadline;
        i.next_reraise_at.reset();
        return store().SaveIncident(i, {}, {});
    };
    auto late = due_at(users[0], kNow + seconds(30));
    auto early = due_at(users[1], kNow + seconds(10));
    auto tie = due_at(users[2], kNow + seconds(30));  // the same time as `late`: inserted later, after it
    auto future = due_at(users[3], kNow + minutes(10));
    ASSERT_TRUE(late.ok() && early.ok() && tie.ok() && future.ok());
    // A closed incident is never due, whatever its times say.
    domain::Incident closed = DangerIncident(users[4], kNow);
    closed.phase = domain::IncidentPhase::kClosed;
    closed.closed_at = kNow;
    ASSERT_TRUE(store().SaveIncident(closed, {}, {}).ok());

    auto due = store().DueIncidents(kNow + minutes(1), 10);
    ASSERT_TRUE(due.ok()) << due.status().ToString();
    ASSERT_EQ(due->size(), 3u);
    EXPECT_EQ((*due)[0].id, early->id);
    EXPECT_EQ((*due)[1].id, late->id);
    EXPECT_EQ((*due)[2].id, tie->id);
    EXPECT_EQ(store().DueIncidents(kNow + seconds(30), 10)->size(), 3u) << "due at or before now";
    auto first = store().DueIncidents(kNow + minutes(1), 0);  // clamped to 1
    ASSERT_EQ(first->size(), 1u);
    EXPECT_EQ(first->front().id, early->id);
    EXPECT_EQ(store().NextIncidentDue().value(), kNow + seconds(10));

    // Due times follow the saved state: an incident whose deadline moved is due at the new time.
    domain::Incident moved = *early;
    moved.deadline = kNow + minutes(20);
    ASSERT_TRUE(store().SaveIncident(moved, {}, {}).ok());
    EXPECT_EQ(store().NextIncidentDue().value(), kNow + seconds(30));
    EXPECT_EQ(store().DueIncidents(kNow + minutes(1), 10)->size(), 2u);
}

// Monitoring reads: open incidents counted per phase with their earliest deadline (closed ones left
// out), and the undelivered outbox per channel with its oldest message (delivered and failed left out).
TEST_P(StoreConformance, OpenIncidentsByPhaseAndTheOutboxBacklogForMonitoring) {
    EXPECT_TRUE(store().OpenIncidentsByPhase()->empty());
    EXPECT_TRUE(store().OutboxBacklogByChannel()->empty());
    std::vector<int64_t> users;
    for (int i = 0; i < 4; ++i) users.push_back(CreateUserOrDie("monitor_" + std::to_string(i)));
    domain::Incident late = DangerIncident(users[0], kNow);  // countdown, deadline kNow + 60 s
    domain::Incident soon = DangerIncident(users[1], kNow + seconds(5));
    soon.deadline = kNow + seconds(20);
    domain::Incident waiting = DangerIncident(users[2], kNow);
    waiting.phase = domain::IncidentPhase::kGuardians;
    waiting.deadline.reset();
    domain::Incident closed = DangerIncident(users[3], kNow);
    closed.phase = domain::IncidentPhase::kClosed;
    closed.closed_at = kNow;
    NewOutboxMessage sms_old = Message("m1", kNow - seconds(90));
    NewOutboxMessage sms_new = Message("m2", kNow);
    NewOutboxMessage call = Message("m3", kNow - seconds(10));
    call.channel = "emergency";
    NewOutboxMessage done = Message("m4", kNow - minutes(10));
    done.channel = "webhook";
    ASSERT_TRUE(store().SaveIncident(late, {}, std::vector<NewOutboxMessage>{sms_old, done}).ok());
    ASSERT_TRUE(store().SaveIncident(soon, {}, std::vector<NewOutboxMessage>{sms_new, call}).ok());
    ASSERT_TRUE(store().SaveIncident(waiting, {}, {}).ok());
    ASSERT_TRUE(store().SaveIncident(closed, {}, {}).ok());
    // The webhook message is delivered; one SMS is being delivered (still undelivered).
    auto claimed = store().ClaimOutbox(kNow, 10, seconds(30));
    ASSERT_TRUE(claimed.ok());
    for (const OutboxMessage& m : *claimed) {
        if (m.channel == "webhook") {
            ASSERT_TRUE(store().MarkOutboxDelivered(m.id, m.attempts, kNow, "ok").ok());
        }
        if (m.idempotency_key == "m3") {
            ASSERT_TRUE(store().ReleaseOutbox(m.id, m.attempts).ok());
        }
    }

    auto phases = store().OpenIncidentsByPhase();
    ASSERT_TRUE(phases.ok()) << phases.status().ToString();
    ASSERT_EQ(phases->size(), 2u);
    EXPECT_EQ((*phases)[0].phase, domain::IncidentPhase::kGuardians);
    EXPECT_EQ((*phases)[0].incidents, 1);
    EXPECT_EQ((*phases)[0].earliest_deadline, std::nullopt);
    EXPECT_EQ((*phases)[1].phase, domain::IncidentPhase::kCountdown);
    EXPECT_EQ((*phases)[1].incidents, 2);
    EXPECT_EQ((*phases)[1].earliest_deadline, kNow + seconds(20));

    auto backlog = store().OutboxBacklogByChannel();
    ASSERT_TRUE(backlog.ok()) << backlog.status().ToString();
    ASSERT_EQ(backlog->size(), 2u) << "the delivered webhook message is not waiting";
    EXPECT_EQ((*backlog)[0].channel, "emergency");
    EXPECT_EQ((*backlog)[0].messages, 1);
    EXPECT_EQ((*backlog)[0].oldest_created_at, kNow - seconds(10));
    EXPECT_EQ((*backlog)[1].channel, "sms");
    EXPECT_EQ((*backlog)[1].messages, 2) << "pending and delivering both wait";
    EXPECT_EQ((*backlog)[1].oldest_created_at, kNow - seconds(90));
}

TEST_P(StoreConformance, NoIncidentDueWhenNoneIsOpen) {
    EXPECT_EQ(store().NextIncidentDue().value(), std::nullopt);
    EXPECT_TRUE(store().DueIncidents(kNow, 10)->empty());
    const int64_t user = CreateUserOrDie("incident_kim");
    domain::Incident waiting = DangerIncident(user, kNow);  // open, but only an event can move it
    waiting.phase = domain::IncidentPhase::kGuardians;
    waiting.deadline.reset();
    waiting.next_reraise_at.reset();
    ASSERT_TRUE(store().SaveIncident(waiting, {}, {}).ok());
    EXPECT_EQ(store().NextIncidentDue().value(), std::nullopt);
    EXPECT_TRUE(store().DueIncidents(kNow + minutes(60), 10)->empty());
}

TEST_P(StoreConformance, IncidentEventsOldestFirstWithTheirIds) {
    const int64_t user = CreateUserOrDie("incident_kim");
    std::vector<domain::IncidentEvent> opened{Event("opened", kNow, "Heart rate 150 bpm."),
                                              Event("countdown_started", kNow, "60 s")};
    opened[1].actor = "wearer";
    opened[0].id = 999;  // ignored: assigned by the store
    auto saved = store().SaveIncident(DangerIncident(user, kNow), opened, {});
    ASSERT_TRUE(saved.ok());
    domain::Incident next = *saved;
    next.phase = domain::IncidentPhase::kDispatched;
    std::vector<domain::IncidentEvent> dispatched{Event("dispatched", kNow - seconds(5))};  // earlier time, later step
    ASSERT_TRUE(store().SaveIncident(next, dispatched, {}).ok());

    auto events = store().IncidentEvents(saved->id);
    ASSERT_TRUE(events.ok()) << events.status().ToString();
    ASSERT_EQ(events->size(), 3u);
    EXPECT_EQ((*events)[0].type, "opened");
    EXPECT_EQ((*events)[0].detail, "Heart rate 150 bpm.");
    EXPECT_EQ((*events)[0].actor, "system");
    EXPECT_EQ((*events)[0].at, kNow);
    EXPECT_EQ((*events)[1].type, "countdown_started");
    EXPECT_EQ((*events)[1].actor, "wearer");
    EXPECT_EQ((*events)[2].type, "dispatched");
    EXPECT_EQ((*events)[2].at, kNow - seconds(5));
    for (const domain::IncidentEvent& e : *events) EXPECT_EQ(e.incident_id, saved->id);
    EXPECT_GT((*events)[0].id, 0);
    EXPECT_LT((*events)[0].id, (*events)[1].id);
    EXPECT_LT((*events)[1].id, (*events)[2].id);
    EXPECT_TRUE(store().IncidentEvents(424242)->empty());
}

TEST_P(StoreConformance, ConcurrentOpenersGetOneIncident) {
    const int64_t user = CreateUserOrDie("racing_kim");
    constexpr int kThreads = 8;
    std::atomic<int> opened = 0;
    std::atomic<int> conflicts = 0;
    std::atomic<int> other = 0;
    Store& s = store();
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            std::vector<NewOutboxMessage> outbox{Message("race-" + std::to_string(t), kNow)};
            auto saved = s.SaveIncident(DangerIncident(user, kNow), {}, outbox);
            if (saved.ok()) {
                ++opened;
            } else if (saved.status().code() == ErrorCode::kConflict) {
                ++conflicts;
            } else {
                ++other;
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(opened.load(), 1);
    EXPECT_EQ(conflicts.load(), kThreads - 1);
    EXPECT_EQ(other.load(), 0);
    EXPECT_EQ(store().ListIncidents(user, 10)->size(), 1u);
    EXPECT_EQ(store().ClaimOutbox(kNow, 100, seconds(30))->size(), 1u) << "only the winner's message was written";
}

// ---- outbox ----

TEST_P(StoreConformance, OutboxClaimsLeaseRetryAndDeliverWithFencing) {
    const int64_t user = CreateUserOrDie("outbox_kim");
    const TimePoint t0 = kNow;
    std::vector<NewOutboxMessage> outbox{Message("k1", t0), Message("k2", t0 + seconds(10))};
    auto saved = store().SaveIncident(DangerIncident(user, t0), {}, outbox);
    ASSERT_TRUE(saved.ok());
    EXPECT_EQ(store().NextOutboxWake().value(), t0);

    auto claimed = store().ClaimOutbox(t0, 10, seconds(30));
    ASSERT_TRUE(claimed.ok());
    ASSERT_EQ(claimed->size(), 1u) << "k2 is not due yet";
    const OutboxMessage m = claimed->front();
    EXPECT_EQ(m.idempotency_key, "k1");
    EXPECT_EQ(m.attempts, 1);
    EXPECT_EQ(m.state, "delivering");
    EXPECT_EQ(m.leased_until, t0 + seconds(30));
    EXPECT_EQ(m.body, "김영희 님이 위험 상태입니다.");
    // Not claimable again while leased; back after the lease runs out (a crashed worker).
    EXPECT_TRUE(store().ClaimOutbox(t0 + seconds(5), 10, seconds(30))->empty());
    auto reclaimed = store().ClaimOutbox(t0 + seconds(31), 1, seconds(30));
    ASSERT_EQ(reclaimed->size(), 1u);
    EXPECT_EQ(reclaimed->front().id, m.id) << "k1 is the oldest due";
    EXPECT_EQ(reclaimed->front().attempts, 2);
    // The first worker's late report is fenced off; the current one's retry counts.
    EXPECT_EQ(store().MarkOutboxFailed(m.id, 1, t0 + seconds(32), "timeout", t0 + minutes(1)).code(),
              ErrorCode::kConflict);
    ASSERT_TRUE(store().MarkOutboxFailed(m.id, 2, t0 + seconds(32), "HTTP 503", t0 + minutes(1)).ok());
    auto state = store().FindOutbox(m.id);
    EXPECT_EQ(state->state, "pending");
    EXPECT_EQ(state->last_error, "HTTP 503");
    EXPECT_EQ(state->last_attempt_at, t0 + seconds(32));
    EXPECT_EQ(state->next_attempt_at, t0 + minutes(1));
    EXPECT_EQ(state->leased_until, std::nullopt);
    auto third = store().ClaimOutbox(t0 + minutes(1), 10, seconds(30));
    ASSERT_EQ(third->size(), 2u);  // k1 (retry) and k2
    ASSERT_TRUE(store().MarkOutboxDelivered(m.id, 3, t0 + minutes(1), "HTTP 202").ok());
    EXPECT_EQ(store().FindOutbox(m.id)->state, "delivered");
    EXPECT_EQ(store().FindOutbox(m.id)->delivered_detail, "HTTP 202");
    EXPECT_EQ(store().FindOutbox(m.id)->delivered_at, t0 + minutes(1));
    EXPECT_EQ(store().FindOutbox(m.id)->leased_until, std::nullopt);
    // Permanent failure, and release of an unattempted claim.
    const OutboxMessage& k2_claim = (*third)[0].idempotency_key == "k2" ? (*third)[0] : (*third)[1];
    ASSERT_EQ(k2_claim.idempotency_key, "k2");
    const int64_t k2 = k2_claim.id;
    ASSERT_TRUE(store().ReleaseOutbox(k2, k2_claim.attempts).ok());
    EXPECT_EQ(store().FindOutbox(k2)->attempts, 0);
    EXPECT_EQ(store().FindOutbox(k2)->state, "pending");
    EXPECT_EQ(store().FindOutbox(k2)->leased_until, std::nullopt);
    auto fourth = store().ClaimOutbox(t0 + minutes(2), 10, seconds(30));
    ASSERT_EQ(fourth->size(), 1u);
    ASSERT_TRUE(store().MarkOutboxFailed(k2, 1, t0 + minutes(2), "HTTP 400", std::nullopt).ok());
    EXPECT_EQ(store().FindOutbox(k2)->state, "failed");
    EXPECT_EQ(store().FindOutbox(k2)->last_error, "HTTP 400");
    EXPECT_FALSE(store().NextOutboxWake().value().has_value());
    EXPECT_TRUE(store().ClaimOutbox(t0 + minutes(60), 10, seconds(30))->empty()) << "delivered and failed stay put";
}

// A lease runs out strictly after leased_until; a released claim is due at once and keeps its due time.
TEST_P(StoreConformance, LeaseRunsOutAfterLeasedUntilAndReleaseMakesItDueAtOnce) {
    const int64_t user = CreateUserOrDie("outbox_kim");
    std::vector<NewOutboxMessage> outbox{Message("k1", kNow)};
    auto saved = store().SaveIncident(DangerIncident(user, kNow), {}, outbox);
    ASSERT_TRUE(saved.ok());
    auto claimed = store().ClaimOutbox(kNow, 10, seconds(30));
    ASSERT_EQ(claimed->size(), 1u);
    const int64_t id = claimed->front().id;
    EXPECT_EQ(store().NextOutboxWake().value(), kNow + seconds(30));
    EXPECT_TRUE(store().ClaimOutbox(kNow + seconds(30), 10, seconds(30))->empty()) << "the lease still holds";
    auto again = store().ClaimOutbox(kNow + seconds(30) + Milliseconds(1), 10, seconds(30));
    ASSERT_EQ(again->size(), 1u);
    EXPECT_EQ(again->front().attempts, 2);
    EXPECT_EQ(again->front().next_attempt_at, kNow) << "a claim does not move the due time";
    ASSERT_TRUE(store().ReleaseOutbox(id, 2).ok());
    EXPECT_EQ(store().NextOutboxWake().value(), kNow);
    auto released = store().ClaimOutbox(kNow + seconds(31), 10, seconds(30));
    ASSERT_EQ(released->size(), 1u);
    EXPECT_EQ(released->front().attempts, 2) << "the released attempt did not count";
}

TEST_P(StoreConformance, OutboxMessagesRoundTripAndKeysAreUniqueAcrossIncidents) {
    const int64_t kim = CreateUserOrDie("outbox_kim");
    const int64_t lee = CreateUserOrDie("outbox_lee");
    NewOutboxMessage webhook;
    webhook.channel = "webhook";
    webhook.recipient = "https://example.org/hook?a=1&b=2";
    webhook.subject = "VitalGuard alert";
    webhook.body = "body text";
    webhook.payload_json = R"({"incident":1,"level":"danger"})";
    webhook.idempotency_key = "shared-key";
    webhook.created_at = kNow - seconds(1);
    webhook.next_attempt_at = kNow + seconds(2);
    std::vector<NewOutboxMessage> first{webhook, Message("kim-2", kNow), Message("kim-2", kNow + seconds(9))};
    auto a = store().SaveIncident(DangerIncident(kim, kNow), {}, first);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    std::vector<NewOutboxMessage> second{Message("shared-key", kNow), Message("lee-1", kNow)};
    auto b = store().SaveIncident(DangerIncident(lee, kNow), {}, second);
    ASSERT_TRUE(b.ok()) << b.status().ToString();

    auto of_a = store().IncidentOutbox(a->id);
    ASSERT_TRUE(of_a.ok());
    ASSERT_EQ(of_a->size(), 2u) << "a key repeated in the same call is written once";
    const OutboxMessage& w = (*of_a)[0];
    EXPECT_GT(w.id, 0);
    EXPECT_EQ(w.incident_id, a->id);
    EXPECT_EQ(w.channel, "webhook");
    EXPECT_EQ(w.recipient, webhook.recipient);
    EXPECT_EQ(w.subject, webhook.subject);
    EXPECT_EQ(w.body, webhook.body);
    EXPECT_EQ(w.payload_json, webhook.payload_json);
    EXPECT_EQ(w.idempotency_key, "shared-key");
    EXPECT_EQ(w.attempts, 0);
    EXPECT_EQ(w.created_at, kNow - seconds(1));
    EXPECT_EQ(w.next_attempt_at, kNow + seconds(2));
    EXPECT_EQ(w.state, "pending");
    EXPECT_EQ(w.leased_until, std::nullopt);
    EXPECT_EQ(w.last_attempt_at, std::nullopt);
    EXPECT_EQ(w.last_error, "");
    EXPECT_EQ(w.delivered_at, std::nullopt);
    EXPECT_EQ(w.delivered_detail, "");
    EXPECT_EQ((*of_a)[1].idempotency_key, "kim-2");
    EXPECT_EQ((*of_a)[1].next_attempt_at, kNow) << "the first of the repeated key is the one kept";
    EXPECT_LT((*of_a)[0].id, (*of_a)[1].id);
    auto found = store().FindOutbox(w.id);
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->payload_json, webhook.payload_json);

    auto of_b = store().IncidentOutbox(b->id);
    ASSERT_TRUE(of_b.ok());
    ASSERT_EQ(of_b->size(), 1u) << "a key another incident used is skipped";
    EXPECT_EQ((*of_b)[0].idempotency_key, "lee-1");
    EXPECT_TRUE(store().IncidentOutbox(424242)->empty());
    EXPECT_EQ(store().FindOutbox(424242).status().code(), ErrorCode::kNotFound);
}

TEST_P(StoreConformance, ClaimOutboxTakesTheOldestDueFirstUpToMaxItems) {
    const int64_t user = CreateUserOrDie("outbox_kim");
    std::vector<NewOutboxMessage> outbox{Message("c", kNow + seconds(3)), Message("a", kNow + seconds(1)),
                                         Message("b2", kNow + seconds(2)), Message("b1", kNow + seconds(2))};
    ASSERT_TRUE(store().SaveIncident(DangerIncident(user, kNow), {}, outbox).ok());
    EXPECT_TRUE(store().ClaimOutbox(kNow + seconds(10), 0, seconds(30))->empty()) << "max_items 0 claims nothing";
    EXPECT_EQ(store().NextOutboxWake().value(), kNow + seconds(1));
    auto first = store().ClaimOutbox(kNow + seconds(10), 2, seconds(30));
    ASSERT_TRUE(first.ok());
    ASSERT_EQ(first->size(), 2u);
    EXPECT_EQ((*first)[0].idempotency_key, "a");
    EXPECT_EQ((*first)[1].idempotency_key, "b2") << "a tie in next_attempt_at: the one written first";
    auto rest = store().ClaimOutbox(kNow + seconds(10), 10, seconds(30));
    ASSERT_EQ(rest->size(), 2u);
    EXPECT_EQ((*rest)[0].idempotency_key, "b1");
    EXPECT_EQ((*rest)[1].idempotency_key, "c");
    // Everything is leased now: the next wake-up is when the first lease runs out.
    EXPECT_EQ(store().NextOutboxWake().value(), kNow + seconds(40));
}

TEST_P(StoreConformance, OutboxReportsAreFencedByAttempt) {
    const int64_t user = CreateUserOrDie("outbox_kim");
    std::vector<NewOutboxMessage> outbox{Message("m", kNow)};
    ASSERT_TRUE(store().SaveIncident(DangerIncident(user, kNow), {}, outbox).ok());
    // Nothing is claimed yet: no failure or release can be reported.
    auto pending = store().ClaimOutbox(kNow - seconds(1), 10, seconds(30));
    ASSERT_TRUE(pending->empty());
    const int64_t id = store().IncidentOutbox(store().FindOpenIncident(user)->value().id)->front().id;
    EXPECT_EQ(store().MarkOutboxFailed(id, 0, kNow, "x", kNow).code(), ErrorCode::kConflict);
    EXPECT_EQ(store().ReleaseOutbox(id, 0).code(), ErrorCode::kConflict);
    auto claimed = store().ClaimOutbox(kNow, 10, seconds(30));
    ASSERT_EQ(claimed->size(), 1u);
    EXPECT_EQ(store().ReleaseOutbox(id, 2).code(), ErrorCode::kConflict) << "not the current attempt";
    EXPECT_EQ(store().MarkOutboxFailed(id, 2, kNow, "x", std::nullopt).code(), ErrorCode::kConflict);
    EXPECT_EQ(store().FindOutbox(id)->state, "delivering") << "refused reports change nothing";
    EXPECT_EQ(store().FindOutbox(id)->last_error, "");
    // Unknown messages.
    EXPECT_EQ(store().MarkOutboxFailed(424242, 1, kNow, "x", kNow).code(), ErrorCode::kConflict);
    EXPECT_EQ(store().ReleaseOutbox(424242, 1).code(), ErrorCode::kConflict);
    EXPECT_EQ(store().MarkOutboxDelivered(424242, 1, kNow, "ok").code(), ErrorCode::kConflict);
    // A delivery wins whatever the attempt, even after the message failed for good; only once.
    ASSERT_TRUE(store().MarkOutboxFailed(id, 1, kNow + seconds(1), "HTTP 400", std::nullopt).ok());
    EXPECT_EQ(store().FindOutbox(id)->state, "failed");
    ASSERT_TRUE(store().MarkOutboxDelivered(id, 7, kNow + seconds(2), "late HTTP 200").ok());
    auto delivered = store().FindOutbox(id);
    EXPECT_EQ(delivered->state, "delivered");
    EXPECT_EQ(delivered->delivered_detail, "late HTTP 200");
    EXPECT_EQ(delivered->last_attempt_at, kNow + seconds(2));
    EXPECT_EQ(store().MarkOutboxDelivered(id, 1, kNow + seconds(3), "again").code(), ErrorCode::kConflict);
    EXPECT_EQ(store().FindOutbox(id)->delivered_detail, "late HTTP 200");
    EXPECT_EQ(store().MarkOutboxFailed(id, 1, kNow, "x", kNow).code(), ErrorCode::kConflict);
}

TEST_P(StoreConformance, ConcurrentClaimsNeverReturnTheSameMessage) {
    const int64_t user = CreateUserOrDie("outbox_kim");
    constexpr int kMessages = 200;
    std::vector<NewOutboxMessage> outbox;
    for (int i = 0; i < kMessages; ++i) outbox.push_back(Message("m" + std::to_string(i), kNow));
    ASSERT_TRUE(store().SaveIncident(DangerIncident(user, kNow), {}, outbox).ok());
    constexpr int kWorkers = 8;
    std::mutex mu;
    std::multiset<int64_t> claimed;
    std::atomic<int> errors = 0;
    Store& s = store();
    std::vector<std::thread> workers;
    for (int w = 0; w < kWorkers; ++w) {
        workers.emplace_back([&] {
            while (true) {
                auto batch = s.ClaimOutbox(kNow, 7, minutes(5));
                if (!batch.ok()) {
                    ++errors;
                    return;
                }
                if (batch->empty()) return;
                std::lock_guard lock(mu);
                for (const OutboxMessage& m : *batch) claimed.insert(m.id);
            }
        });
    }
    for (auto& th : workers) th.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(claimed.size(), static_cast<size_t>(kMessages));
    EXPECT_EQ(std::set<int64_t>(claimed.begin(), claimed.end()).size(), static_cast<size_t>(kMessages));
}

}  // namespace
}  // namespace vg::store::conformance
