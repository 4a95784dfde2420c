// Measures cert/<role> latency through the engine with the real HTTPS client against the
// Qualtrics simulator on loopback: cached reads, and reads that issue (key, CSR, create, store).
// Then splits a cached read into its stages (routing, storage and cache, JSON build), and times
// the router's piece-by-piece matcher against the std::regex matcher it replaced, side by side
// in one run.
//
// Build the simulator first (go -C tests/qualtrics-sim build -o bin/qualtrics-sim .), then run
//   bazel run //backend:engine_benchmark -- [cached_reads] [issuances] [key_type]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/engine.h"
#include "backend/framework/framework.h"
#include "backend/paths.h"
#include "backend/qualtrics/simulator_fixture.h"
#include "backend/qualtrics_adapter.h"
#include "backend/testing/memory_storage.h"

namespace vault_qualtrics {
namespace {

double Percentile(std::vector<double> values, double fraction) {
  std::sort(values.begin(), values.end());
  size_t index = static_cast<size_t>(fraction * static_cast<double>(values.size() - 1));
  return values[index];
}

using Clock = std::chrono::steady_clock;

// Runs `operation` in batches of `batch` calls and returns the median time per call in
// nanoseconds over `batches` batches.
double MedianNanosPerCall(int batches, int batch, const std::function<void()>& operation) {
  std::vector<double> per_call;
  for (int b = 0; b < batches; ++b) {
    Clock::time_point start = Clock::now();
    for (int i = 0; i < batch; ++i) operation();
    per_call.push_back(std::chrono::duration<double, std::nano>(Clock::now() - start).count() /
                       batch);
  }
  return Percentile(per_call, 0.5);
}

// The matcher the router used before: std::regex_match of each pattern's regular expression,
// then a map of the captured segments.
class RegexBaseline {
 public:
  explicit RegexBaseline(const framework::CompiledPath& compiled)
      : regex_(compiled.regex_source(), std::regex::ECMAScript | std::regex::optimize) {
    for (const framework::FieldSchema& field : compiled.path().fields) {
      if (field.in_path) names_.push_back(field.name);
    }
  }

  std::optional<std::map<std::string, std::string>> Match(const std::string& path) const {
    std::smatch match;
    if (!std::regex_match(path, match, regex_)) return std::nullopt;
    std::map<std::string, std::string> captures;
    for (size_t i = 0; i < names_.size(); ++i) captures[names_[i]] = match[i + 1].str();
    return captures;
  }

 private:
  std::regex regex_;
  // Fields appear in the patterns in declaration order, one segment each.
  std::vector<std::string> names_;
};

// Times path lookup alone, in the router's order (first match wins), with both matchers.
int RunRouterBenchmark() {
  std::vector<framework::Path> paths;
  Engine* no_engine = nullptr;  // The handlers are never called here.
  paths.push_back(ConfigPath(no_engine));
  for (framework::Path& path : RolePaths(no_engine)) paths.push_back(std::move(path));
  paths.push_back(CertPath(no_engine));
  paths.push_back(RotatePath(no_engine));
  for (framework::Path& path : CertsPaths(no_engine)) paths.push_back(std::move(path));
  paths.push_back(TidyPath(no_engine));

  std::vector<framework::CompiledPath> compiled;
  std::vector<RegexBaseline> baseline;
  for (framework::Path& path : paths) {
    absl::StatusOr<framework::CompiledPath> compiled_path =
        framework::CompiledPath::Compile(std::move(path));
    if (!compiled_path.ok()) {
      std::fprintf(stderr, "compile failed: %s\n", std::string(compiled_path.status().message()).c_str());
      return 1;
    }
    baseline.emplace_back(*compiled_path);
    compiled.push_back(*std::move(compiled_path));
  }

  std::printf("router lookup (ns per request path, median of batches; regex then pieces):\n");
  const std::vector<std::string> requests = {"config",     "roles/",     "roles/bench",
                                             "cert/bench", "certs/abc1", "tidy",
                                             "nothing/here"};
  for (const std::string& request : requests) {
    size_t found_regex = 0;
    size_t found_pieces = 0;
    auto with_regex = [&] {
      for (size_t i = 0; i < baseline.size(); ++i) {
        if (baseline[i].Match(request)) {
          found_regex += i + 1;
          return;
        }
      }
    };
    auto with_pieces = [&] {
      for (size_t i = 0; i < compiled.size(); ++i) {
        if (compiled[i].Match(request)) {
          found_pieces += i + 1;
          return;
        }
      }
    };
    // Alternate the two so that both see the same machine load.
    std::vector<double> regex_ns;
    std::vector<double> pieces_ns;
    for (int round = 0; round < 20; ++round) {
      regex_ns.push_back(MedianNanosPerCall(5, 2000, with_regex));
      pieces_ns.push_back(MedianNanosPerCall(5, 2000, with_pieces));
    }
    if (found_regex != found_pieces) {
      std::fprintf(stderr, "matchers disagree on %s\n", request.c_str());
      return 1;
    }
    double regex_median = Percentile(regex_ns, 0.5);
    double pieces_median = Percentile(pieces_ns, 0.5);
    std::printf("  %-14s regex=%8.1f ns  pieces=%7.1f ns  speedup=%.1fx\n", request.c_str(),
                regex_median, pieces_median, regex_median / pieces_median);
  }
  return 0;
}

// Splits a cached read of `role` into its stages, with a second engine over the same storage.
void RunStageBenchmark(LogicalBackend& backend, Storage& storage, SystemView& system_view,
                       const std::string& role) {
  EngineOptions options;
  options.storage = &storage;
  options.system_view = &system_view;
  options.ca_factory = QualtricsCertificateAuthorityFactory();
  Engine engine(std::move(options));
  Request read;
  read.operation = Operation::kRead;
  read.path = "cert/" + role;

  absl::StatusOr<ServedCertificate> served = engine.ReadCertificate(role, read);
  absl::StatusOr<std::shared_ptr<const RoleRecord>> record = engine.LoadRole(role);
  if (!served.ok() || !record.ok() || *record == nullptr) {
    std::fprintf(stderr, "stage setup failed for %s\n", role.c_str());
    return;
  }
  absl::StatusOr<Response> response = backend.HandleRequest(read);
  std::string dumped = response.ok() ? response->data.dump() : std::string();

  constexpr int kBatches = 200;
  constexpr int kBatch = 200;
  double whole = MedianNanosPerCall(kBatches, kBatch, [&] { (void)backend.HandleRequest(read); });
  double storage_stage = MedianNanosPerCall(kBatches, kBatch, [&] {
    (void)engine.ReadCertificate(role, read);
  });
  double response_stage = MedianNanosPerCall(kBatches, kBatch, [&] {
    (void)CertificateResponse(engine, role, *served);
  });
  double data_only = MedianNanosPerCall(kBatches, kBatch, [&] {
    (void)CertificateResponseData(engine, *served, **record);
  });
  double dump = MedianNanosPerCall(kBatches, kBatch, [&] { (void)response->data.dump(); });
  std::printf("cached read stages for %s (ns, median of batches):\n", role.c_str());
  std::printf("  whole HandleRequest          %8.0f\n", whole);
  std::printf("  ReadCertificate (cache)      %8.0f\n", storage_stage);
  std::printf("  CertificateResponse          %8.0f  (%.0f%% of the read)\n", response_stage,
              100.0 * response_stage / whole);
  std::printf("    of which the JSON data     %8.0f\n", data_only);
  std::printf("  data.dump() in the plugin    %8.0f  (%zu bytes, not part of the read)\n", dump,
              dumped.size());
}

int Run(int cached_reads, int issuances, const std::string& key_type) {
  absl::StatusOr<std::unique_ptr<Simulator>> simulator = Simulator::Start({"-max-active=1000"});
  if (!simulator.ok()) {
    std::fprintf(stderr, "simulator failed to start: %s\n",
                 std::string(simulator.status().message()).c_str());
    return 1;
  }
  testing::MemoryStorage storage;
  testing::FakeSystemView system_view;
  BackendConfig config;
  config.storage = &storage;
  config.system_view = &system_view;
  std::unique_ptr<LogicalBackend> backend = *NewQualtricsBackend(config);

  auto send = [&](Operation op, const std::string& path, nlohmann::json data) {
    Request request;
    request.operation = op;
    request.path = path;
    request.data = std::move(data);
    return backend->HandleRequest(request);
  };
  const SimulatorInfo& info = (*simulator)->info();
  absl::StatusOr<Response> configured = send(Operation::kUpdate, "config",
                                             {{"base_url", info.base_url},
                                              {"organization_id", info.organization_id},
                                              {"api_token", info.api_token},
                                              {"ca_bundle", info.ca_pem},
                                              {"max_active_certificates", 1000}});
  if (!configured.ok()) {
    std::fprintf(stderr, "config failed: %s\n", std::string(configured.status().message()).c_str());
    return 1;
  }
  absl::StatusOr<Response> role =
      send(Operation::kCreate, "roles/bench", {{"key_type", key_type}, {"revoke_grace", 0}});
  if (!role.ok()) {
    std::fprintf(stderr, "role failed: %s\n", std::string(role.status().message()).c_str());
    return 1;
  }

  std::vector<double> issue_ms;
  for (int i = 0; i < issuances; ++i) {
    Clock::time_point start = Clock::now();
    absl::StatusOr<Response> rotated = send(Operation::kUpdate, "rotate/bench", {});
    issue_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (!rotated.ok()) {
      std::fprintf(stderr, "issuance failed: %s\n",
                   std::string(rotated.status().message()).c_str());
      return 1;
    }
  }
  std::vector<double> cached_us;
  for (int i = 0; i < cached_reads; ++i) {
    Clock::time_point start = Clock::now();
    absl::StatusOr<Response> read = send(Operation::kRead, "cert/bench", {});
    cached_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    if (!read.ok() || read->data["from_storage"] != true) {
      std::fprintf(stderr, "cached read failed\n");
      return 1;
    }
  }
  std::printf("key_type=%s issuances=%d median=%.1f ms p90=%.1f ms\n", key_type.c_str(), issuances,
              Percentile(issue_ms, 0.5), Percentile(issue_ms, 0.9));
  std::printf("cached reads=%d median=%.1f us p99=%.1f us\n", cached_reads,
              Percentile(cached_us, 0.5), Percentile(cached_us, 0.99));

  // The same cached read for a role that returns its private key.
  absl::StatusOr<Response> exporting =
      send(Operation::kCreate, "roles/bench-export",
           {{"key_type", key_type}, {"revoke_grace", 0}, {"allow_key_export", true}});
  absl::StatusOr<Response> exported = send(Operation::kRead, "cert/bench-export", {});
  if (!exporting.ok() || !exported.ok() || !exported->data.contains("private_key")) {
    std::fprintf(stderr, "exporting role setup failed\n");
    return 1;
  }
  std::vector<double> exported_us;
  for (int i = 0; i < cached_reads; ++i) {
    Clock::time_point start = Clock::now();
    absl::StatusOr<Response> read = send(Operation::kRead, "cert/bench-export", {});
    exported_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    if (!read.ok() || read->data["from_storage"] != true) {
      std::fprintf(stderr, "cached read with key failed\n");
      return 1;
    }
  }
  std::printf("cached reads with private_key=%d median=%.1f us p99=%.1f us\n", cached_reads,
              Percentile(exported_us, 0.5), Percentile(exported_us, 0.99));

  RunStageBenchmark(*backend, storage, system_view, "bench");
  RunStageBenchmark(*backend, storage, system_view, "bench-export");
  return RunRouterBenchmark();
}

}  // namespace
}  // namespace vault_qualtrics

int main(int argc, char** argv) {
  int cached_reads = argc > 1 ? std::atoi(argv[1]) : 10000;
  int issuances = argc > 2 ? std::atoi(argv[2]) : 20;
  std::string key_type = argc > 3 ? argv[3] : "ec";
  if (cached_reads < 1 || issuances < 1) {
    std::fprintf(stderr, "usage: engine_benchmark [cached_reads>=1] [issuances>=1] [key_type]\n");
    return 2;
  }
  return vault_qualtrics::Run(cached_reads, issuances, key_type);
}
