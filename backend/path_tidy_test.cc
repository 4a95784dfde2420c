#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "backend/crypto/csr.h"
#include "backend/crypto/key.h"
#include "backend/logical/errors.h"
#include "backend/records.h"
#include "backend/storage_keys.h"
#include "backend/testing/test_backend.h"

namespace vault_qualtrics {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TestBackend;
using ::testing::UnorderedElementsAre;

TEST(PathTidyTest, RevokesExpiredAndSupersededPastGrace) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web", {{"revoke_grace", "1h"}}).ok());
  ASSERT_TRUE(t.CreateRole("api", {{"renew_before", 0}}).ok());
  t.qualtrics().set_lifetime_seconds(86400);
  std::string expired = t.Read("cert/api")->data["qualtrics_id"];
  t.qualtrics().set_lifetime_seconds(365 * 86400);
  std::string superseded = t.Read("cert/web")->data["qualtrics_id"];
  std::string current = t.Write("rotate/web")->data["qualtrics_id"];

  // Inside the grace period only the expired one goes.
  t.Advance(86400 - 1800);
  t.Advance(1800);
  absl::StatusOr<Response> tidy = t.Write("tidy", {{"tidy_superseded", false}});
  ASSERT_TRUE(tidy.ok()) << tidy.status();
  EXPECT_THAT(tidy->data["revoked"].get<std::vector<std::string>>(), ElementsAre(expired));
  EXPECT_EQ(tidy->data["held_before"], 3);
  EXPECT_EQ(tidy->data["held_after"], 2);

  absl::StatusOr<Response> second = t.Write("tidy");
  ASSERT_TRUE(second.ok());
  EXPECT_THAT(second->data["revoked"].get<std::vector<std::string>>(), ElementsAre(superseded));
  EXPECT_THAT(t.qualtrics().ids(), ElementsAre(current));
  EXPECT_THAT(t.List("certs/")->data["keys"].get<std::vector<std::string>>(), ElementsAre(current));
}

TEST(PathTidyTest, KeepsSupersededInsideGrace) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web", {{"revoke_grace", "1h"}}).ok());
  ASSERT_TRUE(t.Read("cert/web").ok());
  ASSERT_TRUE(t.Write("rotate/web").ok());
  absl::StatusOr<Response> tidy = t.Write("tidy");
  ASSERT_TRUE(tidy.ok());
  EXPECT_TRUE(tidy->data["revoked"].empty());
  EXPECT_EQ(t.qualtrics().ids().size(), 2u);
}

TEST(PathTidyTest, ReportsFailures) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web", {{"renew_before", 0}}).ok());
  t.qualtrics().set_lifetime_seconds(60);
  std::string id = t.Read("cert/web")->data["qualtrics_id"];
  t.Advance(120);
  t.qualtrics().FailNextDelete(absl::UnavailableError("503"));
  absl::StatusOr<Response> tidy = t.Write("tidy");
  ASSERT_TRUE(tidy.ok());
  EXPECT_TRUE(tidy->data["failed"].contains(id));
  ASSERT_EQ(tidy->warnings.size(), 1u);
  EXPECT_TRUE(t.Read("certs/" + id)->has_response);
}

TEST(PathTidyTest, RollsBackLeftoverIssuances) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  // A certificate created at Qualtrics by another node's issuance that stored no record.
  absl::StatusOr<PrivateKey> key = GenerateKey(KeySpec{});
  ASSERT_TRUE(key.ok());
  Subject subject;
  subject.common_name = "fra1.qualtrics.com";
  absl::StatusOr<std::string> csr = CreateCsrPem(*key, subject);
  ASSERT_TRUE(csr.ok());
  std::string fingerprint = *key->PublicKeyFingerprintSha256();
  absl::StatusOr<IssuedCertificate> orphan = t.qualtrics().Create(*csr, fingerprint);
  ASSERT_TRUE(orphan.ok());
  WalRecord wal;
  wal.id = "left-over";
  wal.role = "web";
  wal.public_key_fingerprint = fingerprint;
  wal.created_at = t.now();
  wal.instance_id = "other-node";
  t.storage().Set(WalKey(wal.id), EncodeWal(wal));

  // Too young: the other node may still be waiting for its create.
  absl::StatusOr<Response> early = t.Write("tidy");
  ASSERT_TRUE(early.ok()) << early.status();
  EXPECT_EQ(early->data["pending_issuances"], 1);
  EXPECT_EQ(early->data["rolled_back_issuances"], 0);
  ASSERT_EQ(early->warnings.size(), 1u);
  EXPECT_THAT(early->warnings[0], HasSubstr("still pending"));
  EXPECT_THAT(t.qualtrics().ids(), ElementsAre(orphan->id));

  t.Advance(121);
  absl::StatusOr<Response> later = t.Write("tidy");
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_EQ(later->data["pending_issuances"], 0);
  EXPECT_EQ(later->data["rolled_back_issuances"], 1);
  EXPECT_TRUE(later->warnings.empty());
  EXPECT_TRUE(t.qualtrics().ids().empty());
  EXPECT_TRUE(t.storage().KeysWithPrefix("wal/").empty());
}

TEST(PathTidyTest, StandbyForwards) {
  TestBackend t;
  t.system_view().SetPerformanceStandby(true);
  EXPECT_TRUE(IsReadOnly(t.Write("tidy").status()));
}

}  // namespace
}  // namespace vault_qualtrics
