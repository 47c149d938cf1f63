#include "vg/app/deployment.hpp"

#include <fcntl.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "shard_consumer.hpp"
#include "vg/api/api.hpp"
#include "vg/api/errors.hpp"
#include "vg/app/data_dir_lock.hpp"
#include "vg/app/operational_metrics.hpp"
#include "vg/app/posture_event_relay.hpp"
#include "vg/app/store_outbox_queue.hpp"
#include "vg/app/store_url.hpp"
#include "vg/auth/account_service.hpp"
#include "vg/auth/redis_rate_limits.hpp"
#include "vg/bus/inproc_bus.hpp"
#include "vg/bus/redis_live_fanout.hpp"
#include "vg/bus/redis_streams_bus.hpp"
#include "vg/demo/demo.hpp"
#include "vg/detector/detector.hpp"
#include "vg/escalation/escalation_service.hpp"
#include "vg/events/events.hpp"
#include "vg/fall/event_judge.hpp"
#include "vg/fall/fall_event_model.hpp"
#include "vg/guidance/async_rewriter.hpp"
#include "vg/guidance/knowledge_base.hpp"
#include "vg/http/server.hpp"
#include "vg/ingest/ingest_service.hpp"
#include "vg/live/live_hub.hpp"
#include "vg/models/status_model.hpp"
#include "vg/notify/delivery_worker.hpp"
#include "vg/notify/email.hpp"
#include "vg/notify/emergency.hpp"
#include "vg/notify/sms.hpp"
#include "vg/notify/webhook.hpp"
#include "vg/posture/native/native_classifier.hpp"
#include "vg/posture/posture_detector.hpp"
#include "vg/posture/posture_service.hpp"
#include "vg/rules/rules.hpp"
#include "vg/store/postgres_store.hpp"
#include "vg/store/sqlite_store.hpp"
#include "vg/verdict/verdict_stage.hpp"
#include "vg/verdict/wearer_ids.hpp"

#ifndef VG_VERSION
#define VG_VERSION "dev"
#endif
#ifndef VG_SOURCE_PROFILES_DIR
#define VG_SOURCE_PROFILES_DIR "profiles"
#endif
#ifndef VG_SOURCE_SHARED_DATA_DIR
#define VG_SOURCE_SHARED_DATA_DIR "../shared/data"
#endif
#ifndef VG_DATA_DIR_FROM_BIN
#define VG_DATA_DIR_FROM_BIN "../share/vitalguard"
#endif

namespace vg::app {
namespace {

namespace fs = std::filesystem;

// Personal health data: only the service's own user may read it. The directory is made 0700 and must
// be ours; anything else (another owner, a chmod that did not take) refuses the start, since a
// directory someone else controls can be read, or have the database swapped, behind our back.
Status PrepareDataDir(const std::string& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        return Status::Error(ErrorCode::kUnavailable, "cannot create the data directory " + dir + ": " + ec.message());
    }
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        return Status::Error(ErrorCode::kUnavailable, "the data directory " + dir + " is not a directory");
    }
    if (st.st_uid != ::geteuid()) {
        return Status::Error(ErrorCode::kForbidden,
                             "the data directory " + dir + " is owned by another user (uid " +
                                 std::to_string(st.st_uid) + ", this process runs as uid " +
                                 std::to_string(::geteuid()) +
                                 "); it holds personal health data and must be this user's alone: chown it, or "
                                 "choose another --data-dir");
    }
    if (::chmod(dir.c_str(), 0700) != 0 || ::stat(dir.c_str(), &st) != 0 || (st.st_mode & 077) != 0) {
        return Status::Error(ErrorCode::kForbidden, "cannot make the data directory " + dir +
                                                        " owner-only (mode 0700): " + std::strerror(errno));
    }
    return Status::Ok();
}

// The database and its -wal and -shm files: 0600 whatever the umask. SQLite creates -wal and -shm with
// the database file's mode, so the database is created here first, owner-only; files an older version
// left readable are closed up. Called before opening and again after (when -wal and -shm exist).
Status SecureDatabaseFiles(const std::string& db_path) {
    if (!fs::exists(db_path)) {
        const int fd = ::open(db_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST) {
            return Status::Error(ErrorCode::kUnavailable, "cannot create " + db_path + ": " + std::strerror(errno));
        }
        if (fd >= 0) ::close(fd);
    }
    for (const std::string& path : {db_path, db_path + "-wal", db_path + "-shm"}) {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) continue;  // -wal and -shm come and go
        if (st.st_uid != ::geteuid()) {
            return Status::Error(ErrorCode::kForbidden, path + " is owned by another user (uid " +
                                                            std::to_string(st.st_uid) + "): chown it to this user");
        }
        if ((st.st_mode & 077) != 0 && ::chmod(path.c_str(), 0600) != 0) {
            return Status::Error(ErrorCode::kForbidden,
                                 "cannot make " + path + " owner-only (mode 0600): " + std::strerror(errno));
        }
    }
    return Status::Ok();
}

// Whether only this machine can reach a listener on `host`.
bool IsLoopbackHost(const std::string& host) {
    if (host == "localhost") return true;
    auto address = ParseIpAddress(host);
    return address && (LoopbackV4().Contains(*address) || LoopbackV6().Contains(*address));
}

Status Failed(const std::string& what, const Status& why) {
    return Status::Error(why.ok() ? ErrorCode::kInternal : why.code(), what + ": " + why.ToString());
}

// Deletes expired sessions now and then until destroyed.
class SessionJanitor {
  public:
    SessionJanitor(auth::AccountService& accounts, std::chrono::milliseconds interval)
        : thread_([this, &accounts, interval] {
              std::unique_lock lock(mu_);
              while (!cv_.wait_for(lock, interval, [this] { return stop_; })) {
                  lock.unlock();
                  auto purged = accounts.PurgeExpiredSessions();
                  if (!purged.ok()) {
                      spdlog::warn("purging expired sessions failed: {}", purged.status().ToString());
                  } else if (*purged > 0) {
                      spdlog::info("purged {} expired sessions", *purged);
                  }
                  lock.lock();
              }
          }) {}
    ~SessionJanitor() {
        {
            std::lock_guard lock(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;  // GUARDED_BY(mu_)
    std::thread thread_;
};

// The installed resources, <prefix>/share/vitalguard, found from this program's own place
// (<prefix>/bin/vitalguard), so an installed tree may be moved as a whole. Empty when not installed.
fs::path InstalledDataDir() {
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (ec) return {};
    const fs::path dir = (self.parent_path() / VG_DATA_DIR_FROM_BIN).lexically_normal();
    return fs::is_directory(dir, ec) ? dir : fs::path();
}

// The folder a resource comes from when no option names one: the first of ./<local> (a checkout or a
// folder prepared by hand), the installed <prefix>/share/vitalguard/<installed>, and the source tree
// this program was built from, that holds `probe` (a file inside the folder); the source tree's when
// none does, so the error names a real place.
std::string LocateResource(const std::string& configured, const fs::path& local, const fs::path& installed,
                           const fs::path& probe, const std::string& source) {
    if (!configured.empty()) return configured;
    std::error_code ec;
    if (fs::exists(local / probe, ec)) return local.string();
    if (const fs::path data = InstalledDataDir(); !data.empty() && fs::exists(data / installed / probe, ec)) {
        return (data / installed).string();
    }
    return source;
}

}  // namespace

// Declaration order is construction order; destruction (the reverse) is the shutdown order. Each
// member stops its threads in its destructor, so a member may only use members declared before it.
struct Deployment::Services {
    const ServeConfig config;
    const Clock& clock = SystemClock::Instance();
    // /metrics: the registry every module's metrics live in, the emergency path's among them (alerts.yml).
    std::shared_ptr<prometheus::Registry> metrics_registry = std::make_shared<prometheus::Registry>();
    OperationalMetrics metrics{*metrics_registry, VG_VERSION};
    std::optional<DataDirLock> data_dir_lock;  // released last: after the store is closed
    std::unique_ptr<store::Store> store;       // SqliteStore, or PostgresStore with --store postgres://…
    // Where every limiter comes from: in this process, or shared in Redis with the other api servers when the
    // bus is Redis (BuildAccounts). AccountService and the Api take theirs from it.
    std::shared_ptr<auth::RateLimits> rate_limits;
    auth::RedisRateLimits* redis_rate_limits = nullptr;  // `rate_limits` when it is Redis (for its metric)
    std::unique_ptr<auth::AccountService> accounts;
    rules::ProfileRegistry profiles;
    std::unique_ptr<guidance::KnowledgeBase> knowledge;

    // Notifications: the outbox the escalation writes, drained by the delivery worker.
    std::unique_ptr<StoreOutboxQueue> outbox;
    std::unique_ptr<notify::RetryPolicy> retry_policy;
    std::unique_ptr<notify::DeliveryWorker> delivery;

    live::LiveHub live_hub;
    // In the roles: live events to and from the other servers (its subscriber feeds live_hub, so it goes first).
    std::unique_ptr<bus::RedisLiveFanout> live_fanout;
    std::unique_ptr<verdict::WearerIds> wearer_ids;
    std::unique_ptr<escalation::EscalationService> escalation;
    std::unique_ptr<posture::PostureClassifier> posture_model;
    std::optional<fall::FallEventModel> fall_event_model;
    std::optional<fall::EventJudge> fall_judge;
    posture::PostureMetricsHook posture_metrics;
    std::unique_ptr<PostureEventRelay> posture_relay;  // the stage's posture listener
    // After escalation and the relay: the stage hands verdicts to them until the stage has stopped.
    std::unique_ptr<verdict::VerdictStage> verdicts;

    detector::ModelSet status_models;  // empty status model: rules only
    std::unique_ptr<detector::Detector> detector;
    std::unique_ptr<posture::PostureDetector> posture_detector;
    std::unique_ptr<ShardConsumer> shard_consumer;
    std::string store_identity;            // what the store is, the same on every server of this deployment (OpenStore)
    std::unique_ptr<bus::ReadingBus> bus;  // stops (draining into the detectors) before the detectors go
    bus::InProcBus* inproc_bus = nullptr;  // `bus` when it is the in-process one (for its metrics)
    bus::RedisStreamsBus* redis_bus = nullptr;  // `bus` when it is Redis Streams (for its metrics)
    std::unique_ptr<ingest::IngestService> ingest;
    std::unique_ptr<posture::PostureService> posture;  // publishes onto the bus

    std::unique_ptr<guidance::AsyncRewriter> rewriter;
    std::unique_ptr<api::Api> api;
    std::unique_ptr<http::Server> server;  // stops first: no request reaches a stopped service
    std::unique_ptr<SessionJanitor> janitor;
    std::unique_ptr<OperationalMetrics::Sampler> metrics_sampler;  // stops first: it reads the services above
    std::unique_ptr<demo::DemoRunner> demo;                        // a client of `server`: stops before it

    explicit Services(ServeConfig c) : config(std::move(c)) {}

    Status LockDataDir();
    Status CheckDemo() const;
    Status OpenStore();
    Status OpenSqliteStore();
    Status BuildAccounts();
    Status OpenRateLimits();
    Status LoadProfilesAndKnowledge();
    Status BuildNotifier();
    Status LoadStatusModels();
    Status LoadPostureModels();
    Status OpenBus();
    void BuildPipeline();
    Status BuildApi();
};

Status Deployment::Services::OpenStore() {
    VG_RETURN_IF_ERROR(PrepareDataDir(config.data_dir));
    if (!config.store_url.empty()) {
        store::PostgresStoreOptions options;
        options.conninfo = config.store_url;
        options.schema = config.store_schema;
        // Every thread that may wait on the store at once has a connection: workers, urgent and slow lanes.
        // One server per schema, as one per data directory (DataDirLock) — unless it is one role of several.
        options.exclusive = config.role == ServeConfig::Role::kAll;
        options.connections = config.store_connections > 0
                                  ? config.store_connections
                                  : std::max(4, config.worker_threads + config.urgent_threads + config.slow_threads);
        auto opened = store::PostgresStore::Open(options);
        if (!opened.ok()) {
            return Failed("cannot open the PostgreSQL store " + RedactedStoreUrl(config.store_url), opened.status());
        }
        store_identity = "postgresql " + (*opened)->identity();
        store = std::move(opened).value();
        spdlog::info("store: PostgreSQL {} (schema {}, {} connections)", RedactedStoreUrl(config.store_url),
                     config.store_schema, options.connections);
    } else {
        VG_RETURN_IF_ERROR(OpenSqliteStore());
        char host[256] = {};
        if (::gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
        store_identity =
            "sqlite " + std::string(host) + ":" + fs::absolute(config.data_dir).lexically_normal().string();
    }
    return BuildAccounts();
}

Status Deployment::Services::OpenSqliteStore() {
    const std::string db_path = (fs::path(config.data_dir) / "vitalguard.db").string();
    store::SqliteStoreOptions options;
    options.path = db_path;
    options.synchronous_full = config.sqlite_synchronous_full;
    // Every thread that may read at once has a connection: workers, urgent and slow lanes.
    options.read_connections = std::max(4, config.worker_threads + config.urgent_threads + config.slow_threads);
    VG_RETURN_IF_ERROR(SecureDatabaseFiles(db_path));
    auto opened = store::SqliteStore::Open(options);
    if (!opened.ok()) return Failed("cannot open the database " + db_path, opened.status());
    store = std::move(opened).value();
    VG_RETURN_IF_ERROR(SecureDatabaseFiles(db_path));
    return Status::Ok();
}

Status Deployment::Services::BuildAccounts() {
    auth::AccountOptions account_options;
    account_options.session_ttl = config.session_ttl;
    account_options.idle_timeout = config.session_idle_timeout;
    account_options.max_failed_logins_per_id = config.max_failed_logins_per_id;
    account_options.max_failed_logins_per_address = config.max_failed_logins_per_address;
    account_options.max_signups_per_address = config.signups_per_address_per_hour;
    account_options.signup_window = std::chrono::hours(1);
    account_options.failed_login_window = config.failed_login_window;
    account_options.touch_interval =
        std::min<std::chrono::milliseconds>(std::chrono::seconds(60), config.session_idle_timeout / 4);
    VG_RETURN_IF_ERROR(OpenRateLimits());
    accounts = std::make_unique<auth::AccountService>(*store, clock, account_options, rate_limits);
    return Status::Ok();
}

// The rate limits (logins, sign-ups, check_id, guardian requests, SOS per address, the daily quotas): with the
// Redis bus every api server counts in the same Redis, under the bus's prefix, so N servers allow each key the
// limit once, not N times; otherwise in this process. Redis is not needed to start: while it does not answer
// each limiter limits in this process (counted in vitalguard_rate_limit_fallbacks_total).
Status Deployment::Services::OpenRateLimits() {
    if (config.bus_url.empty()) {
        rate_limits = auth::InProcessRateLimits();
        return Status::Ok();
    }
    auth::RedisRateLimitsOptions options;
    options.url = config.bus_url;
    options.prefix = config.bus_prefix;
    auto opened = auth::RedisRateLimits::Open(std::move(options));
    if (!opened.ok()) {
        return Failed("cannot set up the rate limits on " + RedactedStoreUrl(config.bus_url), opened.status());
    }
    redis_rate_limits = opened->get();
    rate_limits = std::move(opened).value();
    spdlog::info("rate limits: shared in Redis {} (prefix {}:rl)", RedactedStoreUrl(config.bus_url), config.bus_prefix);
    return Status::Ok();
}

Status Deployment::Services::LoadProfilesAndKnowledge() {
    const std::string profiles_dir =
        LocateResource(config.profiles_dir, "profiles", "profiles", "adult-default.json", VG_SOURCE_PROFILES_DIR);
    if (Status s = profiles.LoadDirectory(profiles_dir); !s.ok()) {
        return Failed("cannot load rule profiles from " + profiles_dir, s);
    }
    if (!profiles.Find("adult-default")) {
        return Status::Error(ErrorCode::kNotFound, "the rule profile 'adult-default' is missing from " + profiles_dir);
    }
    // What-to-do guidance: the first-aid knowledge base, indexed at start-up (refused when broken).
    const std::string knowledge_dir =
        LocateResource(config.knowledge_dir, "knowledge", "knowledge", "", VG_SOURCE_KNOWLEDGE_DIR);
    auto loaded = guidance::KnowledgeBase::Load(knowledge_dir);
    if (!loaded.ok()) return Failed("cannot load the knowledge base from " + knowledge_dir, loaded.status());
    knowledge = std::move(loaded).value();
    spdlog::info("rule profiles from {}, first-aid knowledge from {}", fs::absolute(profiles_dir).string(),
                 fs::absolute(knowledge_dir).string());
    return Status::Ok();
}

Status Deployment::Services::BuildNotifier() {
    notify::DeliveryWorker::ChannelMap channels;
    notify::SmsGatewayOptions sms_options;
    sms_options.url = config.sms_gateway_url;
    if (!config.sms_gateway_template.empty()) sms_options.body_template = config.sms_gateway_template;
    if (!config.sms_gateway_authorization.empty()) {
        sms_options.headers.emplace_back("Authorization", config.sms_gateway_authorization);
    }
    if (!config.sms_gateway_url.empty()) {
        auto sms = notify::SmsGatewayChannel::Create(sms_options);
        if (!sms.ok()) return Failed("cannot configure the SMS channel", sms.status());
        channels.emplace("sms", std::shared_ptr<notify::Channel>(std::move(sms).value()));
    }
    notify::WebhookOptions webhook_options;
    webhook_options.secret = config.webhook_secret;
    if (!config.guardian_webhook_url.empty()) {
        auto webhook = notify::WebhookChannel::Create(webhook_options, clock);
        if (!webhook.ok()) return Failed("cannot configure the webhook channel", webhook.status());
        channels.emplace("webhook", std::shared_ptr<notify::Channel>(std::move(webhook).value()));
    }
    if (!config.smtp_url.empty()) {
        notify::SmtpOptions smtp;
        smtp.url = config.smtp_url;
        smtp.from_address = config.smtp_from;
        smtp.username = config.smtp_user;
        smtp.password = config.smtp_password;
        smtp.ca_file = config.smtp_ca_file;
        smtp.require_starttls = config.smtp_require_starttls;
        auto email = notify::SmtpChannel::Create(smtp, clock);
        if (!email.ok()) return Failed("cannot configure the e-mail channel", email.status());
        channels.emplace("email", std::shared_ptr<notify::Channel>(std::move(email).value()));
    }
    if (!config.emergency_webhook_url.empty() || !config.emergency_sms_to.empty()) {
        notify::EmergencyDispatchOptions emergency;
        if (!config.emergency_webhook_url.empty()) {
            emergency.target = notify::EmergencyDispatchOptions::Target::kWebhook;
            emergency.recipient = config.emergency_webhook_url;
            emergency.webhook = webhook_options;
        } else {
            emergency.target = notify::EmergencyDispatchOptions::Target::kSmsGateway;
            emergency.recipient = config.emergency_sms_to;
            emergency.sms = sms_options;
        }
        auto dispatch = notify::EmergencyDispatchChannel::Create(emergency, clock);
        if (!dispatch.ok()) return Failed("cannot configure the emergency channel", dispatch.status());
        channels.emplace("emergency", std::shared_ptr<notify::Channel>(std::move(dispatch).value()));
    } else {
        spdlog::warn(
            "no emergency target is configured (--emergency-webhook-url or --emergency-sms-to): "
            "emergency calls are recorded on their incidents and fail delivery visibly");
    }
    outbox = std::make_unique<StoreOutboxQueue>(*store);
    retry_policy = std::make_unique<notify::RetryPolicy>(notify::RetryPolicyOptions{});
    notify::DeliveryWorkerOptions worker_options;
    worker_options.threads = config.delivery_threads;
    delivery = std::make_unique<notify::DeliveryWorker>(
        *outbox, std::move(channels), *retry_policy, clock, worker_options, [this](const auto& e) {
            metrics.OnDelivery(e);
            if (e.outcome == notify::DeliveryOutcome::kDelivered) {
                spdlog::info("delivered outbox message {} ({}) on attempt {}: {}", e.id, e.channel, e.attempt,
                             e.detail);
            } else {
                spdlog::warn("outbox message {} ({}) attempt {} failed: {}", e.id, e.channel, e.attempt,
                             e.status.ToString());
            }
        });
    return Status::Ok();
}

// The status and cause models beside the rules (docs/models.md), loaded before the replay so that their
// per-wearer features warm up with the rules.
Status Deployment::Services::LoadStatusModels() {
    if (config.models_dir == "none") return Status::Ok();
    const std::string dir =
        LocateResource(config.models_dir, "models", "models", "status.manifest.json", VG_SOURCE_MODELS_DIR);
    auto status_model = models::StatusModel::Load(dir, "status");
    if (!status_model.ok()) {
        if (!config.models_dir.empty())
            return Failed("cannot load the status model from " + dir, status_model.status());
        spdlog::warn("no status model in {} ({}); detecting with the rules only", dir, status_model.status().message());
        return Status::Ok();
    }
    status_models.status = std::make_shared<const models::StatusModel>(std::move(status_model).value());
    auto cause_model = models::StatusModel::Load(dir, "cause");
    if (cause_model.ok()) {
        status_models.cause = std::make_shared<const models::StatusModel>(std::move(cause_model).value());
    } else {
        spdlog::warn("no cause model in {}: {}", dir, cause_model.status().message());
    }
    spdlog::info("status{} model loaded from {}", cause_model.ok() ? " and cause" : "", dir);
    return Status::Ok();
}

// Posture and fall detection: the posture model beside the status models. No manifest: posture is off
// (the routes answer 503) and the server runs; a manifest that cannot be loaded stops start-up.
Status Deployment::Services::LoadPostureModels() {
    if (config.models_dir == "none") {
        spdlog::info("--models-dir none: posture and fall detection are off");
        return Status::Ok();
    }
    const std::string dir =
        LocateResource(config.models_dir, "models", "models", "posture.manifest.json", VG_SOURCE_MODELS_DIR);
    if (!fs::is_regular_file(fs::path(dir) / "posture.manifest.json")) {
        spdlog::info("no posture model in {} (posture.manifest.json); posture and fall detection are off", dir);
        return Status::Ok();
    }
    auto loaded = posture::native::LoadNativeClassifier(dir);  // one thread per call, per detector shard
    if (!loaded.ok()) return Failed("cannot load the posture model from " + dir, loaded.status());
    posture_model = std::move(loaded).value();
    spdlog::info("posture model {} loaded from {} (fall threshold {:.2f}; on the {} detector shards)",
                 posture_model->info().version, dir, posture_model->info().fall_threshold, config.detector_shards);
    // The fall decision on the event, when the folder has it; a model trained on another posture
    // network's outputs would judge on meaningless features, so it stops start-up like a broken one.
    if (!fs::is_regular_file(fs::path(dir) / fall::kManifestFile)) {
        spdlog::warn("no fall event model in {} ({}); a fall is suspected on one window's probability", dir,
                     fall::kManifestFile);
        return Status::Ok();
    }
    auto event_model = fall::FallEventModel::Load(dir);
    Status usable = event_model.ok() ? event_model->CheckPostureModel(posture_model->info()) : event_model.status();
    if (!usable.ok()) return Failed("cannot use the fall event model in " + dir, usable);
    fall_event_model.emplace(std::move(event_model).value());
    fall_judge.emplace(*fall_event_model, *posture_model);
    spdlog::info("fall event model {} loaded from {}: a fall is decided on the impact's event",
                 fall_event_model->version(), dir);
    return Status::Ok();
}

// The bus between ingest and detection: in this process (threads), or Redis Streams (--bus redis://…),
// whose shards this node takes as leases and whose update_status replies come back through Redis.
Status Deployment::Services::OpenBus() {
    if (config.bus_url.empty()) {
        auto inproc = std::make_unique<bus::InProcBus>(
            clock, bus::InProcBusOptions{config.detector_shards, 1'000'000, std::chrono::milliseconds(1000)});
        inproc_bus = inproc.get();
        bus = std::move(inproc);
        return Status::Ok();
    }
    bus::RedisStreamsBusOptions options;
    options.url = config.bus_url;
    options.prefix = config.bus_prefix;
    options.shards = config.bus_shards;
    options.owner = store_identity;  // one bus prefix, one deployment
    // Only these roles detect; an api node publishes and waits for its replies, a notifier does not publish.
    options.consume = config.role == ServeConfig::Role::kAll || config.role == ServeConfig::Role::kDetector;
    auto opened = bus::RedisStreamsBus::Open(clock, std::move(options));
    if (!opened.ok()) return Failed("cannot open the Redis bus " + RedactedStoreUrl(config.bus_url), opened.status());
    spdlog::info("bus: Redis Streams {} (prefix {}, {} shards, node {})", RedactedStoreUrl(config.bus_url),
                 config.bus_prefix, config.bus_shards, (*opened)->node_id());
    redis_bus = opened->get();
    bus = std::move(opened).value();
    if (config.role != ServeConfig::Role::kAll) {
        // A detector makes the live events and an api server holds the browsers that watch them.
        bus::RedisLiveFanoutOptions fanout_options;
        fanout_options.url = config.bus_url;
        fanout_options.prefix = config.bus_prefix;
        fanout_options.node_id = redis_bus->node_id();
        auto fanout = bus::RedisLiveFanout::Open(
            std::move(fanout_options),
            [this](int64_t wearer, const std::string& message) { live_hub.DeliverLocal(wearer, message); });
        if (!fanout.ok()) {
            return Failed("cannot open the live-event fan-out on " + RedactedStoreUrl(config.bus_url), fanout.status());
        }
        live_fanout = std::move(fanout).value();
        bus::RedisLiveFanout* relay = live_fanout.get();
        live_hub.SetRelay([relay](int64_t wearer, const std::string& message) { relay->Publish(wearer, message); });
    }
    return Status::Ok();
}

// reading → bus → detector → verdict stage → escalation, and the posture path beside it.
void Deployment::Services::BuildPipeline() {
    wearer_ids = std::make_unique<verdict::WearerIds>(*store);
    escalation::EscalationServiceOptions escalation_options;
    escalation_options.policy.countdown = config.countdown;
    escalation_options.policy.caution_to_guardians = config.caution_to_guardians;
    escalation_options.policy.reraise_every = config.reraise_every;
    escalation_options.policy.escalate_within = config.escalate_within;
    escalation_options.language = config.language;
    escalation_options.base_url = config.public_url;
    escalation_options.emergency_recipient =
        !config.emergency_webhook_url.empty() ? config.emergency_webhook_url : config.emergency_sms_to;
    escalation_options.guardian_webhook_url = config.guardian_webhook_url;
    escalation_options.email_enabled = !config.smtp_url.empty();  // guard_email codes and alerts
    // In roles, other processes open and close incidents too: no memory of "nothing open".
    escalation_options.cache_open_incidents = config.role == ServeConfig::Role::kAll;
    escalation = std::make_unique<escalation::EscalationService>(
        *store, clock, escalation_options,
        [this](const domain::Incident& incident, const std::vector<escalation::Notice>& notices) {
            if (!live_hub.HasSubscribers(incident.wearer)) return;
            std::vector<std::string> names;
            for (auto n : notices) names.emplace_back(escalation::NoticeName(n));
            live_hub.Publish(incident.wearer,
                             events::IncidentEvent(incident, wearer_ids->Of(incident.wearer), names, clock.Now()));
        },
        [this] { delivery->Notify(); });
    // One stage shard per detector shard: a wearer's verdicts stay on one thread, in order.
    verdict::VerdictStageOptions stage_options{config.detector_shards, /*max_batch=*/1024,
                                               /*queue_capacity=*/65536, /*on_verdict_latency=*/{}};
    stage_options.on_verdict_latency = [this](std::chrono::microseconds us) { metrics.OnVerdictLatency(us); };
    verdicts = std::make_unique<verdict::VerdictStage>(*store, *wearer_ids, live_hub, clock, std::move(stage_options));
    verdicts->set_escalation(escalation.get());
    if (posture_model) {
        posture_relay = std::make_unique<PostureEventRelay>(live_hub, *wearer_ids, *escalation);
        verdicts->set_posture_listener(posture_relay.get());
    }

    store::Store* store_ptr = store.get();
    // One detector shard per bus shard (a Redis bus has more shards than this node has threads; the
    // shards it does not own cost nothing).
    detector = std::make_unique<detector::Detector>(
        bus->shard_count(), profiles, "adult-default",
        [store_ptr](int64_t wearer) {
            auto user = store_ptr->FindUserByUniqueNum(wearer);
            return user.ok() ? user->rule_profile : std::string("adult-default");
        },
        *verdicts);
    if (status_models.status) detector->SetModels(status_models);
    ingest = std::make_unique<ingest::IngestService>(*store, *bus, clock, ingest::IngestOptions{});

    // IMU windows travel the same bus: a wearer's windows are evaluated on its detector shard's thread, and
    // their rows and fall transitions go through the verdict stage with its vital-sign verdicts.
    if (posture_model) {
        if (config.posture_workers != 2) {
            spdlog::warn(
                "--posture-workers is ignored: IMU windows are classified on the {} detector shards "
                "(--detector-shards)",
                config.detector_shards);
        }
        posture::PostureDetectorOptions detector_options;
        if (fall_judge) detector_options.fall_judge = &*fall_judge;
        posture_detector = std::make_unique<posture::PostureDetector>(
            *posture_model, *store, *verdicts, posture_metrics, bus->shard_count(), detector_options);
        posture::PostureServiceOptions intake_options;
        intake_options.queue_capacity = config.posture_queue;
        bus::ReadingBus* the_bus = bus.get();
        posture = std::make_unique<posture::PostureService>(
            posture_model->info(),
            [the_bus](posture::WindowJob job) { return the_bus->PublishWindows(std::move(job)); }, clock,
            posture_metrics, intake_options);
    }
    // Only a bus that moves shards between nodes calls OnShardAssigned; the in-process one never does, and its
    // detector is warmed once in Start.
    // A bus that acknowledges deliveries does so only once the stage has committed their verdicts.
    verdict::VerdictStage* stage = verdicts.get();
    shard_consumer = std::make_unique<ShardConsumer>(*detector, posture_detector.get(), *store, bus->shard_count(),
                                                     config.replay_window, [stage] {
                                                         std::promise<void> handled;
                                                         stage->AfterHandled([&handled] { handled.set_value(); });
                                                         handled.get_future().wait();
                                                     });
}

Status Deployment::Services::BuildApi() {
    api::ApiOptions api_options;
    api_options.version = VG_VERSION;
    api_options.secure_cookies = config.secure_cookies;
    api_options.trusted_proxies = config.trusted_proxies;
    if (config.trust_proxy) {
        spdlog::warn(
            "--trust-proxy is deprecated: it now means --trusted-proxy 127.0.0.0/8,::1 (X-Forwarded-For is "
            "believed only from a proxy on this host); name your proxies with --trusted-proxy");
        api_options.trusted_proxies.push_back(LoopbackV4());
        api_options.trusted_proxies.push_back(LoopbackV6());
    }
    api_options.metrics_token = config.metrics_token;
    if (config.metrics_token.empty() && !IsLoopbackHost(config.host)) {
        spdlog::warn(
            "/metrics is public on {}: anyone who can reach it reads the request and fall counts; set "
            "--metrics-token, or listen on loopback",
            config.host);
    }
    api_options.allowed_origins = config.allowed_origins;
    api_options.check_id_per_minute = config.check_id_per_minute;
    api_options.readings_per_wearer_per_day = config.readings_per_wearer_per_day;
    api_options.windows_per_wearer_per_day = config.windows_per_wearer_per_day;
    api_options.web_dir = config.web_dir;
    api_options.demo = config.demo;
    if (api_options.web_dir.empty()) {
        const std::string located = LocateResource("", "web/dist", "web", "index.html", VG_SOURCE_WEB_DIR);
        if (fs::is_regular_file(fs::path(located) / "index.html")) api_options.web_dir = located;
    }
    if (api_options.web_dir.empty()) {
        spdlog::warn("the web dashboard is not built (npm run build in web/); serving the API only");
    } else {
        spdlog::info("serving the web dashboard from {}", fs::absolute(api_options.web_dir).string());
    }
    api::ApiServices services{*accounts, *store,  clock,   nullptr, nullptr, nullptr,          nullptr,    nullptr,
                              nullptr,   nullptr, nullptr, nullptr, nullptr, metrics_registry, rate_limits};
    services.ingest = ingest.get();
    services.live = &live_hub;
    services.profiles = &profiles;
    services.on_rule_profile_changed = [this](int64_t wearer) { detector->ResetWearer(bus->ShardOf(wearer), wearer); };
    services.escalation = escalation.get();
    services.knowledge = knowledge.get();
    services.status_model = status_models.status.get();
    services.cause_model = status_models.cause.get();
    services.posture = posture.get();
    if (!config.llm_base_url.empty()) {
        guidance::LlmConfig llm;
        llm.base_url = config.llm_base_url;
        llm.api_key = config.llm_api_key;
        llm.model = config.llm_model;
        llm.timeout = config.llm_timeout;
        auto created = guidance::LlmRewriter::Create(llm);
        if (!created.ok()) return Failed("cannot configure the LLM rewrite", created.status());
        rewriter = std::make_unique<guidance::AsyncRewriter>(std::move(created).value());
        services.rewriter = rewriter.get();
        spdlog::info("incident guidance is rewritten by {} at {} (the composed text is shown first)", llm.model,
                     llm.base_url);
    }
    api = std::make_unique<api::Api>(services, api_options);

    http::ServerOptions server_options;
    server_options.address = config.host;
    server_options.port = config.port;
    server_options.body_limit_bytes = config.body_limit_bytes;
    server_options.header_timeout = config.header_timeout;
    server_options.body_timeout = config.body_timeout;
    server_options.idle_timeout = config.idle_timeout;
    server_options.shutdown_grace = config.shutdown_grace;
    server_options.io_threads = config.io_threads;
    server_options.worker_threads = config.worker_threads;
    server_options.slow_threads = config.slow_threads;
    server_options.urgent_threads = config.urgent_threads;
    // Connection limits (http::ServerOptions: 20,000 in all, 256 per address, a bounded worker queue):
    // a reverse proxy's connections carry many clients, and so do this host's own programs; they count
    // only towards the total.
    server_options.connection_limit_exempt = config.trusted_proxies;
    server_options.connection_limit_exempt.push_back(LoopbackV4());
    server_options.connection_limit_exempt.push_back(LoopbackV6());
    // Each route's lane (api.cpp's route table): answered on the io thread, on the workers, on the urgent
    // lane (readings, SOS, incident answers) or on the password-hashing pool.
    server_options.classify = [](const http::Request& r) { return api::Api::LaneOf(r); };
    server_options.error_response = [](ErrorCode code, std::string message) {
        return api::ErrorResponse(Status::Error(code, std::move(message)));
    };
    api::Api* api_ptr = api.get();
    server_options.websocket_upgrader = [api_ptr](const http::Request& r) { return api_ptr->UpgradeWebSocket(r); };
    server = std::make_unique<http::Server>(server_options,
                                            [api_ptr](const http::Request& r) { return api_ptr->Handle(r); });
    return Status::Ok();
}

// One server per data directory (two would both escalate, and could call 119 twice for one incident).
Status Deployment::Services::LockDataDir() {
    std::error_code ec;
    fs::create_directories(config.data_dir, ec);  // a failure is reported by OpenStore, with its reason
    auto lock = DataDirLock::Acquire(config.data_dir);
    if (!lock.ok()) return lock.status();
    data_dir_lock.emplace(std::move(lock).value());
    return Status::Ok();
}

// A demo must never reach a person or call 119: with any real notification target configured it does not start
// (rather than quietly dropping the target, which would leave an operator believing it works).
Status Deployment::Services::CheckDemo() const {
    if (!config.demo) return Status::Ok();
    std::vector<std::string> targets;
    if (!config.emergency_webhook_url.empty()) targets.push_back("--emergency-webhook-url");
    if (!config.emergency_sms_to.empty()) targets.push_back("--emergency-sms-to");
    if (!config.sms_gateway_url.empty()) targets.push_back("--sms-gateway-url");
    if (!config.guardian_webhook_url.empty()) targets.push_back("--guardian-webhook-url");
    if (!config.smtp_url.empty()) targets.push_back("--smtp-url");
    if (targets.empty()) return Status::Ok();
    std::string names;
    for (const std::string& t : targets) names += (names.empty() ? "" : ", ") + t;
    return Status::Error(ErrorCode::kValidationFailed,
                         "--demo refuses to start with a real notification target configured (" + names +
                             "): a demo must never reach a person or call 119; remove them, or run without --demo");
}

Result<std::unique_ptr<Deployment>> Deployment::Build(const ServeConfig& config) {
    auto s = std::make_unique<Services>(config);
    VG_RETURN_IF_ERROR(s->CheckDemo());
    VG_RETURN_IF_ERROR(s->LockDataDir());
    VG_RETURN_IF_ERROR(s->OpenStore());
    VG_RETURN_IF_ERROR(s->LoadProfilesAndKnowledge());
    VG_RETURN_IF_ERROR(s->BuildNotifier());
    VG_RETURN_IF_ERROR(s->LoadStatusModels());
    VG_RETURN_IF_ERROR(s->LoadPostureModels());
    VG_RETURN_IF_ERROR(s->OpenBus());
    s->BuildPipeline();
    VG_RETURN_IF_ERROR(s->BuildApi());
    return std::unique_ptr<Deployment>(new Deployment(std::move(s)));
}

Deployment::Deployment(std::unique_ptr<Services> services) : s_(std::move(services)) {}

Deployment::~Deployment() {
    if (!s_) return;
    // Members stop in reverse order of declaration; the store last commits what it has queued.
    s_.reset();
}

Status Deployment::Start() {
    Services& s = *s_;
    // On a bus across processes each shard's state is rebuilt when this node is given the shard
    // (ShardConsumer::OnShardAssigned), since the shards this node will hold are not known yet.
    const bool shards_move = s.redis_bus != nullptr;
    using Role = ServeConfig::Role;
    const Role role = s.config.role;
    const bool notifies = role == Role::kAll || role == Role::kNotifier;
    const bool detects = role == Role::kAll || role == Role::kDetector;
    if (s.config.replay_window.count() > 0 && detects && !shards_move) {
        // Before the bus starts: the rules' windows, counters, baselines and held levels continue where
        // the previous process left them instead of starting cold after every restart.
        const auto started = std::chrono::steady_clock::now();
        size_t wearers = 0, readings = 0;
        Status replayed = s.store->ForEachWearerReadingsSince(
            s.clock.Now() - s.config.replay_window, [&](int64_t wearer, std::vector<domain::VitalsReading>&& rs) {
                readings += s.detector->Warm(s.bus->ShardOf(wearer), wearer, rs, s.clock.Now());
                ++wearers;
            });
        if (!replayed.ok()) return Failed("cannot rebuild detection state from stored readings", replayed);
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
        spdlog::info("rebuilt detection state of {} wearers from {} stored readings in {} ms", wearers, readings, ms);
    }
    // From the end of the pipeline to its start, so no stage hands work to one that is not running.
    if (notifies) {
        s.delivery->Start();
        s.escalation->Start();  // deadlines that passed while the server was down fire on the first tick
    }
    if (s.posture_detector && detects && !shards_move) {
        // Before the bus starts: falls that were suspected when the previous process died are decided as
        // usual from here on.
        auto restore = posture::SuspicionsToRestore(*s.store, *s.store);
        if (!restore.ok()) return Failed("cannot restore the suspected falls", restore.status());
        for (const store::FallSuspicion& f : *restore) {
            s.posture_detector->Restore(s.bus->ShardOf(f.wearer), f, s.clock.Now());
        }
    }
    if (detects) {
        s.verdicts->Start();
        s.bus->Start(*s.shard_consumer);
    }
    spdlog::info("role: {}", role == Role::kAll        ? "all (alone on its store)"
                             : role == Role::kApi      ? "api (readings to the Redis bus; no detection here)"
                             : role == Role::kDetector ? "detector (its share of the Redis bus's shards)"
                                                       : "notifier (escalation timers and delivery)");
    if (Status listening = s.server->Start(); !listening.ok()) {
        return Failed("cannot listen on " + s.config.host + ":" + std::to_string(s.config.port), listening);
    }
    s.metrics_sampler = s.metrics.StartSampler({s.store.get(), s.inproc_bus, s.redis_bus, s.ingest.get(), &s.live_hub,
                                                s.escalation.get(), &s.clock, s.verdicts.get(), s.redis_rate_limits},
                                               std::chrono::seconds(5));
    s.janitor = std::make_unique<SessionJanitor>(
        *s.accounts, std::min<std::chrono::milliseconds>(std::chrono::minutes(5), s.config.session_idle_timeout));
    if (s.config.demo) {
        demo::DemoOptions options;
        options.data_dir = s.config.data_dir;
        // The simulated watch connects as a local client would (IPv4 loopback for a wildcard listener).
        options.host = IsLoopbackHost(s.config.host) || s.config.host == "0.0.0.0" || s.config.host == "::"
                           ? std::string("127.0.0.1")
                           : s.config.host;
        options.port = s.server->port();
        options.cycle = s.config.demo_cycle;
        options.imu_data_dir = s.config.demo_imu_data_dir;
        if (options.imu_data_dir.empty()) {
            const char* env = std::getenv("VG_SHARED_DATA");
            options.imu_data_dir = env && *env ? env : VG_SOURCE_SHARED_DATA_DIR;
        }
        spdlog::warn("DEMO MODE: simulated data for the demo accounts; no notification leaves this server");
        s.demo = std::make_unique<demo::DemoRunner>(std::move(options));
    }
    return Status::Ok();
}

uint16_t Deployment::port() const { return s_->server->port(); }

void Deployment::Drain() {
    s_->demo.reset();  // the simulated watch stops before the server does
    s_->api->SetDraining();
    s_->server->Stop();
    s_->server->Wait();
}

}  // namespace vg::app
