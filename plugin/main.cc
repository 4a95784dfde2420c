// vault-plugin-secrets-qualtrics: the Qualtrics secrets engine as a Vault/OpenBao plugin binary.
#include "backend/backend.h"
#include "plugin/serve.h"

namespace {

// The version Vault shows for the mount; register the binary with the same -version.
constexpr char kPluginVersion[] = "v0.1.0";

}  // namespace

int main(int argc, char** argv) {
  return vault_qualtrics::ServePlugin(
      argc, argv,
      [](const vault_qualtrics::BackendConfig& config) {
        return vault_qualtrics::NewQualtricsBackend(config);
      },
      kPluginVersion);
}
