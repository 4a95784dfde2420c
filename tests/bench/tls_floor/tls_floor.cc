// A program that does only the OpenSSL work a gRPC server with a new AutoMTLS identity does
// before it listens. The benchmark times it to show how much of our plugin's start that work is.
//
// The program generates the identity as the plugin does (plugin/tls_identity.h). It then makes
// the PEM reads that a profile of the plugin's start shows gRPC's TLS server set-up making. These
// are the private key, the certificate twice (for the chain and for its subject names), and the
// host's certificate from PLUGIN_CLIENT_CERT for the trust store. Last, it prints "ready" and
// waits until it is killed.
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>

#include "absl/status/statusor.h"
#include "plugin/tls_identity.h"

namespace {

// Reads the first certificate of `pem`, or returns nullptr.
X509* ReadCertificate(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return nullptr;
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return cert;
}

// Reads the private key of `pem`, or returns nullptr.
EVP_PKEY* ReadPrivateKey(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return nullptr;
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return key;
}

int Fail(const char* step) {
  fprintf(stderr, "tls_floor: %s failed\n", step);
  return 1;
}

}  // namespace

int main() {
  const char* client_pem = getenv("PLUGIN_CLIENT_CERT");
  if (client_pem == nullptr) return Fail("reading PLUGIN_CLIENT_CERT");
  absl::StatusOr<vault_qualtrics::TlsIdentity> identity = vault_qualtrics::GenerateTlsIdentity();
  if (!identity.ok()) return Fail("generating the TLS identity");

  SSL_CTX* context = SSL_CTX_new(TLS_server_method());
  if (context == nullptr) return Fail("SSL_CTX_new");
  EVP_PKEY* key = ReadPrivateKey(identity->private_key_pem.value());
  X509* chain = ReadCertificate(identity->certificate_pem);
  X509* names = ReadCertificate(identity->certificate_pem);
  X509* client = ReadCertificate(client_pem);
  if (key == nullptr || chain == nullptr || names == nullptr || client == nullptr) {
    return Fail("reading a PEM block");
  }
  if (SSL_CTX_use_certificate(context, chain) != 1 || SSL_CTX_use_PrivateKey(context, key) != 1 ||
      X509_STORE_add_cert(SSL_CTX_get_cert_store(context), client) != 1) {
    return Fail("setting up the TLS context");
  }
  if (printf("ready\n") < 0 || fflush(stdout) != 0) return Fail("writing to stdout");
  pause();
  return 0;
}
