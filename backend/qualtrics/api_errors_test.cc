#include "backend/qualtrics/api_errors.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vault_qualtrics {
namespace qualtrics_internal {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

ErrorBody Body(const std::string& code, const std::string& message = "msg") {
  return ParseErrorBody(
      "{\"meta\":{\"httpStatus\":\"x\",\"error\":{\"errorCode\":\"" + code +
          "\",\"errorMessage\":\"" + message + "\"},\"requestId\":\"req-1\"}}",
      "");
}

TEST(ParseErrorBodyTest, ReadsQualtricsShape) {
  ErrorBody error = Body("AUTH_TOKEN_INVALID", "the API token is invalid");
  EXPECT_EQ(error.error_code, "AUTH_TOKEN_INVALID");
  EXPECT_EQ(error.error_message, "the API token is invalid");
  EXPECT_EQ(error.request_id, "req-1");
}

TEST(ParseErrorBodyTest, ReadsOAuthShapeAndHeaderRequestId) {
  ErrorBody error =
      ParseErrorBody(R"({"error":"invalid_client","error_description":"bad"})", "hdr-9");
  EXPECT_EQ(error.error_code, "invalid_client");
  EXPECT_EQ(error.error_message, "bad");
  EXPECT_EQ(error.request_id, "hdr-9");
}

TEST(ParseErrorBodyTest, ToleratesNonJsonAndStripsControlCharacters) {
  EXPECT_EQ(ParseErrorBody("<html>oops</html>", "").error_code, "");
  ErrorBody error = ParseErrorBody(
      "{\"meta\":{\"error\":{\"errorMessage\":\"line1\\nline2\"}}}", "");
  EXPECT_EQ(error.error_message, "line1\\nline2");
  ErrorBody long_error = Body("X", std::string(1000, 'a'));
  EXPECT_EQ(long_error.error_message.size(), 303u);
}

struct MappingCase {
  Endpoint endpoint;
  AuthMode auth;
  long status;
  const char* error_code;
  absl::StatusCode expected_code;
  const char* expected_text;
};

class MapHttpErrorTest : public ::testing::TestWithParam<MappingCase> {};

TEST_P(MapHttpErrorTest, MapsToCodeAndAdvice) {
  const MappingCase& c = GetParam();
  absl::Status status = MapHttpError(c.endpoint, c.auth, c.status, Body(c.error_code), "org-1");
  EXPECT_EQ(status.code(), c.expected_code) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(c.expected_text));
  EXPECT_THAT(std::string(status.message()), HasSubstr("request id req-1"));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MapHttpErrorTest,
    ::testing::Values(
        MappingCase{Endpoint::kCreate, AuthMode::kApiToken, 401, "AUTH_TOKEN_INVALID",
                    absl::StatusCode::kUnauthenticated, "check config api_token"},
        MappingCase{Endpoint::kList, AuthMode::kOAuth, 401, "AUTH_TOKEN_EXPIRED",
                    absl::StatusCode::kUnauthenticated, "check config client_id"},
        MappingCase{Endpoint::kList, AuthMode::kApiToken, 401, "CLIENT_CERT_EXPIRED",
                    absl::StatusCode::kUnauthenticated, "mutual TLS"},
        MappingCase{Endpoint::kCreate, AuthMode::kApiToken, 403, "NOT_BRAND_ADMINISTRATOR",
                    absl::StatusCode::kPermissionDenied, "brand administrator"},
        MappingCase{Endpoint::kCreate, AuthMode::kApiToken, 403,
                    "CLIENT_CERT_WRONG_ORGANIZATION", absl::StatusCode::kPermissionDenied,
                    "another organization"},
        MappingCase{Endpoint::kCreate, AuthMode::kApiToken, 400, "CERT_LIMIT_REACHED",
                    absl::StatusCode::kResourceExhausted, "maximum of active certificates"},
        MappingCase{Endpoint::kCreate, AuthMode::kApiToken, 409, "TOO_MANY_CERTIFICATES_LIMIT",
                    absl::StatusCode::kResourceExhausted, "maximum of active certificates"},
        MappingCase{Endpoint::kCreate, AuthMode::kApiToken, 400, "CERTIFICATE_REQUEST_MISSING",
                    absl::StatusCode::kInvalidArgument, "rejected the certificate signing request"},
        MappingCase{Endpoint::kCreate, AuthMode::kApiToken, 500, "INTERNAL_SERVER_ERROR",
                    absl::StatusCode::kInternal, "rejected the certificate signing request"},
        MappingCase{Endpoint::kList, AuthMode::kApiToken, 404, "ORGANIZATION_NOT_FOUND",
                    absl::StatusCode::kNotFound, "check config organization_id"},
        MappingCase{Endpoint::kDelete, AuthMode::kApiToken, 404, "CERTIFICATE_NOT_FOUND",
                    absl::StatusCode::kNotFound, "no client certificate with this id"},
        MappingCase{Endpoint::kList, AuthMode::kApiToken, 404, "NOT_FOUND",
                    absl::StatusCode::kNotFound, "configured API paths"},
        MappingCase{Endpoint::kToken, AuthMode::kOAuth, 401, "invalid_client",
                    absl::StatusCode::kUnauthenticated, "check config client_id and client_secret"},
        MappingCase{Endpoint::kToken, AuthMode::kOAuth, 400, "invalid_scope",
                    absl::StatusCode::kInvalidArgument, "check config scope"},
        MappingCase{Endpoint::kList, AuthMode::kApiToken, 301, "",
                    absl::StatusCode::kFailedPrecondition, "not followed"}));

TEST(IsQuotaErrorBodyTest, DoesNotConfuseAdministratorError) {
  EXPECT_FALSE(IsQuotaErrorBody(403, Body("NOT_BRAND_ADMINISTRATOR", "limit of rights")));
  EXPECT_TRUE(IsQuotaErrorBody(400, Body("X", "the maximum number of certificates")));
  EXPECT_FALSE(IsQuotaErrorBody(500, Body("CERT_LIMIT_REACHED")));
}

TEST(MapRetriesExhaustedTest, RateLimitIsResourceExhausted) {
  absl::Status status =
      MapRetriesExhausted(Endpoint::kCreate, 429, Body("RATE_LIMITED"), 5, absl::Seconds(12));
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(status.message()), HasSubstr("rate limited"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("after 5 attempts over 12s"));
  status = MapRetriesExhausted(Endpoint::kList, 503, Body("SERVICE_UNAVAILABLE"), 1,
                               absl::Milliseconds(5));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(status.message()), HasSubstr("after 1 attempt over"));
}

TEST(MapHttpErrorTest, QuotaMessageNamesNoFix) {
  absl::Status status = MapHttpError(Endpoint::kCreate, AuthMode::kApiToken, 400,
                                     Body("CERT_LIMIT_REACHED"), "org-1");
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("tidy")));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("certs/<id>")));
}

TEST(MapTransportFailureTest, TlsVerificationNamesConfigFields) {
  HttpResult result;
  result.failure = TransportFailure::kTlsVerification;
  result.failure_detail = "unable to get local issuer certificate";
  absl::Status status = MapTransportFailure(Endpoint::kList, result, 1);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr("tls_server_name"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("ca_bundle"));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr(" server_name")));
}

TEST(MapTransportFailureTest, EscapesControlCharactersInDetail) {
  HttpResult result;
  result.failure = TransportFailure::kTlsVerification;
  result.failure_detail = "subject name 'evil\n\x1b[31m' does not match";
  std::string message(MapTransportFailure(Endpoint::kList, result, 1).message());
  EXPECT_THAT(message, Not(HasSubstr("\n")));
  EXPECT_THAT(message, Not(HasSubstr("\x1b")));
  EXPECT_THAT(message, HasSubstr("(subject name 'evil\\n\\u001b[31m' does not match)"));
}

TEST(SanitizeServerTextTest, KeepsPrintableAscii) {
  EXPECT_EQ(SanitizeServerText("CC_1 a-b.c@d/e:f \"quoted\" 'x'"),
            "CC_1 a-b.c@d/e:f \"quoted\" 'x'");
  EXPECT_EQ(SanitizeServerText(""), "");
}

TEST(SanitizeServerTextTest, EscapesControlCharacters) {
  EXPECT_EQ(SanitizeServerText("a\nb\rc\td"), "a\\nb\\rc\\td");
  EXPECT_EQ(SanitizeServerText("\x1b[31mred"), "\\u001b[31mred");
  EXPECT_EQ(SanitizeServerText(std::string("nul\0byte", 8)), "nul\\u0000byte");
  EXPECT_EQ(SanitizeServerText("del\x7f"), "del\\u007f");
}

TEST(SanitizeServerTextTest, EscapesBackslashes) {
  EXPECT_EQ(SanitizeServerText("a\\nb"), "a\\\\nb");
  EXPECT_EQ(SanitizeServerText("\\\""), "\\\\\"");
}

TEST(SanitizeServerTextTest, EscapesNonAsciiAndInvalidUtf8) {
  // U+009B is the one-character CSI, U+202E reverses the text after it.
  EXPECT_EQ(SanitizeServerText("\xc2\x9b" "31m"), "\\u009b31m");
  EXPECT_EQ(SanitizeServerText("x\xe2\x80\xaey"), "x\\u202ey");
  EXPECT_EQ(SanitizeServerText("caf\xc3\xa9"), "caf\\u00e9");
  EXPECT_EQ(SanitizeServerText("bad\xff"), "bad\\ufffd");
}

TEST(SanitizeServerTextTest, CutsLongText) {
  EXPECT_EQ(SanitizeServerText(std::string(300, 'a')), std::string(300, 'a'));
  EXPECT_EQ(SanitizeServerText(std::string(301, 'a')), std::string(300, 'a') + "...");
  // A cut inside a UTF-8 sequence leaves no stray byte.
  std::string cut = SanitizeServerText(std::string(299, 'a') + "\xc3\xa9");
  EXPECT_EQ(cut, std::string(299, 'a') + "\\ufffd...");
}

TEST(MarkersTest, AreIndependent) {
  absl::Status unknown = MarkOutcomeUnknown(absl::UnavailableError("x"));
  absl::Status quota = MarkQuotaExceeded(absl::ResourceExhaustedError("y"));
  EXPECT_TRUE(HasOutcomeUnknownMark(unknown));
  EXPECT_FALSE(HasQuotaExceededMark(unknown));
  EXPECT_TRUE(HasQuotaExceededMark(quota));
  EXPECT_FALSE(HasOutcomeUnknownMark(quota));
  EXPECT_FALSE(HasOutcomeUnknownMark(absl::UnavailableError("z")));
}

}  // namespace
}  // namespace qualtrics_internal
}  // namespace vault_qualtrics
