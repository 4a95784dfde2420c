// tidy: free Qualtrics slots held by expired and superseded certificates.
#include <string>

#include "absl/strings/str_cat.h"
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
                         {"held_after", report->held_after},
                         {"rolled_back_issuances", report->rollback.cleared},
                         {"pending_issuances", report->rollback.pending}};
        for (const auto& [id, error] : report->failed) {
          response.warnings.push_back("certificate " + id + " was not revoked: " + error);
        }
        if (!report->rollback_error.empty()) {
          response.warnings.push_back("interrupted issuances were not rolled back: " +
                                      report->rollback_error);
        }
        if (report->rollback.pending > 0) {
          response.warnings.push_back(absl::StrCat(
              report->rollback.pending,
              " issuance(s) are still pending: their write-ahead entries belong to a running "
              "issuance or were written by another node less than ",
              engine->wal_min_age_seconds(),
              "s ago; run tidy again later to roll them back"));
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
    "certificates until they are deleted. Tidy first rolls back interrupted issuances, which\n"
    "are certificates created at Qualtrics whose record was never stored. An issuance still\n"
    "running in this process, or one another node started less than two minutes ago, is left\n"
    "alone and counted in pending_issuances; rolled_back_issuances counts the ones resolved.\n"
    "Tidy then revokes this mount's expired certificates and its superseded ones whose\n"
    "revoke_grace has passed, drops their records, and reports the ids it revoked (revoked),\n"
    "the ones that failed (failed, id to error) and how many certificates the mount held\n"
    "before and after.";

}  // namespace
}  // namespace vault_qualtrics
