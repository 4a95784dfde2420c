#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "backend/logical/errors.h"
#include "backend/testing/test_backend.h"

namespace vault_qualtrics {
namespace {

using ::testing::ElementsAre;
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

TEST(PathTidyTest, StandbyForwards) {
  TestBackend t;
  t.system_view().SetPerformanceStandby(true);
  EXPECT_TRUE(IsReadOnly(t.Write("tidy").status()));
}

}  // namespace
}  // namespace vault_qualtrics
