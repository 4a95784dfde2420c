#include "plugin/environment.h"

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vault_qualtrics {
namespace {

using ::testing::HasSubstr;

EnvironmentLookup FromMap(std::map<std::string, std::string> values) {
  return [values](std::string_view name) -> std::optional<std::string> {
    auto it = values.find(std::string(name));
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

TEST(NegotiateProtocolVersionTest, PicksFiveWhenOffered) {
  EXPECT_EQ(*NegotiateProtocolVersion("5"), 5);
  EXPECT_EQ(*NegotiateProtocolVersion("3,4,5"), 5);
  EXPECT_EQ(*NegotiateProtocolVersion("5,4"), 5);
  EXPECT_EQ(*NegotiateProtocolVersion(" 4 , 5 "), 5);
}

TEST(NegotiateProtocolVersionTest, SkipsEntriesThatAreNotNumbers) {
  EXPECT_EQ(*NegotiateProtocolVersion("x,5"), 5);
  EXPECT_EQ(*NegotiateProtocolVersion(",,5,"), 5);
}

TEST(NegotiateProtocolVersionTest, RejectsOnlyOlderVersions) {
  for (const char* offer : {"3,4", "4,3", "4", "3"}) {
    absl::StatusOr<int> version = NegotiateProtocolVersion(offer);
    ASSERT_FALSE(version.ok()) << offer;
    EXPECT_EQ(version.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(std::string(version.status().message()), HasSubstr("Vault 1.12"));
    EXPECT_THAT(std::string(version.status().message()), HasSubstr("OpenBao 2.0"));
  }
  EXPECT_THAT(std::string(NegotiateProtocolVersion("4,3").status().message()), HasSubstr("[4,3]"));
}

TEST(NegotiateProtocolVersionTest, RejectsEmptyAndNewerOffers) {
  EXPECT_THAT(std::string(NegotiateProtocolVersion("").status().message()), HasSubstr("[none]"));
  EXPECT_FALSE(NegotiateProtocolVersion("6").ok());
  EXPECT_FALSE(NegotiateProtocolVersion("55").ok());
}

TEST(ReadPluginEnvironmentTest, ReadsVaultVariables) {
  PluginEnvironment env = ReadPluginEnvironment(FromMap({
      {"VAULT_BACKEND_PLUGIN", std::string(kMagicCookieValue)},
      {"PLUGIN_PROTOCOL_VERSIONS", "5"},
      {"PLUGIN_CLIENT_CERT", "-----BEGIN CERTIFICATE-----"},
      {"PLUGIN_UNIX_SOCKET_DIR", "/run/vault"},
      {"PLUGIN_UNIX_SOCKET_GROUP", "vault"},
      {"VAULT_PLUGIN_AUTOMTLS_ENABLED", "true"},
      {"VAULT_PLUGIN_METADATA_MODE", "false"},
      {"VAULT_PLUGIN_MLOCK_ENABLED", "true"},
      {"VAULT_VERSION", "1.15.2"},
      {"TMPDIR", "/var/tmp"},
  }));
  EXPECT_TRUE(env.magic_cookie_valid);
  EXPECT_EQ(env.protocol_versions, "5");
  EXPECT_EQ(env.client_cert_pem, "-----BEGIN CERTIFICATE-----");
  EXPECT_EQ(env.socket_parent_dir, "/run/vault");
  EXPECT_EQ(env.socket_group, "vault");
  EXPECT_TRUE(env.automtls_enabled);
  EXPECT_FALSE(env.metadata_mode);
  EXPECT_FALSE(env.has_unwrap_token);
  EXPECT_TRUE(env.mlock_enabled);
  EXPECT_FALSE(env.broker_multiplexing);
  EXPECT_EQ(env.vault_version, "1.15.2");
}

TEST(ReadPluginEnvironmentTest, ReadsOpenBaoNames) {
  PluginEnvironment env = ReadPluginEnvironment(FromMap({
      {"BAO_PLUGIN_AUTOMTLS_ENABLED", "true"},
      {"BAO_PLUGIN_MLOCK_ENABLED", "true"},
      {"BAO_UNWRAP_TOKEN", "token"},
      {"BAO_VERSION", "2.1.0"},
  }));
  EXPECT_TRUE(env.automtls_enabled);
  EXPECT_TRUE(env.mlock_enabled);
  EXPECT_TRUE(env.has_unwrap_token);
  EXPECT_EQ(env.vault_version, "2.1.0");
}

TEST(ReadPluginEnvironmentTest, RejectsWrongOrMissingCookie) {
  EXPECT_FALSE(ReadPluginEnvironment(FromMap({})).magic_cookie_valid);
  EXPECT_FALSE(
      ReadPluginEnvironment(FromMap({{"VAULT_BACKEND_PLUGIN", "wrong"}})).magic_cookie_valid);
  EXPECT_FALSE(ReadPluginEnvironment(FromMap({{"VAULT_BACKEND_PLUGIN", ""}})).magic_cookie_valid);
}

TEST(ReadPluginEnvironmentTest, SocketDirectoryFallsBackToTmpdirThenTmp) {
  EXPECT_EQ(ReadPluginEnvironment(FromMap({{"TMPDIR", "/var/tmp"}})).socket_parent_dir, "/var/tmp");
  EXPECT_EQ(ReadPluginEnvironment(FromMap({{"PLUGIN_UNIX_SOCKET_DIR", ""}, {"TMPDIR", "/x"}}))
                .socket_parent_dir,
            "/x");
  EXPECT_EQ(ReadPluginEnvironment(FromMap({})).socket_parent_dir, "/tmp");
}

TEST(ReadPluginEnvironmentTest, BooleansAreTrueOnlyForTrue) {
  PluginEnvironment env = ReadPluginEnvironment(FromMap({
      {"VAULT_PLUGIN_AUTOMTLS_ENABLED", "1"},
      {"VAULT_PLUGIN_MLOCK_ENABLED", "TRUE"},
      {"PLUGIN_MULTIPLEX_GRPC", "true"},
  }));
  EXPECT_FALSE(env.automtls_enabled);
  EXPECT_FALSE(env.mlock_enabled);
  EXPECT_TRUE(env.broker_multiplexing);
}

}  // namespace
}  // namespace vault_qualtrics
