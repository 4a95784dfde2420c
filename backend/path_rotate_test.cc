#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "backend/crypto/certificate.h"
#include "backend/crypto/key.h"
#include "backend/logical/errors.h"
#include "backend/testing/test_backend.h"

namespace vault_qualtrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::TestBackend;

TEST(PathRotateTest, RotateSupersedesAndGraceRevokes) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web", {{"revoke_grace", "2h"}}).ok());
  absl::StatusOr<Response> first = t.Read("cert/web");
  ASSERT_TRUE(first.ok());
  std::string old_id = first->data["qualtrics_id"];

  absl::StatusOr<Response> rotated = t.Write("rotate/web");
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_NE(rotated->data["qualtrics_id"], old_id);
  EXPECT_EQ(rotated->data["from_storage"], false);
  EXPECT_EQ(t.Read("cert/web")->data["qualtrics_id"], rotated->data["qualtrics_id"]);
  EXPECT_EQ(t.Read("certs/" + old_id)->data["state"], "superseded");

  // Within the grace period the old certificate stays valid at Qualtrics.
  t.Advance(3600);
  ASSERT_TRUE(t.Do(Operation::kRollback, "").ok());
  EXPECT_EQ(t.qualtrics().ids().size(), 2u);

  // After it, periodic maintenance revokes it and drops its record.
  t.Advance(3601);
  ASSERT_TRUE(t.Do(Operation::kRollback, "").ok());
  EXPECT_EQ(t.qualtrics().ids().size(), 1u);
  EXPECT_FALSE(t.Read("certs/" + old_id)->has_response);
}

// Even for a role that allows export, only cert/<role> returns the key, so the rotator policy
// grants no access to it.
TEST(PathRotateTest, ResponseNeverHasPrivateKey) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web", {{"allow_key_export", true}, {"key_type", "rsa"}}).ok());
  absl::StatusOr<Response> first = t.Read("cert/web");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(first->data.contains("private_key"));
  std::string old_key = first->data["private_key"];

  absl::StatusOr<Response> rotated = t.Write("rotate/web");
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_FALSE(rotated->data.contains("private_key"));
  EXPECT_FALSE(rotated->data.contains("private_key_type"));
  EXPECT_FALSE(rotated->contains_secrets);
  EXPECT_THAT(rotated->data.dump(), Not(HasSubstr("PRIVATE KEY")));
  // The public fields stay.
  EXPECT_NE(rotated->data["qualtrics_id"], first->data["qualtrics_id"]);
  EXPECT_THAT(rotated->data.value("certificate", ""), HasSubstr("BEGIN CERTIFICATE"));
  for (const char* field : {"serial_number", "expiration", "not_before", "role", "subject",
                            "issuer", "key_type", "key_bits", "public_key_fingerprint",
                            "renew_in_seconds", "from_storage"}) {
    EXPECT_TRUE(rotated->data.contains(field)) << field;
  }

  // Reading the certificate returns the new key, which matches the rotated certificate.
  absl::StatusOr<Response> read = t.Read("cert/web");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->data["qualtrics_id"], rotated->data["qualtrics_id"]);
  EXPECT_EQ(read->data["private_key_type"], "rsa");
  std::string new_key = read->data.value("private_key", "");
  EXPECT_THAT(new_key, HasSubstr("BEGIN PRIVATE KEY"));
  EXPECT_NE(new_key, old_key);
  absl::StatusOr<PrivateKey> key = PrivateKeyFromPem(new_key);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_TRUE(*CertificateMatchesKey(rotated->data["certificate"].get<std::string>(), *key));
  EXPECT_TRUE(read->contains_secrets);
}

TEST(PathRotateTest, RotateWithoutCurrentIssues) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  absl::StatusOr<Response> rotated = t.Write("rotate/web");
  ASSERT_TRUE(rotated.ok());
  EXPECT_EQ(t.qualtrics().creates(), 1);
}

TEST(PathRotateTest, UnknownRoleIsNotFound) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  absl::StatusOr<Response> rotated = t.Write("rotate/nope");
  ASSERT_FALSE(rotated.ok());
  EXPECT_EQ(rotated.status().code(), absl::StatusCode::kNotFound);
}

TEST(PathRotateTest, ReadIsUnsupported) {
  TestBackend t;
  absl::StatusOr<Response> read = t.Read("rotate/web");
  ASSERT_FALSE(read.ok());
  EXPECT_TRUE(IsUnsupportedOperation(read.status()));
}

TEST(PathRotateTest, StandbyForwards) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  t.system_view().SetPerformanceStandby(true);
  EXPECT_TRUE(IsReadOnly(t.Write("rotate/web").status()));
  EXPECT_EQ(t.qualtrics().creates(), 0);
}

TEST(PathRotateTest, RejectsBodyFields) {
  TestBackend t;
  absl::StatusOr<Response> rotated = t.Write("rotate/web", {{"force", true}});
  ASSERT_FALSE(rotated.ok());
  EXPECT_THAT(std::string(rotated.status().message()), HasSubstr("\"force\""));
  EXPECT_THAT(std::string(rotated.status().message()), HasSubstr("this path takes no fields"));
}

// The place that sets the limit of two active certificates, either the mount's config or Qualtrics.
struct QuotaLimitCase {
  const char* name;
  bool limit_in_mount_config;
};

void PrintTo(const QuotaLimitCase& limit_case, std::ostream* out) { *out << limit_case.name; }

class PathRotateQuotaTest : public ::testing::TestWithParam<QuotaLimitCase> {};

TEST_P(PathRotateQuotaTest, EarlyRevokeWarns) {
  testing::TestBackend t;
  nlohmann::json config = nlohmann::json::object();
  if (GetParam().limit_in_mount_config) {
    config["max_active_certificates"] = 2;
  } else {
    t.qualtrics().set_max_active(2);
  }
  ASSERT_TRUE(t.Configure(config).ok());
  ASSERT_TRUE(t.CreateRole("web", {{"revoke_grace", "1d"}}).ok());
  std::string first = t.Read("cert/web")->data["qualtrics_id"];
  ASSERT_TRUE(t.Write("rotate/web").ok());

  absl::StatusOr<Response> third = t.Write("rotate/web");
  ASSERT_TRUE(third.ok()) << third.status();
  ASSERT_EQ(third->warnings.size(), 1u);
  EXPECT_THAT(third->warnings[0], HasSubstr(first));
  EXPECT_THAT(third->warnings[0], HasSubstr("before its grace period ended"));
  EXPECT_THAT(third->warnings[0], HasSubstr("quota"));
  EXPECT_FALSE(t.Read("certs/" + first)->has_response);
}

INSTANTIATE_TEST_SUITE_P(
    LimitSources, PathRotateQuotaTest,
    ::testing::Values(QuotaLimitCase{"MountConfig", true}, QuotaLimitCase{"Qualtrics", false}),
    [](const ::testing::TestParamInfo<QuotaLimitCase>& info) { return info.param.name; });

TEST(PathRotateTest, QuotaAfterFreeingGivesOneMessage) {
  testing::TestBackend t;
  t.qualtrics().set_max_active(3);
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  ASSERT_TRUE(t.Read("cert/web").ok());
  ASSERT_TRUE(t.Write("rotate/web").ok());
  t.qualtrics().AddForeignCertificate("OTHER_1");
  t.qualtrics().AddForeignCertificate("OTHER_2");

  // Qualtrics rejects, the engine frees its superseded certificate, and the retry is rejected.
  absl::StatusOr<Response> rotated = t.Write("rotate/web");
  ASSERT_FALSE(rotated.ok());
  EXPECT_EQ(rotated.status().code(), absl::StatusCode::kResourceExhausted);
  std::string message(rotated.status().message());
  EXPECT_THAT(message, HasSubstr("quota reached"));
  EXPECT_THAT(message, HasSubstr("held outside this mount"));
  EXPECT_EQ(message.find("quota reached"), message.rfind("quota reached")) << message;
  EXPECT_EQ(message.find("tidy"), message.rfind("tidy")) << message;
  EXPECT_TRUE(t.storage().KeysWithPrefix("wal/").empty());
}

}  // namespace
}  // namespace vault_qualtrics

namespace vault_qualtrics {
namespace {

TEST(PathRotateTest, RoleLimitRevokesEarly) {
  testing::TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web", {{"max_certificates", 2}, {"revoke_grace", "1d"}}).ok());
  std::string first = t.Read("cert/web")->data["qualtrics_id"];
  absl::StatusOr<Response> second = t.Write("rotate/web");
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->warnings.empty());
  EXPECT_EQ(t.qualtrics().ids().size(), 2u);

  absl::StatusOr<Response> third = t.Write("rotate/web");
  ASSERT_TRUE(third.ok());
  ASSERT_EQ(third->warnings.size(), 1u);
  EXPECT_THAT(third->warnings[0], ::testing::HasSubstr(first));
  EXPECT_THAT(third->warnings[0], ::testing::HasSubstr("max_certificates is 2"));
  EXPECT_EQ(t.qualtrics().ids().size(), 2u);
  EXPECT_FALSE(t.Read("certs/" + first)->has_response);
}

}  // namespace
}  // namespace vault_qualtrics
