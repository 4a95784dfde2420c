// Times the Qualtrics client against the simulator on loopback. First it compares, call by call
// in alternation, a client that opens a new connection with a full TLS handshake for every call
// (max_idle_connections = 0) with one that reuses its connection (the default), for list calls
// on an empty organization and for create calls with P-256 keys. Then, with reuse, for each key
// type it measures key generation plus CSR, then one create call. Prints the median, minimum and
// maximum of repeated runs.
// Usage: client_benchmark [runs per key type, default 20]. Needs the simulator binary (see
// simulator_fixture.h).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "backend/crypto/csr.h"
#include "backend/crypto/key.h"
#include "backend/qualtrics/client.h"
#include "backend/qualtrics/simulator_fixture.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Summary {
  double median;
  double min;
  double max;
};

Summary Summarize(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t middle = values.size() / 2;
  double median =
      values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
  return Summary{median, values.front(), values.back()};
}

double MillisecondsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "%s\n", status.ToString().c_str());
  return 1;
}

void PrintComparison(const char* call, const std::vector<double>& fresh_ms,
                     const std::vector<double>& reused_ms) {
  Summary fresh = Summarize(fresh_ms);
  Summary reused = Summarize(reused_ms);
  std::printf("%-6s new connection: median %6.2f ms [%6.2f, %6.2f]   reused: median %6.2f ms "
              "[%6.2f, %6.2f]   saved %5.2f ms per call\n",
              call, fresh.median, fresh.min, fresh.max, reused.median, reused.min, reused.max,
              fresh.median - reused.median);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace vault_qualtrics;
  int runs = argc > 1 ? std::atoi(argv[1]) : 20;
  if (runs <= 0 || runs > 1000) {
    std::fprintf(stderr, "runs must be between 1 and 1000\n");
    return 1;
  }
  // The quota is raised so repeated creates never hit the limit of active certificates.
  absl::StatusOr<std::unique_ptr<Simulator>> simulator = Simulator::Start({"-max-active=100000"});
  if (!simulator.ok()) return Fail(simulator.status());
  const SimulatorInfo& sim = (*simulator)->info();

  auto make_options = [&sim](int max_idle_connections) {
    ClientOptions options;
    options.base_url = sim.base_url;
    options.organization_id = sim.organization_id;
    options.api_token = SecretBytes(sim.api_token);
    options.ca_bundle_pem = sim.ca_pem;
    options.max_idle_connections = max_idle_connections;
    return options;
  };
  // The default pool size reuses connections; 0 opens a new one for every call.
  absl::StatusOr<std::unique_ptr<QualtricsClient>> client =
      NewQualtricsClient(make_options(ClientOptions().max_idle_connections));
  if (!client.ok()) return Fail(client.status());
  absl::StatusOr<std::unique_ptr<QualtricsClient>> fresh_client =
      NewQualtricsClient(make_options(0));
  if (!fresh_client.ok()) return Fail(fresh_client.status());

  Subject subject;
  subject.common_name = "fra1.qualtrics.com";
  subject.organization = "Example Corp";
  subject.country = "DE";

  // One untimed call opens the reusing client's connection, so every timed call reuses it.
  if (absl::Status warmed = (*client)->ListCertificates().status(); !warmed.ok()) {
    return Fail(warmed);
  }
  std::vector<double> list_fresh_ms;
  std::vector<double> list_reused_ms;
  for (int i = 0; i < runs; ++i) {
    for (QualtricsClient* timed : {fresh_client->get(), client->get()}) {
      Clock::time_point start = Clock::now();
      absl::StatusOr<std::vector<RemoteCertificate>> listed = timed->ListCertificates();
      double elapsed = MillisecondsSince(start);
      if (!listed.ok()) return Fail(listed.status());
      (timed == client->get() ? list_reused_ms : list_fresh_ms).push_back(elapsed);
    }
  }
  // tests/bench parses this line: the cost of one HTTPS exchange as the client makes it.
  Summary list = Summarize(list_reused_ms);
  std::printf("list (empty organization): median %.2f ms, min %.2f ms, max %.2f ms, %d runs\n",
              list.median, list.min, list.max, runs);

  absl::StatusOr<KeySpec> ec_spec = ParseKeySpec("ec", 256);
  if (!ec_spec.ok()) return Fail(ec_spec.status());
  std::vector<double> create_fresh_ms;
  std::vector<double> create_reused_ms;
  for (int i = 0; i < runs; ++i) {
    for (QualtricsClient* timed : {fresh_client->get(), client->get()}) {
      absl::StatusOr<PrivateKey> key = GenerateKey(*ec_spec);
      if (!key.ok()) return Fail(key.status());
      absl::StatusOr<std::string> csr = CreateCsrPem(*key, subject);
      if (!csr.ok()) return Fail(csr.status());
      absl::StatusOr<std::string> fingerprint = key->PublicKeyFingerprintSha256();
      if (!fingerprint.ok()) return Fail(fingerprint.status());
      Clock::time_point start = Clock::now();
      absl::StatusOr<CreatedCertificate> created = timed->CreateCertificate(*csr, *fingerprint);
      double elapsed = MillisecondsSince(start);
      if (!created.ok()) return Fail(created.status());
      (timed == client->get() ? create_reused_ms : create_fresh_ms).push_back(elapsed);
    }
  }
  std::printf("connection reuse, %d calls each, alternating between the two clients:\n", runs);
  PrintComparison("list", list_fresh_ms, list_reused_ms);
  PrintComparison("create", create_fresh_ms, create_reused_ms);

  std::printf("%-9s %22s %28s\n", "key", "keygen+CSR median [min]", "create median [min, max]");
  const std::pair<const char*, int> specs[] = {{"rsa", 2048}, {"rsa", 3072}, {"rsa", 4096},
                                               {"ec", 256},   {"ec", 384},   {"ed25519", 0}};
  for (const auto& [type, bits] : specs) {
    absl::StatusOr<KeySpec> spec = ParseKeySpec(type, bits);
    if (!spec.ok()) return Fail(spec.status());
    std::vector<double> prepare_ms;
    std::vector<double> create_ms;
    for (int i = 0; i < runs; ++i) {
      Clock::time_point start = Clock::now();
      absl::StatusOr<PrivateKey> key = GenerateKey(*spec);
      if (!key.ok()) return Fail(key.status());
      absl::StatusOr<std::string> csr = CreateCsrPem(*key, subject);
      if (!csr.ok()) return Fail(csr.status());
      absl::StatusOr<std::string> fingerprint = key->PublicKeyFingerprintSha256();
      if (!fingerprint.ok()) return Fail(fingerprint.status());
      prepare_ms.push_back(MillisecondsSince(start));

      start = Clock::now();
      absl::StatusOr<CreatedCertificate> created = (*client)->CreateCertificate(*csr, *fingerprint);
      create_ms.push_back(MillisecondsSince(start));
      if (!created.ok()) return Fail(created.status());
    }
    Summary prepare = Summarize(prepare_ms);
    Summary create = Summarize(create_ms);
    std::printf("%-9s %12.2f [%7.2f] ms %12.2f [%6.2f, %6.2f] ms\n", KeySpecLabel(*spec).c_str(),
                prepare.median, prepare.min, create.median, create.min, create.max);
  }
  return 0;
}
