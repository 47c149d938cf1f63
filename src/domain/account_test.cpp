#include "vg/domain/account.hpp"

#include <gtest/gtest.h>

namespace vg::domain {
namespace {

SignupInput ValidSignup() {
    SignupInput in;
    in.profile.id = "grandma_kim";
    in.password = "correct horse";
    in.profile.name = "김영희";
    in.profile.age = 78;
    in.profile.address = "서울특별시 종로구 세종대로 1";
    in.profile.detailed_address = "101동 1203호";
    in.profile.phone_num = "010-1234-5678";
    in.profile.guard_name = "김철수";
    in.profile.guard_phone_num = "+821098765432";
    return in;
}

TEST(AccountValidationTest, AcceptsACompleteKoreanSignup) { EXPECT_TRUE(ValidateSignup(ValidSignup()).empty()); }

TEST(AccountValidationTest, GuardianIsOptionalButBothOrNeither) {
    SignupInput in = ValidSignup();
    in.profile.guard_name.clear();
    in.profile.guard_phone_num.clear();
    EXPECT_TRUE(ValidateSignup(in).empty());

    in.profile.guard_name = "김철수";
    auto errors = ValidateSignup(in);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].field, "guard_phone_num");
}

TEST(AccountValidationTest, ReportsEveryBadFieldAtOnce) {
    SignupInput in;
    in.profile.id = "AB";
    in.password = "short";
    in.profile.age = 0;
    in.profile.phone_num = "12345";
    auto errors = ValidateSignup(in);
    std::vector<std::string> fields;
    for (auto& e : errors) fields.push_back(e.field);
    EXPECT_EQ(fields, (std::vector<std::string>{"id", "password", "name", "age", "address", "phone_num"}));
}

TEST(AccountValidationTest, UserIdRules) {
    EXPECT_FALSE(CheckUserId("abcd"));
    EXPECT_FALSE(CheckUserId("a.b-c_d9"));
    EXPECT_FALSE(CheckUserId(std::string(32, 'a')));
    EXPECT_TRUE(CheckUserId("abc"));
    EXPECT_TRUE(CheckUserId(std::string(33, 'a')));
    EXPECT_TRUE(CheckUserId("Grandma"));
    EXPECT_TRUE(CheckUserId("kim young"));
    EXPECT_TRUE(CheckUserId("김영희김영희"));
    EXPECT_TRUE(CheckUserId(""));
}

TEST(AccountValidationTest, PasswordRules) {
    EXPECT_FALSE(CheckPassword("12345678", "user"));
    EXPECT_FALSE(CheckPassword("비밀번호는여덟자", "user"));  // 8 code points, 24 bytes
    EXPECT_TRUE(CheckPassword("1234567", "user"));
    EXPECT_TRUE(CheckPassword("비밀번호", "user"));  // 4 code points although 12 bytes
    EXPECT_TRUE(CheckPassword("sameasid", "sameasid"));
    EXPECT_TRUE(CheckPassword(std::string(1025, 'x'), "user"));
    EXPECT_TRUE(CheckPassword("\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", "user"));
}

TEST(AccountValidationTest, AgeBounds) {
    EXPECT_FALSE(CheckAge(1));
    EXPECT_FALSE(CheckAge(130));
    EXPECT_TRUE(CheckAge(0));
    EXPECT_TRUE(CheckAge(131));
    EXPECT_TRUE(CheckAge(-5));
}

TEST(AccountValidationTest, PhoneNumbers) {
    for (const char* ok : {"+821012345678", "+14155552671", "010-1234-5678", "01012345678", "02-123-4567",
                           "031-1234-5678", "0212345678"}) {
        EXPECT_FALSE(CheckPhoneNumber(ok)) << ok;
    }
    for (const char* bad : {"", "12345", "+0123456789", "+12", "010 1234 5678", "010--1234-5678", "-010-1234-5678",
                            "010-12345678", "(010)1234-5678", "119", "+8210123456789012", "0012345678"}) {
        EXPECT_TRUE(CheckPhoneNumber(bad)) << bad;
    }
}

TEST(AccountValidationTest, TextFieldsRejectControlCharactersAndOverlongValues) {
    EXPECT_TRUE(CheckPersonName("Kim\nYoung", true));
    EXPECT_TRUE(CheckPersonName(std::string(101, 'a'), true));
    EXPECT_FALSE(CheckPersonName(std::string(100, 'a'), true));
    EXPECT_FALSE(CheckPersonName("김영희", true));
    EXPECT_TRUE(CheckPersonName("   ", true));
    EXPECT_TRUE(CheckPersonName(" Kim", true));
    EXPECT_TRUE(CheckAddress("", true));
    EXPECT_FALSE(CheckAddress("", false));
    EXPECT_TRUE(CheckAddress("\xc0\xaf", true));  // overlong encoding of '/'
}

TEST(AccountValidationTest, NamesAndAddressesRefuseInvisibleFormatCharacters) {
    // Bidi overrides and isolates, zero-width characters, the BOM, the soft hyphen, line separators.
    for (const char* bad : {"\u202e"
                            "8765-4321-010",
                            "Kim\u200bYoung", "\ufeffKim", "Kim\u2066Lee\u2069", "Kim\u00adLee", "Kim\u2028Lee",
                            "Kim\u061cLee", "Kim\U000e0041"}) {
        ASSERT_TRUE(CheckPersonName(bad, true)) << bad;
        EXPECT_NE(CheckPersonName(bad, true)->find("invisible formatting characters"), std::string::npos);
        EXPECT_TRUE(CheckAddress(std::string("서울 ") + bad, true)) << bad;
        EXPECT_TRUE(ContainsFormatCharacter(bad)) << bad;
    }
    // What people do type stays accepted: Korean, accents, CJK, emoji with a zero-width joiner is not a name.
    for (const char* good : {"김영희", "José Núñez", "王小明", "O'Brien-Smith"}) {
        EXPECT_FALSE(CheckPersonName(good, true)) << good;
        EXPECT_FALSE(ContainsFormatCharacter(good)) << good;
    }
    SignupInput in = ValidSignup();
    in.profile.name =
        "\u202e"
        "Kim";
    in.profile.guard_name = "Lee\u200d";
    in.profile.detailed_address = "101\u202d";
    std::vector<std::string> fields;
    for (const auto& e : ValidateSignup(in)) fields.push_back(e.field);
    EXPECT_EQ(fields, (std::vector<std::string>{"name", "detailed_address", "guard_name"}));
}

TEST(AccountValidationTest, InvisibleCharactersAreTakenOutOfStoredText) {
    EXPECT_EQ(WithoutInvisibleCharacters("\u202eKim\u200b Lee\r\nBcc"), "Kim LeeBcc");
    EXPECT_EQ(WithoutInvisibleCharacters("김영희"), "김영희");
    EXPECT_EQ(WithoutInvisibleCharacters("\xc0\xaf"), "\xc0\xaf") << "invalid UTF-8 is left as it is";
}

TEST(AccountValidationTest, GuardEmailIsAPlainAddressWithALowerCaseDomain) {
    EXPECT_EQ(CheckEmailAddress("guardian@example.org"), std::nullopt);
    EXPECT_EQ(CheckEmailAddress("Kim.Chul-su+vg@mail.example.co.kr"), std::nullopt);
    EXPECT_EQ(NormalizeEmailAddress("Kim@Example.ORG"), "Kim@example.org");
    EXPECT_NE(CheckEmailAddress("Kim@Example.ORG"), std::nullopt);  // not normalised
    for (std::string_view bad :
         {"", "guardian", "@example.org", "guardian@", "a@b", "\"Kim\" <kim@example.org>",
          "kim@example.org\r\nBcc: x@y.z", "kim @example.org", "kim@exa mple.org", "a..b@example.org", ".a@example.org",
          "kim@-example.org", "kim,lee@example.org", "kim@example.org,lee@example.org", "kim@[127.0.0.1]",
          "\"kim\"@example.org", "kim\xE2\x80\xAE@example.org", "kim@example..org"}) {
        EXPECT_NE(CheckEmailAddress(bad), std::nullopt) << bad;
    }
    EXPECT_NE(CheckEmailAddress(std::string(250, 'a') + "@example.org"), std::nullopt);
    EXPECT_NE(CheckEmailAddress(std::string(65, 'a') + "@example.org"), std::nullopt);

    SignupInput in = ValidSignup();
    in.profile.guard_email = "guardian@example.org";
    EXPECT_TRUE(ValidateSignup(in).empty());
    in.profile.guard_email = "Guardian <guardian@example.org>";
    auto errors = ValidateSignup(in);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].field, "guard_email");
}

TEST(AccountValidationTest, PhoneKeyComparesNumbersByTheirDigits) {
    EXPECT_EQ(PhoneKey("010-9876-5432"), "01098765432");
    EXPECT_EQ(PhoneKey("01098765432"), "01098765432");
    EXPECT_EQ(PhoneKey("+821098765432"), "01098765432");
    EXPECT_EQ(PhoneKey("+14155550100"), "14155550100");
    SignupInput in = ValidSignup();
    in.profile.guard_phone_num = "+82" + PhoneKey(in.profile.phone_num).substr(1);
    ASSERT_EQ(ValidateSignup(in).size(), 1u) << "the same phone written another way";
    EXPECT_EQ(ValidateSignup(in)[0].field, "guard_phone_num");
}

TEST(AccountValidationTest, Utf8LengthCountsCodePoints) {
    EXPECT_EQ(Utf8Length("abc"), 3u);
    EXPECT_EQ(Utf8Length("김영희"), 3u);
    EXPECT_EQ(Utf8Length("\xed\xa0\x80"), std::nullopt);  // a UTF-16 surrogate
}

}  // namespace
}  // namespace vg::domain
