// Tests of the Qualtrics client against the real simulator (tests/qualtrics-sim) on loopback.
// See simulator_fixture.h for how the simulator binary is found; without it every test fails.
#include "backend/qualtrics/client.h"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "backend/crypto/certificate.h"
#include "backend/crypto/csr.h"
#include "backend/crypto/key.h"
#include "backend/qualtrics/simulator_fixture.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vault_qualtrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// A key and the CSR built from it.
struct KeyAndCsr {
  PrivateKey key;
  std::string csr;
  std::string fingerprint;
};

KeyAndCsr MakeKeyAndCsr(const char* type = "ec", int bits = 256) {
  absl::StatusOr<PrivateKey> key = GenerateKey(*ParseKeySpec(type, bits));
  EXPECT_TRUE(key.ok()) << key.status();
  Subject subject;
  subject.common_name = "fra1.qualtrics.com";
  subject.organization = "Example Corp";
  subject.country = "DE";
  absl::StatusOr<std::string> csr = CreateCsrPem(*key, subject);
  EXPECT_TRUE(csr.ok()) << csr.status();
  std::string fingerprint = *key->PublicKeyFingerprintSha256();
  return KeyAndCsr{*std::move(key), *std::move(csr), fingerprint};
}

std::string Message(const absl::Status& status) { return std::string(status.message()); }

class ClientTest : public SimulatorClientTest {
 protected:
  ClientOptions OAuthOptions(std::string_view secret = "") const {
    ClientOptions options = TokenOptions();
    options.api_token.Clear();
    OAuthCredentials oauth;
    oauth.token_url = sim().token_url;
    oauth.client_id = sim().oauth_client_id;
    oauth.client_secret = SecretBytes(secret.empty() ? sim().oauth_client_secret : secret);
    oauth.scope = "manage:all";
    options.oauth = std::move(oauth);
    return options;
  }

  int ActiveSlots() const {
    absl::StatusOr<nlohmann::json> certificates = simulator_->Certificates();
    EXPECT_TRUE(certificates.ok()) << certificates.status();
    int slots = 0;
    for (const nlohmann::json& certificate : *certificates) {
      if (certificate.value("state", "") != "deleted") ++slots;
    }
    return slots;
  }
};

struct KeyCase {
  const char* type;
  int bits;
};

class ClientKeyTypeTest : public ClientTest, public ::testing::WithParamInterface<KeyCase> {};

TEST_P(ClientKeyTypeTest, CreateListDeleteRoundTrip) {
  std::unique_ptr<QualtricsClient> client = NewClient(TokenOptions());
  ASSERT_NE(client, nullptr);
  KeyAndCsr request = MakeKeyAndCsr(GetParam().type, GetParam().bits);

  absl::StatusOr<CreatedCertificate> created =
      client->CreateCertificate(request.csr, request.fingerprint);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_THAT(created->id, StartsWith("CC_"));
  EXPECT_FALSE(created->request_id.empty());
  EXPECT_TRUE(created->notice.empty());
  EXPECT_EQ(created->info.public_key_fingerprint, request.fingerprint);
  EXPECT_EQ(created->info.subject, "CN=fra1.qualtrics.com,O=Example Corp,C=DE");
  EXPECT_GT(created->info.not_after, created->info.not_before);
  EXPECT_TRUE(*CertificateMatchesKey(created->certificate_pem, request.key));
  // The certificate chains to the simulator's CA.
  absl::StatusOr<CertificateInfo> ca = ParseCertificatePem(sim().ca_pem);
  ASSERT_TRUE(ca.ok());
  EXPECT_EQ(created->info.issuer, ca->subject);

  absl::StatusOr<std::vector<RemoteCertificate>> listed = client->ListCertificates();
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, created->id);
  EXPECT_EQ((*listed)[0].public_key_fingerprint, request.fingerprint);
  EXPECT_EQ((*listed)[0].expires_at, created->info.not_after);
  EXPECT_EQ((*listed)[0].serial_number, created->info.serial_number);

  ASSERT_TRUE(client->DeleteCertificate(created->id).ok());
  listed = client->ListCertificates();
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_TRUE(listed->empty());
}

INSTANTIATE_TEST_SUITE_P(AllKeyTypes, ClientKeyTypeTest,
                         ::testing::Values(KeyCase{"rsa", 2048}, KeyCase{"rsa", 3072},
                                           KeyCase{"rsa", 4096}, KeyCase{"ec", 256},
                                           KeyCase{"ec", 384}, KeyCase{"ed25519", 0}),
                         [](const ::testing::TestParamInfo<KeyCase>& info) {
                           return std::string(info.param.type) + std::to_string(info.param.bits);
                         });

TEST_F(ClientTest, InvalidTokenIsUnauthenticated) {
  std::unique_ptr<QualtricsClient> client = NewClient(TokenOptions("wrong-token-VALUE"));
  KeyAndCsr request = MakeKeyAndCsr();
  absl::StatusOr<CreatedCertificate> created =
      client->CreateCertificate(request.csr, request.fingerprint);
  ASSERT_EQ(created.status().code(), absl::StatusCode::kUnauthenticated) << created.status();
  EXPECT_THAT(Message(created.status()), HasSubstr("rejected the API token"));
  EXPECT_THAT(Message(created.status()), HasSubstr("check config api_token"));
  EXPECT_THAT(Message(created.status()), HasSubstr("AUTH_TOKEN_INVALID"));
  EXPECT_THAT(Message(created.status()), HasSubstr("request id "));
  EXPECT_THAT(Message(created.status()), Not(HasSubstr("wrong-token-VALUE")));
  EXPECT_THAT(Message(created.status()), Not(HasSubstr("BEGIN CERTIFICATE REQUEST")));
  EXPECT_EQ(Count("create"), 1);  // Not retried.
}

TEST_F(ClientTest, NonAdministratorIsPermissionDenied) {
  std::unique_ptr<QualtricsClient> client = NewClient(TokenOptions(sim().non_admin_token));
  KeyAndCsr request = MakeKeyAndCsr();
  absl::StatusOr<CreatedCertificate> created =
      client->CreateCertificate(request.csr, request.fingerprint);
  ASSERT_EQ(created.status().code(), absl::StatusCode::kPermissionDenied) << created.status();
  EXPECT_THAT(Message(created.status()), HasSubstr("must be a Qualtrics brand administrator"));
  EXPECT_THAT(Message(created.status()), HasSubstr("NOT_BRAND_ADMINISTRATOR"));
  EXPECT_THAT(Message(created.status()), Not(HasSubstr(sim().non_admin_token)));
}

TEST_F(ClientTest, UnknownOrganizationIsNotFound) {
  ClientOptions options = TokenOptions();
  options.organization_id = "no-such-org";
  std::unique_ptr<QualtricsClient> client = NewClient(std::move(options));
  absl::StatusOr<std::vector<RemoteCertificate>> listed = client->ListCertificates();
  ASSERT_EQ(listed.status().code(), absl::StatusCode::kNotFound) << listed.status();
  EXPECT_THAT(Message(listed.status()), HasSubstr("check config organization_id"));
}

TEST_F(ClientTest, FullQuotaIsResourceExhausted) {
  // Ten certificates, three of them expired: expired ones still take a slot.
  for (int i = 0; i < 10; ++i) {
    absl::StatusOr<nlohmann::json> inserted = simulator_->Control(
        "POST", "/certificates",
        {{"organization_id", sim().organization_id}, {"expired", i < 3}});
    ASSERT_TRUE(inserted.ok()) << inserted.status();
  }
  std::unique_ptr<QualtricsClient> client = NewClient(TokenOptions());
  KeyAndCsr request = MakeKeyAndCsr();
  absl::StatusOr<CreatedCertificate> created =
      client->CreateCertificate(request.csr, request.fingerprint);
  ASSERT_EQ(created.status().code(), absl::StatusCode::kResourceExhausted) << created.status();
  EXPECT_TRUE(IsQuotaExceeded(created.status()));
  EXPECT_FALSE(IsOutcomeUnknown(created.status()));
  EXPECT_THAT(Message(created.status()), HasSubstr("maximum of active certificates (expired ones count"));
  // The engine adds the fix when it wraps this error, so the client names none.
  EXPECT_THAT(Message(created.status()), Not(HasSubstr("tidy")));
  EXPECT_THAT(Message(created.status()), HasSubstr("CERT_LIMIT_REACHED"));
  EXPECT_EQ(Count("create"), 1);

  // Deleting one expired certificate frees a slot.
  absl::StatusOr<std::vector<RemoteCertificate>> listed = client->ListCertificates();
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 10u);
  ASSERT_TRUE(client->DeleteCertificate((*listed)[0].id).ok());
  EXPECT_TRUE(client->CreateCertificate(request.csr, request.fingerprint).ok());
}

TEST_F(ClientTest, InvalidCsrIsRejectedBeforeSending) {
  std::unique_ptr<QualtricsClient> client = NewClient(TokenOptions());
  KeyAndCsr request = MakeKeyAndCsr();
  absl::StatusOr<CreatedCertificate> created =
      client->CreateCertificate("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n", request.fingerprint);
  ASSERT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(created.status()), HasSubstr("the CSR is not valid and was not sent"));

  KeyAndCsr other = MakeKeyAndCsr();
  created = client->CreateCertificate(request.csr, other.fingerprint);
  ASSERT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(created.status()), HasSubstr("different public key"));
  EXPECT_EQ(Count("create"), 0);
}

TEST_F(ClientTest, ServerErrorOnCreateIsNotRetried) {
  ASSERT_TRUE(simulator_->AddFault({{"match", "create"}, {"kind", "status"}, {"status", 500}}).ok());
  std::unique_ptr<QualtricsClient> client = NewClient(TokenOptions());
  KeyAndCsr request = MakeKeyAndCsr();
  absl::StatusOr<CreatedCertificate> created =
      client->CreateCertificate(request.csr, request.fingerprint);
  ASSERT_EQ(created.status().code(), absl::StatusCode::kInternal) << created.status();
  EXPECT_THAT(Message(created.status()),
              HasSubstr("rejected the certificate signing request with HTTP 500"));
  EXPECT_THAT(Message(created.status()), HasSubstr("request id"));
  EXPECT_EQ(Count("create"), 1);
}

TEST_F(ClientTest, RetryAfterSecondsIsObeyed) {
  ASSERT_TRUE(simulator_
                  ->AddFault({{"match", "create"}, {"kind", "retry_after"}, {"retry_after", "2"}})
                  .ok());
  std::unique_ptr<QualtricsClient> client = NewClient(TokenOptions());
  KeyAndCsr request = MakeKeyAndCsr();
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<CreatedCertificate> created =
      client->CreateCertificate(request.csr, request.fingerprint);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_GE(elapsed, std::chrono::milliseconds(1950));
  EXPECT_LT(elapsed, std::chrono::seconds(8));
  EXPECT_EQ(Count("create"), 2);
}

TEST_F(ClientTest, RetryAfterHttpDateIsObeyed) {
  ASSERT_TRUE(simulator_
                  ->AddFault({{"match", "list"}, {"kind", "retry_after"}, {"retry_after", "+3s"}})
                  .ok());
  std::unique_ptr<QualtricsClient> client = NewClient(TokenOptions());
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::vector<RemoteCertificate>> listed = client->ListCertificates();
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(listed.ok()) << listed.status();
  // An HTTP date has one-second resolution, so the wait is between 2 and 3 seconds.
  EXPECT_GE(elapsed, std::chrono::milliseconds(1900));
  EXPECT_EQ(Count("list"), 2);
}

TEST_F(ClientTest, RateLimitExhaustsRetries) {
  ASSERT_TRUE(simulator_
                  ->AddFault({{"match", "list"},
                              {"kind", "retry_after"},
                              {"retry_after", "1"},
                              {"count", -1}})
                  .ok());
  ClientOptions options = TokenOptions();
  options.retry.max_retries = 2;
  std::unique_ptr<QualtricsClient> client = NewClient(std::move(options));
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::vector<RemoteCertificate>> listed = client->ListCertificates();
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(listed.status().code(), absl::StatusCode::kResourceExhausted) << listed.status();
  EXPECT_THAT(Message(listed.status()), HasSubstr("rate limited"));
  EXPECT_THAT(Message(listed.status()), HasSubstr("after 3 attempts"));
  EXPECT_GE(elapsed, std::chrono::milliseconds(1950));
  EXPECT_EQ(Count("list"), 3);
}

TEST_F(ClientTest, LongRetryAfterStopsRetries) {
  ASSERT_TRUE(simulator_
                  ->AddFault({{"match", "list"}, {"kind", "retry_after"}, {"retry_after", "30"}})
                  .ok());
  ClientOptions options = TokenOptions();
  options.retry.max_retry_time = absl::Seconds(5);
  std::unique_ptr<QualtricsClient> client = NewClient(std::move(options));
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::vector<RemoteCertificate>> listed = client->ListCertificates();
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(listed.status().code(), absl::StatusCode::kResourceExhausted) << listed.status();
  EXPECT_LT(elapsed, std::chrono::seconds(3));
  EXPECT_EQ(Count("list"), 1);
}

TEST_F(ClientTest, ServiceUnavailableIsRetriedThenSucceeds) {
  ASSERT_TRUE(
      simulator_->AddFault({{"match", "create"}, {"kind", "status"}, {"status", 503}, {"count", 2}})
          .ok());
  std::unique_ptr<QualtricsClient> client = NewClient(TokenOptions());
  KeyAndCsr request = MakeKeyAndCsr();
  absl::StatusOr<CreatedCertificate> created =
      client->CreateCertificate(request.csr, request.fingerprint);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(Count("create"), 3);
  EXPECT_EQ(ActiveSlots(), 1);
}

TEST_F(ClientTest, ServerErrorsRetriedAreBounded) {
  for (int status : {502, 503, 504}) {
    ASSERT_TRUE(simulator_->Reset().ok());
    ASSERT_TRUE(simulator_
                    ->AddFault({{"match", "list"},
                                {"kind", "status"},
                                {"status", status},
                                {"count", -1}})
                    .ok());
    ClientOptions options = TokenOptions();
    options.retry.max_retries = 4;
    std::unique_ptr<QualtricsClient> client = NewClient(std::move(options));
    absl::StatusOr<std::vector<RemoteCertificate>> listed = client->ListCertificates();
    ASSERT_EQ(listed.status().code(), absl::StatusCode::kUnavailable) << status;
    EXPECT_THAT(Message(listed.status()), HasSubstr("after 5 attempts"));
    EXPECT_EQ(Count("list"), 5) << status;
  }
}

TEST_F(ClientTest, BackoffStaysWithinJitterBounds) {
  ASSERT_TRUE(simulator_
                  ->AddFault({{"match", "list"}, {"kind", "status"}, {"status", 503}, {"count", 5}})
                  .ok());
  std::vector<absl::Duration> waits;
  ClientOptions options = TokenOptions();
  options.retry.max_retries = 5;
  options.retry.initial_backoff = absl::Milliseconds(100);
  options.retry.max_backoff = absl::Milliseconds(250);
  options.sleep_for_testing = [&waits](absl::Duration wait) { waits.push_back(wait); };
  std::unique_ptr<QualtricsClient> client = NewClient(std::move(options));
  absl::StatusOr<std::vector<RemoteCertificate>> listed = client->ListCertificates();
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(waits.size(), 5u);
  const absl::Duration bounds[] = {absl::Milliseconds(100), absl::Milliseconds(200),
                                   absl::Milliseconds(250), absl::Milliseconds(250),
                                   absl::Milliseconds(250)};
  for (size_t i = 0; i < waits.size(); ++i) {
    EXPECT_GE(waits[i], absl::ZeroDuration()) << "retry " << i;
    EXPECT_LE(waits[i], bounds[i]) << "retry " << i;
  }
  EXPECT_EQ(Count("list"), 6);
}

TEST_F(ClientTest, RetryAfterIsPassedToSleep) {
  ASSERT_TRUE(simulator_
                  ->AddFault({{"match", "delete"}, {"kind", "retry_after"}, {"retry_after", "7"}})
                  .ok());
  std::vector<absl::Duration> waits;
  ClientOptions options = TokenOptions();
  options.sleep_for_testing = [&waits](absl::Duration wait) { waits.push_back(wait); };
  std::unique_ptr<QualtricsClient> client = NewClient(std::move(options));
  absl::Status deleted = client->DeleteCertificate("CC_doesnotexist0");
  EXPECT_EQ(deleted.code(), absl::StatusCode::kNotFound) << deleted;
  ASSERT_EQ(waits.size(), 1u);
  EXPECT_EQ(waits[0], absl::Seconds(7));
}

TEST_F(ClientTest, GatewayErrorOnCreateIsOutcomeUnknown) {
  ASSERT_TRUE(simulator_->AddFault({{"match", "create"}, {"kind", "status"}, {"status", 504}}).ok());
  std::unique_ptr<QualtricsClient> client = NewClient(TokenOptions());
  KeyAndCsr request = MakeKeyAndCsr();
  absl::StatusOr<CreatedCertificate> created =
      client->CreateCertificate(request.csr, request.fingerprint);
  ASSERT_FALSE(created.ok());
  EXPECT_TRUE(IsOutcomeUnknown(created.status())) << created.status();
  EXPECT_EQ(created.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Count("create"), 1);
}

TEST_F(ClientTest, DroppedConnectionOnListIsRetried) {
  ASSERT_TRUE(simulator_->AddFault({{"match", "list"}, {"kind", "drop"}}).ok());
  std::unique_ptr<QualtricsClient> client = NewClient(TokenOptions());
  absl::StatusOr<std::vector<RemoteCertificate>> listed = client->ListCertificates();
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(Count("list"), 2);
}

TEST_F(ClientTest, DroppedConnectionResetOnListIsRetried) {
  ASSERT_TRUE(simulator_->AddFault({{"match", "list"}, {"kind", "drop"}, {"reset", true}}).ok());
  std::unique_ptr<QualtricsClient> client = NewClient(TokenOptions());
  absl::StatusOr<std::vector<RemoteCertificate>> listed = client->ListCertificates();
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(Count("list"), 2);
}

TEST_F(ClientTest, DroppedCreateIsOutcomeUnknownAndNotRetried) {
  ASSERT_TRUE(simulator_->AddFault({{"match", "create"}, {"kind", "drop"}}).ok());
  std::unique_ptr<QualtricsClient> client = NewClient(TokenOptions());
  KeyAndCsr request = MakeKeyAndCsr();
  absl::StatusOr<CreatedCertificate> created =
      client->CreateCertificate(request.csr, request.fingerprint);
  ASSERT_FALSE(created.ok());
  EXPECT_TRUE(IsOutcomeUnknown(created.status())) << created.status();
  EXPECT_EQ(created.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(Message(created.status()), HasSubstr("match the public key"));
  EXPECT_EQ(Count("create"), 1);
  EXPECT_EQ(ActiveSlots(), 0);
}

TEST_F(ClientTest, LostCreateResponseIsReconciledByListing) {
  ASSERT_TRUE(simulator_->AddFault({{"match", "create"}, {"kind", "lost_response"}}).ok());
  std::unique_ptr<QualtricsClient> client = NewClient(TokenOptions());
  KeyAndCsr request = MakeKeyAndCsr();
  absl::StatusOr<CreatedCertificate> created =
      client->CreateCertificate(request.csr, request.fingerprint);
  ASSERT_FALSE(created.ok());
  EXPECT_TRUE(IsOutcomeUnknown(created.status())) << created.status();
  EXPECT_EQ(Count("create"), 1);
  EXPECT_EQ(ActiveSlots(), 1);

  // The caller's reconciliation: the certificate is found by the key's fingerprint.
  absl::StatusOr<std::vector<RemoteCertificate>> listed = client->ListCertificates();
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].public_key_fingerprint, request.fingerprint);
  EXPECT_TRUE(*CertificateMatchesKey((*listed)[0].certificate_pem, request.key));
}

TEST_F(ClientTest, CreateTimeoutAfterCommitIsOutcomeUnknown) {
  ASSERT_TRUE(simulator_
                  ->AddFault({{"match", "create"},
                              {"kind", "hold"},
                              {"phase", "after_commit"},
                              {"delay_ms", 4000}})
                  .ok());
  ClientOptions options = TokenOptions();
  options.request_timeout = absl::Seconds(1);
  std::unique_ptr<QualtricsClient> client = NewClient(std::move(options));
  KeyAndCsr request = MakeKeyAndCsr();
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<CreatedCertificate> created =
      client->CreateCertificate(request.csr, request.fingerprint);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(created.ok());
  EXPECT_TRUE(IsOutcomeUnknown(created.status())) << created.status();
  EXPECT_EQ(created.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(elapsed, std::chrono::seconds(3));
  EXPECT_EQ(Count("create"), 1);
  EXPECT_EQ(ActiveSlots(), 1);
  ASSERT_TRUE(simulator_->Control("POST", "/release", nlohmann::json::object()).ok());
}

TEST_F(ClientTest, SlowListWithinTimeoutSucceeds) {
  ASSERT_TRUE(simulator_
                  ->AddFault({{"match", "list"},
                              {"kind", "slow_body"},
                              {"delay_ms", 20},
                              {"chunk_bytes", 8}})
                  .ok());
  std::unique_ptr<QualtricsClient> client = NewClient(TokenOptions());
  absl::StatusOr<std::vector<RemoteCertificate>> listed = client->ListCertificates();
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(Count("list"), 1);
}

TEST_F(ClientTest, ListTimeoutIsRetried) {
  ASSERT_TRUE(
      simulator_->AddFault({{"match", "list"}, {"kind", "latency"}, {"delay_ms", 2500}}).ok());
  ClientOptions options = TokenOptions();
  options.request_timeout = absl::Seconds(1);
  std::unique_ptr<QualtricsClient> client = NewClient(std::move(options));
  absl::StatusOr<std::vector<RemoteCertificate>> listed = client->ListCertificates();
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(Count("list"), 2);
}

TEST_F(ClientTest, DeleteWithLostResponseSucceeds) {
  std::unique_ptr<QualtricsClient> client = NewClient(TokenOptions());
  KeyAndCsr request = MakeKeyAndCsr();
  absl::StatusOr<CreatedCertificate> created =
      client->CreateCertificate(request.csr, request.fingerprint);
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_TRUE(simulator_->AddFault({{"match", "delete"}, {"kind", "lost_response"}}).ok());
  absl::Status deleted = client->DeleteCertificate(created->id);
  EXPECT_TRUE(deleted.ok()) << deleted;
  EXPECT_EQ(Count("delete"), 2);
  EXPECT_EQ(ActiveSlots(), 0);
}

TEST_F(ClientTest, DeleteUnknownIdIsNotFound) {
  std::unique_ptr<QualtricsClient> client = NewClient(TokenOptions());
  absl::Status deleted = client->DeleteCertificate("CC_doesnotexist0");
  ASSERT_EQ(deleted.code(), absl::StatusCode::kNotFound) << deleted;
  EXPECT_THAT(Message(deleted), HasSubstr("CERTIFICATE_NOT_FOUND"));
}

TEST_F(ClientTest, OAuthTokenIsReusedAcrossCalls) {
  std::unique_ptr<QualtricsClient> client = NewClient(OAuthOptions());
  for (int i = 0; i < 3; ++i) {
    KeyAndCsr request = MakeKeyAndCsr();
    ASSERT_TRUE(client->CreateCertificate(request.csr, request.fingerprint).ok());
  }
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client->ListCertificates().ok());
  EXPECT_EQ(Count("token"), 1);
  EXPECT_EQ(Count("create"), 3);
}

TEST_F(ClientTest, OAuthTokenIsSharedByConcurrentCallers) {
  std::unique_ptr<QualtricsClient> client = NewClient(OAuthOptions());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 3; ++j) {
        if (!client->ListCertificates().ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Count("token"), 1);
  EXPECT_EQ(Count("list"), 18);
}

TEST_F(ClientTest, OAuthTokenIsRefreshedOnceAfter401) {
  std::unique_ptr<QualtricsClient> client = NewClient(OAuthOptions());
  ASSERT_TRUE(client->ListCertificates().ok());
  ASSERT_TRUE(simulator_->Control("POST", "/tokens/expire").ok());
  absl::StatusOr<std::vector<RemoteCertificate>> listed = client->ListCertificates();
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(Count("token"), 2);
  EXPECT_EQ(Count("list"), 3);  // First call, rejected call, repeated call.
}

TEST_F(ClientTest, OAuthTokenExpiryTriggersRefresh) {
  std::unique_ptr<QualtricsClient> client = NewClient(OAuthOptions());
  ASSERT_TRUE(client->ListCertificates().ok());
  // Bearer tokens live one hour by the simulated clock; after that the client sees 401 once.
  ASSERT_TRUE(simulator_->Control("POST", "/clock", {{"advance", "2h"}}).ok());
  ASSERT_TRUE(client->ListCertificates().ok());
  EXPECT_EQ(Count("token"), 2);
}

TEST_F(ClientTest, OAuthWrongSecretIsUnauthenticated) {
  std::unique_ptr<QualtricsClient> client = NewClient(OAuthOptions("wrong-SECRET-value"));
  absl::StatusOr<std::vector<RemoteCertificate>> listed = client->ListCertificates();
  ASSERT_EQ(listed.status().code(), absl::StatusCode::kUnauthenticated) << listed.status();
  EXPECT_THAT(Message(listed.status()), HasSubstr("check config client_id and client_secret"));
  EXPECT_THAT(Message(listed.status()), Not(HasSubstr("wrong-SECRET-value")));
  EXPECT_EQ(Count("token"), 1);
  EXPECT_EQ(Count("list"), 0);
}

TEST_F(ClientTest, OAuthTokenEndpointRetriesOn503) {
  ASSERT_TRUE(simulator_->AddFault({{"match", "token"}, {"kind", "status"}, {"status", 503}}).ok());
  std::unique_ptr<QualtricsClient> client = NewClient(OAuthOptions());
  ASSERT_TRUE(client->ListCertificates().ok());
  EXPECT_EQ(Count("token"), 2);
}

TEST_F(ClientTest, MutualTlsUsesInMemoryClientCertificate) {
  absl::StatusOr<nlohmann::json> issued =
      simulator_->Control("POST", "/certificates", {{"organization_id", sim().organization_id}});
  ASSERT_TRUE(issued.ok()) << issued.status();
  ASSERT_TRUE(simulator_->ChangeSettings({{"mtls", true}}).ok());

  // Without a client certificate every call is rejected.
  std::unique_ptr<QualtricsClient> plain = NewClient(TokenOptions());
  absl::StatusOr<std::vector<RemoteCertificate>> rejected = plain->ListCertificates();
  ASSERT_EQ(rejected.status().code(), absl::StatusCode::kUnauthenticated) << rejected.status();
  EXPECT_THAT(Message(rejected.status()), HasSubstr("client certificate presented for mutual TLS"));
  EXPECT_THAT(Message(rejected.status()), HasSubstr("CLIENT_CERT_REQUIRED"));

  ClientOptions options = TokenOptions();
  options.client_certificate_pem = (*issued)["certificate"].get<std::string>();
  options.client_key_pem = SecretBytes((*issued)["private_key"].get<std::string>());
  std::unique_ptr<QualtricsClient> client = NewClient(std::move(options));
  KeyAndCsr request = MakeKeyAndCsr();
  absl::StatusOr<CreatedCertificate> created =
      client->CreateCertificate(request.csr, request.fingerprint);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(created->notice.empty());
}

TEST_F(ClientTest, NoticeIsSurfacedForExpiringClientCertificate) {
  absl::StatusOr<nlohmann::json> issued = simulator_->Control(
      "POST", "/certificates", {{"organization_id", sim().organization_id}, {"validity", "240h"}});
  ASSERT_TRUE(issued.ok()) << issued.status();
  ASSERT_TRUE(simulator_->ChangeSettings({{"mtls", true}}).ok());
  ClientOptions options = TokenOptions();
  options.client_certificate_pem = (*issued)["certificate"].get<std::string>();
  options.client_key_pem = SecretBytes((*issued)["private_key"].get<std::string>());
  std::unique_ptr<QualtricsClient> client = NewClient(std::move(options));
  KeyAndCsr request = MakeKeyAndCsr();
  absl::StatusOr<CreatedCertificate> created =
      client->CreateCertificate(request.csr, request.fingerprint);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_THAT(created->notice, HasSubstr((*issued)["id"].get<std::string>()));
  EXPECT_THAT(created->notice, HasSubstr("regenerate"));
}

TEST_F(ClientTest, RevokedClientCertificateIsRejected) {
  absl::StatusOr<nlohmann::json> issued =
      simulator_->Control("POST", "/certificates", {{"organization_id", sim().organization_id}});
  ASSERT_TRUE(issued.ok()) << issued.status();
  std::unique_ptr<QualtricsClient> admin = NewClient(TokenOptions());
  ASSERT_TRUE(admin->DeleteCertificate((*issued)["id"].get<std::string>()).ok());
  ASSERT_TRUE(simulator_->ChangeSettings({{"mtls", true}}).ok());

  ClientOptions options = TokenOptions();
  options.client_certificate_pem = (*issued)["certificate"].get<std::string>();
  options.client_key_pem = SecretBytes((*issued)["private_key"].get<std::string>());
  std::unique_ptr<QualtricsClient> client = NewClient(std::move(options));
  absl::StatusOr<std::vector<RemoteCertificate>> listed = client->ListCertificates();
  ASSERT_EQ(listed.status().code(), absl::StatusCode::kUnauthenticated) << listed.status();
  EXPECT_THAT(Message(listed.status()), HasSubstr("CLIENT_CERT_REVOKED"));
}

TEST_F(ClientTest, WrongCaBundleIsRejected) {
  // A certificate the simulator's CA issued is not itself a CA for its server certificate.
  absl::StatusOr<nlohmann::json> issued =
      simulator_->Control("POST", "/certificates", {{"organization_id", sim().organization_id}});
  ASSERT_TRUE(issued.ok()) << issued.status();
  ClientOptions options = TokenOptions();
  options.ca_bundle_pem = (*issued)["certificate"].get<std::string>();
  std::unique_ptr<QualtricsClient> client = NewClient(std::move(options));
  absl::StatusOr<std::vector<RemoteCertificate>> listed = client->ListCertificates();
  ASSERT_EQ(listed.status().code(), absl::StatusCode::kFailedPrecondition) << listed.status();
  EXPECT_THAT(Message(listed.status()), HasSubstr("TLS certificate did not verify"));
  EXPECT_EQ(Count("list"), 0);
}

TEST_F(ClientTest, SystemStoreDoesNotTrustSimulator) {
  ClientOptions options = TokenOptions();
  options.ca_bundle_pem.clear();
  std::unique_ptr<QualtricsClient> client = NewClient(std::move(options));
  absl::StatusOr<std::vector<RemoteCertificate>> listed = client->ListCertificates();
  ASSERT_EQ(listed.status().code(), absl::StatusCode::kFailedPrecondition) << listed.status();
  EXPECT_EQ(Count("list"), 0);
}

TEST_F(ClientTest, ServerNameIsVerified) {
  ClientOptions good = TokenOptions();
  good.server_name = "localhost";
  std::unique_ptr<QualtricsClient> client = NewClient(std::move(good));
  absl::StatusOr<std::vector<RemoteCertificate>> listed = client->ListCertificates();
  ASSERT_TRUE(listed.ok()) << listed.status();

  ClientOptions bad = TokenOptions();
  bad.server_name = "fra1.qualtrics.com";
  client = NewClient(std::move(bad));
  listed = client->ListCertificates();
  ASSERT_EQ(listed.status().code(), absl::StatusCode::kFailedPrecondition) << listed.status();
  EXPECT_THAT(Message(listed.status()), HasSubstr("tls_server_name"));
  EXPECT_EQ(Count("list"), 1);
}

TEST_F(ClientTest, OversizedResponseIsRejected) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(simulator_
                    ->Control("POST", "/certificates", {{"organization_id", sim().organization_id}})
                    .ok());
  }
  ClientOptions options = TokenOptions();
  options.max_response_bytes = 512;
  std::unique_ptr<QualtricsClient> client = NewClient(std::move(options));
  absl::StatusOr<std::vector<RemoteCertificate>> listed = client->ListCertificates();
  ASSERT_EQ(listed.status().code(), absl::StatusCode::kResourceExhausted) << listed.status();
  EXPECT_THAT(Message(listed.status()), HasSubstr("maximum response size"));
  EXPECT_EQ(Count("list"), 1);
}

TEST_F(ClientTest, OversizedCreateResponseIsOutcomeUnknown) {
  ClientOptions options = TokenOptions();
  options.max_response_bytes = 300;
  std::unique_ptr<QualtricsClient> client = NewClient(std::move(options));
  KeyAndCsr request = MakeKeyAndCsr();
  absl::StatusOr<CreatedCertificate> created =
      client->CreateCertificate(request.csr, request.fingerprint);
  ASSERT_FALSE(created.ok());
  EXPECT_TRUE(IsOutcomeUnknown(created.status())) << created.status();
  EXPECT_EQ(created.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(Message(created.status()), HasSubstr("maximum response size"));
  EXPECT_EQ(Count("create"), 1);
  EXPECT_EQ(ActiveSlots(), 1);
}

TEST_F(ClientTest, ListFollowsPages) {
  ASSERT_TRUE(simulator_->ChangeSettings({{"list_page_size", 2}}).ok());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(simulator_
                    ->Control("POST", "/certificates", {{"organization_id", sim().organization_id}})
                    .ok());
  }
  std::unique_ptr<QualtricsClient> client = NewClient(TokenOptions());
  absl::StatusOr<std::vector<RemoteCertificate>> listed = client->ListCertificates();
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->size(), 5u);
  EXPECT_EQ(Count("list"), 3);
}

TEST_F(ClientTest, UnreachableServerIsUnavailableAfterRetries) {
  ClientOptions options = TokenOptions();
  // Port 1 on loopback: nothing listens there, so connect fails at once.
  options.base_url = "https://127.0.0.1:1/API/v3";
  options.retry.max_retries = 2;
  std::unique_ptr<QualtricsClient> client = NewClient(std::move(options));
  KeyAndCsr request = MakeKeyAndCsr();
  absl::StatusOr<CreatedCertificate> created =
      client->CreateCertificate(request.csr, request.fingerprint);
  ASSERT_EQ(created.status().code(), absl::StatusCode::kUnavailable) << created.status();
  EXPECT_FALSE(IsOutcomeUnknown(created.status()));
  EXPECT_THAT(Message(created.status()), HasSubstr("after 3 attempts"));
}

TEST(ClientOptionsTest, RejectsIncompleteOptions) {
  auto message_of = [](ClientOptions options) {
    absl::StatusOr<std::unique_ptr<QualtricsClient>> client =
        NewQualtricsClient(std::move(options));
    EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(client.status().message());
  };
  auto valid = [] {
    ClientOptions options;
    options.base_url = "https://fra1.qualtrics.com/API/v3";
    options.organization_id = "org";
    options.api_token = SecretBytes("token");
    return options;
  };
  ASSERT_TRUE(NewQualtricsClient(valid()).ok());

  ClientOptions http = valid();
  http.base_url = "http://fra1.qualtrics.com/API/v3";
  EXPECT_THAT(message_of(std::move(http)), HasSubstr("invalid base_url"));

  ClientOptions no_org = valid();
  no_org.organization_id.clear();
  EXPECT_THAT(message_of(std::move(no_org)), HasSubstr("organization_id is missing"));

  ClientOptions no_auth = valid();
  no_auth.api_token.Clear();
  EXPECT_THAT(message_of(std::move(no_auth)), HasSubstr("exactly one of api_token"));

  ClientOptions both = valid();
  both.oauth = OAuthCredentials{"https://fra1.qualtrics.com/oauth2/token", "id",
                                SecretBytes("secret"), "manage:all"};
  EXPECT_THAT(message_of(std::move(both)), HasSubstr("exactly one of api_token"));

  ClientOptions header_injection = valid();
  header_injection.api_token = SecretBytes("token\r\nX-Other: 1");
  EXPECT_THAT(message_of(std::move(header_injection)), HasSubstr("line break"));

  ClientOptions nul_byte = valid();
  nul_byte.api_token = SecretBytes(std::string("tok\0en", 6));
  EXPECT_THAT(message_of(std::move(nul_byte)), HasSubstr("control character"));

  ClientOptions half_mtls = valid();
  half_mtls.client_certificate_pem = "-----BEGIN CERTIFICATE-----";
  EXPECT_THAT(message_of(std::move(half_mtls)), HasSubstr("must be set together"));

  ClientOptions bad_path = valid();
  bad_path.paths.remove = "/organizations/{organizationId}/clientcertificates";
  EXPECT_THAT(message_of(std::move(bad_path)), HasSubstr("{id}"));
}

}  // namespace
}  // namespace vault_qualtrics
