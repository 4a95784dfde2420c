#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "backend/logical/errors.h"
#include "backend/testing/test_backend.h"

namespace vault_qualtrics {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TestBackend;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

TEST(PathRolesTest, CreateAppliesDefaults) {
  TestBackend t;
  ASSERT_TRUE(t.CreateRole("web").ok());
  absl::StatusOr<Response> read = t.Read("roles/web");
  ASSERT_TRUE(read.ok());
  const nlohmann::json& data = read->data;
  EXPECT_EQ(data["key_type"], "ec");
  EXPECT_EQ(data["key_bits"], 256);
  EXPECT_EQ(data["signature_digest"], "sha256");
  EXPECT_EQ(data["renew_before"], 60 * 86400);
  EXPECT_EQ(data["revoke_grace"], 86400);
  EXPECT_EQ(data["allow_key_export"], false);
  EXPECT_EQ(data["common_name"], "");
  EXPECT_EQ(data["max_certificates"], 0);
}

TEST(PathRolesTest, UpdateKeepsUnsetFields) {
  TestBackend t;
  ASSERT_TRUE(t.CreateRole("web", {{"key_type", "rsa"},
                                   {"key_bits", 3072},
                                   {"organization", "Example"},
                                   {"renew_before", "30d"}})
                  .ok());
  ASSERT_TRUE(t.Write("roles/web", {{"allow_key_export", true}}).ok());
  absl::StatusOr<Response> read = t.Read("roles/web");
  EXPECT_EQ(read->data["key_type"], "rsa");
  EXPECT_EQ(read->data["key_bits"], 3072);
  EXPECT_EQ(read->data["organization"], "Example");
  EXPECT_EQ(read->data["renew_before"], 30 * 86400);
  EXPECT_EQ(read->data["allow_key_export"], true);

  // Changing the key type without a size picks the new type's default size.
  ASSERT_TRUE(t.Write("roles/web", {{"key_type", "ed25519"}}).ok());
  EXPECT_EQ(t.Read("roles/web")->data["key_bits"], 256);
}

TEST(PathRolesTest, InvalidFieldsAreNamed) {
  struct Case {
    nlohmann::json data;
    std::string field;
  };
  std::vector<Case> cases = {
      {{{"key_type", "dsa"}}, "key_type"},
      {{{"key_type", "rsa"}, {"key_bits", 1024}}, "key_bits"},
      {{{"key_type", "ec"}, {"key_bits", 521}}, "key_bits"},
      {{{"key_bits", "big"}}, "key_bits"},
      {{{"signature_digest", "md5"}}, "signature_digest"},
      {{{"country", "Germany"}}, "country"},
      {{{"common_name", std::string(65, 'a')}}, "common_name"},
      {{{"organization", "bad\nname"}}, "organization"},
      {{{"renew_before", "soon"}}, "renew_before"},
      {{{"revoke_grace", -5}}, "revoke_grace"},
      {{{"allow_key_export", "maybe"}}, "allow_key_export"},
      {{{"allow_export", true}}, "allow_export"},
      {{{"max_certificates", -1}}, "max_certificates"},
  };
  for (const Case& c : cases) {
    TestBackend t;
    absl::Status status = t.CreateRole("web", c.data);
    ASSERT_FALSE(status.ok()) << c.data.dump();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.data.dump();
    EXPECT_THAT(Message(status), HasSubstr(c.field)) << c.data.dump();
    EXPECT_FALSE(t.Read("roles/web")->has_response) << c.data.dump();
  }
}

TEST(PathRolesTest, RenewBeforeBelowOneYear) {
  TestBackend t;
  for (const char* value : {"365d", "400d"}) {
    absl::Status status = t.CreateRole("web", {{"renew_before", value}});
    ASSERT_FALSE(status.ok()) << value;
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << value;
    EXPECT_THAT(Message(status), HasSubstr("\"renew_before\"")) << value;
    EXPECT_THAT(Message(status), HasSubstr("365-day lifetime")) << value;
    EXPECT_THAT(Message(status), HasSubstr("shorter window")) << value;
    EXPECT_THAT(Message(status), HasSubstr(std::string(value) + " is not below")) << value;
  }
  EXPECT_FALSE(t.Read("roles/web")->has_response);
  ASSERT_TRUE(t.CreateRole("web", {{"renew_before", "364d"}}).ok());
  EXPECT_FALSE(t.Write("roles/web", {{"renew_before", "365d"}}).ok());
  EXPECT_EQ(t.Read("roles/web")->data["renew_before"], 364 * 86400);
}

TEST(PathRolesTest, NonAsciiSubjectNamesAsciiRule) {
  TestBackend t;
  absl::Status status = t.CreateRole("web", {{"organization", "M\u00fcller GmbH"}});
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(Message(status), HasSubstr("\"organization\""));
  EXPECT_THAT(Message(status), HasSubstr("ASCII printable characters only"));
}

TEST(PathRolesTest, ListAndDelete) {
  TestBackend t;
  ASSERT_TRUE(t.CreateRole("web").ok());
  ASSERT_TRUE(t.CreateRole("api").ok());
  absl::StatusOr<Response> list = t.List("roles/");
  ASSERT_TRUE(list.ok());
  EXPECT_THAT(list->data["keys"].get<std::vector<std::string>>(), ElementsAre("api", "web"));
  ASSERT_TRUE(t.Delete("roles/web").ok());
  EXPECT_FALSE(t.Read("roles/web")->has_response);
  EXPECT_THAT(t.List("roles")->data["keys"].get<std::vector<std::string>>(), ElementsAre("api"));
}

TEST(PathRolesTest, DeleteSupersedesCurrentCertificate) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web", {{"revoke_grace", "1h"}}).ok());
  absl::StatusOr<Response> cert = t.Read("cert/web");
  ASSERT_TRUE(cert.ok()) << cert.status();
  std::string id = cert->data["qualtrics_id"];
  ASSERT_TRUE(t.Delete("roles/web").ok());
  absl::StatusOr<Response> held = t.Read("certs/" + id);
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(held->data["state"], "superseded");
  EXPECT_EQ(held->data["revoke_after"], t.now() + 3600);
  EXPECT_TRUE(t.storage().KeysWithPrefix("cert/web/").empty());
}

TEST(PathRolesTest, InvalidNameIsUnsupportedPath) {
  TestBackend t;
  absl::StatusOr<Response> read = t.Read("roles/-bad");
  ASSERT_FALSE(read.ok());
  EXPECT_TRUE(IsUnsupportedPath(read.status()));
}

TEST(PathRolesTest, StandbyForwardsWrites) {
  TestBackend t;
  t.system_view().SetPerformanceStandby(true);
  EXPECT_TRUE(IsReadOnly(t.CreateRole("web")));
  EXPECT_TRUE(IsReadOnly(t.Delete("roles/web").status()));
}

}  // namespace
}  // namespace vault_qualtrics
