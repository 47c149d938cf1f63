// StatusStore (statuses.hpp): the seed's UserStatus and UserPosture.

#include <chrono>
#include <string>
#include <vector>

#include "vg/store/store_conformance.hpp"

namespace vg::store::conformance {
namespace {

using std::chrono::minutes;

TEST_P(StoreConformance, AppendStatusUpdatesDangerDegreeAndHistory) {
    int64_t user = CreateUserOrDie("wearer");
    ASSERT_TRUE(store().AppendStatus(StatusRow{user, 1, kT0 + minutes(1), {}, {}, {}}).ok());
    ASSERT_TRUE(store().AppendStatus(StatusRow{user, 2, kT0 + minutes(3), {}, {}, {}}).ok());
    ASSERT_TRUE(store().AppendStatus(StatusRow{user, 0, kT0 + minutes(2), {}, {}, {}}).ok());  // out of order in time
    ASSERT_TRUE(
        store().AppendStatus(StatusRow{user, 1, kT0 + minutes(3), {}, {}, {}}).ok());  // same time as an earlier row

    auto found = store().FindUserByUniqueNum(user);
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->danger_degree, 1);  // the last appended

    auto rows = store().RecentStatuses(user, 10);
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    ASSERT_EQ(rows->size(), 4u);
    // Newest first; the tie at minute 3 goes to the row inserted last.
    EXPECT_EQ((*rows)[0].status, 1);
    EXPECT_EQ((*rows)[0].updated_at, kT0 + minutes(3));
    EXPECT_EQ((*rows)[1].status, 2);
    EXPECT_EQ((*rows)[1].updated_at, kT0 + minutes(3));
    EXPECT_EQ((*rows)[2].status, 0);
    EXPECT_EQ((*rows)[3].status, 1);
    EXPECT_EQ((*rows)[3].updated_at, kT0 + minutes(1));
    for (const StatusRow& row : *rows) EXPECT_EQ(row.user_unique_num, user);

    auto two = store().RecentStatuses(user, 2);
    ASSERT_TRUE(two.ok());
    EXPECT_EQ(two->size(), 2u);
}

TEST_P(StoreConformance, StatusRowsKeepCausesAndExplanation) {
    const int64_t user = CreateUserOrDie("status_user");
    StatusRow row{user, 2, kT0, "heart_rate,spo2", "Heart rate 150 bpm is very high.", FromUnixMillis(12345)};
    ASSERT_TRUE(store().AppendStatus(row).ok());
    auto rows = store().RecentStatuses(user, 10);
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_EQ((*rows)[0].causes, "heart_rate,spo2");
    EXPECT_EQ((*rows)[0].explanation, "Heart rate 150 bpm is very high.");
    EXPECT_EQ((*rows)[0].reading_at, FromUnixMillis(12345));
    EXPECT_EQ(store().FindUserByUniqueNum(user)->danger_degree, 2);
    // Empty causes and explanation and no reading time stay empty.
    ASSERT_TRUE(store().AppendStatus(StatusRow{user, 0, kT0 + minutes(1), {}, {}, {}}).ok());
    rows = store().RecentStatuses(user, 1);
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_EQ((*rows)[0].causes, "");
    EXPECT_EQ((*rows)[0].explanation, "");
    EXPECT_EQ((*rows)[0].reading_at, std::nullopt);
}

// A row whose level equals the user's danger_degree still counts (SQLite leaves the user's page alone
// then), and a missing user is kNotFound whatever the level.
TEST_P(StoreConformance, AStatusRowThatLeavesTheLevelAsItWasIsStoredAndAMissingUserIsNotFound) {
    const int64_t user = CreateUserOrDie("steady");
    ASSERT_TRUE(store().AppendStatus(StatusRow{user, 0, kT0 + minutes(1), {}, {}, {}}).ok());
    ASSERT_TRUE(store().AppendStatus(StatusRow{user, 0, kT0 + minutes(2), {}, {}, {}}).ok());
    EXPECT_EQ(store().FindUserByUniqueNum(user)->danger_degree, 0);
    EXPECT_EQ(store().RecentStatuses(user, 10)->size(), 2u);
    EXPECT_EQ(store().AppendStatus(StatusRow{user + 100, 0, kT0 + minutes(1), {}, {}, {}}).code(),
              ErrorCode::kNotFound);
    EXPECT_EQ(store().RecentStatuses(user + 100, 10)->size(), 0u);
}

TEST_P(StoreConformance, AppendStatusesWritesEveryRowInOrderAndSkipsMissingUsers) {
    const int64_t a = CreateUserOrDie("wearer_a");
    const int64_t b = CreateUserOrDie("wearer_b");
    const std::vector<StatusRow> rows{StatusRow{a, 1, kT0 + minutes(1), "heart_rate", "fast", kT0},
                                      StatusRow{b + 100, 2, kT0 + minutes(1), {}, {}, {}},
                                      StatusRow{b, 2, kT0 + minutes(1), {}, {}, {}},
                                      StatusRow{a, 0, kT0 + minutes(2), {}, {}, {}}};
    auto results = store().AppendStatuses(rows);
    ASSERT_TRUE(results.ok()) << results.status().ToString();
    ASSERT_EQ(results->size(), 4u);
    EXPECT_TRUE((*results)[0].ok());
    EXPECT_EQ((*results)[1].code(), ErrorCode::kNotFound);
    EXPECT_TRUE((*results)[2].ok());
    EXPECT_TRUE((*results)[3].ok());
    EXPECT_EQ(store().FindUserByUniqueNum(a)->danger_degree, 0);  // the last row of a
    EXPECT_EQ(store().FindUserByUniqueNum(b)->danger_degree, 2);
    auto of_a = store().RecentStatuses(a, 10);
    ASSERT_TRUE(of_a.ok());
    ASSERT_EQ(of_a->size(), 2u);
    EXPECT_EQ((*of_a)[1].causes, "heart_rate");
    EXPECT_EQ((*of_a)[1].explanation, "fast");
    EXPECT_EQ((*of_a)[1].reading_at, kT0);
    EXPECT_TRUE(store().RecentStatuses(b + 100, 10)->empty());

    // A row the store refuses (status 3) fails the whole call and keeps nothing of it.
    const std::vector<StatusRow> bad{StatusRow{b, 1, kT0 + minutes(3), {}, {}, {}},
                                     StatusRow{b, 3, kT0 + minutes(3), {}, {}, {}}};
    EXPECT_EQ(store().AppendStatuses(bad).status().code(), ErrorCode::kInternal);
    EXPECT_EQ(store().RecentStatuses(b, 10)->size(), 1u);
    EXPECT_EQ(store().FindUserByUniqueNum(b)->danger_degree, 2);
    auto empty = store().AppendStatuses({});
    ASSERT_TRUE(empty.ok());
    EXPECT_TRUE(empty->empty());
}

// The verdict stage's one write: a reading evaluated before it was stored, together with its status row.
TEST_P(StoreConformance, RecordVerdictsStoresReadingsAndRowsTogetherAndSkipsMissingUsers) {
    const int64_t a = CreateUserOrDie("wearer_a");
    const int64_t b = CreateUserOrDie("wearer_b");
    auto watch = store().CreateDevice(NewDevice{a, "watch", "token-hash-a", kT0});
    ASSERT_TRUE(watch.ok()) << watch.status().ToString();
    auto reading_at = [](int minute) {
        IncomingReading in;
        in.reading.measured_at = kT0 + minutes(minute);
        in.reading.values[0] = 72;
        return in;
    };
    std::vector<VerdictRecord> records(4);
    records[0].user_unique_num = a;  // a reading and its row
    records[0].reading = reading_at(1);
    records[0].received_at = kT0 + minutes(1);
    records[0].row = StatusRow{a, 1, kT0 + minutes(1), "heart_rate", "fast", kT0 + minutes(1)};
    records[1].user_unique_num = b + 100;  // no such user: skipped alone
    records[1].reading = reading_at(1);
    records[1].row = StatusRow{b + 100, 1, kT0 + minutes(1), {}, {}, {}};
    records[2].user_unique_num = b;  // a row only (a level change of a reading stored before)
    records[2].row = StatusRow{b, 2, kT0 + minutes(1), {}, {}, {}};
    records[3].user_unique_num = a;  // a device's reading with its sequence number, no row
    records[3].reading = reading_at(2);
    records[3].reading->device_seq = 7;
    records[3].device_id = watch->device_id;
    records[3].received_at = kT0 + minutes(2);
    auto results = store().RecordVerdicts(records);
    ASSERT_TRUE(results.ok()) << results.status().ToString();
    ASSERT_EQ(results->size(), 4u);
    EXPECT_TRUE((*results)[0].ok());
    EXPECT_EQ((*results)[1].code(), ErrorCode::kNotFound);
    EXPECT_TRUE((*results)[2].ok());
    EXPECT_TRUE((*results)[3].ok());
    auto readings_of_a = store().RecentReadings(a, 10);
    ASSERT_TRUE(readings_of_a.ok());
    ASSERT_EQ(readings_of_a->size(), 2u);
    EXPECT_EQ((*readings_of_a)[0].device_id, watch->device_id);
    EXPECT_EQ((*readings_of_a)[0].device_seq, 7);
    EXPECT_EQ((*readings_of_a)[1].received_at, kT0 + minutes(1));
    EXPECT_EQ((*readings_of_a)[1].device_id, std::nullopt);
    EXPECT_EQ(store().RecentStatuses(a, 10)->size(), 1u);
    EXPECT_EQ(store().FindUserByUniqueNum(a)->danger_degree, 1);
    EXPECT_EQ(store().FindUserByUniqueNum(b)->danger_degree, 2);
    EXPECT_TRUE(store().RecentReadings(b, 10)->empty());
    EXPECT_TRUE(store().RecentReadings(b + 100, 10)->empty());

    // A retried (device, seq) is not stored twice; a refused row keeps nothing of the call, its reading
    // included.
    std::vector<VerdictRecord> again(2);
    again[0] = records[3];
    again[1].user_unique_num = b;
    again[1].reading = reading_at(3);
    again[1].row = StatusRow{b, 3, kT0 + minutes(3), {}, {}, {}};
    EXPECT_EQ(store().RecordVerdicts(again).status().code(), ErrorCode::kInternal);
    EXPECT_TRUE(store().RecentReadings(b, 10)->empty());
    again.pop_back();
    ASSERT_TRUE(store().RecordVerdicts(again).ok());
    EXPECT_EQ(store().RecentReadings(a, 10)->size(), 2u);
    auto empty = store().RecordVerdicts({});
    ASSERT_TRUE(empty.ok());
    EXPECT_TRUE(empty->empty());
}

// Several verdicts of one wearer in one call, plain ones and one with an incident, in every order: the
// rows keep the given order (a tie in time goes to the later one), danger_degree is the last row's
// status, and texts arrive byte for byte whatever characters they hold.
TEST_P(StoreConformance, RecordVerdictsKeepsTheGivenOrderAcrossPlainAndIncidentRecords) {
    const int64_t a = CreateUserOrDie("wearer_a");
    const int64_t b = CreateUserOrDie("wearer_b");
    const std::string awkward = "quote \" backslash \\ comma, {brace} NULL 심박 ";
    auto plain = [&](int64_t user, int status, int minute, std::string explanation) {
        VerdictRecord r;
        r.user_unique_num = user;
        IncomingReading in;
        in.reading.measured_at = kT0 + minutes(minute);
        in.reading.values[0] = 60 + minute;
        r.reading = in;
        r.received_at = kT0 + minutes(minute);
        r.row = StatusRow{user, status, kT0 + minutes(5), "heart_rate", std::move(explanation), kT0 + minutes(minute)};
        return r;
    };
    std::vector<VerdictRecord> records;
    records.push_back(plain(a, 2, 1, awkward));
    records.push_back(plain(b, 1, 1, "b first"));
    records.push_back(plain(a, 1, 2, "a second"));
    VerdictRecord with_incident = plain(a, 2, 3, "a third, opens an incident");
    with_incident.incident = IncidentTransition{DangerIncident(a, kT0 + minutes(3)), {}, {}};
    records.push_back(with_incident);
    records.push_back(plain(a, 0, 4, "a last"));
    records.push_back(plain(b, 2, 2, "b last"));
    auto results = store().RecordVerdicts(records);
    ASSERT_TRUE(results.ok()) << results.status().ToString();
    for (const Status& one : *results) EXPECT_TRUE(one.ok()) << one.ToString();

    EXPECT_EQ(store().FindUserByUniqueNum(a)->danger_degree, 0);
    EXPECT_EQ(store().FindUserByUniqueNum(b)->danger_degree, 2);
    auto rows_of_a = store().RecentStatuses(a, 10);
    ASSERT_TRUE(rows_of_a.ok());
    ASSERT_EQ(rows_of_a->size(), 4u);  // all at minute 5: newest first is the last given
    EXPECT_EQ((*rows_of_a)[0].explanation, "a last");
    EXPECT_EQ((*rows_of_a)[1].explanation, "a third, opens an incident");
    EXPECT_EQ((*rows_of_a)[2].explanation, "a second");
    EXPECT_EQ((*rows_of_a)[3].explanation, awkward);
    EXPECT_EQ((*rows_of_a)[3].causes, "heart_rate");
    EXPECT_EQ((*rows_of_a)[3].reading_at, kT0 + minutes(1));
    EXPECT_EQ(store().RecentStatuses(b, 10)->front().explanation, "b last");
    auto readings_of_a = store().RecentReadings(a, 10);
    ASSERT_TRUE(readings_of_a.ok());
    ASSERT_EQ(readings_of_a->size(), 4u);
    EXPECT_EQ(readings_of_a->front().reading.get(domain::Metric::kHeartRate), 64);
    auto open = store().FindOpenIncident(a);
    ASSERT_TRUE(open.ok() && open->has_value());

    // The incident record last: its row's status wins over the plain ones before it.
    std::vector<VerdictRecord> again;
    again.push_back(plain(b, 0, 6, "b plain"));
    VerdictRecord b_incident = plain(b, 1, 7, "b incident");
    b_incident.incident = IncidentTransition{DangerIncident(b, kT0 + minutes(7)), {}, {}};
    again.push_back(b_incident);
    ASSERT_TRUE(store().RecordVerdicts(again).ok());
    EXPECT_EQ(store().FindUserByUniqueNum(b)->danger_degree, 1);
}

// The posture path's output rides in the same call: posture rows (user_posture follows) and the fall
// suspicion saved or cleared, after the record's reading and row; a missing user's record keeps nothing.
// The verdict stage's incident transitions ride in the same commit: a new incident and an update are
// written with the rows; a transition that conflicts (the incident changed meanwhile, or the wearer has
// another open one) is refused alone — the record's row still stands.
TEST_P(StoreConformance, RecordVerdictsWritesIncidentTransitionsAndRefusesAConflictAlone) {
    const int64_t a = CreateUserOrDie("wearer_a");
    const int64_t b = CreateUserOrDie("wearer_b");
    auto opened_b = store().SaveIncident(DangerIncident(b, kT0), {}, {});
    ASSERT_TRUE(opened_b.ok()) << opened_b.status().ToString();

    domain::IncidentEvent opened;
    opened.at = kT0 + minutes(1);
    opened.type = "opened";
    opened.actor = "system";
    opened.detail = "Heart rate is high.";
    NewOutboxMessage sms;
    sms.channel = "sms";
    sms.recipient = "010-1111-2222";
    sms.body = "alert";
    sms.idempotency_key = "rv-a-1";
    sms.created_at = kT0 + minutes(1);
    sms.next_attempt_at = kT0 + minutes(1);
    std::vector<VerdictRecord> records(3);
    records[0].user_unique_num = a;  // opens a's incident with its event and message
    records[0].row = StatusRow{a, 2, kT0 + minutes(1), "heart_rate", "fast", kT0 + minutes(1)};
    records[0].incident = IncidentTransition{DangerIncident(a, kT0 + minutes(1)), {opened}, {sms}};
    records[1].user_unique_num = b;  // a second open incident for b: refused, the row stands
    records[1].row = StatusRow{b, 2, kT0 + minutes(1), "heart_rate", "fast", kT0 + minutes(1)};
    records[1].incident = IncidentTransition{DangerIncident(b, kT0 + minutes(1)), {opened}, {}};
    domain::Incident escalated = *opened_b;  // b's open incident moves on, at the version read
    escalated.phase = domain::IncidentPhase::kDispatched;
    escalated.dispatched_at = kT0 + minutes(2);
    records[2].user_unique_num = b;
    records[2].incident = IncidentTransition{escalated, {}, {}};
    auto results = store().RecordVerdicts(records);
    ASSERT_TRUE(results.ok()) << results.status().ToString();
    ASSERT_EQ(results->size(), 3u);
    EXPECT_TRUE((*results)[0].ok()) << (*results)[0].ToString();
    EXPECT_EQ((*results)[1].code(), ErrorCode::kConflict);
    EXPECT_TRUE((*results)[2].ok()) << (*results)[2].ToString();

    auto open_a = store().FindOpenIncident(a);
    ASSERT_TRUE(open_a.ok() && open_a->has_value());
    EXPECT_EQ((*open_a)->version, 1);
    auto events = store().IncidentEvents((*open_a)->id);
    ASSERT_TRUE(events.ok());
    ASSERT_EQ(events->size(), 1u);
    EXPECT_EQ((*events)[0].type, "opened");
    auto outbox = store().IncidentOutbox((*open_a)->id);
    ASSERT_TRUE(outbox.ok());
    ASSERT_EQ(outbox->size(), 1u);
    EXPECT_EQ((*outbox)[0].idempotency_key, "rv-a-1");
    EXPECT_EQ(store().RecentStatuses(b, 10)->size(), 1u) << "the conflicting record's row is written";
    auto b_now = store().FindIncident(opened_b->id);
    ASSERT_TRUE(b_now.ok());
    EXPECT_EQ(b_now->version, 2);
    EXPECT_EQ(b_now->phase, domain::IncidentPhase::kDispatched);
    EXPECT_EQ(store().ListIncidents(b, 10)->size(), 1u);

    // A stale version is a conflict of that record alone, too.
    std::vector<VerdictRecord> stale(1);
    stale[0].user_unique_num = b;
    stale[0].row = StatusRow{b, 1, kT0 + minutes(3), "heart_rate", "fast", kT0 + minutes(3)};
    stale[0].incident = IncidentTransition{escalated, {}, {}};  // still at the version before the update
    auto again = store().RecordVerdicts(stale);
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ((*again)[0].code(), ErrorCode::kConflict);
    EXPECT_EQ(store().RecentStatuses(b, 10)->size(), 2u);
    EXPECT_EQ(store().FindIncident(opened_b->id)->version, 2);
}

TEST_P(StoreConformance, RecordVerdictsStoresPosturesAndSuspicionsWithTheRows) {
    const int64_t a = CreateUserOrDie("wearer_a");
    const int64_t b = CreateUserOrDie("wearer_b");
    const int64_t missing = b + 100;
    const TimePoint device = FromUnixMillis(1'799'999'000'000);
    ASSERT_TRUE(store().SaveFallSuspicion({b, device, 0, device, kT0, kT0, kT0}).ok());

    std::vector<VerdictRecord> records(3);
    records[0].user_unique_num = a;  // a status row, two posture rows and a suspicion raised
    records[0].row = StatusRow{a, 2, kT0 + minutes(1), "heart_rate", "fast", kT0 + minutes(1)};
    records[0].postures = {PostureRow{a, 3, kT0 + minutes(1)}, PostureRow{a, 7, kT0 + minutes(2)}};
    records[0].save_suspicion =
        FallSuspicion{a, device, 1, device, kT0 + minutes(2), kT0 + minutes(2), kT0 + minutes(2)};
    records[1].user_unique_num = missing;  // no such user: nothing of it is stored
    records[1].postures = {PostureRow{missing, 7, kT0 + minutes(1)}};
    records[1].save_suspicion = FallSuspicion{missing, device, 0, device, kT0, kT0, kT0};
    records[2].user_unique_num = b;  // the suspicion saved before is decided
    records[2].postures = {PostureRow{b, 4, kT0 + minutes(1)}};
    records[2].clear_suspicion = true;
    auto results = store().RecordVerdicts(records);
    ASSERT_TRUE(results.ok()) << results.status().ToString();
    ASSERT_EQ(results->size(), 3u);
    EXPECT_TRUE((*results)[0].ok());
    EXPECT_EQ((*results)[1].code(), ErrorCode::kNotFound);
    EXPECT_TRUE((*results)[2].ok());

    auto postures_of_a = store().RecentPostures(a, 10);
    ASSERT_TRUE(postures_of_a.ok()) << postures_of_a.status().ToString();
    ASSERT_EQ(postures_of_a->size(), 2u);
    EXPECT_EQ((*postures_of_a)[0].posture, 7);  // newest first
    EXPECT_EQ((*postures_of_a)[0].updated_at, kT0 + minutes(2));
    EXPECT_EQ((*postures_of_a)[1].posture, 3);
    auto found_a = store().FindUserByUniqueNum(a);
    ASSERT_TRUE(found_a.ok());
    EXPECT_EQ(found_a->user_posture, 7);  // the last posture
    EXPECT_EQ(found_a->danger_degree, 2);
    EXPECT_EQ(store().RecentStatuses(a, 10)->size(), 1u);
    EXPECT_EQ(store().FindUserByUniqueNum(b)->user_posture, 4);
    EXPECT_EQ(store().FindUserByUniqueNum(b)->danger_degree, 0);  // b's record had no row
    EXPECT_TRUE(store().RecentPostures(missing, 10)->empty());
    auto suspicions = store().ListFallSuspicions();
    ASSERT_TRUE(suspicions.ok()) << suspicions.status().ToString();
    ASSERT_EQ(suspicions->size(), 1u);  // a's saved, b's cleared, none of the missing user
    EXPECT_EQ(suspicions->front().wearer, a);
    EXPECT_EQ(suspicions->front().still_run, 1);
    EXPECT_EQ(suspicions->front().updated_at, kT0 + minutes(2));

    // A posture the store refuses (9), in any record, fails the whole call and keeps nothing of it: not
    // the earlier records' rows, postures or suspicions, nor the earlier postures of its own record.
    std::vector<VerdictRecord> bad(2);
    bad[0].user_unique_num = b;
    bad[0].row = StatusRow{b, 1, kT0 + minutes(3), {}, {}, {}};
    bad[0].postures = {PostureRow{b, 5, kT0 + minutes(3)}};
    bad[0].save_suspicion = FallSuspicion{b, device, 0, device, kT0 + minutes(3), kT0 + minutes(3), kT0 + minutes(3)};
    bad[1].user_unique_num = a;
    bad[1].postures = {PostureRow{a, 1, kT0 + minutes(3)}, PostureRow{a, 9, kT0 + minutes(4)}};
    bad[1].clear_suspicion = true;
    EXPECT_EQ(store().RecordVerdicts(bad).status().code(), ErrorCode::kInternal);
    EXPECT_EQ(store().RecentPostures(a, 10)->size(), 2u);
    EXPECT_EQ(store().RecentPostures(b, 10)->size(), 1u);
    EXPECT_TRUE(store().RecentStatuses(b, 10)->empty());
    EXPECT_EQ(store().FindUserByUniqueNum(a)->user_posture, 7);
    EXPECT_EQ(store().FindUserByUniqueNum(b)->user_posture, 4);
    EXPECT_EQ(store().FindUserByUniqueNum(b)->danger_degree, 0);
    suspicions = store().ListFallSuspicions();
    ASSERT_TRUE(suspicions.ok());
    ASSERT_EQ(suspicions->size(), 1u);
    EXPECT_EQ(suspicions->front().wearer, a);
    // The same with the refused posture in the first record.
    std::swap(bad[0], bad[1]);
    EXPECT_EQ(store().RecordVerdicts(bad).status().code(), ErrorCode::kInternal);
    EXPECT_EQ(store().RecentPostures(b, 10)->size(), 1u);
    EXPECT_EQ(store().ListFallSuspicions()->size(), 1u);

    // Saving and clearing in one record is a caller's bug: the whole call is refused.
    std::vector<VerdictRecord> both(1);
    both[0].user_unique_num = b;
    both[0].save_suspicion = FallSuspicion{b, device, 0, device, kT0, kT0, kT0};
    both[0].clear_suspicion = true;
    EXPECT_EQ(store().RecordVerdicts(both).status().code(), ErrorCode::kInternal);
    EXPECT_EQ(store().ListFallSuspicions()->size(), 1u);
}

// Within one call, later rows see earlier ones: the same wearer's rows are appended in the given order.
TEST_P(StoreConformance, AppendStatusesKeepsTheOrderOfOneWearersRows) {
    const int64_t a = CreateUserOrDie("wearer_a");
    const std::vector<StatusRow> rows{StatusRow{a, 2, kT0, {}, {}, {}}, StatusRow{a, 1, kT0, {}, {}, {}},
                                      StatusRow{a, 0, kT0, {}, {}, {}}};
    auto results = store().AppendStatuses(rows);
    ASSERT_TRUE(results.ok()) << results.status().ToString();
    auto stored = store().RecentStatuses(a, 10);
    ASSERT_TRUE(stored.ok());
    ASSERT_EQ(stored->size(), 3u);
    // One updated_at: newest first is the reverse of the order given.
    EXPECT_EQ((*stored)[0].status, 0);
    EXPECT_EQ((*stored)[1].status, 1);
    EXPECT_EQ((*stored)[2].status, 2);
    EXPECT_EQ(store().FindUserByUniqueNum(a)->danger_degree, 0);
}

TEST_P(StoreConformance, AppendStatusErrors) {
    int64_t user = CreateUserOrDie("wearer");
    EXPECT_EQ(store().AppendStatus(StatusRow{user + 100, 1, kT0, {}, {}, {}}).code(), ErrorCode::kNotFound);
    auto none = store().RecentStatuses(user + 100, 10);
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty());

    ASSERT_TRUE(store().AppendStatus(StatusRow{user, 2, kT0, {}, {}, {}}).ok());
    EXPECT_EQ(store().AppendStatus(StatusRow{user, 3, kT0 + minutes(1), {}, {}, {}}).code(), ErrorCode::kInternal);
    EXPECT_EQ(store().AppendStatus(StatusRow{user, -1, kT0 + minutes(1), {}, {}, {}}).code(), ErrorCode::kInternal);
    auto found = store().FindUserByUniqueNum(user);
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->danger_degree, 2);  // the failed append changed nothing
    auto rows = store().RecentStatuses(user, 10);
    ASSERT_TRUE(rows.ok());
    EXPECT_EQ(rows->size(), 1u);
}

TEST_P(StoreConformance, AppendPostureUpdatesUserPostureAndHistory) {
    int64_t user = CreateUserOrDie("wearer");
    EXPECT_EQ(store().AppendPosture({user + 100, 7, kT0}).code(), ErrorCode::kNotFound);
    EXPECT_EQ(store().AppendPosture({user, 8, kT0}).code(), ErrorCode::kInternal);
    EXPECT_EQ(store().AppendPosture({user, -1, kT0}).code(), ErrorCode::kInternal);
    auto found = store().FindUserByUniqueNum(user);
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->user_posture, std::nullopt);
    EXPECT_TRUE(store().RecentPostures(user, 5)->empty()) << "the refused rows were not stored";

    ASSERT_TRUE(store().AppendPosture({user, 3, kT0}).ok());
    ASSERT_TRUE(store().AppendPosture({user, 7, kT0 + minutes(1)}).ok());
    found = store().FindUserByUniqueNum(user);
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->user_posture, 7);
    EXPECT_EQ(found->danger_degree, 0);  // postures do not touch the status

    auto rows = store().RecentPostures(user, 5);
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    ASSERT_EQ(rows->size(), 2u);
    EXPECT_EQ((*rows)[0].posture, 7);
    EXPECT_EQ((*rows)[0].updated_at, kT0 + minutes(1));
    EXPECT_EQ((*rows)[1].posture, 3);
    EXPECT_EQ((*rows)[1].user_unique_num, user);

    auto none = store().RecentPostures(user + 100, 5);
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty());

    // Statuses do not touch the posture either.
    ASSERT_TRUE(store().AppendStatus(StatusRow{user, 2, kT0 + minutes(2), {}, {}, {}}).ok());
    EXPECT_EQ(store().FindUserByUniqueNum(user)->user_posture, 7);
    EXPECT_EQ(store().RecentPostures(user, 5)->size(), 2u);
}

TEST_P(StoreConformance, RecentPosturesBreakTiesByTheLastAppended) {
    int64_t user = CreateUserOrDie("wearer");
    ASSERT_TRUE(store().AppendPosture({user, 1, kT0 + minutes(2)}).ok());
    ASSERT_TRUE(store().AppendPosture({user, 5, kT0 + minutes(1)}).ok());  // out of order in time
    ASSERT_TRUE(store().AppendPosture({user, 2, kT0 + minutes(2)}).ok());  // tie with the first
    auto rows = store().RecentPostures(user, 10);
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->size(), 3u);
    EXPECT_EQ((*rows)[0].posture, 2);
    EXPECT_EQ((*rows)[1].posture, 1);
    EXPECT_EQ((*rows)[2].posture, 5);
    EXPECT_EQ(store().FindUserByUniqueNum(user)->user_posture, 2);  // the last appended
}

TEST_P(StoreConformance, RecentLimitIsClampedToOneThroughOneThousand) {
    int64_t user = CreateUserOrDie("busy_wearer");
    for (int i = 0; i < kMaxRecentRows + 5; ++i) {
        ASSERT_TRUE(store().AppendPosture({user, i % 8, kT0 + Milliseconds(i)}).ok());
    }
    for (int limit : {0, -5}) {
        auto rows = store().RecentPostures(user, limit);
        ASSERT_TRUE(rows.ok());
        ASSERT_EQ(rows->size(), 1u) << limit;
        EXPECT_EQ((*rows)[0].updated_at, kT0 + Milliseconds(1004));
    }
    auto rows = store().RecentPostures(user, 5000);
    ASSERT_TRUE(rows.ok());
    EXPECT_EQ(rows->size(), 1000u);
    EXPECT_EQ(rows->back().updated_at, kT0 + Milliseconds(5));

    // The same limits for statuses (appended in one call) and readings.
    std::vector<StatusRow> statuses;
    std::vector<IncomingReading> readings;
    for (int i = 0; i < kMaxRecentRows + 5; ++i) {
        statuses.push_back(StatusRow{user, i % 3, kT0 + Milliseconds(i), {}, {}, {}});
        readings.push_back(ReadingAt(ToUnixMillis(kT0) + i, std::nullopt, 70));
    }
    ASSERT_TRUE(store().AppendStatuses(statuses).ok());
    ASSERT_TRUE(store().AppendReadings(user, std::nullopt, readings, kT0).ok());
    EXPECT_EQ(store().RecentStatuses(user, 0)->size(), 1u);
    EXPECT_EQ(store().RecentStatuses(user, 5000)->size(), 1000u);
    EXPECT_EQ(store().RecentStatuses(user, 5000)->back().updated_at, kT0 + Milliseconds(5));
    EXPECT_EQ(store().RecentReadings(user, -1)->size(), 1u);
    EXPECT_EQ(store().RecentReadings(user, 5000)->size(), 1000u);
    EXPECT_EQ(store().RecentReadings(user, 5000)->back().reading.measured_at, kT0 + Milliseconds(5));
}

}  // namespace
}  // namespace vg::store::conformance
