// E-mail to guardians end to end (issue 16): a real SMTP server (Debian's python3-aiosmtpd, started by
// tests/support/smtp_test_server.py with a self-signed certificate made by openssl here) that requires
// STARTTLS and AUTH; the real server signs a wearer up with a guard_email, sends the verification code by
// e-mail, and after the code is entered sends the alert of a danger incident by e-mail too. Also: a wrong
// SMTP password is a retryable failure, and a server without STARTTLS gets no credentials and no message.
// Skipped, saying so, without python3-aiosmtpd unless VG_REQUIRE_STOCK_DEBIAN_TEST is set.
#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "e2e_fixture.hpp"
#include "vg/common/clock.hpp"
#include "vg/notify/channel.hpp"
#include "vg/notify/email.hpp"

namespace vg::e2e {
namespace {

namespace fs = std::filesystem;
using testing::HttpClient;
using namespace std::chrono_literals;

constexpr const char* kPython = "/usr/bin/python3";  // Debian's, where python3-aiosmtpd installs
constexpr const char* kSmtpUser = "vitalguard-alerts";
constexpr const char* kSmtpPassword = "smtp-pa55word-e2e";

bool HaveAiosmtpd() { return std::system("/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1") == 0; }

std::string ReadFile(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// The SMTP test server, its certificate and what it received.
class SmtpServer {
  public:
    // `tls`: offer (and require) STARTTLS with a fresh self-signed certificate for 127.0.0.1.
    explicit SmtpServer(bool tls) {
        if (tls) {
            const std::string cmd =
                "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -addext "
                "subjectAltName=IP:127.0.0.1,DNS:localhost -keyout '" +
                dir_.file("key.pem") + "' -out '" + dir_.file("cert.pem") + "' >/dev/null 2>&1";
            if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl could not make a certificate");
        }
        testing::ServerProcessOptions o;
        o.args = {fs::path(VG_SOURCE_DIR "/tests/support/smtp_test_server.py").string(),
                  "--dir",
                  dir_.file("out"),
                  "--user",
                  kSmtpUser,
                  "--password",
                  kSmtpPassword};
        if (tls) o.args.insert(o.args.end(), {"--cert", dir_.file("cert.pem"), "--key", dir_.file("key.pem")});
        o.ready_timeout = 20s;
        process_ = std::make_unique<testing::ServerProcess>(kPython, o);
    }
    std::string Url() const { return "smtp://127.0.0.1:" + std::to_string(process_->port()); }
    std::string CaFile() const { return dir_.file("cert.pem"); }
    // The received messages (as the server parsed them), oldest first.
    std::vector<json::object> Mails() const {
        std::vector<json::object> out;
        for (int n = 1;; ++n) {
            const fs::path p = fs::path(dir_.file("out")) / ("mail-" + std::to_string(n) + ".json");
            if (!fs::exists(p)) break;
            out.push_back(json::parse(ReadFile(p)).as_object());
        }
        return out;
    }
    std::vector<json::object> WaitForMails(size_t n, std::chrono::seconds within) const {
        const auto until = std::chrono::steady_clock::now() + within;
        while (std::chrono::steady_clock::now() < until) {
            if (Mails().size() >= n) break;
            std::this_thread::sleep_for(100ms);
        }
        return Mails();
    }
    // Every AUTH attempt the server saw: {"login", "success", "tls"}.
    std::vector<json::object> AuthAttempts() const {
        std::vector<json::object> out;
        std::istringstream lines(ReadFile(fs::path(dir_.file("out")) / "auth.jsonl"));
        for (std::string line; std::getline(lines, line);) {
            if (!line.empty()) out.push_back(json::parse(line).as_object());
        }
        return out;
    }

  private:
    testing::TempDir dir_{"vg-smtp"};
    std::unique_ptr<testing::ServerProcess> process_;
};

class EmailE2eTest : public ServerTest {
  protected:
    void SetUp() override {
        if (!HaveAiosmtpd()) {
            if (std::getenv("VG_REQUIRE_STOCK_DEBIAN_TEST") != nullptr) {
                FAIL() << "python3-aiosmtpd is required (VG_REQUIRE_STOCK_DEBIAN_TEST is set): apt-get install "
                          "python3-aiosmtpd";
            }
            GTEST_SKIP() << "python3-aiosmtpd is not installed (scripts/install-deps installs it); the e-mail "
                            "end-to-end test is skipped";
        }
    }
    std::string PasswordFile() {
        const std::string path = data_dir_.file("smtp-password");
        std::ofstream(path) << kSmtpPassword << "\n";
        return path;
    }
    static std::string CodeIn(const std::string& text) {
        std::smatch m;
        EXPECT_TRUE(std::regex_search(text, m, std::regex("([0-9]{6})"))) << text;
        return m.size() > 1 ? m[1].str() : std::string();
    }
};

TEST_F(EmailE2eTest, AVerifiedGuardEmailGetsTheDangerAlertOverStartTlsWithLogin) {
    SmtpServer smtp(/*tls=*/true);
    StartServer({"--smtp-url", smtp.Url(), "--smtp-from", "alerts@vitalguard.example", "--smtp-user", kSmtpUser,
                 "--smtp-password-file", PasswordFile(), "--smtp-ca-file", smtp.CaFile(), "--countdown", "60s",
                 "--public-url", "https://vg.example"});
    HttpClient wearer = Client();
    json::object body = SignupBody("mail_kim");
    body["guard_email"] = "Guardian@Example.ORG";
    auto signup = wearer.Post("/api/signup", body);
    ASSERT_EQ(signup.status, 201) << signup.body;
    EXPECT_EQ(signup.json().at("user").at("guard_email").as_string(), "Guardian@example.org") << "domain lowercased";
    auto login = wearer.Post("/api/login", json::object{{"id", "mail_kim"}, {"password", "correct horse"}});
    ASSERT_EQ(login.status, 200) << login.body;
    wearer.SetDefaultHeader("X-CSRF-Token", std::string(login.json().at("csrf_token").as_string()));
    auto me = wearer.Get("/api/me");
    ASSERT_EQ(me.status, 200) << me.body;
    EXPECT_FALSE(me.json().at("user").at("guard_email_verified").as_bool());

    // A bad address is refused, naming the field, before the password is even looked at.
    auto bad = wearer.Put("/api/me/guard_email",
                          json::object{{"guard_email", "x@y.example\r\nBcc: a@b.example"}, {"current_password", "no"}});
    EXPECT_EQ(bad.status, 400) << bad.body;
    EXPECT_EQ(ErrorFields(bad), std::vector<std::string>{"guard_email"});

    // The code goes out once, by e-mail, over TLS with the login.
    auto sent = wearer.Post("/api/phone/verification", json::object{{"field", "guard_email"}});
    ASSERT_EQ(sent.status, 202) << sent.body;
    auto mails = smtp.WaitForMails(1, 30s);
    ASSERT_EQ(mails.size(), 1u) << server_->LogTail();
    EXPECT_EQ(mails[0].at("rcpt_tos").as_array().at(0).as_string(), "Guardian@example.org");
    EXPECT_TRUE(mails[0].at("tls").as_bool());
    EXPECT_TRUE(mails[0].at("authenticated").as_bool());
    const std::string code = CodeIn(std::string(mails[0].at("body").as_string()));
    auto confirmed =
        wearer.Post("/api/phone/verification/confirm", json::object{{"field", "guard_email"}, {"code", code}});
    ASSERT_EQ(confirmed.status, 200) << confirmed.body;
    EXPECT_TRUE(confirmed.json().at("verified").as_bool());
    EXPECT_TRUE(wearer.Get("/api/me").json().at("user").at("guard_email_verified").as_bool());

    // Danger: the guardian's alert arrives by e-mail, its Korean subject decoded by Python's email package.
    for (int i = 0; i < 2; ++i) {
        auto r =
            wearer.Post("/api/update_status",
                        json::object{{"heart_rate", 150}, {"respiration_rate", 16}, {"spo2", 88}, {"skin_temp", 33.4}});
        ASSERT_EQ(r.status, 200) << r.body;
    }
    mails = smtp.WaitForMails(2, 30s);
    ASSERT_EQ(mails.size(), 2u) << server_->LogTail();
    const json::object& alert = mails[1];
    const std::string subject(alert.at("subject").as_string());
    EXPECT_NE(subject.find("김영희님"), std::string::npos) << subject;
    EXPECT_NE(subject.find("위험"), std::string::npos) << subject;
    EXPECT_NE(std::string(alert.at("raw_subject").as_string()).find("=?UTF-8?B?"), std::string::npos);
    EXPECT_EQ(alert.at("to").as_string(), "Guardian@example.org");
    EXPECT_EQ(alert.at("rcpt_tos").as_array().at(0).as_string(), "Guardian@example.org");
    const std::string text(alert.at("body").as_string());
    EXPECT_NE(text.find("세종대로 1"), std::string::npos) << text;
    EXPECT_NE(text.find("(UTC+09:00)"), std::string::npos) << text;
    EXPECT_TRUE(alert.at("tls").as_bool());

    // No credentials before STARTTLS: every AUTH the server saw came inside TLS, with the right login.
    const auto auths = smtp.AuthAttempts();
    ASSERT_FALSE(auths.empty());
    for (const auto& a : auths) {
        EXPECT_TRUE(a.at("tls").as_bool()) << json::serialize(a);
        EXPECT_EQ(a.at("login").as_string(), kSmtpUser);
    }
    // The incident view masks the address.
    auto incidents = wearer.Get("/api/incidents");
    ASSERT_EQ(incidents.status, 200);
    const int64_t id = incidents.json().at("incidents").as_array().at(0).at("id").as_int64();
    auto view = wearer.Get("/api/incidents/" + std::to_string(id));
    ASSERT_EQ(view.status, 200) << view.body;
    EXPECT_EQ(view.body.find("Guardian@example.org"), std::string::npos) << view.body;
    // The password is nowhere in the server's log.
    EXPECT_EQ(server_->log().find(kSmtpPassword), std::string::npos);
}

TEST_F(EmailE2eTest, WithoutAnSmtpChannelAGuardEmailCodeIsUnavailable) {
    StartServer();
    HttpClient wearer = Client();
    json::object body = SignupBody("nomail_lee");
    body["guard_email"] = "guardian@example.org";
    ASSERT_EQ(wearer.Post("/api/signup", body).status, 201);
    auto login = wearer.Post("/api/login", json::object{{"id", "nomail_lee"}, {"password", "correct horse"}});
    wearer.SetDefaultHeader("X-CSRF-Token", std::string(login.json().at("csrf_token").as_string()));
    auto sent = wearer.Post("/api/phone/verification", json::object{{"field", "guard_email"}});
    EXPECT_EQ(sent.status, 503) << sent.body;
    EXPECT_NE(sent.body.find("E-mail"), std::string::npos) << sent.body;

    // PUT /api/me/guard_email: the password is required and checked; "" removes the address.
    auto wrong = wearer.Put("/api/me/guard_email",
                            json::object{{"guard_email", "other@example.org"}, {"current_password", "wrong pass"}});
    EXPECT_EQ(wrong.status, 401) << wrong.body;
    auto changed = wearer.Put("/api/me/guard_email", json::object{{"guard_email", "other@EXAMPLE.org"},
                                                                  {"current_password", "correct horse"}});
    ASSERT_EQ(changed.status, 200) << changed.body;
    EXPECT_EQ(changed.json().at("user").at("guard_email").as_string(), "other@example.org");
    EXPECT_FALSE(changed.json().at("user").at("guard_email_verified").as_bool());
    auto removed =
        wearer.Put("/api/me/guard_email", json::object{{"guard_email", ""}, {"current_password", "correct horse"}});
    ASSERT_EQ(removed.status, 200) << removed.body;
    EXPECT_EQ(removed.json().at("user").at("guard_email").as_string(), "");
}

// The channel itself against the real server: what the delivery worker would record.
TEST_F(EmailE2eTest, AWrongPasswordIsARetryableFailureAndNoStartTlsMeansNothingIsSent) {
    ManualClock clock(FromUnixMillis(1'800'000'000'000));
    notify::OutboxItem item;
    item.id = 1;
    item.channel = "email";
    item.recipient = "guardian@example.org";
    item.subject = "[VitalGuard] 김영희님: 위험 알림";
    item.body = "본문";
    item.idempotency_key = "inc-1-1-v1-guardians_alert-contact-email";
    item.attempts = 1;
    {
        SmtpServer smtp(/*tls=*/true);
        notify::SmtpOptions o;
        o.url = smtp.Url();
        o.from_address = "alerts@vitalguard.example";
        o.username = kSmtpUser;
        o.password = "not-the-password";
        o.require_starttls = true;
        o.ca_file = smtp.CaFile();
        auto channel = notify::SmtpChannel::Create(o, clock);
        ASSERT_TRUE(channel.ok()) << channel.status().ToString();
        auto result = channel.value()->Deliver(item);
        ASSERT_FALSE(result.ok());
        EXPECT_EQ(result.status().code(), ErrorCode::kUnavailable) << result.status().ToString();
        EXPECT_TRUE(notify::IsRetryable(result.status()));
        EXPECT_EQ(result.status().ToString().find("not-the-password"), std::string::npos);
        EXPECT_TRUE(smtp.Mails().empty());
        const auto auths = smtp.AuthAttempts();
        ASSERT_EQ(auths.size(), 1u);
        EXPECT_FALSE(auths[0].at("success").as_bool());
        EXPECT_TRUE(auths[0].at("tls").as_bool());
    }
    {
        SmtpServer plain(/*tls=*/false);  // offers AUTH in clear and no STARTTLS
        notify::SmtpOptions o;
        o.url = plain.Url();
        o.from_address = "alerts@vitalguard.example";
        o.username = kSmtpUser;
        o.password = kSmtpPassword;
        o.require_starttls = true;
        auto channel = notify::SmtpChannel::Create(o, clock);
        ASSERT_TRUE(channel.ok()) << channel.status().ToString();
        auto result = channel.value()->Deliver(item);
        ASSERT_FALSE(result.ok());
        EXPECT_EQ(result.status().code(), ErrorCode::kUnavailable) << result.status().ToString();
        EXPECT_TRUE(plain.AuthAttempts().empty()) << "credentials were sent without TLS";
        EXPECT_TRUE(plain.Mails().empty());
        // And the server refuses to start with a login over smtp:// without STARTTLS at all.
        o.require_starttls = false;
        EXPECT_EQ(notify::SmtpChannel::Create(o, clock).status().code(), ErrorCode::kValidationFailed);
    }
}

}  // namespace
}  // namespace vg::e2e
