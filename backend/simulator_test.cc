// The engine with the real HTTPS client against the Qualtrics simulator on loopback.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "backend/backend.h"
#include "backend/crypto/certificate.h"
#include "backend/qualtrics/simulator_fixture.h"
#include "backend/testing/memory_storage.h"

namespace vault_qualtrics {
namespace {

using testing::FakeSystemView;
using ::testing::HasSubstr;
using testing::MemoryStorage;
using ::testing::Not;

class SimulatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Simulator>> started = Simulator::Start();
    ASSERT_TRUE(started.ok()) << started.status();
    simulator_ = *std::move(started);
    BackendConfig config;
    config.storage = &storage_;
    config.system_view = &system_view_;
    absl::StatusOr<std::unique_ptr<LogicalBackend>> backend = NewQualtricsBackend(config);
    ASSERT_TRUE(backend.ok());
    backend_ = *std::move(backend);
  }

  absl::StatusOr<Response> Do(Operation op, const std::string& path,
                              nlohmann::json data = nlohmann::json::object()) {
    Request request;
    request.operation = op;
    request.path = path;
    request.data = std::move(data);
    request.id = "req-sim";
    request.mount_point = "qualtrics/";
    return backend_->HandleRequest(request);
  }

  absl::Status Configure(nlohmann::json extra = nlohmann::json::object()) {
    const SimulatorInfo& info = simulator_->info();
    nlohmann::json data = {{"base_url", info.base_url},
                           {"organization_id", info.organization_id},
                           {"api_token", info.api_token},
                           {"ca_bundle", info.ca_pem}};
    data.update(extra);
    return Do(Operation::kUpdate, "config", data).status();
  }

  int Creates() { return *simulator_->RequestCount("create"); }

  std::unique_ptr<Simulator> simulator_;
  MemoryStorage storage_;
  FakeSystemView system_view_;
  std::unique_ptr<LogicalBackend> backend_;
};

TEST_F(SimulatorTest, IssueCacheRotateListDelete) {
  ASSERT_TRUE(Configure().ok());
  ASSERT_TRUE(Do(Operation::kCreate, "roles/web", {{"organization", "Example"}}).ok());

  absl::StatusOr<Response> first = Do(Operation::kRead, "cert/web");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->data["from_storage"], false);
  absl::StatusOr<CertificateInfo> info =
      ParseCertificatePem(first->data["certificate"].get<std::string>());
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->public_key_fingerprint, first->data["public_key_fingerprint"]);
  EXPECT_THAT(info->subject, HasSubstr("CN=127.0.0.1"));
  EXPECT_EQ(Creates(), 1);

  absl::StatusOr<Response> second = Do(Operation::kRead, "cert/web");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->data["from_storage"], true);
  EXPECT_EQ(second->data["qualtrics_id"], first->data["qualtrics_id"]);
  EXPECT_EQ(Creates(), 1);

  absl::StatusOr<Response> rotated = Do(Operation::kUpdate, "rotate/web");
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_EQ(Creates(), 2);
  absl::StatusOr<Response> listed = Do(Operation::kList, "certs/");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->data["keys"].size(), 2u);

  std::string old_id = first->data["qualtrics_id"];
  ASSERT_TRUE(Do(Operation::kDelete, "certs/" + old_id).ok());
  absl::StatusOr<nlohmann::json> certificates = simulator_->Certificates();
  ASSERT_TRUE(certificates.ok());
  std::vector<std::string> active;
  for (const nlohmann::json& certificate : *certificates) {
    if (certificate["state"] != "deleted") active.push_back(certificate["id"]);
  }
  EXPECT_THAT(active, ::testing::ElementsAre(rotated->data["qualtrics_id"].get<std::string>()));
}

TEST_F(SimulatorTest, WrongDeletePathKeepsRecord) {
  ASSERT_TRUE(Configure({{"delete_path",
                          "/organizations/{organizationId}/no-such-endpoint/{id}"}})
                  .ok());
  ASSERT_TRUE(Do(Operation::kCreate, "roles/web", {}).ok());
  absl::StatusOr<Response> issued = Do(Operation::kRead, "cert/web");
  ASSERT_TRUE(issued.ok()) << issued.status();
  std::string id = issued->data["qualtrics_id"];

  absl::StatusOr<Response> deleted = Do(Operation::kDelete, "certs/" + id);
  ASSERT_FALSE(deleted.ok());
  EXPECT_EQ(deleted.status().code(), absl::StatusCode::kFailedPrecondition) << deleted.status();
  EXPECT_THAT(deleted.status().message(), HasSubstr("delete_path"));
  EXPECT_TRUE(Do(Operation::kRead, "certs/" + id)->has_response) << "the record was dropped";
}

TEST_F(SimulatorTest, ConcurrentReadersCreateOnce) {
  ASSERT_TRUE(Configure().ok());
  ASSERT_TRUE(Do(Operation::kCreate, "roles/web").ok());
  ASSERT_TRUE(
      simulator_->AddFault({{"match", "create"}, {"kind", "latency"}, {"delay_ms", 300}}).ok());
  std::vector<std::thread> readers;
  std::vector<absl::StatusOr<Response>> results(6, absl::UnknownError("not run"));
  for (size_t i = 0; i < results.size(); ++i) {
    readers.emplace_back([this, &results, i] { results[i] = Do(Operation::kRead, "cert/web"); });
  }
  for (std::thread& reader : readers) reader.join();
  for (const auto& result : results) {
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->data["qualtrics_id"], results[0]->data["qualtrics_id"]);
  }
  EXPECT_EQ(Creates(), 1);
}

TEST_F(SimulatorTest, WrongTokenFailsConfigWrite) {
  absl::Status status = Configure({{"api_token", "wrong-token"}});
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << status;
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("wrong-token")));
}

TEST_F(SimulatorTest, MutualTlsPresentsRoleCertificate) {
  ASSERT_TRUE(Configure().ok());
  ASSERT_TRUE(Do(Operation::kCreate, "roles/plugin").ok());
  ASSERT_TRUE(Do(Operation::kCreate, "roles/web").ok());
  // The first certificate is created before mutual TLS is on.
  ASSERT_TRUE(Do(Operation::kRead, "cert/plugin").ok());
  ASSERT_TRUE(simulator_->ChangeSettings({{"mtls", true}}).ok());

  absl::StatusOr<Response> without = Do(Operation::kRead, "cert/web");
  ASSERT_FALSE(without.ok());
  EXPECT_EQ(without.status().code(), absl::StatusCode::kUnauthenticated) << without.status();

  ASSERT_TRUE(Do(Operation::kUpdate, "config", {{"mtls_role", "plugin"}}).ok());
  absl::StatusOr<Response> with = Do(Operation::kRead, "cert/web");
  ASSERT_TRUE(with.ok()) << with.status();
  ASSERT_TRUE(Do(Operation::kUpdate, "rotate/plugin").ok()) << "renewal authenticates with itself";
  ASSERT_TRUE(Do(Operation::kUpdate, "rotate/web").ok()) << "later calls present the new one";
}

TEST_F(SimulatorTest, QuotaFullNamesLimit) {
  ASSERT_TRUE(simulator_->ChangeSettings({{"max_active", 1}}).ok());
  ASSERT_TRUE(Configure().ok());
  ASSERT_TRUE(Do(Operation::kCreate, "roles/web").ok());
  ASSERT_TRUE(Do(Operation::kCreate, "roles/api").ok());
  ASSERT_TRUE(Do(Operation::kRead, "cert/web").ok());
  absl::StatusOr<Response> api = Do(Operation::kRead, "cert/api");
  ASSERT_FALSE(api.ok());
  EXPECT_EQ(api.status().code(), absl::StatusCode::kResourceExhausted) << api.status();
  EXPECT_THAT(std::string(api.status().message()), HasSubstr("tidy"));
  EXPECT_THAT(std::string(api.status().message()), HasSubstr("Qualtrics rejected a new client certificate"));
  EXPECT_THAT(std::string(api.status().message()), Not(HasSubstr("maximum of 10")));
  EXPECT_TRUE(storage_.KeysWithPrefix("wal/").empty());
}

}  // namespace
}  // namespace vault_qualtrics
