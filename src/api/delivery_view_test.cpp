// What users see of deliveries (issue 15 item 8): masked recipients, error codes instead of receiver text.
#include "delivery_view.hpp"

#include <gtest/gtest.h>

namespace vg::api {
namespace {

TEST(MaskedRecipientTest, PhonesEmailsAndReceivers) {
    EXPECT_EQ(MaskedRecipient("sms", "010-9876-5432"), "010-****-5432");
    EXPECT_EQ(MaskedRecipient("sms", "+821098765432"), "+821*****5432");
    EXPECT_EQ(MaskedRecipient("email", "kim.cheolsu@example.com"), "k***@example.com");
    EXPECT_EQ(MaskedRecipient("email", "a@b.example"), "a***@b.example");
    EXPECT_EQ(MaskedRecipient("email", "010-9876-5432@sms.example"), "0***@sms.example");
    EXPECT_EQ(MaskedRecipient("webhook", "https://care.internal.example:8443/hooks/SECRET"), "webhook");
    EXPECT_EQ(MaskedRecipient("emergency", "http://10.1.2.3:9000/119"), "119 dispatch");
}

TEST(DeliveryFailureTest, ACodeAndASentenceNeverTheRawText) {
    EXPECT_FALSE(DeliveryFailureOf(""));
    struct Case {
        const char* raw;
        const char* code;
    };
    for (const Case& c : {
             Case{"unavailable: could not reach the receiver: Failed to connect to gw.internal port 8443",
                  "unavailable"},
             Case{"unavailable: timed out after 10000 ms: Operation timed out (gave up after 5 attempts)",
                  "unavailable"},
             Case{"rate_limited: receiver answered HTTP 429: slow down, 10.0.0.7", "rate_limited"},
             Case{"validation_failed: receiver answered HTTP 400: {\"error\":\"bad to\"}", "validation_failed"},
             Case{"internal: channel threw: std::bad_alloc", "internal"},
             Case{"lease expired: the worker did not report attempt 2", "internal"},
             Case{"something else entirely", "internal"},
         }) {
        auto f = DeliveryFailureOf(c.raw);
        ASSERT_TRUE(f) << c.raw;
        EXPECT_EQ(f->code, c.code) << c.raw;
        EXPECT_FALSE(f->message.empty());
        for (const char* leak : {"gw.internal", "8443", "10.0.0.7", "HTTP", "threw", "worker", "bad to"}) {
            EXPECT_EQ(f->message.find(leak), std::string::npos) << leak << " in " << f->message;
        }
    }
}

}  // namespace
}  // namespace vg::api
