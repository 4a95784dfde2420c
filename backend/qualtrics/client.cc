#include "backend/qualtrics/client.h"

namespace vault_qualtrics {

absl::StatusOr<std::unique_ptr<QualtricsClient>> NewQualtricsClient(ClientOptions options) {
  return absl::UnimplementedError("the Qualtrics client is not implemented yet");
}

bool IsOutcomeUnknown(const absl::Status& status) { return false; }
bool IsQuotaExceeded(const absl::Status& status) { return false; }

}  // namespace vault_qualtrics
