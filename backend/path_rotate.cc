// rotate/<role>: a new key and certificate now.
#include <string>

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
        // The key is left out whatever the role's export setting, because the right to rotate
        // is not the right to read the key. Only cert/<role> returns it.
        return CertificateResponse(*engine, name, engine->Rotate(name, request),
                                   KeyInResponse::kNever);
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
    "the fields of cert/<role> except private_key and private_key_type, which it never contains,\n"
    "whatever the role's allow_key_export. Read cert/<role> for an exportable key.";

}  // namespace
}  // namespace vault_qualtrics
