#include "backend/qualtrics/simulator_fixture.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"

namespace vault_qualtrics {
namespace {

constexpr char kRelativeBinary[] = "tests/qualtrics-sim/bin/qualtrics-sim";
constexpr char kWorkspaceName[] = "vault_plugin_secrets_qualtrics";
constexpr int kReadyTimeoutMs = 30000;

bool IsExecutable(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) && access(path.c_str(), X_OK) == 0;
}

// Follows the runfile symlink of this package's BUILD file back to the source tree.
std::string SourceRootFromRunfiles() {
  std::vector<std::string> candidates;
  if (const char* runfiles = std::getenv("TEST_SRCDIR")) {
    candidates.push_back(absl::StrCat(runfiles, "/", kWorkspaceName, "/backend/qualtrics/BUILD"));
  }
  candidates.push_back("backend/qualtrics/BUILD");
  for (const std::string& candidate : candidates) {
    char resolved[PATH_MAX];
    if (realpath(candidate.c_str(), resolved) == nullptr) continue;
    std::string path(resolved);
    const std::string suffix = "/backend/qualtrics/BUILD";
    if (path.size() > suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(),
                                                    suffix) == 0) {
      return path.substr(0, path.size() - suffix.size());
    }
  }
  return "";
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string JsonString(const nlohmann::json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

absl::StatusOr<std::string> FindSimulatorBinary() {
  if (const char* configured = std::getenv("QUALTRICS_SIM_BIN")) {
    if (IsExecutable(configured)) return std::string(configured);
    return absl::NotFoundError(absl::StrCat("QUALTRICS_SIM_BIN=", configured,
                                            " is not an executable file"));
  }
  std::vector<std::string> roots;
  if (std::string root = SourceRootFromRunfiles(); !root.empty()) roots.push_back(root);
  if (const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY")) roots.push_back(workspace);
  roots.push_back(".");
  for (const std::string& root : roots) {
    std::string path = absl::StrCat(root, "/", kRelativeBinary);
    if (IsExecutable(path)) return path;
  }
  return absl::NotFoundError(absl::StrCat(
      "the Qualtrics simulator binary was not found (looked for ", kRelativeBinary,
      " under the source tree): build it with `go -C tests/qualtrics-sim build -o "
      "bin/qualtrics-sim .` or set QUALTRICS_SIM_BIN to its absolute path"));
}

absl::StatusOr<std::unique_ptr<Simulator>> Simulator::Start(
    const std::vector<std::string>& flags) {
  absl::StatusOr<std::string> binary = FindSimulatorBinary();
  if (!binary.ok()) return binary.status();

  std::vector<std::string> arguments = {*binary, "-listen=127.0.0.1:0", "-exit-on-stdin-eof",
                                        "-max-lifetime=20m"};
  arguments.insert(arguments.end(), flags.begin(), flags.end());
  std::vector<char*> argv;
  for (std::string& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);

  int stdin_pipe[2];
  int stdout_pipe[2];
  if (pipe2(stdin_pipe, O_CLOEXEC) != 0 || pipe2(stdout_pipe, O_CLOEXEC) != 0) {
    return absl::InternalError("creating pipes for the simulator failed");
  }
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    dup2(stdin_pipe[0], STDIN_FILENO);
    dup2(stdout_pipe[1], STDOUT_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(stdin_pipe[0]);
  close(stdout_pipe[1]);

  std::unique_ptr<Simulator> simulator(new Simulator());
  simulator->pid_ = pid;
  simulator->stdin_fd_ = stdin_pipe[1];

  // Read the ready line: everything up to the first newline, within the time limit.
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kReadyTimeoutMs);
  while (line.find('\n') == std::string::npos) {
    int remaining = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         deadline - std::chrono::steady_clock::now())
                                         .count());
    if (remaining <= 0) {
      close(stdout_pipe[0]);
      return absl::DeadlineExceededError("the simulator printed no ready line within 30 s");
    }
    pollfd readable{stdout_pipe[0], POLLIN, 0};
    if (poll(&readable, 1, remaining) <= 0) continue;
    char buffer[4096];
    ssize_t count = read(stdout_pipe[0], buffer, sizeof(buffer));
    if (count <= 0) {
      close(stdout_pipe[0]);
      return absl::InternalError(absl::StrCat("the simulator (", *binary,
                                              ") exited before printing its ready line"));
    }
    line.append(buffer, static_cast<size_t>(count));
  }
  close(stdout_pipe[0]);

  nlohmann::json ready = nlohmann::json::parse(line.substr(0, line.find('\n')), nullptr, false);
  if (!ready.is_object()) {
    return absl::InternalError("the simulator's ready line is not a JSON object");
  }
  SimulatorInfo& info = simulator->info_;
  info.base_url = JsonString(ready, "base_url");
  info.token_url = JsonString(ready, "token_url");
  info.ca_file = JsonString(ready, "ca_file");
  info.control_url = JsonString(ready, "control_url");
  info.control_token = JsonString(ready, "control_token");
  info.organization_id = JsonString(ready, "organization_id");
  info.api_token = JsonString(ready, "api_token");
  info.non_admin_token = JsonString(ready, "non_admin_token");
  info.oauth_client_id = JsonString(ready, "oauth_client_id");
  info.oauth_client_secret = JsonString(ready, "oauth_client_secret");
  info.ca_pem = ReadWholeFile(info.ca_file);
  if (info.base_url.empty() || info.ca_pem.empty() || info.control_url.empty()) {
    return absl::InternalError("the simulator's ready line lacks base_url, ca_file or control_url");
  }

  qualtrics_internal::TransportOptions transport;
  transport.ca_bundle_pem = info.ca_pem;
  transport.request_timeout = absl::Seconds(40);
  transport.max_response_bytes = 16 << 20;
  simulator->control_transport_ =
      std::make_unique<qualtrics_internal::HttpTransport>(std::move(transport));
  return simulator;
}

Simulator::~Simulator() {
  if (stdin_fd_ >= 0) close(stdin_fd_);
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

absl::StatusOr<nlohmann::json> Simulator::Control(std::string_view method, std::string_view path,
                                                  const nlohmann::json& body) {
  qualtrics_internal::HttpRequest request;
  request.method = std::string(method);
  request.url = info_.control_url + std::string(path);
  request.headers.push_back("Accept: application/json");
  if (!body.is_null()) {
    request.headers.push_back("Content-Type: application/json");
    request.body = body.dump();
  } else if (method == "POST") {
    request.body = "{}";
    request.headers.push_back("Content-Type: application/json");
  }
  request.credential_header = SecretBytes("X-Sim-Control-Token: " + info_.control_token);
  qualtrics_internal::HttpResult result = control_transport_->Perform(request);
  if (result.failure != qualtrics_internal::TransportFailure::kNone) {
    return absl::UnavailableError(
        absl::StrCat("control call ", std::string(path), " failed: ", result.failure_detail));
  }
  if (result.status < 200 || result.status >= 300) {
    return absl::InternalError(absl::StrCat("control call ", std::string(path), " returned ",
                                            result.status, ": ", result.body));
  }
  nlohmann::json parsed = nlohmann::json::parse(result.body, nullptr, false);
  if (parsed.is_discarded()) parsed = nlohmann::json::object();
  return parsed;
}

absl::Status Simulator::Reset() { return Control("POST", "/reset").status(); }

absl::Status Simulator::AddFault(const nlohmann::json& rule) {
  return Control("POST", "/faults", rule).status();
}

absl::Status Simulator::ChangeSettings(const nlohmann::json& settings) {
  return Control("POST", "/settings", settings).status();
}

absl::StatusOr<nlohmann::json> Simulator::State() { return Control("GET", "/state"); }

absl::StatusOr<int> Simulator::RequestCount(std::string_view endpoint) {
  absl::StatusOr<nlohmann::json> state = State();
  if (!state.ok()) return state.status();
  const nlohmann::json& requests = (*state)["requests"];
  std::string key(endpoint);
  if (!requests.contains(key) || !requests[key].contains("total")) return 0;
  return requests[key]["total"].get<int>();
}

absl::StatusOr<nlohmann::json> Simulator::Certificates() {
  absl::StatusOr<nlohmann::json> state = State();
  if (!state.ok()) return state.status();
  const nlohmann::json& organizations = (*state)["organizations"];
  if (!organizations.contains(info_.organization_id)) return nlohmann::json::array();
  const nlohmann::json& organization = organizations[info_.organization_id];
  if (!organization.contains("certificates") || organization["certificates"].is_null()) {
    return nlohmann::json::array();
  }
  return organization["certificates"];
}

Simulator* SimulatorClientTest::simulator_ = nullptr;

void SimulatorClientTest::StartSimulator(const std::vector<std::string>& flags) {
  absl::StatusOr<std::unique_ptr<Simulator>> started = Simulator::Start(flags);
  ASSERT_TRUE(started.ok()) << started.status();
  simulator_ = started->release();
}

void SimulatorClientTest::TearDownTestSuite() {
  delete simulator_;
  simulator_ = nullptr;
}

void SimulatorClientTest::SetUp() {
  ASSERT_NE(simulator_, nullptr) << "the simulator did not start; see the suite set-up error";
  ASSERT_TRUE(simulator_->Reset().ok());
}

ClientOptions SimulatorClientTest::TokenOptions(std::string_view token) const {
  ClientOptions options;
  options.base_url = sim().base_url;
  options.organization_id = sim().organization_id;
  options.api_token = SecretBytes(token.empty() ? sim().api_token : token);
  options.ca_bundle_pem = sim().ca_pem;
  options.connect_timeout = absl::Seconds(5);
  options.request_timeout = absl::Seconds(10);
  options.retry.max_retries = 3;
  options.retry.initial_backoff = absl::Milliseconds(10);
  options.retry.max_backoff = absl::Milliseconds(50);
  options.retry.max_retry_time = absl::Seconds(20);
  return options;
}

std::unique_ptr<QualtricsClient> SimulatorClientTest::NewClient(ClientOptions options) const {
  absl::StatusOr<std::unique_ptr<QualtricsClient>> client = NewQualtricsClient(std::move(options));
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

int SimulatorClientTest::Count(std::string_view endpoint) const {
  absl::StatusOr<int> count = simulator_->RequestCount(endpoint);
  EXPECT_TRUE(count.ok()) << count.status();
  return count.ok() ? *count : -1;
}

}  // namespace vault_qualtrics
