#include "vg/store/store_conformance.hpp"

#include <chrono>
#include <utility>

namespace vg::store::conformance {

std::string ImplementationName(const ::testing::TestParamInfo<StoreImplementation>& info) { return info.param.name; }

void PrintTo(const StoreImplementation& implementation, std::ostream* os) { *os << implementation.name; }

NewUser SampleUser(std::string id) {
    NewUser user;
    user.profile.id = std::move(id);
    user.profile.name = "김영희";
    user.profile.age = 78;
    user.profile.address = "서울특별시 중구 세종대로 110";
    user.profile.detailed_address = "";  // empty, not absent
    user.profile.phone_num = "010-1234-5678";
    user.profile.guard_name = "김철수";
    user.profile.guard_phone_num = "+821098765432";
    user.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
    user.created_at = kT0;
    return user;
}

domain::Session SampleSession(std::string token_hash, int64_t user, TimePoint created) {
    domain::Session session;
    session.token_hash = std::move(token_hash);
    session.user_unique_num = user;
    session.csrf_token = "csrf-" + session.token_hash;
    session.created_at = created;
    session.last_seen_at = created;
    session.expires_at = created + std::chrono::hours(24);
    session.client_address = "203.0.113.7";
    session.user_agent = "VitalGuardWatch/1.0";
    return session;
}

NewDevice SampleDevice(int64_t user, std::string token_hash, TimePoint created) {
    return NewDevice{user, "Galaxy Watch", std::move(token_hash), created};
}

IncomingReading ReadingAt(int64_t ms, std::optional<int64_t> seq, double hr) {
    IncomingReading r;
    r.device_seq = seq;
    r.reading.measured_at = FromUnixMillis(ms);
    r.reading.set(domain::Metric::kHeartRate, hr);
    r.reading.set(domain::Metric::kSpo2, 97.5);
    return r;
}

domain::Incident DangerIncident(int64_t wearer, TimePoint at) {
    domain::Incident i;
    i.wearer = wearer;
    i.kind = domain::IncidentKind::kVitals;
    i.phase = domain::IncidentPhase::kCountdown;
    i.level = domain::Level::kDanger;
    i.max_level = domain::Level::kDanger;
    i.causes = {domain::Metric::kHeartRate, domain::Metric::kSpo2};
    i.rules = {"heart_rate.high.danger", "spo2.low.danger"};
    i.explanation = "Heart rate 150 bpm.";
    i.opened_at = at;
    i.updated_at = at;
    i.guardians_notified_at = at;
    i.deadline = at + std::chrono::seconds(60);
    i.next_reraise_at = at + std::chrono::minutes(5);
    return i;
}

NewOutboxMessage Message(const std::string& key, TimePoint at) {
    NewOutboxMessage m;
    m.channel = "sms";
    m.recipient = "010-1234-5678";
    m.subject = "VitalGuard";
    m.body = "김영희 님이 위험 상태입니다.";
    m.idempotency_key = key;
    m.created_at = at;
    m.next_attempt_at = at;
    return m;
}

void StoreConformance::SetUp() {
    harness_ = GetParam().open();
    if (IsSkipped()) return;  // a harness without its server (VG_REQUIRE_POSTGRES) skipped the test
    ASSERT_NE(harness_, nullptr) << "cannot open a " << GetParam().name << " store";
}

void StoreConformance::TearDown() { harness_.reset(); }

int64_t StoreConformance::CreateUserOrDie(const std::string& id) {
    auto user = store().CreateUser(SampleUser(id));
    EXPECT_TRUE(user.ok()) << user.status().ToString();
    return user.ok() ? user->unique_num : 0;
}

}  // namespace vg::store::conformance
