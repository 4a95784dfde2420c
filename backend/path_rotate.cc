// rotate/<role>: a new key and certificate now.
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "backend/paths.h"

namespace vault_qualtrics {
namespace {

using framework::FieldData;

extern const char kRotateSynopsis[];
extern const char kRotateDescription[];

}  // namespace

framework::Path RotatePath(Engine* engine) {
  framework::Path path;
  path.pattern = "rotate/{role}";
  path.fields = {framework::StringField("role", "Name of the role.")};
  path.help_synopsis = kRotateSynopsis;
  path.help_description = kRotateDescription;
  path.operations[Operation::kUpdate] = {
      [engine](const Request& request, const FieldData& data) -> absl::StatusOr<Response> {
        std::string name = data.GetString("role");
        absl::StatusOr<ServedCertificate> served = engine->Rotate(name, request);
        if (!served.ok()) return served.status();
        absl::StatusOr<std::shared_ptr<const RoleRecord>> role = engine->LoadRole(name);
        if (!role.ok()) return role.status();
        if (*role == nullptr)
          return absl::NotFoundError(absl::StrCat("role \"", name, "\" was deleted"));
        Response response;
        response.data = CertificateResponseData(*engine, *served, **role);
        response.warnings = served->warnings;
        std::string window = engine->RenewWindowWarning(*served->record, **role);
        if (!window.empty()) response.warnings.push_back(std::move(window));
        return response;
      },
      "Issue a new key and certificate for the role now.", true};
  return path;
}

namespace {

const char kRotateSynopsis[] = "Force a new key and certificate for a role.";
const char kRotateDescription[] =
    "Generates a new key, creates a certificate for it at Qualtrics and makes it the role's\n"
    "current certificate. The previous certificate is marked superseded and revoked at Qualtrics\n"
    "once the role's revoke_grace has passed (by periodic maintenance or tidy). The response has\n"
    "the fields of cert/<role>.";

}  // namespace
}  // namespace vault_qualtrics
