#pragma once
// The composition root: the only module that knows every adapter.
//
// RunServe builds the embedded deployment (SQLite store, account service, API,
// HTTP server), serves until SIGINT or SIGTERM, then shuts down gracefully:
// /readyz turns 503, the server stops accepting and finishes requests in
// flight, and the store commits what it has queued before closing.
// REQUIRES: called once, from the main thread, before any other thread exists
// (it blocks SIGINT/SIGTERM process-wide to receive them with sigwait).

#include <chrono>
#include <string>
#include <vector>

#include "vg/common/ip_range.hpp"
#include "vg/common/status.hpp"

namespace vg::app {

struct ServeConfig {
    std::string host = "127.0.0.1";
    uint16_t port = 8080;
    std::string data_dir = "data";
    std::string ready_file;  // when set, the bound port is written there once serving
    size_t body_limit_bytes = 1024 * 1024;
    std::chrono::milliseconds header_timeout{10'000};
    std::chrono::milliseconds body_timeout{30'000};
    std::chrono::milliseconds idle_timeout{60'000};
    std::chrono::milliseconds shutdown_grace{10'000};
    int io_threads = 0;  // 0: one per core; they also answer the requests that never wait (http lanes)
    // Handlers that wait on the database. A waiting update_status holds its thread until its verdict is
    // recorded (~1 ms), so the group commit can only batch as many calls as there are workers: 4 gave
    // 3.6k update_status/s at 32 connections, 16 gave 9.6k (bench/load, issue 14 note).
    int worker_threads = 16;
    int slow_threads = 2;  // password hashing (login, sign-up), apart from everything else
    // The urgent lane (api.cpp): a watch's readings, update_status, SOS and the answers to an incident,
    // apart from everything else. As many as the workers: a waiting update_status holds its thread until its
    // verdict is durable, so the thread count bounds the verdict stage's group commits.
    int urgent_threads = 16;
    std::chrono::milliseconds session_ttl{12 * 60 * 60 * 1000};
    std::chrono::milliseconds session_idle_timeout{30 * 60 * 1000};
    int max_failed_logins_per_id = 10;  // the per-id ceiling (auth::LoginThrottle)
    int max_failed_logins_per_address = 20;
    std::chrono::milliseconds failed_login_window{15 * 60 * 1000};
    int check_id_per_minute = 60;
    // Readings and IMU windows one wearer's devices may send a day (api::ApiOptions); 0: no quota.
    int64_t readings_per_wearer_per_day = 500'000;
    int64_t windows_per_wearer_per_day = 100'000;
    int signups_per_address_per_hour = 5;  // accounts created per client address; 0: no limit
    bool secure_cookies = false;
    // Deprecated alias of trusted_proxies = {127.0.0.0/8, ::1}; warned about at start-up.
    bool trust_proxy = false;
    // Reverse proxies whose X-Forwarded-For is believed (api::ApiOptions::trusted_proxies).
    std::vector<IpRange> trusted_proxies;
    // Bearer token for GET /metrics; empty: public (warned about when `host` is not loopback).
    std::string metrics_token;
    std::vector<std::string> allowed_origins;
    bool sqlite_synchronous_full = true;
    // Where everything is kept: empty (or "sqlite"): the embedded SQLite file data_dir/vitalguard.db;
    // postgres://… or postgresql://… (a libpq URI, password included if any: never logged): PostgreSQL
    // (store/postgres), its tables in the schema store_schema. The data directory is still locked and used.
    std::string store_url;
    std::string store_schema = "vitalguard";
    int store_connections = 0;  // PostgreSQL connections; 0: one per thread that may wait on the store
    // What this server does (issue 17's scale-out; docs/deployment.md):
    //   all       everything, alone on its store (the default; the store is locked to it)
    //   api       the HTTP API: publishes readings and IMU windows onto the Redis bus and waits there for
    //             update_status's verdict; no detection, no escalation timers, no delivery
    //   detector  consumes its share of the bus's shards: detection, the verdict stage, the incidents verdicts
    //             open or move on (serves HTTP for health and metrics)
    //   notifier  escalation timers (countdowns, re-raises) and notification delivery from the outbox
    // Every role but all needs a PostgreSQL store shared by all of them; api and detector need the Redis bus.
    enum class Role { kAll, kApi, kDetector, kNotifier };
    Role role = Role::kAll;
    // The bus from ingest to detection: empty: in this process (detector_shards threads); redis://…: Redis
    // Streams (bus/redis_streams) under the key prefix bus_prefix with bus_shards shards (every node of one
    // bus must agree), this node consuming the shards it holds leases on. The URL's password is never logged.
    std::string bus_url;
    std::string bus_prefix = "vg";
    int bus_shards = 16;
    std::string profiles_dir;  // rule profiles (*.json); empty: ./profiles, else the source tree's
    int detector_shards = 2;   // detection threads; each wearer belongs to one
    // Start-up: readings measured this far back are replayed through the rules (Detector::Warm).
    std::chrono::milliseconds replay_window{26 * 60 * 60 * 1000};

    // Emergency response (docs/escalation.md, docs/notifications.md).
    std::string knowledge_dir;  // first-aid pages; empty: ./knowledge, else the source tree's
    std::chrono::milliseconds countdown{60'000};
    std::chrono::milliseconds caution_to_guardians{10 * 60'000};
    std::chrono::milliseconds reraise_every{5 * 60'000};
    // Readings (and falls) measured longer ago than this are recorded but open or change no incident
    // (escalation::EscalationPolicy::escalate_within).
    std::chrono::milliseconds escalate_within{10 * 60'000};
    std::string language = "ko";            // of SMS texts and the emergency report
    std::string public_url;                 // links in messages, e.g. https://vitalguard.example
    std::string emergency_webhook_url;      // the emergency call as a signed webhook ...
    std::string emergency_sms_to;           // ... or as an SMS report to this number (via the SMS gateway)
    std::string sms_gateway_url;            // SMS HTTP gateway; empty: no SMS channel
    std::string sms_gateway_template;       // body template ({to}, {text}, {idempotency_key}); empty: the default
    std::string sms_gateway_authorization;  // Authorization header value for the gateway
    std::string webhook_secret;             // HMAC key of every webhook (required with a webhook URL)
    std::string guardian_webhook_url;       // every guardian notice as JSON to this URL
    std::string smtp_url;                   // e-mail channel, e.g. smtp://mail.example:587
    std::string smtp_from;
    std::string smtp_user;              // AUTH login; empty: none
    std::string smtp_password;          // from a file or VG_SMTP_PASSWORD; never logged
    std::string smtp_ca_file;           // CA bundle for the SMTP server's certificate; empty: the system's
    bool smtp_require_starttls = true;  // smtp:// URLs: STARTTLS or nothing is sent
    int delivery_threads = 2;
    // Optional LLM rewrite of guidance (an OpenAI-compatible chat endpoint); empty URL: none.
    std::string llm_base_url;
    std::string llm_api_key;
    std::string llm_model;
    std::chrono::milliseconds llm_timeout{3000};
    // The status and cause models (docs/models.md): empty: ./models, else the source tree's; "none": rules only.
    std::string models_dir;
    // Posture and fall detection (docs/api.md): the posture model is models_dir/posture.manifest.json;
    // without it posture is off. Windows are classified on the detector shards' threads.
    int posture_workers = 2;     // deprecated and ignored (a warning when set to anything else)
    size_t posture_queue = 256;  // IMU windows in flight (accepted, not yet answered); beyond that 503 + Retry-After 1
    std::string web_dir;         // the built dashboard; empty: ./web/dist, else the source tree's, when built
    // Demo mode (docs/demo.md): a demo wearer, a linked guardian and a simulated watch streaming a compressed
    // loop (normal, exercise, a real fall, low SpO2) to this server; never on by default. Refused with any real
    // notification target configured (SMS gateway, webhooks, e-mail, emergency): a demo never reaches anyone.
    bool demo = false;
    std::chrono::milliseconds demo_cycle{60'000};  // one loop of the four phases
    std::string demo_imu_data_dir;  // the IMU data sets (sisfall/, wedafall/); empty: ../shared/data of the source
};

// Serves until a termination signal. Returns the process exit code (0 after a clean shutdown).
int RunServe(const ServeConfig& config);

}  // namespace vg::app
