// Measures cert/<role> latency through the engine with the real HTTPS client against the
// Qualtrics simulator on loopback: cached reads, and reads that issue (key, CSR, create, store).
//
// Build the simulator first (go -C tests/qualtrics-sim build -o bin/qualtrics-sim .), then run
//   bazel run //backend:engine_benchmark -- [cached_reads] [issuances] [key_type]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/qualtrics/simulator_fixture.h"
#include "backend/testing/memory_storage.h"

namespace vault_qualtrics {
namespace {

double Percentile(std::vector<double> values, double fraction) {
  std::sort(values.begin(), values.end());
  size_t index = static_cast<size_t>(fraction * static_cast<double>(values.size() - 1));
  return values[index];
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

  using Clock = std::chrono::steady_clock;
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
  return 0;
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
