#include "vg/app/serve.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "vg/api/api.hpp"
#include "vg/api/errors.hpp"
#include "vg/app/posture_event_relay.hpp"
#include "vg/app/store_outbox_queue.hpp"
#include "vg/auth/account_service.hpp"
#include "vg/bus/inproc_bus.hpp"
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
#include "vg/posture/posture_service.hpp"
#include "vg/rules/rules.hpp"
#include "vg/store/sqlite_store.hpp"
#include "vg/verdict/verdict_stage.hpp"

#ifndef VG_VERSION
#define VG_VERSION "dev"
#endif
#ifndef VG_SOURCE_PROFILES_DIR
#define VG_SOURCE_PROFILES_DIR "profiles"
#endif

namespace vg::app {
namespace {

namespace fs = std::filesystem;

Status PrepareDataDir(const std::string& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        return Status::Error(ErrorCode::kUnavailable, "cannot create the data directory " + dir + ": " + ec.message());
    }
    // Personal health data: only the service's own user may read it.
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
    return Status::Ok();
}

Status WriteReadyFile(const std::string& path, uint16_t port) {
    // Write then rename, so a reader never sees a half-written file.
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << port << "\n";
        if (!out) return Status::Error(ErrorCode::kUnavailable, "cannot write the ready file " + path);
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) return Status::Error(ErrorCode::kUnavailable, "cannot write the ready file " + path + ": " + ec.message());
    return Status::Ok();
}

// Deletes expired sessions now and then until stopped.
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

}  // namespace

int RunServe(const ServeConfig& config) {
    // Block termination signals in every thread created from here on; this thread takes them with sigwait.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    // A client that disconnects mid-write must not kill the server.
    ::signal(SIGPIPE, SIG_IGN);

    if (Status s = PrepareDataDir(config.data_dir); !s.ok()) {
        spdlog::critical("{}", s.message());
        return 1;
    }
    const std::string db_path = (fs::path(config.data_dir) / "vitalguard.db").string();
    store::SqliteStoreOptions store_options;
    store_options.path = db_path;
    store_options.synchronous_full = config.sqlite_synchronous_full;
    auto opened = store::SqliteStore::Open(store_options);
    if (!opened.ok()) {
        spdlog::critical("cannot open the database {}: {}", db_path, opened.status().message());
        return 1;
    }
    std::unique_ptr<store::SqliteStore> store = std::move(opened).value();
    const Clock& clock = SystemClock::Instance();

    auth::AccountOptions account_options;
    account_options.session_ttl = config.session_ttl;
    account_options.idle_timeout = config.session_idle_timeout;
    account_options.max_failed_logins_per_id = config.max_failed_logins_per_id;
    account_options.max_failed_logins_per_address = config.max_failed_logins_per_address;
    account_options.failed_login_window = config.failed_login_window;
    account_options.touch_interval =
        std::min<std::chrono::milliseconds>(std::chrono::seconds(60), config.session_idle_timeout / 4);
    auth::AccountService accounts(*store, clock, account_options);

    // Detection: rule profiles (data), the reading bus, the detector on the bus's shards.
    rules::ProfileRegistry profiles;
    std::string profiles_dir = config.profiles_dir;
    if (profiles_dir.empty()) profiles_dir = fs::is_directory("profiles") ? "profiles" : VG_SOURCE_PROFILES_DIR;
    if (Status s = profiles.LoadDirectory(profiles_dir); !s.ok()) {
        spdlog::critical("cannot load rule profiles from {}: {}", profiles_dir, s.ToString());
        store->Close();
        return 1;
    }
    if (!profiles.Find("adult-default")) {
        spdlog::critical("the rule profile 'adult-default' is missing from {}", profiles_dir);
        store->Close();
        return 1;
    }
    // What-to-do guidance: the first-aid knowledge base, indexed at start-up (refused when broken).
    std::string knowledge_dir = config.knowledge_dir;
    if (knowledge_dir.empty()) knowledge_dir = fs::is_directory("knowledge") ? "knowledge" : VG_SOURCE_KNOWLEDGE_DIR;
    auto knowledge = guidance::KnowledgeBase::Load(knowledge_dir);
    if (!knowledge.ok()) {
        spdlog::critical("cannot load the knowledge base from {}: {}", knowledge_dir, knowledge.status().ToString());
        store->Close();
        return 1;
    }

    // Notifications: the channels that are configured, and the worker draining the outbox.
    notify::DeliveryWorker::ChannelMap channels;
    auto channel_error = [&](const char* what, const Status& s) {
        spdlog::critical("cannot configure the {} channel: {}", what, s.ToString());
        store->Close();
        return 1;
    };
    notify::SmsGatewayOptions sms_options;
    sms_options.url = config.sms_gateway_url;
    if (!config.sms_gateway_template.empty()) sms_options.body_template = config.sms_gateway_template;
    if (!config.sms_gateway_authorization.empty()) {
        sms_options.headers.emplace_back("Authorization", config.sms_gateway_authorization);
    }
    if (!config.sms_gateway_url.empty()) {
        auto sms = notify::SmsGatewayChannel::Create(sms_options);
        if (!sms.ok()) return channel_error("SMS", sms.status());
        channels.emplace("sms", std::shared_ptr<notify::Channel>(std::move(sms).value()));
    }
    notify::WebhookOptions webhook_options;
    webhook_options.secret = config.webhook_secret;
    if (!config.guardian_webhook_url.empty()) {
        auto webhook = notify::WebhookChannel::Create(webhook_options, clock);
        if (!webhook.ok()) return channel_error("webhook", webhook.status());
        channels.emplace("webhook", std::shared_ptr<notify::Channel>(std::move(webhook).value()));
    }
    if (!config.smtp_url.empty()) {
        notify::SmtpOptions smtp;
        smtp.url = config.smtp_url;
        smtp.from_address = config.smtp_from;
        auto email = notify::SmtpChannel::Create(smtp, clock);
        if (!email.ok()) return channel_error("e-mail", email.status());
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
        if (!dispatch.ok()) return channel_error("emergency", dispatch.status());
        channels.emplace("emergency", std::shared_ptr<notify::Channel>(std::move(dispatch).value()));
    } else {
        spdlog::warn(
            "no emergency target is configured (--emergency-webhook-url or --emergency-sms-to): "
            "emergency calls are recorded on their incidents and fail delivery visibly");
    }
    StoreOutboxQueue outbox(*store);
    notify::RetryPolicy retry_policy(notify::RetryPolicyOptions{});
    notify::DeliveryWorkerOptions worker_options;
    worker_options.threads = config.delivery_threads;
    notify::DeliveryWorker delivery(outbox, channels, retry_policy, clock, worker_options, [](const auto& e) {
        if (e.outcome == notify::DeliveryOutcome::kDelivered) {
            spdlog::info("delivered outbox message {} ({}) on attempt {}: {}", e.id, e.channel, e.attempt, e.detail);
        } else {
            spdlog::warn("outbox message {} ({}) attempt {} failed: {}", e.id, e.channel, e.attempt,
                         e.status.ToString());
        }
    });

    live::LiveHub live_hub;
    // Verdicts become durable status rows, live events and escalation here, off the detector's threads;
    // one stage shard per detector shard keeps each wearer's order.
    verdict::VerdictStage verdicts(*store, live_hub, clock, {config.detector_shards, 1024, 65536});
    escalation::EscalationServiceOptions escalation_options;
    escalation_options.policy.countdown = config.countdown;
    escalation_options.policy.caution_to_guardians = config.caution_to_guardians;
    escalation_options.policy.reraise_every = config.reraise_every;
    escalation_options.language = config.language;
    escalation_options.base_url = config.public_url;
    escalation_options.emergency_recipient =
        !config.emergency_webhook_url.empty() ? config.emergency_webhook_url : config.emergency_sms_to;
    escalation_options.guardian_webhook_url = config.guardian_webhook_url;
    escalation::EscalationService escalation(
        *store, clock, escalation_options,
        [&live_hub, &verdicts, &clock](const domain::Incident& incident,
                                       const std::vector<escalation::Notice>& notices) {
            if (!live_hub.HasSubscribers(incident.wearer)) return;
            std::vector<std::string> names;
            for (auto n : notices) names.emplace_back(escalation::NoticeName(n));
            live_hub.Publish(incident.wearer,
                             events::IncidentEvent(incident, verdicts.WearerId(incident.wearer), names, clock.Now()));
        },
        [&delivery] { delivery.Notify(); });
    verdicts.set_escalation(&escalation);
    bus::InProcBus bus(clock, {config.detector_shards, 1'000'000, std::chrono::milliseconds(1000)});
    store::Store* store_ptr = store.get();
    detector::Detector detector(
        bus.shard_count(), profiles, "adult-default",
        [store_ptr](int64_t wearer) {
            auto user = store_ptr->FindUserByUniqueNum(wearer);
            return user.ok() ? user->rule_profile : std::string("adult-default");
        },
        verdicts);
    // The status and cause models beside the rules (docs/models.md), loaded before the replay so that
    // their per-wearer features warm up with the rules.
    detector::ModelSet loaded_models;
    if (config.models_dir != "none") {
        std::string dir = config.models_dir;
        if (dir.empty()) {
            dir = fs::is_regular_file("models/status.manifest.json") ? "models" : VG_SOURCE_MODELS_DIR;
        }
        auto status_model = models::StatusModel::Load(dir, "status");
        if (!status_model.ok()) {
            if (!config.models_dir.empty()) {
                spdlog::critical("cannot load the status model from {}: {}", dir, status_model.status().ToString());
                store->Close();
                return 1;
            }
            spdlog::warn("no status model in {} ({}); detecting with the rules only", dir,
                         status_model.status().message());
        } else {
            detector::ModelSet set;
            set.status = std::make_shared<const models::StatusModel>(std::move(status_model).value());
            auto cause_model = models::StatusModel::Load(dir, "cause");
            if (cause_model.ok()) {
                set.cause = std::make_shared<const models::StatusModel>(std::move(cause_model).value());
            } else {
                spdlog::warn("no cause model in {}: {}", dir, cause_model.status().message());
            }
            loaded_models = set;
            detector.SetModels(std::move(set));
            spdlog::info("status{} model loaded from {}", cause_model.ok() ? " and cause" : "", dir);
        }
    }
    // Posture and fall detection: the posture model beside the status models. No manifest: posture is
    // off (the routes answer 503) and the server runs; a manifest that cannot be loaded stops start-up.
    std::unique_ptr<posture::PostureClassifier> posture_model;
    std::optional<fall::FallEventModel> fall_event_model;
    std::optional<fall::EventJudge> fall_judge;
    if (config.models_dir != "none") {
        std::string dir = config.models_dir;
        if (dir.empty()) dir = fs::is_regular_file("models/posture.manifest.json") ? "models" : VG_SOURCE_MODELS_DIR;
        if (!fs::is_regular_file(fs::path(dir) / "posture.manifest.json")) {
            spdlog::info("no posture model in {} (posture.manifest.json); posture and fall detection are off", dir);
        } else {
            auto loaded = posture::native::LoadNativeClassifier(dir);  // one thread per call, per posture worker
            if (!loaded.ok()) {
                spdlog::critical("cannot load the posture model from {}: {}", dir, loaded.status().ToString());
                store->Close();
                return 1;
            }
            posture_model = std::move(loaded).value();
            spdlog::info("posture model {} loaded from {} (fall threshold {:.2f}, {} workers)",
                         posture_model->info().version, dir, posture_model->info().fall_threshold,
                         config.posture_workers);
            // The fall decision on the event, when the folder has it; a model trained on another posture
            // network's outputs would judge on meaningless features, so it stops start-up like a broken one.
            if (fs::is_regular_file(fs::path(dir) / fall::kManifestFile)) {
                auto event_model = fall::FallEventModel::Load(dir);
                Status usable =
                    event_model.ok() ? event_model->CheckPostureModel(posture_model->info()) : event_model.status();
                if (!usable.ok()) {
                    spdlog::critical("cannot use the fall event model in {}: {}", dir, usable.ToString());
                    store->Close();
                    return 1;
                }
                fall_event_model.emplace(std::move(event_model).value());
                fall_judge.emplace(*fall_event_model, *posture_model);
                spdlog::info("fall event model {} loaded from {}: a fall is decided on the impact's event",
                             fall_event_model->version(), dir);
            } else {
                spdlog::warn("no fall event model in {} ({}); a fall is suspected on one window's probability", dir,
                             fall::kManifestFile);
            }
        }
    } else {
        spdlog::info("--models-dir none: posture and fall detection are off");
    }
    if (config.replay_window.count() > 0) {
        // Before the bus starts: the rules' windows, counters, baselines and held levels continue
        // where the previous process left them instead of starting cold after every restart.
        const auto started = std::chrono::steady_clock::now();
        size_t wearers = 0, readings = 0;
        Status s = store->ForEachWearerReadingsSince(
            clock.Now() - config.replay_window, [&](int64_t wearer, std::vector<domain::VitalsReading>&& rs) {
                readings += detector.Warm(bus.ShardOf(wearer), wearer, rs, clock.Now());
                ++wearers;
            });
        if (!s.ok()) {
            spdlog::critical("cannot rebuild detection state from stored readings: {}", s.ToString());
            store->Close();
            return 1;
        }
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
        spdlog::info("rebuilt detection state of {} wearers from {} stored readings in {} ms", wearers, readings, ms);
    }
    verdicts.Start();
    bus.Start(detector);
    delivery.Start();
    escalation.Start();  // deadlines that passed while the server was down fire on the first tick
    ingest::IngestService ingest(*store, bus, clock, {});
    PostureEventRelay posture_relay(live_hub, verdicts, escalation);
    std::unique_ptr<posture::PostureService> posture_service;
    if (posture_model) {
        posture::PostureServiceOptions posture_options;
        posture_options.workers = config.posture_workers;
        posture_options.queue_capacity = config.posture_queue;
        if (fall_judge) posture_options.fall_judge = &*fall_judge;
        posture_service =
            std::make_unique<posture::PostureService>(*posture_model, *store, clock, &posture_relay, posture_options);
        // Falls that were suspected when the previous process died are decided as usual from here on.
        if (Status s = posture_service->RestoreFallSuspicions(); !s.ok()) {
            spdlog::critical("cannot restore the suspected falls: {}", s.ToString());
            posture_service->Stop();
            bus.Stop();
            verdicts.Stop();
            escalation.Stop();
            delivery.Stop();
            store->Close();
            return 1;
        }
    }

    api::ApiOptions api_options;
    api_options.version = VG_VERSION;
    api_options.secure_cookies = config.secure_cookies;
    api_options.trust_proxy = config.trust_proxy;
    api_options.allowed_origins = config.allowed_origins;
    api_options.check_id_per_minute = config.check_id_per_minute;
    api_options.web_dir = config.web_dir;
    if (api_options.web_dir.empty()) {
        for (const char* candidate : {"web/dist", VG_SOURCE_WEB_DIR}) {
            if (fs::is_regular_file(fs::path(candidate) / "index.html")) {
                api_options.web_dir = candidate;
                break;
            }
        }
    }
    if (api_options.web_dir.empty()) {
        spdlog::warn("the web dashboard is not built (npm run build in web/); serving the API only");
    } else {
        spdlog::info("serving the web dashboard from {}", fs::absolute(api_options.web_dir).string());
    }
    api::ApiServices services{accounts, *store,  clock,   nullptr, nullptr, nullptr,
                              nullptr,  nullptr, nullptr, nullptr, nullptr, nullptr};
    services.ingest = &ingest;
    services.live = &live_hub;
    services.profiles = &profiles;
    services.on_rule_profile_changed = [&detector, &bus](int64_t wearer) {
        detector.ResetWearer(bus.ShardOf(wearer), wearer);
    };
    services.escalation = &escalation;
    services.knowledge = knowledge->get();
    services.status_model = loaded_models.status.get();
    services.cause_model = loaded_models.cause.get();
    services.posture = posture_service.get();
    std::unique_ptr<guidance::AsyncRewriter> rewriter;
    if (!config.llm_base_url.empty()) {
        guidance::LlmConfig llm;
        llm.base_url = config.llm_base_url;
        llm.api_key = config.llm_api_key;
        llm.model = config.llm_model;
        llm.timeout = config.llm_timeout;
        auto created = guidance::LlmRewriter::Create(llm);
        if (!created.ok()) {
            spdlog::critical("cannot configure the LLM rewrite: {}", created.status().ToString());
            escalation.Stop();
            delivery.Stop();
            bus.Stop();
            verdicts.Stop();
            store->Close();
            return 1;
        }
        rewriter = std::make_unique<guidance::AsyncRewriter>(std::move(created).value());
        services.rewriter = rewriter.get();
        spdlog::info("incident guidance is rewritten by {} at {} (the composed text is shown first)", llm.model,
                     llm.base_url);
    }
    api::Api api(services, api_options);

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
    server_options.error_response = [](ErrorCode code, std::string message) {
        return api::ErrorResponse(Status::Error(code, std::move(message)));
    };
    server_options.websocket_upgrader = [&api](const http::Request& r) { return api.UpgradeWebSocket(r); };
    http::Server server(server_options, [&api](const http::Request& r) { return api.Handle(r); });
    if (Status s = server.Start(); !s.ok()) {
        spdlog::critical("cannot listen on {}:{}: {}", config.host, config.port, s.message());
        if (posture_service) posture_service->Stop();
        bus.Stop();
        verdicts.Stop();
        escalation.Stop();
        delivery.Stop();
        store->Close();
        return 1;
    }
    {
        SessionJanitor janitor(
            accounts, std::min<std::chrono::milliseconds>(std::chrono::minutes(5), config.session_idle_timeout));
        spdlog::info("vitalguard {} serving on http://{}:{} with data in {}", VG_VERSION, config.host, server.port(),
                     fs::absolute(config.data_dir).string());
        if (!config.ready_file.empty()) {
            if (Status s = WriteReadyFile(config.ready_file, server.port()); !s.ok()) {
                spdlog::error("{}", s.message());
            }
        }

        int received = 0;
        sigwait(&signals, &received);
        spdlog::info("received {}; shutting down gracefully", received == SIGINT ? "SIGINT" : "SIGTERM");
        api.SetDraining();
        server.Stop();
        server.Wait();
    }
    // Every acknowledged reading is already stored; let detection finish what is queued so the
    // last verdicts are recorded too, then close the store.
    if (posture_service) posture_service->Stop();
    bus.Stop();
    verdicts.Stop();
    escalation.Stop();
    delivery.Stop();
    store->Close();
    spdlog::info("stopped cleanly");
    return 0;
}

}  // namespace vg::app
