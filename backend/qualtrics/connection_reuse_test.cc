// Tests of connection reuse in HttpTransport and the client, against the simulator
// (tests/qualtrics-sim) on loopback. Every connection goes through a TcpProxy, which counts the
// connections opened and can close them as a server closes idle keep-alive connections.
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "backend/crypto/csr.h"
#include "backend/crypto/key.h"
#include "backend/qualtrics/client.h"
#include "backend/qualtrics/http_transport.h"
#include "backend/qualtrics/simulator_fixture.h"
#include "backend/qualtrics/tcp_proxy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vault_qualtrics {
namespace {

using qualtrics_internal::HttpRequest;
using qualtrics_internal::HttpResult;
using qualtrics_internal::HttpTransport;
using qualtrics_internal::TransportFailure;
using qualtrics_internal::TransportOptions;

// A second brand-administrator token, so that two clients can differ only in their token.
constexpr char kSecondApiToken[] = "sim-second-admin-token";

struct KeyAndCsr {
  std::string csr;
  std::string fingerprint;
};

KeyAndCsr MakeKeyAndCsr() {
  absl::StatusOr<PrivateKey> key = GenerateKey(*ParseKeySpec("ec", 256));
  EXPECT_TRUE(key.ok()) << key.status();
  Subject subject;
  subject.common_name = "fra1.qualtrics.com";
  absl::StatusOr<std::string> csr = CreateCsrPem(*key, subject);
  EXPECT_TRUE(csr.ok()) << csr.status();
  return KeyAndCsr{*std::move(csr), *key->PublicKeyFingerprintSha256()};
}

class ConnectionReuseTest : public SimulatorClientTest {
 protected:
  static void SetUpTestSuite() {
    StartSimulator(
        {"-max-active=1000", absl::StrCat("-api-token=sim-admin-token,", kSecondApiToken)});
  }

  void SetUp() override {
    SimulatorClientTest::SetUp();
    if (HasFatalFailure()) return;
    absl::StatusOr<std::unique_ptr<TcpProxy>> proxy =
        TcpProxy::Start(UrlPort(simulator_->info().base_url));
    ASSERT_TRUE(proxy.ok()) << proxy.status();
    proxy_ = *std::move(proxy);
  }

  // The simulator's base URL with the proxy's port.
  std::string BaseUrl() const { return ReplaceUrlPort(sim().base_url, proxy_->port()); }
  std::string ListUrl() const {
    return BaseUrl() + "/organizations/" + sim().organization_id + "/clientcertificates";
  }

  TransportOptions TransportWithSimulatorCa() const {
    TransportOptions options;
    options.ca_bundle_pem = sim().ca_pem;
    options.connect_timeout = absl::Seconds(5);
    options.request_timeout = absl::Seconds(10);
    return options;
  }

  static HttpResult List(const HttpTransport& transport, const std::string& url) {
    HttpRequest request;
    request.method = "GET";
    request.url = url;
    request.headers.push_back("Accept: application/json");
    request.credential_header = SecretBytes("X-API-TOKEN: sim-admin-token");
    return transport.Perform(request);
  }

  // Options for an API-token client that connects through the proxy.
  ClientOptions ProxiedTokenOptions() const {
    ClientOptions options = TokenOptions();
    options.base_url = BaseUrl();
    return options;
  }

  int Slots() const {
    absl::StatusOr<nlohmann::json> certificates = simulator_->Certificates();
    EXPECT_TRUE(certificates.ok()) << certificates.status();
    return certificates.ok() ? static_cast<int>(certificates->size()) : -1;
  }

  std::unique_ptr<TcpProxy> proxy_;
};

TEST_F(ConnectionReuseTest, TransportReusesOneConnection) {
  HttpTransport transport(TransportWithSimulatorCa());
  for (int i = 0; i < 3; ++i) {
    HttpResult result = List(transport, ListUrl());
    ASSERT_EQ(result.failure, TransportFailure::kNone) << result.failure_detail;
    EXPECT_EQ(result.status, 200);
    EXPECT_EQ(result.new_connections, i == 0 ? 1 : 0) << "exchange " << i;
  }
  EXPECT_EQ(proxy_->accepted(), 1);
  EXPECT_EQ(transport.IdleConnectionCount(), 1);
}

TEST_F(ConnectionReuseTest, ZeroIdleConnectionsOpensEveryTime) {
  TransportOptions options = TransportWithSimulatorCa();
  options.max_idle_connections = 0;
  HttpTransport transport(std::move(options));
  for (int i = 0; i < 3; ++i) {
    HttpResult result = List(transport, ListUrl());
    ASSERT_EQ(result.failure, TransportFailure::kNone) << result.failure_detail;
    EXPECT_EQ(result.new_connections, 1) << "exchange " << i;
  }
  EXPECT_EQ(proxy_->accepted(), 3);
  EXPECT_EQ(transport.IdleConnectionCount(), 0);
}

TEST_F(ConnectionReuseTest, IdleConnectionPastMaxIdleTimeIsClosed) {
  TransportOptions options = TransportWithSimulatorCa();
  options.max_idle_time = absl::Milliseconds(100);
  HttpTransport transport(std::move(options));
  ASSERT_EQ(List(transport, ListUrl()).failure, TransportFailure::kNone);
  absl::SleepFor(absl::Milliseconds(300));
  HttpResult result = List(transport, ListUrl());
  ASSERT_EQ(result.failure, TransportFailure::kNone) << result.failure_detail;
  EXPECT_EQ(result.new_connections, 1);
  EXPECT_EQ(proxy_->accepted(), 2);
}

TEST_F(ConnectionReuseTest, ConcurrentCallersKeepBoundedIdleConnections) {
  TransportOptions options = TransportWithSimulatorCa();
  options.max_idle_connections = 2;
  HttpTransport transport(std::move(options));
  constexpr int kThreads = 6;
  constexpr int kCallsPerThread = 5;
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        HttpResult result = List(transport, ListUrl());
        if (result.failure != TransportFailure::kNone || result.status != 200) ++failures[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
  EXPECT_LE(transport.IdleConnectionCount(), 2);
  EXPECT_GE(transport.IdleConnectionCount(), 1);
  EXPECT_LE(proxy_->accepted(), kThreads * kCallsPerThread);
  // The pool keeps at most 2 connections open between calls.
  EXPECT_LE(proxy_->open(), 2);
}

TEST_F(ConnectionReuseTest, ClientReusesConnectionAcrossCalls) {
  std::unique_ptr<QualtricsClient> client = NewClient(ProxiedTokenOptions());
  KeyAndCsr request = MakeKeyAndCsr();
  ASSERT_TRUE(client->ListCertificates().ok());
  absl::StatusOr<CreatedCertificate> created =
      client->CreateCertificate(request.csr, request.fingerprint);
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_TRUE(client->DeleteCertificate(created->id).ok());
  EXPECT_EQ(proxy_->accepted(), 1);
}

TEST_F(ConnectionReuseTest, OAuthTokenCallSharesClientPool) {
  ClientOptions options = ProxiedTokenOptions();
  options.api_token.Clear();
  OAuthCredentials oauth;
  oauth.token_url = ReplaceUrlPort(sim().token_url, proxy_->port());
  oauth.client_id = sim().oauth_client_id;
  oauth.client_secret = SecretBytes(sim().oauth_client_secret);
  options.oauth = std::move(oauth);
  std::unique_ptr<QualtricsClient> client = NewClient(std::move(options));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client->ListCertificates().ok());
  EXPECT_EQ(Count("token"), 1);
  EXPECT_EQ(proxy_->accepted(), 1);
}

// Each case changes one option, as a config write does; the engine then builds a new client.
struct ConfigChange {
  const char* name;
  void (*apply)(ClientOptions& options, const SimulatorInfo& sim, const nlohmann::json& identity);
};

class ConfigChangeTest : public ConnectionReuseTest,
                         public ::testing::WithParamInterface<ConfigChange> {};

TEST_P(ConfigChangeTest, NewClientDoesNotReuseConnections) {
  // An identity for the mTLS case; the others ignore it.
  absl::StatusOr<nlohmann::json> identity =
      simulator_->Control("POST", "/certificates", {{"organization_id", sim().organization_id}});
  ASSERT_TRUE(identity.ok()) << identity.status();

  std::unique_ptr<QualtricsClient> before = NewClient(ProxiedTokenOptions());
  ASSERT_TRUE(before->ListCertificates().ok());
  ASSERT_EQ(proxy_->accepted(), 1);

  ClientOptions changed = ProxiedTokenOptions();
  GetParam().apply(changed, sim(), *identity);
  std::unique_ptr<QualtricsClient> after = NewClient(std::move(changed));
  absl::StatusOr<std::vector<RemoteCertificate>> listed = after->ListCertificates();
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(proxy_->accepted(), 2);

  // Each client keeps reusing its own connection.
  ASSERT_TRUE(before->ListCertificates().ok());
  ASSERT_TRUE(after->ListCertificates().ok());
  EXPECT_EQ(proxy_->accepted(), 2);
}

INSTANTIATE_TEST_SUITE_P(
    AllOptions, ConfigChangeTest,
    ::testing::Values(
        ConfigChange{"ApiToken",
                     [](ClientOptions& options, const SimulatorInfo&, const nlohmann::json&) {
                       options.api_token = SecretBytes(kSecondApiToken);
                     }},
        ConfigChange{"CaBundle",
                     [](ClientOptions& options, const SimulatorInfo& sim, const nlohmann::json&) {
                       // The same CA twice: a different bundle that still verifies.
                       options.ca_bundle_pem = sim.ca_pem + sim.ca_pem;
                     }},
        ConfigChange{"MutualTlsIdentity",
                     [](ClientOptions& options, const SimulatorInfo&,
                        const nlohmann::json& identity) {
                       options.client_certificate_pem = identity["certificate"].get<std::string>();
                       options.client_key_pem =
                           SecretBytes(identity["private_key"].get<std::string>());
                     }}),
    [](const ::testing::TestParamInfo<ConfigChange>& info) { return info.param.name; });

TEST_F(ConnectionReuseTest, ServerClosedIdleConnectionIsReplaced) {
  std::unique_ptr<QualtricsClient> client = NewClient(ProxiedTokenOptions());
  ASSERT_TRUE(client->ListCertificates().ok());
  ASSERT_TRUE(proxy_->CloseAll());

  // A create on the closed connection would be an unknown outcome; it must open a new one.
  KeyAndCsr request = MakeKeyAndCsr();
  absl::StatusOr<CreatedCertificate> created =
      client->CreateCertificate(request.csr, request.fingerprint);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(Count("create"), 1);
  EXPECT_EQ(proxy_->accepted(), 2);

  ASSERT_TRUE(proxy_->CloseAll());
  absl::StatusOr<std::vector<RemoteCertificate>> listed = client->ListCertificates();
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->size(), 1u);
  EXPECT_EQ(Count("list"), 2);
  EXPECT_EQ(proxy_->accepted(), 3);
}

TEST_F(ConnectionReuseTest, LostCreateOnReusedConnectionNotResent) {
  std::unique_ptr<QualtricsClient> client = NewClient(ProxiedTokenOptions());
  ASSERT_TRUE(client->ListCertificates().ok());
  ASSERT_TRUE(simulator_->AddFault({{"match", "create"}, {"kind", "lost_response"}}).ok());

  KeyAndCsr request = MakeKeyAndCsr();
  absl::StatusOr<CreatedCertificate> created =
      client->CreateCertificate(request.csr, request.fingerprint);
  ASSERT_FALSE(created.ok());
  EXPECT_TRUE(IsOutcomeUnknown(created.status())) << created.status();
  EXPECT_EQ(created.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Count("create"), 1);
  EXPECT_EQ(Slots(), 1);
}

TEST_F(ConnectionReuseTest, DroppedCreateOnReusedConnectionNotResent) {
  std::unique_ptr<QualtricsClient> client = NewClient(ProxiedTokenOptions());
  ASSERT_TRUE(client->ListCertificates().ok());
  ASSERT_TRUE(
      simulator_->AddFault({{"match", "create"}, {"kind", "drop"}, {"reset", true}}).ok());

  KeyAndCsr request = MakeKeyAndCsr();
  absl::StatusOr<CreatedCertificate> created =
      client->CreateCertificate(request.csr, request.fingerprint);
  ASSERT_FALSE(created.ok());
  EXPECT_TRUE(IsOutcomeUnknown(created.status())) << created.status();
  EXPECT_EQ(Count("create"), 1);
  EXPECT_EQ(Slots(), 0);
}

TEST_F(ConnectionReuseTest, DroppedListOnReusedConnectionSucceeds) {
  std::unique_ptr<QualtricsClient> client = NewClient(ProxiedTokenOptions());
  ASSERT_TRUE(client->ListCertificates().ok());
  ASSERT_TRUE(simulator_->AddFault({{"match", "list"}, {"kind", "drop"}}).ok());
  absl::StatusOr<std::vector<RemoteCertificate>> listed = client->ListCertificates();
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(Count("list"), 3);
}

TEST_F(ConnectionReuseTest, LostDeleteOnReusedConnectionSucceeds) {
  std::unique_ptr<QualtricsClient> client = NewClient(ProxiedTokenOptions());
  KeyAndCsr request = MakeKeyAndCsr();
  absl::StatusOr<CreatedCertificate> created =
      client->CreateCertificate(request.csr, request.fingerprint);
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_TRUE(simulator_->AddFault({{"match", "delete"}, {"kind", "lost_response"}}).ok());

  // The first delete is applied and its response lost; the retry's 404 counts as done.
  absl::Status deleted = client->DeleteCertificate(created->id);
  EXPECT_TRUE(deleted.ok()) << deleted;
  EXPECT_EQ(Count("delete"), 2);
}

TEST(TcpProxyUrlTest, ReplacesAndReadsPort) {
  EXPECT_EQ(ReplaceUrlPort("https://127.0.0.1:4000/API/v3", 5000), "https://127.0.0.1:5000/API/v3");
  EXPECT_EQ(ReplaceUrlPort("https://[::1]:4000", 5000), "https://[::1]:5000");
  EXPECT_EQ(UrlPort("https://127.0.0.1:4000/API/v3"), 4000);
  EXPECT_EQ(UrlPort("https://[::1]/x"), 0);
}

}  // namespace
}  // namespace vault_qualtrics
