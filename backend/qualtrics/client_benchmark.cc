// Times the Qualtrics client against the simulator on loopback. For each key type it measures key
// generation plus CSR, then one create call. A list call on an empty organization gives the floor
// of one HTTPS exchange, because every call opens a new connection with a TLS handshake. Prints
// the median, minimum and maximum of repeated runs.
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

  ClientOptions options;
  options.base_url = sim.base_url;
  options.organization_id = sim.organization_id;
  options.api_token = SecretBytes(sim.api_token);
  options.ca_bundle_pem = sim.ca_pem;
  absl::StatusOr<std::unique_ptr<QualtricsClient>> client = NewQualtricsClient(std::move(options));
  if (!client.ok()) return Fail(client.status());

  Subject subject;
  subject.common_name = "fra1.qualtrics.com";
  subject.organization = "Example Corp";
  subject.country = "DE";

  std::vector<double> list_ms;
  for (int i = 0; i < runs; ++i) {
    Clock::time_point start = Clock::now();
    absl::StatusOr<std::vector<RemoteCertificate>> listed = (*client)->ListCertificates();
    list_ms.push_back(MillisecondsSince(start));
    if (!listed.ok()) return Fail(listed.status());
  }
  Summary list = Summarize(list_ms);
  std::printf("list (empty organization): median %.2f ms, min %.2f ms, max %.2f ms, %d runs\n",
              list.median, list.min, list.max, runs);

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
