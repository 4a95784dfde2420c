// Starts the Qualtrics simulator (tests/qualtrics-sim, a Go program) as a child process for
// tests, reads its ready line, and drives its control API. Test-only.
//
// The binary is found in this order:
//   1. the environment variable QUALTRICS_SIM_BIN (an absolute path), then
//   2. tests/qualtrics-sim/bin/qualtrics-sim under the source tree, located through the runfile
//      symlink of this package's BUILD file (declared as test data), then under
//      BUILD_WORKSPACE_DIRECTORY and the current directory.
// Build it first with `go -C tests/qualtrics-sim build -o bin/qualtrics-sim .`. When it is
// missing, Start fails with a message saying so; tests must treat that as a failure.
#ifndef BACKEND_QUALTRICS_SIMULATOR_FIXTURE_H_
#define BACKEND_QUALTRICS_SIMULATOR_FIXTURE_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backend/qualtrics/http_transport.h"

namespace vault_qualtrics {

// The fields of the simulator's ready line that tests use, plus the CA file's contents.
struct SimulatorInfo {
  std::string base_url;
  std::string token_url;
  std::string ca_file;
  std::string ca_pem;
  std::string control_url;
  std::string control_token;
  std::string organization_id;
  std::string api_token;
  std::string non_admin_token;
  std::string oauth_client_id;
  std::string oauth_client_secret;
};

class Simulator {
 public:
  // Starts the simulator on 127.0.0.1 with a free port and waits up to 30 s for its ready line.
  // `flags` are appended to the command line (for example "-max-active=3").
  static absl::StatusOr<std::unique_ptr<Simulator>> Start(
      const std::vector<std::string>& flags = {});

  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;
  // Stops the process: closes its stdin, sends SIGTERM, and SIGKILL after 5 s.
  ~Simulator();

  const SimulatorInfo& info() const { return info_; }

  // Sends one control API call (`path` relative to control_url, e.g. "/reset") and returns the
  // parsed JSON response. Fails unless the simulator responds with a 2xx status.
  absl::StatusOr<nlohmann::json> Control(std::string_view method, std::string_view path,
                                         const nlohmann::json& body = nullptr);

  // Shorthands for control calls.
  absl::Status Reset();
  absl::Status AddFault(const nlohmann::json& rule);
  absl::Status ChangeSettings(const nlohmann::json& settings);
  absl::StatusOr<nlohmann::json> State();
  // requests.<endpoint>.total from the state: "create", "list", "delete" or "token".
  absl::StatusOr<int> RequestCount(std::string_view endpoint);
  // The organization's certificates from the state, as the simulator reports them.
  absl::StatusOr<nlohmann::json> Certificates();

 private:
  Simulator() = default;

  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  SimulatorInfo info_;
  std::unique_ptr<qualtrics_internal::HttpTransport> control_transport_;
};

// Returns the simulator binary's path, or NotFound saying how to build it.
absl::StatusOr<std::string> FindSimulatorBinary();

}  // namespace vault_qualtrics

#endif  // BACKEND_QUALTRICS_SIMULATOR_FIXTURE_H_
