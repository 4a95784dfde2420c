#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "backend/logical/errors.h"
#include "backend/testing/test_backend.h"

namespace vault_qualtrics {
namespace {

using ::testing::HasSubstr;
using testing::kTestToken;
using ::testing::Not;
using testing::TestBackend;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

TEST(PathConfigTest, WriteThenReadHidesSecrets) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  absl::StatusOr<Response> read = t.Read("config");
  ASSERT_TRUE(read.ok()) << read.status();
  const nlohmann::json& data = read->data;
  EXPECT_EQ(data["datacenter"], "fra1");
  EXPECT_EQ(data["base_url"], "https://fra1.qualtrics.com/API/v3");
  EXPECT_EQ(data["organization_id"], "ORG_1");
  EXPECT_EQ(data["api_token_set"], true);
  EXPECT_EQ(data["client_secret_set"], false);
  EXPECT_EQ(data["auth_method"], "api_token");
  EXPECT_EQ(data["max_active_certificates"], 10);
  EXPECT_EQ(data["connect_timeout"], 10);
  EXPECT_EQ(data["request_timeout"], 30);
  EXPECT_FALSE(data.contains("api_token"));
  EXPECT_THAT(data.dump(), Not(HasSubstr(kTestToken)));
}

TEST(PathConfigTest, ReadWithoutConfigIsEmpty) {
  TestBackend t;
  absl::StatusOr<Response> read = t.Read("config");
  ASSERT_TRUE(read.ok());
  EXPECT_FALSE(read->has_response);
}

TEST(PathConfigTest, WriteChecksConnection) {
  TestBackend t;
  t.qualtrics().FailNextList(absl::UnauthenticatedError("Qualtrics rejected the API token"));
  absl::Status status = t.Configure();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(Message(status), HasSubstr("rejected the API token"));
  EXPECT_THAT(Message(status), HasSubstr("verify_connection=false"));
  absl::StatusOr<Response> read = t.Read("config");
  ASSERT_TRUE(read.ok());
  EXPECT_FALSE(read->has_response) << "a failed check must not store the config";
}

TEST(PathConfigTest, VerifyConnectionFalseSkipsCheck) {
  TestBackend t;
  t.qualtrics().FailNextList(absl::UnavailableError("unreachable"));
  absl::StatusOr<Response> write = t.Write("config", {{"datacenter", "fra1"},
                                                      {"organization_id", "O"},
                                                      {"api_token", "x"},
                                                      {"verify_connection", false}});
  ASSERT_TRUE(write.ok()) << write.status();
  ASSERT_EQ(write->warnings.size(), 1u);
  EXPECT_THAT(write->warnings[0], HasSubstr("not checked"));
  EXPECT_TRUE(t.Read("config")->has_response);
}

TEST(PathConfigTest, UpdateKeepsUnsetFieldsAndSwitchesAuth) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.Write("config", {{"max_active_certificates", 5}}).ok());
  absl::StatusOr<Response> read = t.Read("config");
  EXPECT_EQ(read->data["max_active_certificates"], 5);
  EXPECT_EQ(read->data["organization_id"], "ORG_1");
  EXPECT_EQ(read->data["api_token_set"], true);

  ASSERT_TRUE(
      t.Write("config", {{"client_id", "cid"}, {"client_secret", "csec"}, {"scope", "manage:all"}})
          .ok());
  read = t.Read("config");
  EXPECT_EQ(read->data["auth_method"], "oauth");
  EXPECT_EQ(read->data["api_token_set"], false);
  EXPECT_EQ(read->data["client_secret_set"], true);
  EXPECT_EQ(read->data["client_id"], "cid");
  EXPECT_EQ(read->data["token_url"], "https://fra1.qualtrics.com/oauth2/token");
}

TEST(PathConfigTest, InvalidFieldsAreNamed) {
  struct Case {
    nlohmann::json data;
    std::string field;
  };
  std::vector<Case> cases = {
      {{{"organization_id", "O"}, {"api_token", "x"}}, "datacenter"},
      {{{"base_url", "http://fra1.qualtrics.com/API/v3"},
        {"organization_id", "O"},
        {"api_token", "x"}},
       "base_url"},
      {{{"base_url", "https://user@host/API"}, {"organization_id", "O"}, {"api_token", "x"}},
       "base_url"},
      {{{"base_url", "https://host/API?x=1"}, {"organization_id", "O"}, {"api_token", "x"}},
       "base_url"},
      {{{"datacenter", "FRA 1"}, {"organization_id", "O"}, {"api_token", "x"}}, "datacenter"},
      {{{"datacenter", "fra1"}, {"api_token", "x"}}, "organization_id"},
      {{{"datacenter", "fra1"}, {"organization_id", "O"}}, "api_token"},
      {{{"datacenter", "fra1"}, {"organization_id", "O"}, {"client_id", "c"}}, "client_secret"},
      {{{"datacenter", "fra1"}, {"organization_id", "O"}, {"client_secret", "c"}}, "client_id"},
      {{{"datacenter", "fra1"},
        {"organization_id", "O"},
        {"api_token", "x"},
        {"ca_bundle", "not pem"}},
       "ca_bundle"},
      {{{"datacenter", "fra1"},
        {"organization_id", "O"},
        {"api_token", "x"},
        {"max_active_certificates", 0}},
       "max_active_certificates"},
      {{{"datacenter", "fra1"},
        {"organization_id", "O"},
        {"api_token", "x"},
        {"connect_timeout", "forever"}},
       "connect_timeout"},
      {{{"datacenter", "fra1"}, {"organization_id", "O"}, {"api_token", "x"}, {"max_retries", 11}},
       "max_retries"},
      {{{"datacenter", "fra1"},
        {"organization_id", "O"},
        {"api_token", "x"},
        {"delete_path", "/organizations/{organizationId}/x"}},
       "delete_path"},
      {{{"datacenter", "fra1"},
        {"organization_id", "O"},
        {"api_token", "x"},
        {"token_url", "http://x/token"}},
       "token_url"},
      {{{"datacenter", "fra1"},
        {"organization_id", "O"},
        {"api_token", "x"},
        {"mtls_role", "bad role"}},
       "mtls_role"},
      {{{"datacenter", "fra1"}, {"organization_id", "O"}, {"api_token", std::string("to\0ken", 6)}},
       "api_token"},
      {{{"datacenter", "fra1"}, {"organization_id", "O"}, {"api_token", "tok\ten"}}, "api_token"},
      {{{"datacenter", "fra1"},
        {"organization_id", "O"},
        {"client_id", "c"},
        {"client_secret", std::string("sec\0ret", 7)}},
       "client_secret"},
      {{{"datacenter", "fra1"},
        {"organization_id", "O"},
        {"client_id", "c"},
        {"client_secret", "sec\r\nret"}},
       "client_secret"},
      {{{"base_url", "https://[::1/API/v3"}, {"organization_id", "O"}, {"api_token", "x"}},
       "base_url"},
      {{{"datacenter", "fra1"},
        {"organization_id", "O"},
        {"api_token", "x"},
        {"verify_connection", "perhaps"}},
       "verify_connection"},
      {{{"datacenter", "fra1"},
        {"organization_id", "O"},
        {"api_token", "x"},
        {"organisation_id", "typo"}},
       "organisation_id"},
  };
  for (const Case& c : cases) {
    TestBackend t;
    absl::StatusOr<Response> write = t.Write("config", c.data);
    ASSERT_FALSE(write.ok()) << c.data.dump();
    EXPECT_EQ(write.status().code(), absl::StatusCode::kInvalidArgument) << c.data.dump();
    EXPECT_THAT(Message(write.status()), HasSubstr("\"" + c.field + "\"")) << c.data.dump();
    EXPECT_FALSE(t.Read("config")->has_response) << "nothing may be written: " << c.data.dump();
    EXPECT_THAT(Message(write.status()), Not(HasSubstr("\"x\"")));
  }
}

TEST(PathConfigTest, DatacenterAndBaseUrlExcludeEachOther) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.Write("config", {{"base_url", "https://qualtrics.example.test/API/v3"},
                                 {"api_token", kTestToken}})
                  .ok());
  absl::StatusOr<Response> read = t.Read("config");
  EXPECT_EQ(read->data["datacenter"], "");
  EXPECT_EQ(read->data["base_url"], "https://qualtrics.example.test/API/v3");

  ASSERT_TRUE(t.Write("config", {{"datacenter", "iad1"}, {"api_token", kTestToken}}).ok());
  read = t.Read("config");
  EXPECT_EQ(read->data["datacenter"], "iad1");
  EXPECT_EQ(read->data["base_url"], "https://iad1.qualtrics.com/API/v3");

  absl::StatusOr<Response> both = t.Write(
      "config", {{"datacenter", "fra1"}, {"base_url", "https://qualtrics.example.test/API/v3"}});
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(both.status()), HasSubstr("\"datacenter\""));
  EXPECT_THAT(Message(both.status()), HasSubstr("\"base_url\""));
  EXPECT_THAT(Message(both.status()), HasSubstr("not both"));
  EXPECT_EQ(t.Read("config")->data["datacenter"], "iad1");
}

TEST(PathConfigTest, NewEndpointNeedsTokenAgain) {
  struct Case {
    nlohmann::json data;
    std::string changed;
  };
  std::vector<Case> cases = {
      {{{"base_url", "https://attacker.example.test/API/v3"}}, "base_url"},
      {{{"datacenter", "iad1"}}, "datacenter"},
      {{{"ca_bundle", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}},
       "ca_bundle"},
      {{{"tls_server_name", "attacker.example.test"}}, "tls_server_name"},
  };
  for (const Case& c : cases) {
    TestBackend t;
    ASSERT_TRUE(t.Configure().ok());
    // The connection check would fail with kUnavailable, so kInvalidArgument shows that the
    // write stopped before the stored token was sent anywhere.
    t.qualtrics().FailNextList(absl::UnavailableError("the connection check ran"));
    absl::StatusOr<Response> write = t.Write("config", c.data);
    ASSERT_FALSE(write.ok()) << c.data.dump();
    EXPECT_EQ(write.status().code(), absl::StatusCode::kInvalidArgument) << write.status();
    EXPECT_THAT(Message(write.status()), HasSubstr("\"api_token\""));
    EXPECT_THAT(Message(write.status()), HasSubstr(c.changed));
    EXPECT_EQ(t.Read("config")->data["base_url"], "https://fra1.qualtrics.com/API/v3");
  }
}

TEST(PathConfigTest, NewTokenEndpointNeedsClientSecretAgain) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.Write("config", {{"client_id", "cid"}, {"client_secret", "csec"}}).ok());
  absl::StatusOr<Response> write =
      t.Write("config", {{"token_url", "https://attacker.example.test/oauth2/token"}});
  ASSERT_FALSE(write.ok());
  EXPECT_THAT(Message(write.status()), HasSubstr("\"client_secret\""));
  EXPECT_THAT(Message(write.status()), HasSubstr("token_url"));

  EXPECT_TRUE(t.Write("config", {{"token_url", "https://attacker.example.test/oauth2/token"},
                                 {"client_secret", "csec"}})
                  .ok());
}

TEST(PathConfigTest, OtherFieldsNeedNoTokenAgain) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  EXPECT_TRUE(t.Write("config", {{"max_retries", 2}, {"organization_id", "ORG_2"}}).ok());
  EXPECT_TRUE(t.Write("config", {{"datacenter", "fra1"}}).ok()) << "the same endpoint again";
}

TEST(PathConfigTest, AcceptsIpv6LiteralHosts) {
  TestBackend t;
  absl::StatusOr<Response> write = t.Write("config", {{"base_url", "https://[::1]:8443/API/v3"},
                                                      {"organization_id", "ORG_1"},
                                                      {"client_id", "cid"},
                                                      {"client_secret", "csec"},
                                                      {"token_url", "https://[::1]:8443/oauth2/token"},
                                                      {"verify_connection", false}});
  ASSERT_TRUE(write.ok()) << write.status();
  absl::StatusOr<Response> read = t.Read("config");
  EXPECT_EQ(read->data["base_url"], "https://[::1]:8443/API/v3");
  EXPECT_EQ(read->data["token_url"], "https://[::1]:8443/oauth2/token");
}

TEST(PathConfigTest, ControlCharacterErrorHidesSecret) {
  TestBackend t;
  absl::StatusOr<Response> write = t.Write(
      "config", {{"datacenter", "fra1"},
                 {"organization_id", "O"},
                 {"api_token", std::string("secret-token\0", 13)}});
  ASSERT_FALSE(write.ok());
  EXPECT_THAT(Message(write.status()), HasSubstr("control character"));
  EXPECT_THAT(Message(write.status()), Not(HasSubstr("secret-token")));
}

TEST(PathConfigTest, MtlsRoleMustExist) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  absl::StatusOr<Response> missing = t.Write("config", {{"mtls_role", "plugin"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(missing.status()), HasSubstr("\"mtls_role\""));
  EXPECT_THAT(Message(missing.status()), HasSubstr("create it first"));
  EXPECT_THAT(Message(missing.status()), HasSubstr("roles/plugin"));
  EXPECT_EQ(t.Read("config")->data["mtls_role"], "");

  ASSERT_TRUE(t.CreateRole("plugin").ok());
  ASSERT_TRUE(t.Write("config", {{"mtls_role", "plugin"}}).ok());
  ASSERT_TRUE(t.Delete("roles/plugin").ok());
  // A write of other fields still succeeds, and clearing the field is always allowed.
  EXPECT_TRUE(t.Write("config", {{"max_retries", 2}}).ok());
  ASSERT_TRUE(t.Write("config", {{"mtls_role", ""}}).ok());
  EXPECT_EQ(t.Read("config")->data["mtls_role"], "");
}

TEST(PathConfigTest, ExportableMtlsRoleWarns) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.CreateRole("plugin").ok());
  ASSERT_TRUE(t.CreateRole("shared", {{"allow_key_export", true}}).ok());

  absl::StatusOr<Response> quiet = t.Write("config", {{"mtls_role", "plugin"}});
  ASSERT_TRUE(quiet.ok()) << quiet.status();
  EXPECT_TRUE(quiet->warnings.empty());

  absl::StatusOr<Response> warned = t.Write("config", {{"mtls_role", "shared"}});
  ASSERT_TRUE(warned.ok()) << warned.status();
  ASSERT_EQ(warned->warnings.size(), 1u);
  EXPECT_THAT(warned->warnings[0], HasSubstr("allow_key_export=true"));
  EXPECT_THAT(warned->warnings[0], HasSubstr("cert/shared"));
  EXPECT_THAT(warned->warnings[0], HasSubstr("mutual TLS"));
  EXPECT_EQ(t.Read("config")->data["mtls_role"], "shared");
}

TEST(PathConfigTest, DeleteRemovesConfig) {
  TestBackend t;
  ASSERT_TRUE(t.Configure().ok());
  ASSERT_TRUE(t.Delete("config").ok());
  EXPECT_FALSE(t.Read("config")->has_response);
}

TEST(PathConfigTest, StandbyForwardsWrites) {
  TestBackend t;
  t.system_view().SetPerformanceStandby(true);
  absl::Status status = t.Configure();
  EXPECT_TRUE(IsReadOnly(status)) << status;
}

TEST(PathConfigTest, ExistenceCheck) {
  TestBackend t;
  Request request;
  request.operation = Operation::kCreate;
  request.path = "config";
  absl::StatusOr<ExistenceResult> before = t.backend().HandleExistenceCheck(request);
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(before->check_found);
  EXPECT_FALSE(before->exists);
  ASSERT_TRUE(t.Configure().ok());
  EXPECT_TRUE(t.backend().HandleExistenceCheck(request)->exists);
}

TEST(PathConfigTest, HelpDescribesFields) {
  TestBackend t;
  absl::StatusOr<Response> help = t.Do(Operation::kHelp, "config");
  ASSERT_TRUE(help.ok());
  std::string text = help->data["help"];
  EXPECT_THAT(text, HasSubstr("organization_id"));
  EXPECT_THAT(text, HasSubstr("verify_connection"));
  const nlohmann::json& properties =
      help->data["openapi"]["paths"]["/config"]["post"]["requestBody"]["content"]
                ["application/json"]["schema"]["properties"];
  EXPECT_EQ(properties["api_token"]["x-vault-displayAttrs"]["sensitive"], true);
  EXPECT_EQ(properties["max_active_certificates"]["default"], 10);
}

}  // namespace
}  // namespace vault_qualtrics
