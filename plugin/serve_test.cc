// Starts the plugin binary (built around the test engine) as Vault's host does: environment
// variables, stdout and stderr pipes, mutual TLS with the host's certificate. Checks the exit
// status and output for bad start-ups, the handshake line, and each way the process stops.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "plugin/handshake.h"
#include "plugin/plugin_server.h"
#include "plugin/tls_identity.h"
#include "proto/go_plugin.grpc.pb.h"
#include "proto/health.grpc.pb.h"

namespace vault_qualtrics {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

const char* g_plugin_path = nullptr;

constexpr char kCookie[] = "VAULT_BACKEND_PLUGIN=6669da05-b1c8-4f49-97d9-c8e5bed98e20";

bool Exists(const std::string& path) {
  struct stat info;
  return lstat(path.c_str(), &info) == 0;
}

// A started plugin process with its stdout and stderr pipes.
class PluginProcess {
 public:
  PluginProcess(std::vector<std::string> args, std::vector<std::string> env) {
    int out[2];
    int err[2];
    EXPECT_EQ(pipe(out), 0);
    EXPECT_EQ(pipe(err), 0);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      dup2(err[1], STDERR_FILENO);
      close(out[0]);
      close(err[0]);
      std::vector<char*> argv = {const_cast<char*>(g_plugin_path)};
      for (std::string& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      std::vector<char*> envp;
      for (std::string& entry : env) envp.push_back(entry.data());
      envp.push_back(nullptr);
      execve(g_plugin_path, argv.data(), envp.data());
      _exit(127);
    }
    close(out[1]);
    close(err[1]);
    stdout_fd_ = out[0];
    stderr_fd_ = err[0];
  }

  ~PluginProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(stdout_fd_);
    close(stderr_fd_);
  }

  // Reads stdout up to the first newline, waiting up to `timeout`.
  std::string ReadLine(absl::Duration timeout) {
    std::string line;
    absl::Time deadline = absl::Now() + timeout;
    while (line.empty() || line.back() != '\n') {
      struct pollfd fd = {stdout_fd_, POLLIN, 0};
      int wait_ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
      if (wait_ms <= 0 || poll(&fd, 1, wait_ms) <= 0) break;
      char c;
      if (read(stdout_fd_, &c, 1) != 1) break;
      line.push_back(c);
    }
    return line;
  }

  // Waits up to `timeout` for the exit status; -1 on timeout or a signal.
  int Wait(absl::Duration timeout) {
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      int status = 0;
      pid_t done = waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    return -1;
  }

  // Everything left on a pipe; call after the process exited.
  static std::string Drain(int fd) {
    std::string data;
    char buffer[4096];
    ssize_t n;
    while ((n = read(fd, buffer, sizeof(buffer))) > 0) data.append(buffer, static_cast<size_t>(n));
    return data;
  }
  std::string RemainingStdout() { return Drain(stdout_fd_); }
  std::string Stderr() { return Drain(stderr_fd_); }

  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
};

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/serve-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    absl::StatusOr<TlsIdentity> host = GenerateTlsIdentity();
    ASSERT_TRUE(host.ok());
    host_ = std::make_unique<TlsIdentity>(*std::move(host));
  }

  void TearDown() override {
    std::string command = "rm -rf " + dir_;
    ASSERT_EQ(system(command.c_str()), 0);
  }

  std::vector<std::string> VaultEnvironment() {
    return {kCookie,
            "PLUGIN_PROTOCOL_VERSIONS=5",
            "PLUGIN_MIN_PORT=10000",
            "PLUGIN_MAX_PORT=25000",
            "PLUGIN_CLIENT_CERT=" + host_->certificate_pem,
            "PLUGIN_UNIX_SOCKET_DIR=" + dir_,
            "VAULT_PLUGIN_AUTOMTLS_ENABLED=true",
            "VAULT_PLUGIN_METADATA_MODE=false",
            "VAULT_VERSION=1.15.0"};
  }

  // Splits a handshake line and connects to the address it names with the host's identity.
  std::shared_ptr<grpc::Channel> Connect(const std::string& line, std::string* socket_path) {
    std::vector<std::string> fields = absl::StrSplit(line.substr(0, line.size() - 1), '|');
    EXPECT_EQ(fields.size(), 6u);
    if (fields.size() != 6) return nullptr;
    *socket_path = fields[3];
    // The host trusts the certificate from the line, as go-plugin does.
    std::string der = CertificateDer(fields[5]);
    EXPECT_FALSE(der.empty());
    std::string pem = DerToPem(der);
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = pem;
    options.pem_private_key = host_->private_key_pem.value();
    options.pem_cert_chain = host_->certificate_pem;
    return grpc::CreateCustomChannel("unix:" + fields[3], grpc::SslCredentials(options), args);
  }

  // Decodes unpadded standard base64 (Go's RawStdEncoding); returns "" on a bad character.
  static std::string CertificateDer(const std::string& encoded) {
    static const std::string alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    uint32_t buffer = 0;
    int bits = 0;
    for (char c : encoded) {
      size_t value = alphabet.find(c);
      if (value == std::string::npos) return "";
      buffer = (buffer << 6) | static_cast<uint32_t>(value);
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out.push_back(static_cast<char>((buffer >> bits) & 0xff));
      }
    }
    return out;
  }

  static std::string DerToPem(const std::string& der) {
    std::string base64 = Base64RawStdEncode(der);
    while (base64.size() % 4 != 0) base64.push_back('=');
    std::string pem = "-----BEGIN CERTIFICATE-----\n";
    for (size_t i = 0; i < base64.size(); i += 64) pem += base64.substr(i, 64) + "\n";
    return pem + "-----END CERTIFICATE-----\n";
  }

  static bool HealthServing(const std::shared_ptr<grpc::Channel>& channel) {
    auto health = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service("plugin");
    grpc::health::v1::HealthCheckResponse response;
    return health->Check(&context, request, &response).ok() &&
           response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  }

  std::string dir_;
  std::unique_ptr<TlsIdentity> host_;
};

TEST_F(ServeTest, StartedByHandExplainsAndFails) {
  PluginProcess process({}, {});
  EXPECT_EQ(process.Wait(absl::Seconds(10)), 1);
  std::string err = process.Stderr();
  EXPECT_THAT(err, HasSubstr("plugin for HashiCorp Vault"));
  EXPECT_THAT(err, HasSubstr("vault plugin register -sha256="));
  EXPECT_THAT(err, HasSubstr("secret vault-plugin-secrets-qualtrics"));
  EXPECT_THAT(err,
              HasSubstr("vault secrets enable -path=qualtrics vault-plugin-secrets-qualtrics"));
  EXPECT_THAT(process.RemainingStdout(), IsEmpty());
}

TEST_F(ServeTest, WrongCookieFails) {
  PluginProcess process({}, {"VAULT_BACKEND_PLUGIN=not-the-cookie", "PLUGIN_PROTOCOL_VERSIONS=5"});
  EXPECT_EQ(process.Wait(absl::Seconds(10)), 1);
  EXPECT_THAT(process.Stderr(), HasSubstr("not meant to be run directly"));
}

TEST_F(ServeTest, VersionFlagPrintsVersion) {
  for (const char* flag : {"-version", "--version"}) {
    PluginProcess process({flag}, {});
    EXPECT_EQ(process.Wait(absl::Seconds(10)), 0) << flag;
    EXPECT_EQ(process.RemainingStdout(), "vault-plugin-secrets-qualtrics v0.0.0-test\n") << flag;
  }
}

TEST_F(ServeTest, OnlyOldProtocolVersionsFail) {
  std::vector<std::string> env = VaultEnvironment();
  env[1] = "PLUGIN_PROTOCOL_VERSIONS=3,4";
  PluginProcess process({}, env);
  EXPECT_EQ(process.Wait(absl::Seconds(10)), 1);
  std::string err = process.Stderr();
  EXPECT_THAT(err, StartsWith("{\"@level\":\"error\""));
  EXPECT_THAT(err, HasSubstr("Vault 1.12 or later"));
  EXPECT_THAT(err, HasSubstr("OpenBao 2.0 or later"));
  EXPECT_THAT(process.RemainingStdout(), IsEmpty());
}

TEST_F(ServeTest, MissingClientCertificateFails) {
  std::vector<std::string> env = VaultEnvironment();
  env[4] = "VAULT_UNWRAP_TOKEN=x";
  PluginProcess process({}, env);
  EXPECT_EQ(process.Wait(absl::Seconds(10)), 1);
  EXPECT_THAT(process.Stderr(), HasSubstr("PLUGIN_CLIENT_CERT is not set"));
}

TEST_F(ServeTest, InvalidClientCertificateFails) {
  std::vector<std::string> env = VaultEnvironment();
  env[4] = "PLUGIN_CLIENT_CERT=-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  PluginProcess process({}, env);
  EXPECT_EQ(process.Wait(absl::Seconds(10)), 1);
  std::string err = process.Stderr();
  EXPECT_THAT(err, HasSubstr("PLUGIN_CLIENT_CERT is invalid"));
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1);
}

TEST_F(ServeTest, UnusableSocketDirectoryFails) {
  std::string file = dir_ + "/not-a-directory";
  std::ofstream(file) << "x";
  std::vector<std::string> env = VaultEnvironment();
  env[5] = "PLUGIN_UNIX_SOCKET_DIR=" + file;
  PluginProcess process({}, env);
  EXPECT_EQ(process.Wait(absl::Seconds(10)), 1);
  std::string err = process.Stderr();
  EXPECT_THAT(err, HasSubstr("cannot create the socket directory"));
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1);
}

TEST_F(ServeTest, HandshakesServesAndStopsOnSigterm) {
  PluginProcess process({}, VaultEnvironment());
  std::string line = process.ReadLine(absl::Seconds(10));
  ASSERT_THAT(line, StartsWith("1|5|unix|" + dir_ + "/vault-plugin-"));
  EXPECT_THAT(line, HasSubstr("/plugin.sock|grpc|"));
  EXPECT_EQ(line.find('='), std::string::npos);

  std::string socket_path;
  std::shared_ptr<grpc::Channel> channel = Connect(line, &socket_path);
  ASSERT_NE(channel, nullptr);
  EXPECT_TRUE(HealthServing(channel));
  struct stat info;
  ASSERT_EQ(stat(socket_path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  std::string socket_dir = socket_path.substr(0, socket_path.rfind('/'));
  ASSERT_EQ(stat(socket_dir.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);

  ASSERT_EQ(kill(process.pid(), SIGTERM), 0);
  EXPECT_EQ(process.Wait(absl::Seconds(5)), 0);
  EXPECT_FALSE(Exists(socket_path));
  EXPECT_FALSE(Exists(socket_dir));
  EXPECT_THAT(process.RemainingStdout(), IsEmpty());
  std::string err_text = process.Stderr();
  fprintf(stderr, "%s", err_text.c_str());
  EXPECT_THAT(err_text, HasSubstr("received signal"));
}

TEST_F(ServeTest, ControllerShutdownExitsCleanly) {
  PluginProcess process({}, VaultEnvironment());
  std::string line = process.ReadLine(absl::Seconds(10));
  std::string socket_path;
  std::shared_ptr<grpc::Channel> channel = Connect(line, &socket_path);
  ASSERT_NE(channel, nullptr);

  auto controller = plugin::GRPCController::NewStub(channel);
  grpc::ClientContext context;
  plugin::Empty reply;
  EXPECT_TRUE(controller->Shutdown(&context, plugin::Empty(), &reply).ok());
  // go-plugin's host kills the process 2 seconds after Shutdown.
  EXPECT_EQ(process.Wait(absl::Seconds(2)), 0);
  EXPECT_FALSE(Exists(socket_path));
}

TEST_F(ServeTest, ClosedBrokerStreamExitsCleanly) {
  PluginProcess process({}, VaultEnvironment());
  std::string line = process.ReadLine(absl::Seconds(10));
  std::string socket_path;
  std::shared_ptr<grpc::Channel> channel = Connect(line, &socket_path);
  ASSERT_NE(channel, nullptr);
  {
    grpc::ClientContext context;
    auto stream = plugin::GRPCBroker::NewStub(channel)->StartStream(&context);
    ASSERT_TRUE(HealthServing(channel));
    stream->WritesDone();
    EXPECT_EQ(process.Wait(absl::Seconds(5)), 0);
  }
  EXPECT_FALSE(Exists(socket_path));
}

TEST_F(ServeTest, ParentExitStopsPlugin) {
  // An intermediate parent starts the plugin and is then killed, as if Vault crashed.
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  std::vector<std::string> env = VaultEnvironment();
  pid_t parent = fork();
  if (parent == 0) {
    pid_t child = fork();
    if (child == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      std::vector<char*> envp;
      for (std::string& entry : env) envp.push_back(entry.data());
      envp.push_back(nullptr);
      char* argv[] = {const_cast<char*>(g_plugin_path), nullptr};
      execve(g_plugin_path, argv, envp.data());
      _exit(127);
    }
    pause();
    _exit(0);
  }
  close(out[1]);

  std::string line;
  char c;
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline && read(out[0], &c, 1) == 1 && c != '\n') line.push_back(c);
  std::vector<std::string> fields = absl::StrSplit(line, '|');
  ASSERT_EQ(fields.size(), 6u) << line;
  ASSERT_TRUE(Exists(fields[3]));

  kill(parent, SIGKILL);
  waitpid(parent, nullptr, 0);
  absl::Time stop_deadline = absl::Now() + absl::Seconds(5);
  while (Exists(fields[3]) && absl::Now() < stop_deadline) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_FALSE(Exists(fields[3]));
  // The plugin closed its end of the pipe when it exited.
  EXPECT_EQ(read(out[0], &c, 1), 0);
  close(out[0]);
}

TEST_F(ServeTest, SocketGroupIsApplied) {
  std::vector<std::string> env = VaultEnvironment();
  env.push_back("PLUGIN_UNIX_SOCKET_GROUP=" + std::to_string(getegid()));
  PluginProcess process({}, env);
  std::string line = process.ReadLine(absl::Seconds(10));
  std::vector<std::string> fields = absl::StrSplit(line, '|');
  ASSERT_EQ(fields.size(), 6u) << line;
  struct stat info;
  ASSERT_EQ(stat(fields[3].c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0660u);
  EXPECT_EQ(info.st_gid, getegid());
  kill(process.pid(), SIGTERM);
  EXPECT_EQ(process.Wait(absl::Seconds(5)), 0);
}

}  // namespace
}  // namespace vault_qualtrics

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc < 2) {
    fprintf(stderr, "usage: serve_test PATH_TO_PLUGIN_BINARY\n");
    return 2;
  }
  vault_qualtrics::g_plugin_path = argv[1];
  return RUN_ALL_TESTS();
}
