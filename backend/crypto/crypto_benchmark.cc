// Times key generation and CSR creation for each supported key type and prints the median,
// minimum and maximum of repeated runs. Usage: crypto_benchmark [runs per key type, default 15]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "backend/crypto/csr.h"
#include "backend/crypto/key.h"

namespace {

using Clock = std::chrono::steady_clock;

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

double MillisecondsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  int runs = argc > 1 ? std::atoi(argv[1]) : 15;
  if (runs <= 0 || runs > 1000) {
    std::fprintf(stderr, "runs must be between 1 and 1000\n");
    return 1;
  }
  const std::pair<const char*, int> specs[] = {{"rsa", 2048}, {"rsa", 3072}, {"rsa", 4096},
                                               {"ec", 256},   {"ec", 384},   {"ed25519", 0}};
  vault_qualtrics::Subject subject;
  subject.common_name = "fra1.qualtrics.com";
  subject.organization = "Example Corp";
  subject.country = "DE";

  std::printf("%-10s %6s %14s %14s %14s %14s\n", "key", "runs", "keygen median", "keygen min",
              "keygen max", "csr median");
  for (const auto& [type, bits] : specs) {
    absl::StatusOr<vault_qualtrics::KeySpec> spec = vault_qualtrics::ParseKeySpec(type, bits);
    if (!spec.ok()) return 1;
    std::vector<double> keygen_ms;
    std::vector<double> csr_ms;
    for (int i = 0; i < runs; ++i) {
      Clock::time_point start = Clock::now();
      absl::StatusOr<vault_qualtrics::PrivateKey> key = vault_qualtrics::GenerateKey(*spec);
      keygen_ms.push_back(MillisecondsSince(start));
      if (!key.ok()) {
        std::fprintf(stderr, "%s\n", std::string(key.status().message()).c_str());
        return 1;
      }
      start = Clock::now();
      absl::StatusOr<std::string> csr = vault_qualtrics::CreateCsrPem(*key, subject);
      csr_ms.push_back(MillisecondsSince(start));
      if (!csr.ok()) {
        std::fprintf(stderr, "%s\n", std::string(csr.status().message()).c_str());
        return 1;
      }
    }
    std::printf("%-10s %6d %11.3f ms %11.3f ms %11.3f ms %11.3f ms\n",
                vault_qualtrics::KeySpecLabel(*spec).c_str(), runs, Median(keygen_ms),
                *std::min_element(keygen_ms.begin(), keygen_ms.end()),
                *std::max_element(keygen_ms.begin(), keygen_ms.end()), Median(csr_ms));
  }
  return 0;
}
