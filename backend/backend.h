// The Qualtrics secrets engine: the LogicalBackend that plugin/ serves to Vault for one mount.
//
// Paths: config, roles/<name>, roles/, cert/<role>, rotate/<role>, certs/, certs/<id>, tidy.
// `vault path-help` on the mount root lists them with their help text.
#ifndef BACKEND_BACKEND_H_
#define BACKEND_BACKEND_H_

#include <memory>

#include "absl/status/statusor.h"
#include "backend/engine.h"
#include "backend/logical/logical.h"

namespace vault_qualtrics {

// Creates the engine for one mount, talking to Qualtrics over HTTPS. Touches no storage, so
// Vault may call it with an empty config to learn the plugin's type.
absl::StatusOr<std::unique_ptr<LogicalBackend>> NewQualtricsBackend(const BackendConfig& config);

// As above with engine options of the caller's (a fake CertificateAuthorityFactory, a clock).
// options.storage and options.system_view are taken from `config`.
absl::StatusOr<std::unique_ptr<LogicalBackend>> NewQualtricsBackend(const BackendConfig& config,
                                                                    EngineOptions options);

}  // namespace vault_qualtrics

#endif  // BACKEND_BACKEND_H_
