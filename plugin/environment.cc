#include "plugin/environment.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace vault_qualtrics {
namespace {

// OpenBao sets both its BAO_* name and Vault's VAULT_* name; either is accepted.
std::optional<std::string> LookupEither(const EnvironmentLookup& lookup,
                                        std::string_view vault_name, std::string_view bao_name) {
  std::optional<std::string> value = lookup(vault_name);
  if (value.has_value()) return value;
  return lookup(bao_name);
}

bool IsTrue(const std::optional<std::string>& value) {
  return value.has_value() && *value == "true";
}

std::string NonEmptyOr(const std::optional<std::string>& value, std::string fallback) {
  if (value.has_value() && !value->empty()) return *value;
  return fallback;
}

}  // namespace

EnvironmentLookup ProcessEnvironment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

PluginEnvironment ReadPluginEnvironment(const EnvironmentLookup& lookup) {
  PluginEnvironment env;
  std::optional<std::string> cookie = lookup(kMagicCookieKey);
  env.magic_cookie_valid = cookie.has_value() && *cookie == kMagicCookieValue;
  env.protocol_versions = lookup("PLUGIN_PROTOCOL_VERSIONS").value_or("");
  env.client_cert_pem = lookup("PLUGIN_CLIENT_CERT").value_or("");
  env.socket_parent_dir =
      NonEmptyOr(lookup("PLUGIN_UNIX_SOCKET_DIR"), NonEmptyOr(lookup("TMPDIR"), "/tmp"));
  env.socket_group = lookup("PLUGIN_UNIX_SOCKET_GROUP").value_or("");
  env.broker_multiplexing = IsTrue(lookup("PLUGIN_MULTIPLEX_GRPC"));
  env.automtls_enabled =
      IsTrue(LookupEither(lookup, "VAULT_PLUGIN_AUTOMTLS_ENABLED", "BAO_PLUGIN_AUTOMTLS_ENABLED"));
  env.metadata_mode =
      IsTrue(LookupEither(lookup, "VAULT_PLUGIN_METADATA_MODE", "BAO_PLUGIN_METADATA_MODE"));
  env.has_unwrap_token = LookupEither(lookup, "VAULT_UNWRAP_TOKEN", "BAO_UNWRAP_TOKEN").has_value();
  env.mlock_enabled =
      IsTrue(LookupEither(lookup, "VAULT_PLUGIN_MLOCK_ENABLED", "BAO_PLUGIN_MLOCK_ENABLED"));
  env.vault_version = LookupEither(lookup, "VAULT_VERSION", "BAO_VERSION").value_or("");
  return env;
}

absl::StatusOr<int> NegotiateProtocolVersion(std::string_view offered) {
  std::vector<std::string> valid;
  for (absl::string_view entry : absl::StrSplit(absl::string_view(offered.data(), offered.size()),
                                                ',', absl::SkipWhitespace())) {
    entry = absl::StripAsciiWhitespace(entry);
    int version = 0;
    if (!absl::SimpleAtoi(entry, &version)) continue;
    if (version == kBackendProtocolVersion) return version;
    valid.push_back(std::string(entry));
  }

  // HashiCorp's own plugins state that Vault before 1.12 lacks plugin AutoMTLS (for example
  // hashicorp/vault-plugin-secrets-kv pull request 92). OpenBao's SDK has the version 5 path.
  std::string offer = valid.empty() ? "none" : absl::StrJoin(valid, ",");
  return absl::FailedPreconditionError(absl::StrCat(
      "the plugin host offered plugin protocol versions [", offer,
      "], but this plugin supports only version ", kBackendProtocolVersion,
      " (automatic mutual TLS and plugin multiplexing); run it under Vault 1.12 or later, or "
      "OpenBao 2.0 or later"));
}

}  // namespace vault_qualtrics
