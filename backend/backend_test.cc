// Behaviour across paths: write-ahead rollback, periodic renewal, mutual TLS, invalidation,
// the root help and set-up without storage.
#include "backend/backend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "backend/crypto/csr.h"
#include "backend/crypto/key.h"
#include "backend/logical/errors.h"
#include "backend/logical/log.h"
#include "backend/records.h"
#include "backend/storage_keys.h"
#include "backend/testing/test_backend.h"

namespace vault_qualtrics {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TestBackend;

// Creates a certificate at the fake Qualtrics as an interrupted issuance would have, and
// returns its id and the write-ahead entry that issuance left behind.
std::pair<std::string, WalRecord> OrphanedCreate(TestBackend& t, const std::string& instance) {
  absl::StatusOr<PrivateKey> key = GenerateKey(KeySpec{});
  Subject subject;
  subject.common_name = "fra1.qualtrics.com";
  std::string csr = *CreateCsrPem(*key, subject);
  std::string fingerprint = *key->PublicKeyFingerprintSha256();
  absl::StatusOr<IssuedCertificate> issued = t.qualtrics().Create(csr, fingerprint);
  EXPECT_TRUE(issued.ok());
  WalRecord wal;
  wal.id = "wal-" + issued->id;
  wal.role = "web";
  wal.public_key_fingerprint = fingerprint;
  wal.created_at = t.now();
  wal.instance_id = instance;
  t.storage().Set(WalKey(wal.id), EncodeWal(wal));
  return {issued->id, wal};
}

TEST(BackendTest, RollbackWaitsForMinAge) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  auto [orphan, wal] = OrphanedCreate(t, "crashed-instance");

  // A fresh entry of another instance may still belong to a running create.
  ASSERT_TRUE(t.Do(Operation::kRollback, "").ok());
  EXPECT_THAT(t.qualtrics().ids(), ElementsAre(orphan));
  EXPECT_EQ(t.storage().KeysWithPrefix("wal/").size(), 1u);

  t.Advance(121);
  ASSERT_TRUE(t.Do(Operation::kRollback, "").ok());
  EXPECT_TRUE(t.qualtrics().ids().empty());
  EXPECT_TRUE(t.storage().KeysWithPrefix("wal/").empty());
}

TEST(BackendTest, RollbackKeepsCertificateWhoseRecordWasStored) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  absl::StatusOr<Response> read = t.Read("cert/web");
  ASSERT_TRUE(read.ok());
  // A crash between storing the record and deleting the entry leaves this behind.
  WalRecord wal;
  wal.id = "late";
  wal.role = "web";
  wal.public_key_fingerprint = read->data["public_key_fingerprint"];
  wal.created_at = t.now() - 1000;
  wal.instance_id = "crashed-instance";
  t.storage().Set(WalKey(wal.id), EncodeWal(wal));

  ASSERT_TRUE(t.Do(Operation::kRollback, "").ok());
  EXPECT_THAT(t.qualtrics().ids(), ElementsAre(read->data["qualtrics_id"].get<std::string>()));
  EXPECT_TRUE(t.storage().KeysWithPrefix("wal/").empty());
}

TEST(BackendTest, InitializeRollsBackOldEntries) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  auto [orphan, wal] = OrphanedCreate(t, "crashed-instance");
  t.Advance(600);
  ASSERT_TRUE(t.backend().Initialize().ok());
  EXPECT_TRUE(t.qualtrics().ids().empty());
  EXPECT_TRUE(t.storage().KeysWithPrefix("wal/").empty());
}

TEST(BackendTest, UnknownCreateOutcomeIsRolledBackLater) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  t.qualtrics().LoseNextCreateResponse();
  t.qualtrics().FailNextList(absl::UnavailableError("connection reset"));
  absl::StatusOr<Response> read = t.Read("cert/web");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(read.status().message()), HasSubstr("Retry the read"));
  EXPECT_EQ(t.storage().KeysWithPrefix("wal/").size(), 1u);
  EXPECT_EQ(t.qualtrics().ids().size(), 1u);

  // The entry belongs to this instance and no issuance owns it now: the next periodic run
  // finds the certificate by its public key and revokes it.
  ASSERT_TRUE(t.Do(Operation::kRollback, "").ok());
  EXPECT_TRUE(t.qualtrics().ids().empty());
  EXPECT_TRUE(t.storage().KeysWithPrefix("wal/").empty());
  EXPECT_TRUE(t.storage().KeysWithPrefix("certs/").empty());
}

TEST(BackendTest, RollbackKeepsEntryWhenListFails) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  auto [orphan, wal] = OrphanedCreate(t, "crashed-instance");
  t.Advance(600);
  t.qualtrics().FailNextList(absl::UnavailableError("down"));
  EXPECT_FALSE(t.Do(Operation::kRollback, "").ok());
  EXPECT_EQ(t.storage().KeysWithPrefix("wal/").size(), 1u);
  ASSERT_TRUE(t.Do(Operation::kRollback, "").ok());
  EXPECT_TRUE(t.storage().KeysWithPrefix("wal/").empty());
}

TEST(BackendTest, PeriodicRenewsBeforeAnyoneReads) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  ASSERT_TRUE(t.CreateRole("unused").ok());
  std::string first = t.Read("cert/web")->data["qualtrics_id"];
  t.Advance(306 * 86400);  // inside the default 60-day window
  ASSERT_TRUE(t.Do(Operation::kRollback, "").ok());
  EXPECT_EQ(t.qualtrics().creates(), 2) << "only roles holding a certificate are renewed";
  absl::StatusOr<Response> read = t.Read("cert/web");
  ASSERT_TRUE(read.ok());
  EXPECT_NE(read->data["qualtrics_id"], first);
  EXPECT_EQ(read->data["from_storage"], true);
}

TEST(BackendTest, PeriodicDoesNothingOnStandby) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  ASSERT_TRUE(t.Read("cert/web").ok());
  t.Advance(306 * 86400);
  t.system_view().SetPerformanceStandby(true);
  ASSERT_TRUE(t.Do(Operation::kRollback, "").ok());
  EXPECT_EQ(t.qualtrics().creates(), 1);
}

TEST(BackendTest, MtlsRolePresentsItsCertificate) {
  TestBackend t;
  ASSERT_TRUE(t.CreateRole("plugin").ok());
  ASSERT_TRUE(t.Configure({{"mtls_role", "plugin"}}).ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  // Bootstrap: the first certificate is created without a client certificate.
  absl::StatusOr<Response> own = t.Read("cert/plugin");
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(t.presented_certificate(), "");

  ASSERT_TRUE(t.Read("cert/web").ok());
  EXPECT_EQ(t.presented_certificate(), own->data["certificate"]);

  // Renewing the mTLS role's certificate authenticates with the certificate it replaces,
  // and later calls present the new one.
  t.Advance(306 * 86400);
  absl::StatusOr<Response> renewed = t.Read("cert/plugin");
  ASSERT_TRUE(renewed.ok());
  ASSERT_NE(renewed->data["certificate"], own->data["certificate"]);
  ASSERT_TRUE(t.Write("rotate/web").ok());
  EXPECT_EQ(t.presented_certificate(), renewed->data["certificate"]);
}

TEST(BackendTest, NoticeTriggersMtlsRenewal) {
  TestBackend t;
  ASSERT_TRUE(t.CreateRole("plugin", {{"renew_before", "1d"}}).ok());
  ASSERT_TRUE(t.Configure({{"mtls_role", "plugin"}}).ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  std::string own = t.Read("cert/plugin")->data["qualtrics_id"];
  t.qualtrics().set_notice("The client certificate expires within 60 days; regenerate it.");
  absl::StatusOr<Response> web = t.Read("cert/web");
  ASSERT_TRUE(web.ok());
  EXPECT_THAT(web->data["notice"].get<std::string>(), HasSubstr("regenerate"));
  t.qualtrics().set_notice("");
  ASSERT_TRUE(t.Do(Operation::kRollback, "").ok());
  EXPECT_NE(t.Read("cert/plugin")->data["qualtrics_id"], own);
}

TEST(BackendTest, InvalidateDropsCachedRoleAndConfig) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  ASSERT_TRUE(t.Read("roles/web").ok());
  // Another node changes the role in shared storage.
  RoleRecord changed;
  changed.name = "web";
  changed.allow_key_export = true;
  t.storage().Set(RoleKey("web"), EncodeRole(changed));
  EXPECT_EQ(t.Read("roles/web")->data["allow_key_export"], false) << "served from cache";
  t.backend().InvalidateKey("role/web");
  EXPECT_EQ(t.Read("roles/web")->data["allow_key_export"], true);

  ConfigRecord config;
  config.datacenter = "sjc1";
  config.organization_id = "ORG_2";
  config.api_token = SecretBytes("t");
  t.storage().Set("config", std::string(EncodeConfig(config).view()));
  t.backend().InvalidateKey("config");
  EXPECT_EQ(t.Read("config")->data["organization_id"], "ORG_2");
}

TEST(BackendTest, RootHelpListsEveryPath) {
  TestBackend t;
  absl::StatusOr<Response> help = t.Do(Operation::kHelp, "");
  ASSERT_TRUE(help.ok());
  std::string text = help->data["help"];
  for (const char* path : {"config", "roles/{name}", "roles/?", "cert/{role}", "rotate/{role}",
                           "certs/?", "certs/{id}", "tidy"}) {
    EXPECT_THAT(text, HasSubstr(path));
  }
  const nlohmann::json& paths = help->data["openapi"]["paths"];
  for (const char* path : {"/config", "/roles/{name}", "/roles/", "/cert/{role}", "/rotate/{role}",
                           "/certs/", "/certs/{id}", "/tidy"}) {
    EXPECT_TRUE(paths.contains(path)) << path;
  }
  EXPECT_TRUE(paths["/cert/{role}"].contains("get"));
  EXPECT_TRUE(paths["/rotate/{role}"].contains("post"));
  EXPECT_TRUE(paths["/certs/{id}"].contains("delete"));
}

TEST(BackendTest, SetupWithoutStorageServesOnlyHelp) {
  BackendConfig config;
  absl::StatusOr<std::unique_ptr<LogicalBackend>> backend = NewQualtricsBackend(config);
  ASSERT_TRUE(backend.ok());
  Request help;
  help.operation = Operation::kHelp;
  EXPECT_TRUE((*backend)->HandleRequest(help).ok());
  Request read;
  read.operation = Operation::kRead;
  read.path = "config";
  EXPECT_FALSE((*backend)->HandleRequest(read).ok());
  EXPECT_TRUE((*backend)->Initialize().ok());
}

TEST(BackendTest, UnknownPathIsUnsupported) {
  TestBackend t;
  absl::StatusOr<Response> read = t.Read("nope/x");
  ASSERT_FALSE(read.ok());
  EXPECT_TRUE(IsUnsupportedPath(read.status()));
}

}  // namespace
}  // namespace vault_qualtrics

namespace vault_qualtrics {
namespace {

TEST(BackendTest, FailedPointerWriteIsReconciled) {
  testing::TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  std::string first = t.Read("cert/web")->data["qualtrics_id"];

  // The rotation stores certs/<id> but cannot move cert/web/current to it.
  t.storage().FailWritesTo("cert/");
  ASSERT_FALSE(t.Write("rotate/web").ok());
  t.storage().FailWritesTo("");
  ASSERT_EQ(t.qualtrics().ids().size(), 2u);

  ASSERT_TRUE(t.Do(Operation::kRollback, "").ok());
  std::vector<std::string> ids = t.qualtrics().ids();
  ASSERT_EQ(ids.size(), 2u);
  std::string second = ids[0] == first ? ids[1] : ids[0];
  EXPECT_EQ(t.Read("cert/web")->data["qualtrics_id"], second);
  EXPECT_EQ(t.Read("certs/" + first)->data["state"], "superseded");
}

TEST(BackendTest, StaleCurrentRecordIsRevoked) {
  testing::TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  std::string current = t.Read("cert/web")->data["qualtrics_id"];
  // A record in state current that is older than the role's current certificate.
  absl::StatusOr<std::optional<std::string>> raw = t.storage().Get(CertKey(current));
  absl::StatusOr<CertRecord> record = DecodeCert(**raw);
  ASSERT_TRUE(record.ok());
  ASSERT_TRUE(t.Write("rotate/web", nlohmann::json::object()).ok());
  std::string newest = t.Read("cert/web")->data["qualtrics_id"];
  record->issued_at -= 10;
  t.storage().Set(CertKey(current), std::string(EncodeCert(*record).view()));

  absl::StatusOr<Response> tidy = t.Write("tidy");
  ASSERT_TRUE(tidy.ok());
  EXPECT_THAT(tidy->data["revoked"].get<std::vector<std::string>>(), ElementsAre(current));
  EXPECT_EQ(t.Read("cert/web")->data["qualtrics_id"], newest);
}

}  // namespace
}  // namespace vault_qualtrics
