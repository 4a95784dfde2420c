#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "backend/logical/errors.h"
#include "backend/testing/test_backend.h"

namespace vault_qualtrics {
namespace {

using ::testing::HasSubstr;
using testing::TestBackend;
using ::testing::UnorderedElementsAre;

TEST(PathCertsTest, ListShowsRoleStateAndExpiry) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  std::string first = t.Read("cert/web")->data["qualtrics_id"];
  std::string second = t.Write("rotate/web")->data["qualtrics_id"];
  absl::StatusOr<Response> list = t.List("certs/");
  ASSERT_TRUE(list.ok());
  EXPECT_THAT(list->data["keys"].get<std::vector<std::string>>(),
              UnorderedElementsAre(first, second));
  EXPECT_EQ(list->data["key_info"][first]["state"], "superseded");
  EXPECT_EQ(list->data["key_info"][second]["state"], "current");
  EXPECT_EQ(list->data["key_info"][second]["role"], "web");
  EXPECT_EQ(list->data["key_info"][second]["expiration"], t.now() + 365 * 86400);
}

TEST(PathCertsTest, ReadShowsExpiredState) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  std::string id = t.Read("cert/web")->data["qualtrics_id"];
  t.Advance(366 * 86400);
  absl::StatusOr<Response> read = t.Read("certs/" + id);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->data["state"], "expired");
  EXPECT_EQ(read->data["role"], "web");
  EXPECT_FALSE(read->data.contains("private_key"));
}

TEST(PathCertsTest, DeleteRevokesThenForgets) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  std::string id = t.Read("cert/web")->data["qualtrics_id"];
  ASSERT_TRUE(t.Delete("certs/" + id).ok());
  EXPECT_TRUE(t.qualtrics().ids().empty());
  EXPECT_FALSE(t.Read("certs/" + id)->has_response);
  EXPECT_TRUE(t.storage().KeysWithPrefix("cert/web/").empty());
  // The role's next read issues a new certificate.
  absl::StatusOr<Response> next = t.Read("cert/web");
  ASSERT_TRUE(next.ok());
  EXPECT_NE(next->data["qualtrics_id"], id);
}

TEST(PathCertsTest, DeleteFailureAtQualtricsKeepsRecord) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  std::string id = t.Read("cert/web")->data["qualtrics_id"];
  t.qualtrics().FailNextDelete(absl::UnavailableError("503 from Qualtrics"));
  absl::StatusOr<Response> deleted = t.Delete("certs/" + id);
  ASSERT_FALSE(deleted.ok());
  EXPECT_EQ(deleted.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(deleted.status().message()), HasSubstr(id));
  EXPECT_TRUE(t.Read("certs/" + id)->has_response);
}

TEST(PathCertsTest, DeleteOfCertificateGoneAtQualtricsForgetsIt) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("web").ok());
  std::string id = t.Read("cert/web")->data["qualtrics_id"];
  ASSERT_TRUE(t.qualtrics().Delete(id).ok());
  ASSERT_TRUE(t.Delete("certs/" + id).ok());
  EXPECT_FALSE(t.Read("certs/" + id)->has_response);
}

TEST(PathCertsTest, DeleteUnknownIsNotFound) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  absl::StatusOr<Response> deleted = t.Delete("certs/CC_404");
  ASSERT_FALSE(deleted.ok());
  EXPECT_EQ(deleted.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(deleted.status().message()), HasSubstr("CC_404"));
}

}  // namespace
}  // namespace vault_qualtrics
