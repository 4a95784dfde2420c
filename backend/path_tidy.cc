// tidy: free Qualtrics slots held by expired and superseded certificates.
#include <string>

#include "backend/paths.h"

namespace vault_qualtrics {
namespace {

using framework::FieldData;

extern const char kTidySynopsis[];
extern const char kTidyDescription[];

}  // namespace

framework::Path TidyPath(Engine* engine) {
  framework::Path path;
  path.pattern = "tidy";
  path.fields = {
      framework::BoolField("tidy_expired", "Revoke expired certificates.", true),
      framework::BoolField("tidy_superseded",
                           "Revoke superseded certificates whose grace period has passed.", true),
  };
  path.help_synopsis = kTidySynopsis;
  path.help_description = kTidyDescription;
  path.operations[Operation::kUpdate] = {
      [engine](const Request& request, const FieldData& data) -> absl::StatusOr<Response> {
        absl::StatusOr<TidyReport> report =
            engine->Tidy(request, data.GetBool("tidy_expired"), data.GetBool("tidy_superseded"));
        if (!report.ok()) return report.status();
        Response response;
        response.data = {{"revoked", report->revoked},
                         {"failed", report->failed},
                         {"held_before", report->held_before},
                         {"held_after", report->held_after}};
        for (const auto& [id, error] : report->failed) {
          response.warnings.push_back("certificate " + id + " was not revoked: " + error);
        }
        return response;
      },
      "Revoke expired and superseded certificates and drop their records.", true};
  return path;
}

namespace {

const char kTidySynopsis[] = "Free Qualtrics slots: revoke expired and superseded certificates.";
const char kTidyDescription[] =
    "Qualtrics counts expired certificates against the organization's limit of active\n"
    "certificates until they are deleted. Tidy revokes this mount's expired certificates and\n"
    "its superseded ones whose revoke_grace has passed, drops their records, and reports the\n"
    "ids it revoked (revoked), the ones that failed (failed, id to error) and how many\n"
    "certificates the mount held before and after.";

}  // namespace
}  // namespace vault_qualtrics
