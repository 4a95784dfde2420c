#include <array>
#include <utility>

#include "backend/logical/logical.h"

namespace vault_qualtrics {
namespace {

constexpr std::array<std::pair<Operation, std::string_view>, 14> kOperationNames = {{
    {Operation::kCreate, "create"},
    {Operation::kRead, "read"},
    {Operation::kUpdate, "update"},
    {Operation::kPatch, "patch"},
    {Operation::kDelete, "delete"},
    {Operation::kList, "list"},
    {Operation::kHelp, "help"},
    {Operation::kAliasLookahead, "alias-lookahead"},
    {Operation::kResolveRole, "resolve-role"},
    {Operation::kHeader, "header"},
    {Operation::kRevoke, "revoke"},
    {Operation::kRenew, "renew"},
    {Operation::kRollback, "rollback"},
    {Operation::kScan, "scan"},
}};

}  // namespace

Operation ParseOperation(std::string_view name) {
  for (const auto& [op, op_name] : kOperationNames) {
    if (op_name == name) return op;
  }
  return Operation::kUnknown;
}

std::string_view OperationName(Operation op) {
  for (const auto& [known, op_name] : kOperationNames) {
    if (known == op) return op_name;
  }
  return "unknown";
}

}  // namespace vault_qualtrics
