#include "plugin/serve.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include <grpc/support/log.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "backend/logical/log.h"
#include "plugin/environment.h"
#include "plugin/handshake.h"
#include "plugin/plugin_server.h"
#include "plugin/socket_dir.h"
#include "plugin/tls_identity.h"

namespace vault_qualtrics {
namespace {

constexpr char kPluginName[] = "vault-plugin-secrets-qualtrics";

// How often the main thread checks for signals and for the parent's exit; a Shutdown call from
// the host wakes it at once.
constexpr absl::Duration kPollInterval = absl::Milliseconds(100);

std::string NotStartedByVaultMessage() {
  return absl::StrCat(
      "This binary is a plugin for HashiCorp Vault and OpenBao and is not meant to be run "
      "directly. Vault starts it. Place it in Vault's plugin_directory, then register and "
      "enable it:\n"
      "  vault plugin register -sha256=$(sha256sum ",
      kPluginName, " | cut -d' ' -f1) secret ", kPluginName,
      "\n"
      "  vault secrets enable -path=qualtrics ",
      kPluginName, "\n");
}

// Keeps key material out of core dumps and away from ptrace by other processes of the user.
void DisableCoreDumps() {
  struct rlimit none = {0, 0};
  if (setrlimit(RLIMIT_CORE, &none) != 0) {
    Log(LogLevel::kWarn, "cannot disable core dumps", {{"error", strerror(errno)}});
  }
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    Log(LogLevel::kWarn, "cannot mark the process non-dumpable", {{"error", strerror(errno)}});
  }
}

bool WriteAll(int fd, const std::string& data) {
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    written += static_cast<size_t>(n);
  }
  return true;
}

// Checks what the host passed and logs one line on the first problem.
bool CheckEnvironment(const PluginEnvironment& env, int* protocol_version) {
  if (!env.magic_cookie_valid) {
    WriteAll(STDERR_FILENO, NotStartedByVaultMessage());
    return false;
  }

  absl::StatusOr<int> version = NegotiateProtocolVersion(env.protocol_versions);
  if (!version.ok()) {
    Log(LogLevel::kError, std::string(version.status().message()));
    return false;
  }
  *protocol_version = *version;

  if (env.client_cert_pem.empty()) {
    Log(LogLevel::kError,
        "PLUGIN_CLIENT_CERT is not set: this plugin requires Vault's automatic mutual TLS "
        "(plugin protocol 5). The legacy set-ups of protocol 4, an unwrap token or metadata mode "
        "without TLS, are not supported",
        {{"automtls_enabled", env.automtls_enabled ? "true" : "false"},
         {"metadata_mode", env.metadata_mode ? "true" : "false"},
         {"unwrap_token_set", env.has_unwrap_token ? "true" : "false"}});
    return false;
  }
  absl::Status cert = ValidateCertificatePem(env.client_cert_pem);
  if (!cert.ok()) {
    Log(LogLevel::kError, absl::StrCat("PLUGIN_CLIENT_CERT is invalid: ", cert.message()));
    return false;
  }
  return true;
}

// Sends gRPC's own diagnostics (a failed TLS handshake from a client without Vault's
// certificate, say) through our JSON log, because Vault shows any other stderr line raw.
void LogGrpcLine(gpr_log_func_args* args) {
  LogLevel level = LogLevel::kError;
  if (args->severity == GPR_LOG_SEVERITY_DEBUG) level = LogLevel::kDebug;
  if (args->severity == GPR_LOG_SEVERITY_INFO) level = LogLevel::kInfo;
  Log(level, args->message != nullptr ? args->message : "",
      {{"component", "grpc"},
       {"source", absl::StrCat(args->file != nullptr ? args->file : "", ":", args->line)}});
}

// glibc gives a thread that meets contention in malloc an arena of its own, up to 8 per core,
// and each arena keeps the memory freed into it. gRPC's synchronous server runs calls on a pool
// of threads, so concurrent calls spread over many arenas. Two arenas bound that memory at the
// cost of more lock contention inside malloc. This must run before any thread starts.
void LimitMallocArenas() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // The sanitizers replace malloc with their own allocator, which has no arenas to limit.
  return;
#endif
  constexpr int kMaxMallocArenas = 2;
  if (mallopt(M_ARENA_MAX, kMaxMallocArenas) != 1) {
    Log(LogLevel::kWarn, "cannot limit the number of malloc arenas",
        {{"max_arenas", std::to_string(kMaxMallocArenas)}});
  }
}

}  // namespace

int ServePlugin(int argc, char** argv, BackendFactory factory, std::string_view version) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg(argv[i]);
    if (arg == "-version" || arg == "--version") {
      std::string line =
          absl::StrCat(kPluginName, " ", absl::string_view(version.data(), version.size()), "\n");
      return WriteAll(STDOUT_FILENO, line) ? 0 : 1;
    }
  }

  LimitMallocArenas();
  EnvironmentLookup lookup = ProcessEnvironment();
  SetLogLevel(ParseLogLevel(lookup("VAULT_QUALTRICS_LOG_LEVEL").value_or("info"), LogLevel::kInfo));
  gpr_set_log_function(LogGrpcLine);
  // Debian's Abseil keeps mutex deadlock detection on, so every absl::Mutex acquisition in
  // gRPC's hot paths takes a global lock. A profile of cached reads spent about 5% there.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  DisableCoreDumps();
  absl::Time started = absl::Now();

  PluginEnvironment env = ReadPluginEnvironment(lookup);
  int protocol_version = 0;
  if (!CheckEnvironment(env, &protocol_version)) return 1;
  if (env.broker_multiplexing) {
    Log(LogLevel::kWarn,
        "PLUGIN_MULTIPLEX_GRPC is set but go-plugin broker multiplexing is not supported; "
        "serving without it");
  }

  if (env.mlock_enabled && mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
    Log(LogLevel::kError,
        "VAULT_PLUGIN_MLOCK_ENABLED is true but locking memory failed; raise RLIMIT_MEMLOCK or "
        "grant CAP_IPC_LOCK",
        {{"error", strerror(errno)}});
    return 1;
  }

  // Signals are taken synchronously by the main thread; blocking them before gRPC starts its
  // threads makes every thread inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // NOTE: the parent's exit is detected by polling getppid() instead of PR_SET_PDEATHSIG,
  // because that signal follows the exit of the parent *thread* that forked us, and the Go
  // runtime in Vault may end that thread while Vault keeps running.
  pid_t parent = getppid();

  absl::StatusOr<TlsIdentity> identity = GenerateTlsIdentity();
  if (!identity.ok()) {
    Log(LogLevel::kError, "cannot create the TLS certificate",
        {{"error", std::string(identity.status().message())}});
    return 1;
  }

  absl::StatusOr<std::unique_ptr<SocketDirectory>> socket_dir =
      SocketDirectory::Create(env.socket_parent_dir, env.socket_group);
  if (!socket_dir.ok()) {
    Log(LogLevel::kError, std::string(socket_dir.status().message()));
    return 1;
  }

  PluginServerOptions options;
  options.factory = std::move(factory);
  options.version = std::string(version);
  options.listen_address = absl::StrCat("unix:", (*socket_dir)->socket_path());
  options.server_credentials = AutoMtlsServerCredentials(*identity, env.client_cert_pem);
  options.broker_credentials = AutoMtlsChannelCredentials(*identity, env.client_cert_pem);
  absl::StatusOr<std::unique_ptr<PluginServer>> server = PluginServer::Start(std::move(options));
  if (!server.ok()) {
    Log(LogLevel::kError, std::string(server.status().message()));
    return 1;
  }
  absl::Status restricted = (*socket_dir)->RestrictSocket();
  if (!restricted.ok()) {
    Log(LogLevel::kError, std::string(restricted.message()));
    return 1;
  }

  std::string line = FormatHandshakeLine(protocol_version, "unix", (*socket_dir)->socket_path(),
                                         identity->certificate_der);
  if (!WriteAll(STDOUT_FILENO, line)) {
    Log(LogLevel::kError, "cannot write the handshake line to stdout",
        {{"error", strerror(errno)}});
    return 1;
  }
  Log(LogLevel::kInfo, "plugin serving",
      {{"version", std::string(version)},
       {"protocol_version", std::to_string(protocol_version)},
       {"socket", (*socket_dir)->socket_path()},
       {"startup_ms", std::to_string(absl::ToInt64Milliseconds(absl::Now() - started))}});

  std::string reason;
  ShutdownSignal& shutdown = (*server)->shutdown_signal();
  while (true) {
    if (shutdown.WaitFor(kPollInterval)) {
      reason = shutdown.reason();
      break;
    }
    struct timespec no_wait = {0, 0};
    int signal_number = sigtimedwait(&signals, nullptr, &no_wait);
    if (signal_number > 0) {
      reason = absl::StrCat("received signal ", strsignal(signal_number));
      break;
    }
    if (getppid() != parent) {
      reason = "the parent process exited";
      break;
    }
  }

  Log(LogLevel::kInfo, "plugin stopping", {{"reason", reason}});
  (*server)->Stop();
  server->reset();
  socket_dir->reset();
  Log(LogLevel::kInfo, "plugin stopped");
  return 0;
}

}  // namespace vault_qualtrics
