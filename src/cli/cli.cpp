#include "vg/cli/cli.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "data_commands.hpp"
#include "model_commands.hpp"
#include "user_command.hpp"
#include "vg/app/logging.hpp"
#include "vg/common/ip_range.hpp"
#include "vg/common/time_text.hpp"
#include "vg/escalation/escalation.hpp"
#include "vg/sim/simulate.hpp"

#ifndef VG_VERSION
#define VG_VERSION "dev"
#endif

namespace vg::cli {
namespace {

constexpr const char* kPostureProgram = "vitalguard-posture";

constexpr const char* kPrecedence =
    "\nEvery option can also be set by the environment variable shown (Env:) or in a config file given with\n"
    "--config (TOML: one `key = value` per line, the key being the option name without dashes,\n"
    "e.g. `port = 9090`, `data-dir = \"/var/lib/vitalguard\"`). A flag beats the environment, which beats\n"
    "the config file, which beats the default.\n";

// The raw text of every option, before durations are parsed.
struct RawServeOptions {
    std::string config_file;
    std::string host = "127.0.0.1";
    int port = 8080;
    std::string data_dir = "data";
    std::string ready_file;
    std::string log_level = "info";
    std::string log_format = "json";
    size_t body_limit = 1024 * 1024;
    std::string header_timeout = "10s";
    std::string body_timeout = "30s";
    std::string idle_timeout = "60s";
    std::string shutdown_grace = "10s";
    int io_threads = 0;
    int worker_threads = 16;
    int slow_threads = 2;
    int urgent_threads = 16;
    std::string session_ttl = "12h";
    std::string session_idle_timeout = "30m";
    int max_failed_logins_per_id = 10;
    int max_failed_logins_per_address = 20;
    std::string failed_login_window = "15m";
    int check_id_per_minute = 60;
    int64_t readings_per_wearer_per_day = 500'000;
    int64_t windows_per_wearer_per_day = 100'000;
    int signups_per_address_per_hour = 5;
    bool secure_cookies = false;     // --secure-cookies: on
    bool no_secure_cookies = false;  // --no-secure-cookies: off; neither: on when --public-url is https://
    bool trust_proxy = false;
    std::vector<std::string> trusted_proxies;
    std::string metrics_token;
    std::vector<std::string> allowed_origins;
    std::string sqlite_sync = "full";
    std::string store_url;
    std::string store_schema = "vitalguard";
    int store_connections = 0;
    std::string role = "all";
    std::string bus_url;
    std::string bus_prefix = "vg";
    int bus_shards = 16;
    std::string profiles_dir;
    int detector_shards = 2;
    std::string replay_window = "26h";
    std::string knowledge_dir;
    std::string countdown = "60s";
    std::string caution_to_guardians = "10m";
    std::string reraise_every = "5m";
    std::string escalate_within = "10m";
    std::string language = "ko";
    std::string public_url;
    std::string emergency_webhook_url;
    std::string emergency_sms_to;
    std::string sms_gateway_url;
    std::string sms_gateway_template;
    std::string sms_gateway_authorization;
    std::string webhook_secret;
    std::string guardian_webhook_url;
    std::string smtp_url;
    std::string smtp_from;
    std::string smtp_user;
    std::string smtp_password_file;
    std::string smtp_ca_file;
    std::string smtp_starttls = "required";
    int delivery_threads = 2;
    std::string web_dir;
    std::string models_dir;
    int posture_workers = 2;
    int posture_queue = 256;
    std::string llm_base_url;
    std::string llm_api_key;
    std::string llm_model;
    std::string llm_timeout = "3s";
    bool demo = false;
    std::string demo_cycle = "60s";
    std::string demo_data;
};

void DefineServeOptions(CLI::App& serve, RawServeOptions& o) {
    serve.add_option("--config", o.config_file, "Read settings from this TOML file")
        ->envname("VG_CONFIG")
        ->check(CLI::ExistingFile);
    serve.add_option("--host", o.host, "Address to listen on (0.0.0.0 for every interface)")
        ->envname("VG_HOST")
        ->capture_default_str();
    serve.add_option("--port", o.port, "TCP port to listen on; 0 picks a free one")
        ->envname("VG_PORT")
        ->check(CLI::Range(0, 65535))
        ->capture_default_str();
    serve.add_option("--data-dir", o.data_dir, "Directory for the SQLite database (created, mode 0700)")
        ->envname("VG_DATA_DIR")
        ->capture_default_str();
    serve
        .add_option("--ready-file", o.ready_file,
                    "Once serving, write the bound port to this file (for supervisors and tests)")
        ->envname("VG_READY_FILE");
    serve.add_option("--log-level", o.log_level, "trace, debug, info, warn, error, critical or off")
        ->envname("VG_LOG_LEVEL")
        ->capture_default_str();
    serve.add_option("--log-format", o.log_format, "json (one object per line) or text")
        ->envname("VG_LOG_FORMAT")
        ->check(CLI::IsMember({"json", "text"}))
        ->capture_default_str();
    serve.add_option("--body-limit", o.body_limit, "Largest request body accepted, in bytes (413 beyond)")
        ->envname("VG_BODY_LIMIT")
        ->check(CLI::Range(size_t{1024}, size_t{64} * 1024 * 1024))
        ->capture_default_str();
    serve.add_option("--header-timeout", o.header_timeout, "Time a client has to send a request's headers")
        ->envname("VG_HEADER_TIMEOUT")
        ->capture_default_str();
    serve.add_option("--body-timeout", o.body_timeout, "Time a client has to send a request's body")
        ->envname("VG_BODY_TIMEOUT")
        ->capture_default_str();
    serve.add_option("--idle-timeout", o.idle_timeout, "Close keep-alive connections idle this long")
        ->envname("VG_IDLE_TIMEOUT")
        ->capture_default_str();
    serve
        .add_option("--shutdown-grace", o.shutdown_grace,
                    "On SIGTERM/SIGINT, how long requests in flight may take to finish")
        ->envname("VG_SHUTDOWN_GRACE")
        ->capture_default_str();
    serve
        .add_option("--io-threads", o.io_threads,
                    "Threads doing network I/O and answering requests that never wait (health, reads); 0: one per core")
        ->envname("VG_IO_THREADS")
        ->check(CLI::Range(0, 64))
        ->capture_default_str();
    serve
        .add_option(
            "--worker-threads", o.worker_threads,
            "Threads running request handlers that wait on the database (everything but the urgent and slow lanes)")
        ->envname("VG_WORKER_THREADS")
        ->check(CLI::Range(1, 256))
        ->capture_default_str();
    serve
        .add_option("--slow-threads", o.slow_threads,
                    "Threads hashing passwords (login, sign-up), apart from everything else, so a login storm "
                    "cannot delay a reading or an SOS")
        ->envname("VG_SLOW_THREADS")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    serve
        .add_option("--urgent-threads", o.urgent_threads,
                    "Threads answering a watch's readings, update_status, SOS and the answers to an incident, apart "
                    "from everything else, so that no flood of other requests can delay them")
        ->envname("VG_URGENT_THREADS")
        ->check(CLI::Range(1, 256))
        ->capture_default_str();
    serve.add_option("--session-ttl", o.session_ttl, "A login session ends this long after login")
        ->envname("VG_SESSION_TTL")
        ->capture_default_str();
    serve.add_option("--session-idle-timeout", o.session_idle_timeout, "A session unused this long ends")
        ->envname("VG_SESSION_IDLE_TIMEOUT")
        ->capture_default_str();
    serve
        .add_option("--max-failed-logins-per-id", o.max_failed_logins_per_id,
                    "Failed logins for one id, from all addresses, within --failed-login-window before its ceiling "
                    "applies: addresses that failed on it wait, others take one turn per 5 s, addresses it logged in "
                    "from are not affected (429 + Retry-After; never a lock)")
        ->envname("VG_MAX_FAILED_LOGINS_PER_ID")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    serve
        .add_option("--max-failed-logins-per-address", o.max_failed_logins_per_address,
                    "Failed logins from one client address, across ids, within the window before it must wait (429)")
        ->envname("VG_MAX_FAILED_LOGINS_PER_ADDRESS")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    serve.add_option("--failed-login-window", o.failed_login_window, "Sliding window for counting failed logins")
        ->envname("VG_FAILED_LOGIN_WINDOW")
        ->capture_default_str();
    serve
        .add_option("--readings-per-wearer-per-day", o.readings_per_wearer_per_day,
                    "Readings one wearer's devices may send a day (a burst up to that, refilled steadily); 0: no quota")
        ->envname("VG_READINGS_PER_WEARER_PER_DAY")
        ->check(CLI::Range(int64_t{0}, int64_t{1'000'000'000}))
        ->capture_default_str();
    serve
        .add_option("--windows-per-wearer-per-day", o.windows_per_wearer_per_day,
                    "IMU windows (posture) one wearer's devices may send a day; 0: no quota")
        ->envname("VG_WINDOWS_PER_WEARER_PER_DAY")
        ->check(CLI::Range(int64_t{0}, int64_t{1'000'000'000}))
        ->capture_default_str();
    serve
        .add_option("--check-id-per-minute", o.check_id_per_minute,
                    "Duplicate-id checks (and sign-ups answered \"id taken\") allowed per client address per minute")
        ->envname("VG_CHECK_ID_PER_MINUTE")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    serve
        .add_option("--signups-per-address-per-hour", o.signups_per_address_per_hour,
                    "Accounts one client address may create per hour (429 + Retry-After after that); 0: no limit, "
                    "for simulations and load tests that sign up a fleet from one machine")
        ->envname("VG_SIGNUPS_PER_ADDRESS_PER_HOUR")
        ->check(CLI::Range(0, 100000))
        ->capture_default_str();
    serve
        .add_flag("--secure-cookies", o.secure_cookies,
                  "Mark cookies Secure (the default when --public-url is https://...; clients reach VitalGuard "
                  "over HTTPS via a proxy)")
        ->envname("VG_SECURE_COOKIES");
    serve
        .add_flag("--no-secure-cookies", o.no_secure_cookies,
                  "Do not mark cookies Secure even though --public-url is https:// (a test over plain HTTP)")
        ->envname("VG_NO_SECURE_COOKIES");
    serve
        .add_option("--trusted-proxy", o.trusted_proxies,
                    "Address range (CIDR, e.g. 10.0.0.0/8, ::1) of your own reverse proxies: X-Forwarded-For is "
                    "believed only from them, and the client is its right-most address that is not one of them "
                    "(repeatable, or comma-separated)")
        ->envname("VG_TRUSTED_PROXY")
        ->delimiter(',');
    serve
        .add_flag("--trust-proxy", o.trust_proxy,
                  "Deprecated: --trusted-proxy 127.0.0.0/8,::1 (a reverse proxy on this host)")
        ->envname("VG_TRUST_PROXY");
    serve
        .add_option("--metrics-token", o.metrics_token,
                    "Bearer token GET /metrics requires (at least 16 characters); without it /metrics is public")
        ->envname("VG_METRICS_TOKEN");
    serve
        .add_option("--allowed-origin", o.allowed_origins,
                    "Another origin allowed to send state-changing requests (repeatable)")
        ->envname("VG_ALLOWED_ORIGINS")
        ->delimiter(',');
    serve
        .add_option("--sqlite-sync", o.sqlite_sync,
                    "full: every acknowledged write survives power loss; normal: faster, may lose the last "
                    "moments on power loss (never on a process crash)")
        ->envname("VG_SQLITE_SYNC")
        ->check(CLI::IsMember({"full", "normal"}))
        ->capture_default_str();
    serve
        .add_option("--store", o.store_url,
                    "Where data is kept: sqlite (the default: DATA_DIR/vitalguard.db) or a PostgreSQL URI, "
                    "postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE (libpq's; prefer VG_STORE or a config file "
                    "to keep a password off the command line)")
        ->envname("VG_STORE");
    serve
        .add_option("--store-schema", o.store_schema,
                    "PostgreSQL: the schema holding VitalGuard's tables, created when missing ([a-z_][a-z0-9_]*)")
        ->envname("VG_STORE_SCHEMA")
        ->capture_default_str();
    serve
        .add_option("--store-connections", o.store_connections,
                    "PostgreSQL: connections in the pool; 0: one per thread that may wait on the store")
        ->envname("VG_STORE_CONNECTIONS")
        ->check(CLI::Range(0, 512))
        ->capture_default_str();
    serve
        .add_option("--role", o.role,
                    "What this server does: all (everything, alone on its store), or one part of a scaled-out "
                    "deployment sharing a PostgreSQL store: api (the HTTP API), detector (detection on its share of "
                    "the Redis bus), notifier (escalation timers and notification delivery)")
        ->envname("VG_ROLE")
        ->check(CLI::IsMember({"all", "api", "detector", "notifier"}))
        ->capture_default_str();
    serve
        .add_option("--bus", o.bus_url,
                    "How readings reach detection: inproc (the default: threads in this process) or a Redis URL, "
                    "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] (Redis Streams; prefer VG_BUS to keep a password off "
                    "the command line)")
        ->envname("VG_BUS");
    serve
        .add_option("--bus-prefix", o.bus_prefix,
                    "Redis bus: the prefix of its keys; servers with the same prefix share one bus "
                    "([A-Za-z0-9_.-], at most 64)")
        ->envname("VG_BUS_PREFIX")
        ->capture_default_str();
    serve
        .add_option("--bus-shards", o.bus_shards,
                    "Redis bus: its shards (streams); every server of one bus must use the same number")
        ->envname("VG_BUS_SHARDS")
        ->check(CLI::Range(1, 1024))
        ->capture_default_str();
    serve
        .add_option("--profiles-dir", o.profiles_dir,
                    "Directory of detection rule profiles (*.json); default ./profiles, else the built-in set")
        ->envname("VG_PROFILES_DIR")
        ->check(CLI::ExistingDirectory);
    serve
        .add_option("--detector-shards", o.detector_shards,
                    "Detection threads; each wearer's readings are evaluated in order on one of them")
        ->envname("VG_DETECTOR_SHARDS")
        ->check(CLI::Range(1, 256))
        ->capture_default_str();
    // Emergency response and notifications (docs/escalation.md, docs/notifications.md).
    auto text = [&](const char* flag, std::string& value, const char* help, const char* env) {
        serve.add_option(flag, value, help)->envname(env)->capture_default_str();
    };
    text("--knowledge-dir", o.knowledge_dir, "First-aid knowledge base (default ./knowledge, else the built-in one)",
         "VG_KNOWLEDGE_DIR");
    text("--countdown", o.countdown, "Danger or fall: the emergency call goes out this long after unless answered",
         "VG_COUNTDOWN");
    text("--caution-to-guardians", o.caution_to_guardians,
         "A caution incident still open this long is told to guardians", "VG_CAUTION_TO_GUARDIANS");
    text("--reraise-every", o.reraise_every, "Guardians are reminded this often until one acknowledges",
         "VG_RERAISE_EVERY");
    text("--escalate-within", o.escalate_within,
         "Only readings and falls measured this recently open or change incidents; older ones (a watch's backlog "
         "after hours offline) are recorded and shown, not alarmed; 0: no limit (simulator max-speed replays)",
         "VG_ESCALATE_WITHIN");
    text("--language", o.language, "Language of SMS texts and the emergency report: ko or en", "VG_LANGUAGE");
    text("--public-url", o.public_url, "This service's public address, for links in messages", "VG_PUBLIC_URL");
    text("--emergency-webhook-url", o.emergency_webhook_url, "Send the emergency call (119) as a signed webhook here",
         "VG_EMERGENCY_WEBHOOK_URL");
    text("--emergency-sms-to", o.emergency_sms_to, "Or send it as an SMS report to this number (needs the SMS gateway)",
         "VG_EMERGENCY_SMS_TO");
    text("--sms-gateway-url", o.sms_gateway_url, "SMS HTTP gateway (docs/notifications.md); empty: no SMS",
         "VG_SMS_GATEWAY_URL");
    text("--sms-gateway-template", o.sms_gateway_template, "Body template of the SMS gateway request",
         "VG_SMS_GATEWAY_TEMPLATE");
    text("--sms-gateway-authorization", o.sms_gateway_authorization, "Authorization header for the SMS gateway",
         "VG_SMS_GATEWAY_AUTHORIZATION");
    text("--webhook-secret", o.webhook_secret, "HMAC-SHA256 key signing every webhook (16+ bytes)",
         "VG_WEBHOOK_SECRET");
    text("--guardian-webhook-url", o.guardian_webhook_url, "Every guardian notification as JSON to this URL",
         "VG_GUARDIAN_WEBHOOK_URL");
    text("--llm-base-url", o.llm_base_url,
         "OpenAI-compatible endpoint that rewrites incident guidance (docs/guidance.md); empty: none",
         "VG_LLM_BASE_URL");
    serve.add_option("--llm-api-key", o.llm_api_key, "API key of the LLM endpoint (prefer the environment)")
        ->envname("VG_LLM_API_KEY");
    text("--llm-model", o.llm_model, "Model name for the LLM endpoint", "VG_LLM_MODEL");
    text("--llm-timeout", o.llm_timeout, "Longest wait for one rewrite (the composed text is shown meanwhile)",
         "VG_LLM_TIMEOUT");
    text("--models-dir", o.models_dir,
         "Status, cause and posture models (docs/models.md; default ./models, else the built-in ones; none: rules "
         "only, no posture). Without posture.manifest.json there posture and fall detection are off",
         "VG_MODELS_DIR");
    serve
        .add_option("--posture-workers", o.posture_workers,
                    "Deprecated and ignored: IMU windows are classified on the --detector-shards threads, each "
                    "wearer's on its own shard")
        ->envname("VG_POSTURE_WORKERS")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    serve
        .add_option("--posture-queue", o.posture_queue,
                    "IMU windows in flight (accepted, not yet answered); beyond that requests get 503 + Retry-After 1")
        ->envname("VG_POSTURE_QUEUE")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    text("--web-dir", o.web_dir, "The built web dashboard (default ./web/dist, else the source tree's)", "VG_WEB_DIR");
    text("--smtp-url", o.smtp_url, "E-mail channel, e.g. smtp://mail.example:587", "VG_SMTP_URL");
    text("--smtp-from", o.smtp_from, "Sender address of e-mails", "VG_SMTP_FROM");
    // The password only from a file or the environment (VG_SMTP_PASSWORD): never on a command line, where
    // every local user can read it in the process list.
    text("--smtp-user", o.smtp_user, "SMTP login (AUTH); its password from --smtp-password-file or VG_SMTP_PASSWORD",
         "VG_SMTP_USER");
    text("--smtp-password-file", o.smtp_password_file, "File holding the SMTP password (its first line)",
         "VG_SMTP_PASSWORD_FILE");
    text("--smtp-ca-file", o.smtp_ca_file, "CA certificates (PEM) that the SMTP server's certificate must chain to",
         "VG_SMTP_CA_FILE");
    serve
        .add_option("--smtp-starttls", o.smtp_starttls,
                    "smtp:// URLs: required (upgrade with STARTTLS or send nothing) or off (a relay without TLS; "
                    "no login then)")
        ->envname("VG_SMTP_STARTTLS")
        ->check(CLI::IsMember({"required", "off"}))
        ->capture_default_str();
    serve.add_option("--delivery-threads", o.delivery_threads, "Threads delivering notifications")
        ->envname("VG_DELIVERY_THREADS")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    serve
        .add_option("--replay-window", o.replay_window,
                    "At start-up, rebuild detection state from the readings stored this far back (0: start cold)")
        ->envname("VG_REPLAY_WINDOW")
        ->capture_default_str();
    // The demo (docs/demo.md): off unless asked for.
    serve.add_flag("--demo", o.demo,
                   "Demo mode: a demo wearer and guardian (logins printed at start-up) and a simulated watch "
                   "streaming normal vitals, exercise, a real fall and low SpO2; the dashboard says DEMO. Refused "
                   "with any real notification target");
    text("--demo-cycle", o.demo_cycle, "Demo mode: the length of one loop of the four phases (20s-1h)",
         "VG_DEMO_CYCLE");
    text("--demo-data", o.demo_data,
         "Demo mode: the IMU data sets' folder for the replayed fall (default $VG_SHARED_DATA, else the source "
         "tree's ../shared/data); absent: no fall",
         "VG_DEMO_DATA");
    serve.footer(kPrecedence);
}

// Applies the config file's values to options that neither a flag nor the environment set.
Status ApplyConfigFile(CLI::App& serve, const std::string& path) {
    std::vector<CLI::ConfigItem> items;
    try {
        items = CLI::ConfigTOML().from_file(path);
    } catch (const CLI::Error& e) {
        return Status::Error(ErrorCode::kValidationFailed, "cannot read the config file " + path,
                             {{"config", e.what()}});
    }
    for (const CLI::ConfigItem& item : items) {
        if (item.name == "++" || item.name == "--") continue;  // section markers CLI11 emits
        std::string key = item.fullname();
        if (key.rfind("serve.", 0) == 0) key = key.substr(6);
        for (char& c : key) c = c == '_' ? '-' : c;
        CLI::Option* option = serve.get_option_no_throw("--" + key);
        if (!option || key == "config") {
            return Status::Error(ErrorCode::kValidationFailed, "unknown setting in the config file " + path,
                                 {{key, "is not a setting of vitalguard serve"}});
        }
        if (option->count() > 0) continue;  // a flag or the environment wins
        try {
            option->add_result(item.inputs);
            option->run_callback();
        } catch (const CLI::Error& e) {
            return Status::Error(ErrorCode::kValidationFailed, "bad value in the config file " + path,
                                 {{key, e.what()}});
        }
    }
    return Status::Ok();
}

Status DurationInto(const std::string& text, const char* option, std::chrono::milliseconds& out) {
    auto d = ParseDuration(text);
    if (!d.ok()) {
        return Status::Error(ErrorCode::kValidationFailed, "bad duration", {{option, d.status().message()}});
    }
    out = *d;
    return Status::Ok();
}

Result<ServeCommand> Finish(const RawServeOptions& o) {
    ServeCommand cmd;
    app::ServeConfig& c = cmd.config;
    c.host = o.host;
    c.port = static_cast<uint16_t>(o.port);
    c.data_dir = o.data_dir;
    c.ready_file = o.ready_file;
    c.body_limit_bytes = o.body_limit;
    VG_RETURN_IF_ERROR(DurationInto(o.header_timeout, "header-timeout", c.header_timeout));
    VG_RETURN_IF_ERROR(DurationInto(o.body_timeout, "body-timeout", c.body_timeout));
    VG_RETURN_IF_ERROR(DurationInto(o.idle_timeout, "idle-timeout", c.idle_timeout));
    VG_RETURN_IF_ERROR(DurationInto(o.shutdown_grace, "shutdown-grace", c.shutdown_grace));
    VG_RETURN_IF_ERROR(DurationInto(o.session_ttl, "session-ttl", c.session_ttl));
    VG_RETURN_IF_ERROR(DurationInto(o.session_idle_timeout, "session-idle-timeout", c.session_idle_timeout));
    VG_RETURN_IF_ERROR(DurationInto(o.failed_login_window, "failed-login-window", c.failed_login_window));
    c.io_threads = o.io_threads;
    c.worker_threads = o.worker_threads;
    c.slow_threads = o.slow_threads;
    c.urgent_threads = o.urgent_threads;
    c.max_failed_logins_per_id = o.max_failed_logins_per_id;
    c.max_failed_logins_per_address = o.max_failed_logins_per_address;
    c.check_id_per_minute = o.check_id_per_minute;
    c.readings_per_wearer_per_day = o.readings_per_wearer_per_day;
    c.windows_per_wearer_per_day = o.windows_per_wearer_per_day;
    c.signups_per_address_per_hour = o.signups_per_address_per_hour;
    if (o.secure_cookies && o.no_secure_cookies) {
        return Status::Error(ErrorCode::kValidationFailed, "contradicting cookie settings",
                             {{"secure-cookies", "cannot be combined with --no-secure-cookies"}});
    }
    // A browser keeps a Secure cookie off plain HTTP, so a session cookie cannot leak over a downgraded
    // or mistyped http:// link. When the public address is https://, that is what every browser uses.
    {
        std::string scheme = o.public_url.substr(0, 8);
        for (char& ch : scheme) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        c.secure_cookies = o.secure_cookies || (!o.no_secure_cookies && scheme == "https://");
    }
    c.trust_proxy = o.trust_proxy;
    for (const std::string& text : o.trusted_proxies) {
        auto range = ParseIpRange(text);
        if (!range.ok()) {
            return Status::Error(ErrorCode::kValidationFailed, "bad trusted proxy range",
                                 {{"trusted-proxy", range.status().message()}});
        }
        c.trusted_proxies.push_back(std::move(range).value());
    }
    if (!o.metrics_token.empty() && o.metrics_token.size() < 16) {
        return Status::Error(ErrorCode::kValidationFailed, "the metrics token is too short",
                             {{"metrics-token", "must be at least 16 characters"}});
    }
    c.metrics_token = o.metrics_token;
    c.allowed_origins = o.allowed_origins;
    c.sqlite_synchronous_full = o.sqlite_sync == "full";
    if (o.store_url != "sqlite" && !o.store_url.starts_with("postgres://") &&
        !o.store_url.starts_with("postgresql://") && !o.store_url.empty()) {
        return Status::Error(ErrorCode::kValidationFailed, "unknown store",
                             {{"store", "must be sqlite or a postgres:// or postgresql:// URI"}});
    }
    c.store_url = o.store_url == "sqlite" ? "" : o.store_url;
    {
        const std::string& schema = o.store_schema;
        bool valid = !schema.empty() && schema.size() <= 63 &&
                     (std::islower(static_cast<unsigned char>(schema[0])) || schema[0] == '_');
        for (char ch : schema) {
            valid = valid && (std::islower(static_cast<unsigned char>(ch)) ||
                              std::isdigit(static_cast<unsigned char>(ch)) || ch == '_');
        }
        valid = valid && !schema.starts_with("pg_");  // PostgreSQL reserves pg_* for its own schemas
        if (!valid) {
            return Status::Error(
                ErrorCode::kValidationFailed, "bad store schema",
                {{"store-schema", "must be 1 to 63 of a-z, 0-9 and _, not starting with a digit or pg_"}});
        }
    }
    c.store_schema = o.store_schema;
    if (o.bus_url != "inproc" && !o.bus_url.empty() && !o.bus_url.starts_with("redis://")) {
        return Status::Error(ErrorCode::kValidationFailed, "unknown bus",
                             {{"bus", "must be inproc or a redis:// URL"}});
    }
    c.bus_url = o.bus_url == "inproc" ? "" : o.bus_url;
    {
        const std::string& prefix = o.bus_prefix;
        bool valid = !prefix.empty() && prefix.size() <= 64;
        for (char ch : prefix) {
            valid = valid && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '-');
        }
        if (!valid) {
            return Status::Error(ErrorCode::kValidationFailed, "bad bus prefix",
                                 {{"bus-prefix", "must be 1 to 64 of A-Z, a-z, 0-9, _, . and -"}});
        }
    }
    c.bus_prefix = o.bus_prefix;
    c.bus_shards = o.bus_shards;
    using Role = app::ServeConfig::Role;
    c.role = o.role == "api"        ? Role::kApi
             : o.role == "detector" ? Role::kDetector
             : o.role == "notifier" ? Role::kNotifier
                                    : Role::kAll;
    if (c.role != Role::kAll && c.store_url.empty()) {
        return Status::Error(ErrorCode::kValidationFailed, "a role needs a shared store",
                             {{"role",
                               "api, detector and notifier share one PostgreSQL store: set --store "
                               "postgresql://…"}});
    }
    if ((c.role == Role::kApi || c.role == Role::kDetector) && c.bus_url.empty()) {
        return Status::Error(ErrorCode::kValidationFailed, "a role needs the Redis bus",
                             {{"role", "api and detector meet on the Redis bus: set --bus redis://…"}});
    }
    if (c.role != Role::kAll && o.demo) {
        return Status::Error(ErrorCode::kValidationFailed, "the demo runs alone", {{"demo", "only with --role all"}});
    }
    c.store_connections = o.store_connections;
    c.profiles_dir = o.profiles_dir;
    c.detector_shards = o.detector_shards;
    VG_RETURN_IF_ERROR(DurationInto(o.replay_window, "replay-window", c.replay_window));
    VG_RETURN_IF_ERROR(DurationInto(o.countdown, "countdown", c.countdown));
    VG_RETURN_IF_ERROR(DurationInto(o.caution_to_guardians, "caution-to-guardians", c.caution_to_guardians));
    VG_RETURN_IF_ERROR(DurationInto(o.reraise_every, "reraise-every", c.reraise_every));
    VG_RETURN_IF_ERROR(DurationInto(o.escalate_within, "escalate-within", c.escalate_within));
    {
        escalation::EscalationPolicy policy;
        policy.countdown = c.countdown;
        policy.caution_to_guardians = c.caution_to_guardians;
        policy.reraise_every = c.reraise_every;
        policy.escalate_within = c.escalate_within;
        if (auto problems = escalation::ValidatePolicy(policy); !problems.empty()) {
            return Status::Error(ErrorCode::kValidationFailed, "escalation settings out of range", std::move(problems));
        }
    }
    if (o.language != "ko" && o.language != "en") {
        return Status::Error(ErrorCode::kValidationFailed, "unknown language", {{"language", "must be ko or en"}});
    }
    if ((!o.emergency_webhook_url.empty() || !o.guardian_webhook_url.empty()) && o.webhook_secret.size() < 16) {
        return Status::Error(ErrorCode::kValidationFailed, "webhooks need a signing key",
                             {{"webhook-secret", "must be at least 16 bytes when a webhook URL is set"}});
    }
    if (!o.emergency_sms_to.empty() && o.sms_gateway_url.empty()) {
        return Status::Error(ErrorCode::kValidationFailed, "the emergency SMS needs the SMS gateway",
                             {{"sms-gateway-url", "is required with --emergency-sms-to"}});
    }
    if (!o.smtp_url.empty() && o.smtp_from.empty()) {
        return Status::Error(ErrorCode::kValidationFailed, "e-mail needs a sender",
                             {{"smtp-from", "is required with --smtp-url"}});
    }
    c.knowledge_dir = o.knowledge_dir;
    c.language = o.language;
    c.public_url = o.public_url;
    c.emergency_webhook_url = o.emergency_webhook_url;
    c.emergency_sms_to = o.emergency_sms_to;
    c.sms_gateway_url = o.sms_gateway_url;
    c.sms_gateway_template = o.sms_gateway_template;
    c.sms_gateway_authorization = o.sms_gateway_authorization;
    c.webhook_secret = o.webhook_secret;
    c.guardian_webhook_url = o.guardian_webhook_url;
    c.smtp_url = o.smtp_url;
    c.smtp_from = o.smtp_from;
    c.smtp_user = o.smtp_user;
    c.smtp_ca_file = o.smtp_ca_file;
    c.smtp_require_starttls = o.smtp_starttls == "required";
    {
        const char* env_password = std::getenv("VG_SMTP_PASSWORD");
        if (env_password != nullptr && *env_password != '\0' && !o.smtp_password_file.empty()) {
            return Status::Error(ErrorCode::kValidationFailed, "two SMTP passwords",
                                 {{"smtp-password-file", "cannot be combined with VG_SMTP_PASSWORD"}});
        }
        if (!o.smtp_password_file.empty()) {
            std::ifstream in(o.smtp_password_file, std::ios::binary);
            if (!in || !std::getline(in, c.smtp_password)) {
                return Status::Error(
                    ErrorCode::kValidationFailed, "cannot read the SMTP password file",
                    {{"smtp-password-file", "must be a readable file with the password on its first line"}});
            }
            if (!c.smtp_password.empty() && c.smtp_password.back() == '\r') c.smtp_password.pop_back();
        } else if (env_password != nullptr) {
            c.smtp_password = env_password;
        }
        if (!o.smtp_user.empty() && c.smtp_password.empty()) {
            return Status::Error(ErrorCode::kValidationFailed, "the SMTP login needs a password",
                                 {{"smtp-password-file", "or VG_SMTP_PASSWORD is required with --smtp-user"}});
        }
        if (o.smtp_user.empty() && !c.smtp_password.empty()) {
            return Status::Error(ErrorCode::kValidationFailed, "an SMTP password without a login",
                                 {{"smtp-user", "is required with an SMTP password"}});
        }
        std::string scheme = o.smtp_url.substr(0, 7);
        for (char& ch : scheme) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (!o.smtp_user.empty() && scheme == "smtp://" && o.smtp_starttls != "required") {
            return Status::Error(ErrorCode::kValidationFailed, "the SMTP password would travel in clear",
                                 {{"smtp-starttls", "must be required with --smtp-user on an smtp:// URL"}});
        }
    }
    c.delivery_threads = o.delivery_threads;
    c.web_dir = o.web_dir;
    c.models_dir = o.models_dir;
    c.posture_workers = o.posture_workers;
    c.posture_queue = static_cast<size_t>(o.posture_queue);
    c.llm_base_url = o.llm_base_url;
    c.llm_api_key = o.llm_api_key;
    c.llm_model = o.llm_model;
    VG_RETURN_IF_ERROR(DurationInto(o.llm_timeout, "llm-timeout", c.llm_timeout));
    c.demo = o.demo;
    VG_RETURN_IF_ERROR(DurationInto(o.demo_cycle, "demo-cycle", c.demo_cycle));
    if (c.demo_cycle < std::chrono::seconds(20) || c.demo_cycle > std::chrono::hours(1)) {
        return Status::Error(ErrorCode::kValidationFailed, "demo cycle out of range",
                             {{"demo-cycle", "must be between 20s and 1h"}});
    }
    c.demo_imu_data_dir = o.demo_data;
    if (!c.llm_base_url.empty() && c.llm_model.empty()) {
        return Status::Error(ErrorCode::kValidationFailed, "the LLM rewrite needs a model",
                             {{"llm-model", "is required with --llm-base-url"}});
    }
    if (c.session_idle_timeout > c.session_ttl) {
        return Status::Error(ErrorCode::kValidationFailed, "inconsistent session settings",
                             {{"session-idle-timeout", "must not be longer than --session-ttl"}});
    }
    cmd.log_level = o.log_level;
    cmd.log_format = o.log_format;
    return cmd;
}

void DefineSimulateOptions(CLI::App& sim, sim::SimulateArgs& a) {
    sim.add_option("--server", a.server, "Base URL of the running server to drive")->capture_default_str();
    sim.add_option("--scenario", a.scenario, "Scenario file (docs/simulator.md), e.g. sim/scenarios/standard.json")
        ->required()
        ->check(CLI::ExistingFile);
    sim.add_option("--watches", a.watches, "Fleet size; scales every group of the scenario in proportion")
        ->check(CLI::Range(1, 100000));
    sim.add_option("--duration", a.duration, "Simulated time to cover, e.g. 2h or 1d (default: the scenario's)");
    sim.add_option("--interval", a.interval, "Time between readings of a watch, e.g. 60s (default: the scenario's)");
    sim.add_option("--speed", a.speed,
                   "realtime: one reading per watch per interval, timestamped now; max: replay the window that "
                   "ends now as fast as the server accepts (signal loss is then not scored)")
        ->check(CLI::IsMember({"realtime", "max"}))
        ->capture_default_str();
    sim.add_option("--seed", a.seed, "Random seed of the fleet and its readings (default: the scenario's)");
    sim.add_option("--out", a.out, "Write the JSON report (score, latencies, every outcome) to this file");
    sim.add_option("--connections", a.connections, "Keep-alive connections posting readings")
        ->check(CLI::Range(1, 256))
        ->capture_default_str();
    sim.add_option("--batch", a.batch, "Readings per request at max speed")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    sim.add_option("--drain", a.drain, "After the last reading, how long to wait for outstanding detections")
        ->capture_default_str();
    sim.add_flag("--quiet", a.quiet, "No progress on stderr");
    sim.footer(
        "\nThe score (stdout, and --out as JSON): per event type the detection rate and the latency from the\n"
        "moment the data made the event knowable to the alerting reading (p50/p95/p99), false alerts per\n"
        "wearer-day, and the push latency from the server receiving a reading to its detection arriving here.\n"
        "Exit code 0 when scored, 1 when the run failed, 2 for bad options or a bad scenario.\n");
}

}  // namespace

namespace {

// Replaces this process by `vitalguard-posture` (beside this program) with the same arguments; returns
// only when that fails.
int ExecPostureProgram(int argc, const char* const* argv) {
    std::error_code ec;
    const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    const std::filesystem::path program = (ec ? std::filesystem::path(argv[0]) : self).parent_path() / kPostureProgram;
    if (!std::filesystem::is_regular_file(program)) {
        std::cerr << "vitalguard: the posture commands need " << program.string()
                  << " (the program with libtorch; build it with `cmake --build build --target " << kPostureProgram
                  << "`)\n";
        return 127;
    }
    std::vector<std::string> owned(argv, argv + argc);
    owned[0] = program.string();
    std::vector<char*> args;
    for (auto& a : owned) args.push_back(a.data());
    args.push_back(nullptr);
    execv(program.c_str(), args.data());
    std::cerr << "vitalguard: cannot run " << program.string() << ": " << std::strerror(errno) << "\n";
    return 127;
}

}  // namespace

Result<ServeCommand> ParseServeCommand(const std::vector<std::string>& args) {
    CLI::App serve("Run the VitalGuard server", "vitalguard serve");
    RawServeOptions raw;
    DefineServeOptions(serve, raw);
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    if (!reversed.empty()) reversed.pop_back();  // program name
    if (!reversed.empty() && reversed.back() == "serve") reversed.pop_back();
    try {
        serve.parse(reversed);
    } catch (const CLI::CallForHelp&) {
        return Status::Error(ErrorCode::kBadRequest, serve.help());
    } catch (const CLI::ParseError& e) {
        return Status::Error(ErrorCode::kValidationFailed, e.what());
    }
    if (!raw.config_file.empty()) VG_RETURN_IF_ERROR(ApplyConfigFile(serve, raw.config_file));
    // The demo's accounts never land in the real database by accident: without a --data-dir (flag,
    // environment or config file) the demo keeps its own, ./data-demo.
    if (raw.demo && serve.get_option("--data-dir")->count() == 0 && raw.data_dir == "data") raw.data_dir = "data-demo";
    return Finish(raw);
}

int RunCli(int argc, const char* const* argv, PostureCommands* posture) {
    CLI::App app(
        "VitalGuard: real-time emergency detection on smartwatch data.\n"
        "Watches wearers' vital signs and motion, tells them what to do, alerts their guardians\n"
        "and calls for help when nobody answers.",
        "vitalguard");
    app.set_version_flag("--version", std::string("vitalguard ") + VG_VERSION);
    app.require_subcommand(1);
    app.add_subcommand("serve", "Run the server (HTTP API on SQLite; see `vitalguard serve --help`)")
        ->allow_extras()
        ->prefix_command()
        ->set_help_flag();  // `serve --help` is answered by the full serve parser below
    app.add_subcommand("version", "Print the version");
    sim::SimulateArgs simulate_args;
    DefineSimulateOptions(*app.add_subcommand("simulate",
                                              "Drive a running server with a simulated watch fleet and score its "
                                              "detections (see `vitalguard simulate --help`)"),
                          simulate_args);
    ModelCommandArgs model_args;
    DefineModelCommands(app, model_args);
    DataCommandArgs data_args;
    DefineDataCommands(app, data_args);
    UserCommandArgs user_args;
    DefineUserCommands(app, user_args);
    std::vector<std::string> args(argv, argv + argc);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    if (app.got_subcommand("version")) {
        std::cout << "vitalguard " << VG_VERSION << "\n";
        return 0;
    }
    if (app.got_subcommand("simulate")) return sim::RunSimulateCommand(simulate_args, std::cout, std::cerr);
    if (app.got_subcommand("dataset")) return RunDatasetCommand(model_args);
    if (app.got_subcommand("backup")) return RunBackupCommand(data_args, std::cout, std::cerr);
    if (app.got_subcommand("restore")) return RunRestoreCommand(data_args, std::cout, std::cerr);
    if (app.got_subcommand("user")) return RunUserCommand(app, user_args, std::cin, std::cout, std::cerr);
    const bool posture_command =
        (app.got_subcommand("train") || app.got_subcommand("eval") || app.got_subcommand("convert")) &&
        model_args.kind == "posture";
    if (posture_command && posture == nullptr) return ExecPostureProgram(argc, argv);
    if (app.got_subcommand("train")) {
        std::string line = "vitalguard";
        for (int i = 1; i < argc; ++i) line += std::string(" ") + argv[i];
        return posture_command ? posture->Train(model_args, line) : RunTrainCommand(model_args, line);
    }
    if (app.got_subcommand("eval")) return posture_command ? posture->Eval(model_args) : RunEvalCommand(model_args);
    if (app.got_subcommand("convert")) return posture->Convert(model_args);
    auto command = ParseServeCommand(args);
    if (!command.ok()) {
        if (command.status().code() == ErrorCode::kBadRequest) {
            std::cout << command.status().message();
            return 0;
        }
        const Status error = command.status();
        std::cerr << "vitalguard serve: " << error.message();
        for (const auto& f : error.fields()) std::cerr << "\n  --" << f.field << ": " << f.problem;
        std::cerr << "\nRun `vitalguard serve --help` for the options.\n";
        return 2;
    }
    const auto format = command->log_format == "text" ? app::LogFormat::kText : app::LogFormat::kJson;
    if (Status s = app::SetupLogging(command->log_level, format); !s.ok()) {
        std::cerr << "vitalguard serve: --log-level: " << s.fields().front().problem << "\n";
        return 2;
    }
    return app::RunServe(command->config);
}

}  // namespace vg::cli
