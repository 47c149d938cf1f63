#pragma once
// Store: everything VitalGuard keeps durably, as the composition of one port per aggregate.
//
//   AccountStore        accounts.hpp         users, sessions, devices, rule profile
//   ReadingStore        readings.hpp         the vitals time series
//   StatusStore         statuses.hpp         the seed's UserStatus and UserPosture
//   IncidentStore       incidents.hpp        incidents, their events, the outbox messages they cause
//   OutboxStore         incidents.hpp        the outbox as the delivery worker drives it
//   FallSuspicionStore  fall_suspicions.hpp  suspected falls not decided yet
//   GuardianStore       guardians.hpp        wearer-guardian links
//   AuditStore          audit.hpp            who read whose data
//   PhoneVerificationStore phone_verifications.hpp  which numbers their owners verified; codes sent
//   StoreLifecycle      lifecycle.hpp        health, Close
//
// A service that needs one or two aggregates may take just those ports; one object (a Store)
// implements them all, so the aggregates share one database and one Close.
// Implementations: store/sqlite (the embedded default), store/memory (in memory, for logic tests),
// store/postgres (a PostgreSQL server). Every implementation passes the conformance suite in
// store/conformance.
//
// The rules every method of every port follows:
// Durability: every method is a complete unit of work: it either happens entirely and is durable
// when the call returns OK (a crash or `kill -9` afterwards loses nothing; the in-memory store keeps
// nothing past its own life), or it changes nothing and returns an error Status.
// Thread-safety: all methods may be called concurrently from any thread; a read started after a
// write returned OK sees it. Implementations may serialize writes internally (e.g. one writer thread
// that commits queued writes together, "group commit") but must not let one caller's failure affect
// another's write.
// Errors: kNotFound when a looked-up row does not exist; kConflict when a unique key is taken;
// kUnavailable when the store is closed or cannot be reached; kInternal for anything else (with the
// driver's message). Each port names its cases.

#include "vg/store/accounts.hpp"
#include "vg/store/audit.hpp"
#include "vg/store/fall_suspicions.hpp"
#include "vg/store/guardians.hpp"
#include "vg/store/incidents.hpp"
#include "vg/store/lifecycle.hpp"
#include "vg/store/limits.hpp"
#include "vg/store/phone_verifications.hpp"
#include "vg/store/readings.hpp"
#include "vg/store/statuses.hpp"

namespace vg::store {

class Store : public AccountStore,
              public ReadingStore,
              public StatusStore,
              public IncidentStore,
              public OutboxStore,
              public FallSuspicionStore,
              public GuardianStore,
              public AuditStore,
              public PhoneVerificationStore,
              public StoreLifecycle {
  public:
    ~Store() override = default;
};

}  // namespace vg::store
