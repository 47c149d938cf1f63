// `vitalguard user ...`: list, lock, unlock and reset the password of accounts (user_command.hpp).
#include "user_command.hpp"

#include <boost/json.hpp>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>

#include "vg/app/store_url.hpp"
#include "vg/auth/account_service.hpp"
#include "vg/auth/crypto.hpp"
#include "vg/store/postgres_store.hpp"
#include "vg/store/sqlite_store.hpp"

namespace vg::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// The operator in the audit log: no account has unique_num 0.
constexpr int64_t kOperatorActor = 0;

Result<std::unique_ptr<store::Store>> OpenDatabase(const UserCommandArgs& args) {
    if (!args.store_url.empty() && args.store_url != "sqlite") {
        if (!args.store_url.starts_with("postgres://") && !args.store_url.starts_with("postgresql://")) {
            return Status::Error(ErrorCode::kValidationFailed, "--store must be sqlite or a postgresql:// URI");
        }
        // Not exclusive: beside a running server, as on SQLite.
        store::PostgresStoreOptions options;
        options.conninfo = args.store_url;
        options.schema = args.store_schema;
        options.connections = 1;
        auto opened = store::PostgresStore::Open(options);
        if (!opened.ok()) {
            return Status::Error(opened.status().code(), "cannot open the PostgreSQL store " +
                                                             app::RedactedStoreUrl(args.store_url) + ": " +
                                                             opened.status().message());
        }
        return std::unique_ptr<store::Store>(std::move(opened).value());
    }
    const fs::path db = fs::path(args.data_dir) / "vitalguard.db";
    std::error_code ec;
    if (!fs::exists(db, ec)) {
        return Status::Error(ErrorCode::kNotFound,
                             "there is no database at " + db.string() + " (wrong --data-dir? VG_DATA_DIR?)");
    }
    store::SqliteStoreOptions options;
    options.path = db.string();
    options.read_connections = 1;
    auto opened = store::SqliteStore::Open(options);
    if (!opened.ok()) return opened.status();
    return std::unique_ptr<store::Store>(std::move(opened).value());
}

std::string TimeOrDash(const std::optional<TimePoint>& t) { return t ? FormatIso8601(*t) : "-"; }

json::value TimeOrNull(const std::optional<TimePoint>& t) {
    if (!t) return nullptr;
    return json::value(FormatIso8601(*t));
}

void Audit(store::Store& store, int64_t user, std::string action, std::string detail) {
    Status s =
        store.AppendAudit({SystemClock::Instance().Now(), kOperatorActor, user, std::move(action), std::move(detail)});
    if (!s.ok()) std::cerr << "vitalguard user: the audit entry was not written: " << s.message() << "\n";
}

int List(store::Store& store, bool as_json, std::ostream& out, std::ostream& err) {
    json::array rows;
    if (!as_json) {
        out << std::left << std::setw(33) << "ID" << std::setw(21) << "NAME" << std::setw(25) << "CREATED"
            << std::setw(25) << "LOCKED" << std::setw(25) << "LAST LOGIN" << std::setw(25) << "LAST SEEN"
            << std::setw(9) << "SESSIONS"
            << "DEVICES\n";
    }
    int64_t after = 0;
    for (;;) {
        auto page = store.ListUserSummaries(after, store::kMaxSessionRows);
        if (!page.ok()) {
            err << "vitalguard user list: " << page.status().message() << "\n";
            return 1;
        }
        for (const store::UserSummary& s : *page) {
            const domain::User& u = s.user;
            after = u.unique_num;
            if (as_json) {
                json::object o{{"id", u.profile.id},
                               {"name", u.profile.name},
                               {"created_at", FormatIso8601(u.created_at)},
                               {"locked_at", TimeOrNull(u.locked_at)},
                               {"locked_reason", u.locked_reason},
                               {"last_login_at", TimeOrNull(s.last_login_at)},
                               {"last_seen_at", TimeOrNull(s.last_seen_at)},
                               {"sessions", s.sessions},
                               {"active_devices", s.active_devices}};
                rows.push_back(std::move(o));
            } else {
                // Names are the wearers' own text: shown without control or invisible characters.
                std::string name = domain::WithoutInvisibleCharacters(u.profile.name);
                out << std::left << std::setw(33) << u.profile.id << std::setw(21) << name << std::setw(25)
                    << FormatIso8601(u.created_at) << std::setw(25) << TimeOrDash(u.locked_at) << std::setw(25)
                    << TimeOrDash(s.last_login_at) << std::setw(25) << TimeOrDash(s.last_seen_at) << std::setw(9)
                    << s.sessions << s.active_devices << "\n";
            }
        }
        if (page->size() < static_cast<size_t>(store::kMaxSessionRows)) break;
    }
    if (as_json) out << json::serialize(json::object{{"users", std::move(rows)}}) << "\n";
    return 0;
}

}  // namespace

void DefineUserCommands(CLI::App& app, UserCommandArgs& args) {
    CLI::App* user = app.add_subcommand(
        "user", "Accounts, for the service operator: list, lock, unlock, reset-password (works while serve runs)");
    user->require_subcommand(1);
    auto data_dir = [&](CLI::App* c) {
        c->add_option("--data-dir", args.data_dir, "The server's data directory")
            ->envname("VG_DATA_DIR")
            ->capture_default_str();
        c->add_option("--store", args.store_url, "As serve --store: sqlite (the data directory's) or a PostgreSQL URI")
            ->envname("VG_STORE");
        c->add_option("--store-schema", args.store_schema, "As serve --store-schema")
            ->envname("VG_STORE_SCHEMA")
            ->capture_default_str();
    };
    CLI::App* list = user->add_subcommand(
        "list", "Every account: id, name, created, locked, last login and use, sessions, active devices");
    data_dir(list);
    list->add_flag("--json", args.json, "JSON instead of a table");
    CLI::App* lock = user->add_subcommand(
        "lock", "Refuse the account's logins and end its sessions (its watches keep sending; alerts keep working)");
    lock->add_option("id", args.id, "The account's login id")->required();
    lock->add_option("--reason", args.reason, "A note kept with the lock (shown by list --json)");
    data_dir(lock);
    CLI::App* unlock = user->add_subcommand("unlock", "Allow the account's logins again");
    unlock->add_option("id", args.id, "The account's login id")->required();
    data_dir(unlock);
    CLI::App* reset = user->add_subcommand(
        "reset-password", "Set a new password (a random one printed once, or --password-stdin) and end every session");
    reset->add_option("id", args.id, "The account's login id")->required();
    reset->add_flag("--password-stdin", args.password_stdin, "Read the new password from the first line of stdin");
    data_dir(reset);
}

int RunUserCommand(const CLI::App& app, const UserCommandArgs& args, std::istream& in, std::ostream& out,
                   std::ostream& err) {
    const CLI::App* user = app.get_subcommand("user");
    std::string which;
    for (const char* name : {"list", "lock", "unlock", "reset-password"}) {
        if (user->got_subcommand(name)) which = name;
    }
    const std::string prefix = "vitalguard user " + which + ": ";
    auto opened = OpenDatabase(args);
    if (!opened.ok()) {
        err << prefix << opened.status().message() << "\n";
        return 1;
    }
    store::Store& store = **opened;
    if (which == "list") return List(store, args.json, out, err);

    auto found = store.FindUserById(args.id);
    if (!found.ok()) {
        if (found.status().code() == ErrorCode::kNotFound) {
            err << prefix << "there is no account with the id \"" << args.id << "\"\n";
        } else {
            err << prefix << found.status().message() << "\n";
        }
        return 1;
    }
    const int64_t num = found->unique_num;
    auth::AccountService accounts(store, SystemClock::Instance(), auth::AccountOptions{});
    if (which == "lock") {
        auto ended = accounts.LockUser(num, args.reason);
        if (!ended.ok()) {
            err << prefix << ended.status().message() << "\n";
            for (const auto& f : ended.status().fields()) err << "  " << f.field << ": " << f.problem << "\n";
            return 1;
        }
        Audit(store, num, "user lock (operator)", args.reason);
        out << "Locked " << args.id << ": logins are refused, " << ended->size()
            << " session(s) ended (open live views close within 5 seconds). Its watches keep sending and its "
               "alerts keep working; revoke devices separately if needed.\n";
        return 0;
    }
    if (which == "unlock") {
        if (Status s = accounts.UnlockUser(num); !s.ok()) {
            err << prefix << s.message() << "\n";
            return 1;
        }
        Audit(store, num, "user unlock (operator)", "");
        out << "Unlocked " << args.id << ": logins work again.\n";
        return 0;
    }
    // reset-password
    std::string password;
    if (args.password_stdin) {
        std::getline(in, password);
        if (!password.empty() && password.back() == '\r') password.pop_back();
    } else {
        password = auth::RandomToken().substr(0, 20);  // 120 random bits, base64url: no confusing symbols
    }
    auto ended = accounts.ResetPassword(num, password);
    if (!ended.ok()) {
        err << prefix << ended.status().message() << "\n";
        for (const auto& f : ended.status().fields()) err << "  " << f.field << ": " << f.problem << "\n";
        return 1;
    }
    Audit(store, num, "user reset-password (operator)", "sessions ended: " + std::to_string(ended->size()));
    if (args.password_stdin) {
        out << "The password of " << args.id << " was changed; " << ended->size() << " session(s) ended.\n";
    } else {
        out << "The password of " << args.id << " is now:\n"
            << password << "\n"
            << "It is shown only this once. " << ended->size() << " session(s) ended.\n";
    }
    return 0;
}

}  // namespace vg::cli
