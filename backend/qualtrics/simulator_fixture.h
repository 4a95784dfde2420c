// Starts the Qualtrics simulator (tests/qualtrics-sim, a Go program) as a child process for
// tests, reads its ready line, and drives its control API. SimulatorClientTest is a gtest fixture
// that runs one simulator for each test suite. Test-only.
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
#include "backend/qualtrics/client.h"
#include "backend/qualtrics/http_transport.h"
#include "gtest/gtest.h"

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

// A test fixture that starts one simulator for each test suite and resets it before each test.
// A suite that needs simulator flags defines its own SetUpTestSuite that calls StartSimulator.
class SimulatorClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { StartSimulator({}); }
  static void TearDownTestSuite();
  // Starts the suite's simulator with `flags` (see Simulator::Start).
  static void StartSimulator(const std::vector<std::string>& flags);

  // Resets the suite's simulator. Fails the test when the simulator did not start or the reset
  // fails.
  void SetUp() override;

  const SimulatorInfo& sim() const { return simulator_->info(); }

  // Options for an API-token client of the simulator with short retry waits. A non-empty `token`
  // replaces the simulator's administrator token.
  ClientOptions TokenOptions(std::string_view token = "") const;
  // Builds a client from `options`. When that fails, it fails the test and returns null.
  std::unique_ptr<QualtricsClient> NewClient(ClientOptions options) const;
  // Returns how many requests the simulator has received at `endpoint` (see
  // Simulator::RequestCount). When the control call fails, it fails the test and returns -1.
  int Count(std::string_view endpoint) const;

  static Simulator* simulator_;
};

}  // namespace vault_qualtrics

#endif  // BACKEND_QUALTRICS_SIMULATOR_FIXTURE_H_
