#pragma once
// EscalationService: runs the escalation state machine (escalation.hpp) against the
// store. Every transition is stored in one transaction with its events and the
// outbox messages it causes (guardian SMS, operator webhook, the emergency call), so
// a message exists exactly when its cause does, and a restarted server resumes from
// the stored incidents: deadlines that passed while it was down fire on the first tick.
//
// Inputs: verdicts of the detector (OnVerdict, called on detector shard threads),
// people (WearerOk, GuardianAck, Snooze, Resolve, Sos; HTTP worker threads), and a
// ticker thread (Start/Stop) that applies due deadlines every `tick`.
// Outputs: the stored transition; `on_change` (live events) and `on_outbox` (wake the
// delivery worker) after it committed.
//
// Access control is the caller's (the API checks who may act on which incident).
// Thread-safety: every method may be called from any thread. Transitions of one wearer
// are serialised by a lock stripe; the store's version check guards the rest (another
// process): a conflicting transition is reloaded and re-applied.
// Ownership: borrows the store and the clock; both must outlive the service.

#include <array>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"
#include "vg/domain/incident.hpp"
#include "vg/domain/vitals.hpp"
#include "vg/escalation/escalation.hpp"
#include "vg/store/store.hpp"

namespace vg::escalation {

struct Location {
    double latitude = 0;
    double longitude = 0;
    std::optional<double> accuracy_m;
};

// Who may send VitalGuard's emergency call at once, and how often (docs/escalation.md, "Limits"): the
// limits bite on repetition (open → resolve → open ...), never on a first SOS, and pressing SOS again
// while an incident is open joins it without counting.
struct SosLimits {
    // An account younger than this, or with none of its phone numbers verified, is "new": its SOS
    // reaches 119 only after the countdown (the wearer can still cancel a mistake with "I'm OK").
    Milliseconds new_account_age{24 * 60 * 60 * 1000};
    // New SOS incidents per account in any hour; the next is refused (kRateLimited, Retry-After).
    int max_sos_per_hour = 5;
    // Emergency calls per account in any hour, SOS and countdowns alike: an SOS that would make one
    // more is refused; a countdown that runs out past it records "dispatch_refused" instead of calling.
    int max_dispatches_per_hour = 3;
};

struct EscalationServiceOptions {
    EscalationPolicy policy;
    SosLimits limits;
    std::string language = "ko";  // of guardian messages and the emergency report: "ko" or "en"
    std::string base_url;         // e.g. "https://vitalguard.example"; incident links in messages
    // Where the emergency call goes: the dispatch channel's recipient (its configuration may
    // override it). Empty: the message is still written (and fails visibly when no channel exists).
    std::string emergency_recipient;
    // Operator webhook (a care centre, an integration): every guardian notice as JSON. Empty: none.
    std::string guardian_webhook_url;
    // An `email` channel is configured: every guardian notice also goes by e-mail to the wearer's
    // guard_email once it is verified (PhoneVerificationService, field guard_email). False: no e-mail.
    bool email_enabled = false;
    Milliseconds tick{500};
    // Remember which wearers have no open incident, so a normal verdict of such a wearer costs no store read.
    // Off where other processes open and close this service's wearers' incidents (the scale-out roles): the
    // memory would go stale, and a recovery after an incident opened elsewhere would be missed.
    bool cache_open_incidents = true;
    // With cache_open_incidents off: how long a store read that found nothing open still answers for a
    // normal (or advice-only) verdict of that wearer. A caution or danger verdict always reads the store; so
    // the most this costs is a normal verdict applied this much later to an incident another process just
    // opened, where reading the store for every normal verdict would cost a round trip per reading (the
    // detector role's throughput). 0: read every time.
    Milliseconds nothing_open_memory{1000};
};

// A verdict's transition made ready for the caller's own commit (the verdict stage's group commit,
// store::VerdictRecord::incident), then announced with EscalationService::Committed.
struct PreparedTransition {
    int64_t wearer = 0;
    store::IncidentTransition write;  // the incident (id 0: a new one), its events, its outbox messages
    std::vector<Notice> notices;
    bool opened = false;
};

// What happened, for live events: the incident after the transition and its notices.
using IncidentListener = std::function<void(const domain::Incident&, const std::vector<Notice>&)>;

class EscalationService {
  public:
    EscalationService(store::Store& store, const Clock& clock, EscalationServiceOptions options,
                      IncidentListener on_change = {}, std::function<void()> on_outbox = {});
    ~EscalationService();
    EscalationService(const EscalationService&) = delete;
    EscalationService& operator=(const EscalationService&) = delete;

    // Starts / stops the ticker thread. Stop is idempotent and waits for a tick in progress.
    void Start();
    void Stop();

    // A verdict of the rules for `wearer`. Cheap when nothing is open and the verdict is normal
    // (no store access after the wearer's first verdict). Errors are logged, not returned: a
    // failed store write is retried by the next verdict or tick. `measured_at`: the reading's time;
    // one older than policy.escalate_within changes nothing (Past; counted in past_verdicts).
    void OnVerdict(int64_t wearer, const domain::Detection& detection, bool signal_loss,
                   std::optional<TimePoint> measured_at = std::nullopt);

    // OnVerdict in two halves, for a caller that commits the transition with its own writes (the verdict
    // stage: the status row and the incident it opens in one transaction). PrepareVerdict decides what
    // OnVerdict would store, reading the store but writing nothing (nullopt: nothing to store — also the
    // cheap path). The caller writes `write` with the version check of SaveIncident; on success it calls
    // Committed, which announces it (live event, delivery wake-up) and returns the incident as stored. On
    // kConflict (someone's transition came first) the caller hands the verdict to OnVerdict instead, which
    // re-reads and retries. Errors: the store's reads.
    Result<std::optional<PreparedTransition>> PrepareVerdict(int64_t wearer, const domain::Detection& detection,
                                                             bool signal_loss,
                                                             std::optional<TimePoint> measured_at = std::nullopt);
    Result<domain::Incident> Committed(const PreparedTransition& prepared);

    // People. kNotFound for an unknown incident; the errors of escalation.hpp otherwise.
    Result<domain::Incident> WearerOk(int64_t incident_id);
    Result<domain::Incident> GuardianAck(int64_t incident_id, const std::string& guardian);
    Result<domain::Incident> Snooze(int64_t incident_id, const std::string& guardian, Milliseconds length);
    Result<domain::Incident> Resolve(int64_t incident_id, const std::string& actor);
    // The wearer pressed SOS (SosLimits): joins the open incident if there is one; otherwise a new
    // incident, dispatched at once for an established account and after the countdown for a new one.
    // kRateLimited (with retry_after_seconds, the message naming the limit) past max_sos_per_hour or
    // max_dispatches_per_hour; never for the first SOS of the hour nor for one that joins.
    Result<domain::Incident> Sos(int64_t wearer, std::optional<Location> location);
    // Whether `user` is established at `now`: older than SosLimits::new_account_age and with at least
    // one of its phone numbers (phone_num, guard_phone_num) verified.
    Result<bool> Established(const domain::User& user, TimePoint now);
    // Emergency calls not made because of max_dispatches_per_hour (also logged), since start.
    int64_t dispatches_refused() const { return dispatches_refused_.load(); }
    // Whether something measured at `measured_at` is too old to escalate now (policy.escalate_within):
    // a watch's backlog, recorded and shown but not alarmed.
    bool Past(TimePoint measured_at) const;
    // Verdicts (caution or danger included) and confirmed falls left alone as Past, since start.
    int64_t past_verdicts() const { return past_verdicts_.load(); }
    int64_t past_falls() const { return past_falls_.load(); }
    // A fall confirmed by the posture detector: danger with a countdown (OnFall). `impact_at`: when it
    // happened; a Past one opens nothing and returns nullopt (counted in past_falls).
    Result<std::optional<domain::Incident>> Fall(int64_t wearer, std::optional<TimePoint> impact_at);
    Result<domain::Incident> Fall(int64_t wearer);

    // Applies every deadline due at `now` (what the ticker does); returns the transitions stored.
    size_t TickOnce(TimePoint now);

    const EscalationServiceOptions& options() const { return options_; }

  private:
    using Step = std::function<std::optional<Result<Transition>>(const std::optional<domain::Incident>& open)>;
    // Loads the wearer's open incident (or `incident_id`), applies `step`, stores the result with its
    // messages, retrying on a version conflict. Nullopt: nothing to do.
    Result<std::optional<domain::Incident>> Apply(int64_t wearer, std::optional<int64_t> incident_id, const Step& step,
                                                  const std::optional<Location>& location = std::nullopt);
    Result<domain::Incident> ApplyToIncident(int64_t incident_id, const Step& step);
    // The transition's messages; SMS only to verified numbers (an "sms_skipped" event is added to `t`
    // for each unverified number the first alert skips), e-mail only to a verified guard_email with
    // email_enabled (likewise "email_skipped").
    std::vector<store::NewOutboxMessage> Messages(const domain::Incident& before_save, Transition& t,
                                                  const std::optional<Location>& location, TimePoint now);
    // kRateLimited when a new SOS of `wearer` at `now` would exceed SosLimits.
    Status CheckSosLimits(int64_t wearer, TimePoint now);
    // When `t` makes the emergency call but the wearer already made max_dispatches_per_hour calls in
    // the hour, takes the call out of `t` (phase guardians, a "dispatch_refused" event) and logs it.
    void WithholdDispatchOverLimit(Transition& t, TimePoint now);
    // After a transition was stored: the open-incident cache, the delivery wake-up, the live event, the log.
    void Announce(const domain::Incident& saved, const Transition& t, bool has_messages);
    std::mutex& StripeFor(int64_t wearer) { return stripes_[static_cast<size_t>(wearer) % stripes_.size()]; }
    void Run();

    store::Store& store_;
    const Clock& clock_;
    const EscalationServiceOptions options_;
    IncidentListener on_change_;
    std::function<void()> on_outbox_;
    std::array<std::mutex, 64> stripes_;
    std::atomic<int64_t> dispatches_refused_{0};
    std::atomic<int64_t> past_verdicts_{0};
    std::atomic<int64_t> past_falls_{0};

    // Whether a wearer has an open incident, as this process last learnt it (and when).
    struct OpenKnowledge {
        bool open = false;
        TimePoint learnt_at{};
    };
    // True when the wearer is known to have nothing open (options_.cache_open_incidents, or learnt within
    // nothing_open_memory): a normal verdict then needs no store read.
    bool KnownNothingOpen(int64_t wearer);
    void Learn(int64_t wearer, bool open);

    std::mutex open_mu_;
    std::unordered_map<int64_t, OpenKnowledge> has_open_;  // GUARDED_BY(open_mu_); absent: not known yet

    std::mutex run_mu_;
    std::condition_variable run_cv_;
    bool stopping_ = false;  // GUARDED_BY(run_mu_)
    std::thread ticker_;
};

}  // namespace vg::escalation
