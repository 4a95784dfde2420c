#include "backend/certificate_authority.h"

#include "absl/strings/cord.h"

namespace vault_qualtrics {
namespace {

// Status payload type URLs of the two markers.
constexpr char kOutcomeUnknownType[] = "vault-qualtrics/create-outcome-unknown";
constexpr char kQuotaFullType[] = "vault-qualtrics/quota-full";

}  // namespace

absl::Status MarkCreateOutcomeUnknown(absl::Status status) {
  status.SetPayload(kOutcomeUnknownType, absl::Cord("1"));
  return status;
}

absl::Status MarkQuotaFull(absl::Status status) {
  status.SetPayload(kQuotaFullType, absl::Cord("1"));
  return status;
}

bool IsCreateOutcomeUnknown(const absl::Status& status) {
  return status.GetPayload(kOutcomeUnknownType).has_value();
}

bool IsQuotaFull(const absl::Status& status) {
  return status.GetPayload(kQuotaFullType).has_value();
}

}  // namespace vault_qualtrics
