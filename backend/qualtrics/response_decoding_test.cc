// Unit tests of the 2xx response decoders on hand-written bodies, for the cases the simulator
// never produces: missing fields, foreign next pages, certificates for another key.
#include "backend/qualtrics/response_decoding.h"

#include <string>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "backend/qualtrics/api_errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vault_qualtrics {
namespace qualtrics_internal {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A self-signed P-256 certificate made for these tests; its key protects nothing.
constexpr char kCertificatePem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBizCCATGgAwIBAgIUNXaUhyYet8s2WyYbVY0NFHYPtiMwCgYIKoZIzj0EAwIw\n"
    "GzEZMBcGA1UEAwwQZnV6ei5leGFtcGxlLmNvbTAeFw0yNjEyMDQxNzAyMTNaFw0y\n"
    "NzAxMDMxNzAyMTNaMBsxGTAXBgNVBAMMEGZ1enouZXhhbXBsZS5jb20wWTATBgcq\n"
    "hkjOPQIBBggqhkjOPQMBBwNCAATbspyviUpDu4tZNoVjGPMDB2JMnnGtzRoZLXzT\n"
    "vQ9gzaSxU8i04V/emIEonZATxws0PVm9CoIQEA265q80I94Zo1MwUTAdBgNVHQ4E\n"
    "FgQUFyLhH8hxrkSm+Hm3SqtUCKl5JMQwHwYDVR0jBBgwFoAUFyLhH8hxrkSm+Hm3\n"
    "SqtUCKl5JMQwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiAsGjtm\n"
    "Ylui2/ZYZDAJgBikVx6NMfcRdTARgdovMHmIZAIhAIbjyUt5lv2fXmtNedh4DO/B\n"
    "Oz/EUP7dE8DKrRKwE4gv\n"
    "-----END CERTIFICATE-----\n";
// SHA-256 of the certificate's SubjectPublicKeyInfo, from
// openssl x509 -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum.
constexpr char kFingerprint[] = "03a37e24a030ccfd4389fce04b2d9b41333c1331d5179852281ae982cdf3be57";
// notAfter 2027-01-03T17:02:13Z.
constexpr int64_t kNotAfter = 1798995733;
constexpr char kOrigin[] = "https://fra1.qualtrics.com:443";

std::string CreateBody(const nlohmann::json& result, const nlohmann::json& meta = nullptr) {
  nlohmann::json body = {{"result", result}};
  if (!meta.is_null()) body["meta"] = meta;
  return body.dump();
}

TEST(DecodeCreateResponseTest, ReturnsCertificateForExpectedKey) {
  absl::StatusOr<CreatedCertificate> created = DecodeCreateResponse(
      200, "hdr-id",
      CreateBody({{"id", "CC_1"}, {"certificate", kCertificatePem}},
                 {{"requestId", "body-id"}, {"notice", "expires soon"}}),
      kFingerprint);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->id, "CC_1");
  EXPECT_EQ(created->certificate_pem, kCertificatePem);
  EXPECT_EQ(created->info.public_key_fingerprint, kFingerprint);
  EXPECT_EQ(created->info.not_after, kNotAfter);
  EXPECT_EQ(created->request_id, "body-id");
  EXPECT_EQ(created->notice, "expires soon");
}

TEST(DecodeCreateResponseTest, HeaderRequestIdWhenBodyHasNone) {
  absl::StatusOr<CreatedCertificate> created = DecodeCreateResponse(
      201, "hdr-id", CreateBody({{"id", "CC_1"}, {"certificate", kCertificatePem}}), kFingerprint);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->request_id, "hdr-id");
  EXPECT_EQ(created->notice, "");
}

TEST(DecodeCreateResponseTest, MissingIdIsOutcomeUnknown) {
  absl::StatusOr<CreatedCertificate> created = DecodeCreateResponse(
      200, "hdr-id", CreateBody({{"certificate", kCertificatePem}}), kFingerprint);
  ASSERT_FALSE(created.ok());
  EXPECT_TRUE(HasOutcomeUnknownMark(created.status())) << created.status();
  EXPECT_EQ(created.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(created.status().message(), HasSubstr("HTTP 200"));
  EXPECT_THAT(created.status().message(), HasSubstr("(request id hdr-id)"));
}

TEST(DecodeCreateResponseTest, BodyNotJsonIsOutcomeUnknown) {
  absl::StatusOr<CreatedCertificate> created =
      DecodeCreateResponse(200, "", "<html>ok</html>", kFingerprint);
  ASSERT_FALSE(created.ok());
  EXPECT_TRUE(HasOutcomeUnknownMark(created.status())) << created.status();
  EXPECT_THAT(created.status().message(), Not(HasSubstr("request id")));
}

TEST(DecodeCreateResponseTest, CertificateForOtherKeyIsInternal) {
  std::string other_fingerprint(64, '0');
  absl::StatusOr<CreatedCertificate> created = DecodeCreateResponse(
      200, "hdr-id", CreateBody({{"id", "CC_1"}, {"certificate", kCertificatePem}}),
      other_fingerprint);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().code(), absl::StatusCode::kInternal);
  EXPECT_FALSE(HasOutcomeUnknownMark(created.status()));
  EXPECT_THAT(created.status().message(), HasSubstr("certificate CC_1"));
  EXPECT_THAT(created.status().message(), HasSubstr("different public key"));
}

TEST(DecodeCreateResponseTest, UnparsableCertificateIsInternal) {
  absl::StatusOr<CreatedCertificate> created = DecodeCreateResponse(
      200, "hdr-id", CreateBody({{"id", "CC_1"}, {"certificate", "not a certificate"}}),
      kFingerprint);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(created.status().message(), HasSubstr("CC_1 that cannot be parsed"));
}

// The id and request id carry a line break, an ANSI colour sequence and a terminal title
// sequence. The message must quote them escaped, without the raw bytes.
TEST(DecodeCreateResponseTest, ControlCharactersInIdsAreEscaped) {
  struct Case {
    const char* name;
    const char* certificate;
    std::string fingerprint;
  };
  const Case cases[] = {
      {"unparsable certificate", "not a certificate", kFingerprint},
      {"certificate for another key", kCertificatePem, std::string(64, '0')},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<CreatedCertificate> created = DecodeCreateResponse(
        200, "hdr-id",
        CreateBody({{"id", "CC_1\n\x1b[31mforged"}, {"certificate", c.certificate}},
                   {{"requestId", "req\r\n\x1b]0;title\x07"}}),
        c.fingerprint);
    ASSERT_FALSE(created.ok());
    EXPECT_EQ(created.status().code(), absl::StatusCode::kInternal);
    std::string message(created.status().message());
    EXPECT_THAT(message, Not(HasSubstr("\n")));
    EXPECT_THAT(message, Not(HasSubstr("\r")));
    EXPECT_THAT(message, Not(HasSubstr("\x1b")));
    EXPECT_THAT(message, Not(HasSubstr("\x07")));
    EXPECT_FALSE(HasControlCharacter(message)) << message;
    EXPECT_THAT(message, HasSubstr("certificate CC_1\\n\\u001b[31mforged "));
    EXPECT_THAT(message, HasSubstr("(request id req\\r\\n\\u001b]0;title\\u0007)"));
  }
}

TEST(DecodeCreateResponseTest, LongIdIsCutInMessage) {
  const std::string long_id = "CC_" + std::string(5000, 'x');
  absl::StatusOr<CreatedCertificate> created = DecodeCreateResponse(
      200, "", CreateBody({{"id", long_id}, {"certificate", "not a certificate"}}), kFingerprint);
  ASSERT_FALSE(created.ok());
  std::string message(created.status().message());
  EXPECT_THAT(message, Not(HasSubstr(long_id)));
  EXPECT_THAT(message, HasSubstr("CC_" + std::string(297, 'x') + "... that cannot be parsed"));
  EXPECT_LT(message.size(), 1000u);
}

TEST(DecodeListResponseTest, DecodesElementsAndSkipsThoseWithoutId) {
  nlohmann::json body = {
      {"result",
       {{"elements",
         {{{"id", "CC_1"}, {"certificate", kCertificatePem}, {"fingerprint", "ignored"}},
          {{"id", "CC_2"}, {"fingerprint", "AB12"}, {"expiresAt", "2027-12-04T15:50:00Z"}},
          {{"id", "CC_3"}, {"expires_at", 1796403628}},
          {{"fingerprint", "cd"}},
          "not an object"}},
        {"nextPage", nullptr}}}};
  absl::StatusOr<ListPage> page = DecodeListResponse("hdr-id", body.dump(), kOrigin);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->certificates.size(), 3u);
  EXPECT_EQ(page->certificates[0].id, "CC_1");
  EXPECT_EQ(page->certificates[0].public_key_fingerprint, kFingerprint);
  EXPECT_EQ(page->certificates[0].expires_at, kNotAfter);
  EXPECT_EQ(absl::AsciiStrToLower(page->certificates[0].serial_number),
            "35:76:94:87:26:1e:b7:cb:36:5b:26:1b:55:8d:0d:14:76:0f:b6:23");
  EXPECT_EQ(page->certificates[1].public_key_fingerprint, "ab12");
  EXPECT_EQ(page->certificates[1].expires_at, 1827935400);
  EXPECT_EQ(page->certificates[2].expires_at, 1796403628);
  EXPECT_EQ(page->certificates[2].public_key_fingerprint, "");
  EXPECT_EQ(page->next_page_url, "");
}

TEST(DecodeListResponseTest, ReturnsNextPageOnSameOrigin) {
  nlohmann::json body = {
      {"result",
       {{"elements", nlohmann::json::array()},
        {"nextPage", "https://fra1.qualtrics.com/API/v3/organizations/o/clientcertificates?offset=5"}}}};
  absl::StatusOr<ListPage> page = DecodeListResponse("", body.dump(), kOrigin);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->next_page_url,
            "https://fra1.qualtrics.com/API/v3/organizations/o/clientcertificates?offset=5");
}

TEST(DecodeListResponseTest, NextPageOnOtherOriginIsRejected) {
  for (const char* next : {"https://attacker.example/API/v3/x", "http://fra1.qualtrics.com/x",
                           "https://fra1.qualtrics.com:8443/x", "not a url"}) {
    nlohmann::json body = {{"result", {{"elements", nlohmann::json::array()}, {"nextPage", next}}}};
    absl::StatusOr<ListPage> page = DecodeListResponse("", body.dump(), kOrigin);
    ASSERT_FALSE(page.ok()) << next;
    EXPECT_EQ(page.status().code(), absl::StatusCode::kFailedPrecondition) << next;
    EXPECT_THAT(page.status().message(), HasSubstr("another host")) << next;
  }
}

TEST(DecodeListResponseTest, MissingElementsIsFailedPrecondition) {
  for (const char* body : {"", "[]", "{\"result\": {}}", "{\"result\": {\"elements\": {}}}"}) {
    absl::StatusOr<ListPage> page = DecodeListResponse("hdr-id", body, kOrigin);
    ASSERT_FALSE(page.ok()) << body;
    EXPECT_EQ(page.status().code(), absl::StatusCode::kFailedPrecondition) << body;
    EXPECT_THAT(page.status().message(), HasSubstr("(request id hdr-id)")) << body;
  }
}

TEST(DecodeListResponseTest, ControlCharactersInHeaderRequestIdAreEscaped) {
  absl::StatusOr<ListPage> page = DecodeListResponse("hdr\x1b[2J", "{}", kOrigin);
  ASSERT_FALSE(page.ok());
  EXPECT_THAT(page.status().message(), Not(HasSubstr("\x1b")));
  EXPECT_THAT(page.status().message(), HasSubstr("(request id hdr\\u001b[2J)"));
}

TEST(DecodeTokenResponseTest, ReturnsTokenAndLifetime) {
  absl::StatusOr<AccessToken> token = DecodeTokenResponse(
      R"({"access_token": "abc.def", "token_type": "Bearer", "expires_in": 3600})",
      absl::Minutes(5));
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->token.view(), "abc.def");
  EXPECT_EQ(token->lifetime, absl::Hours(1));
}

TEST(DecodeTokenResponseTest, DefaultLifetimeWithoutPositiveExpiresIn) {
  for (const char* body : {R"({"access_token": "t"})", R"({"access_token": "t", "expires_in": 0})",
                           R"({"access_token": "t", "expires_in": "3600"})"}) {
    absl::StatusOr<AccessToken> token = DecodeTokenResponse(body, absl::Minutes(5));
    ASSERT_TRUE(token.ok()) << body;
    EXPECT_EQ(token->lifetime, absl::Minutes(5)) << body;
  }
}

TEST(DecodeTokenResponseTest, MissingOrInvalidTokenIsFailedPrecondition) {
  for (const char* body : {"", "null", R"({"access_token": ""})", R"({"access_token": 5})",
                           R"({"token": "t"})"}) {
    absl::StatusOr<AccessToken> token = DecodeTokenResponse(body, absl::Minutes(5));
    ASSERT_FALSE(token.ok()) << body;
    EXPECT_EQ(token.status().code(), absl::StatusCode::kFailedPrecondition) << body;
    EXPECT_THAT(token.status().message(), HasSubstr("no access_token")) << body;
  }
}

TEST(DecodeTokenResponseTest, TokenWithControlCharacterIsRejected) {
  absl::StatusOr<AccessToken> token =
      DecodeTokenResponse(R"({"access_token": "abc\r\nX-Injected: 1"})", absl::Minutes(5));
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(token.status().message(), HasSubstr("control character"));
  EXPECT_THAT(token.status().message(), Not(HasSubstr("abc")));
}

}  // namespace
}  // namespace qualtrics_internal
}  // namespace vault_qualtrics
