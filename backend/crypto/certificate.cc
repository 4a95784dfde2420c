#include "backend/crypto/certificate.h"

#include <openssl/asn1.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ctime>

#include "absl/strings/ascii.h"
#include "backend/crypto/key_internal.h"
#include "backend/crypto/openssl_error.h"
#include "backend/crypto/openssl_ptr.h"

namespace vault_qualtrics {

using crypto_internal::BignumPtr;
using crypto_internal::BioPtr;
using crypto_internal::ClearOpenSslErrors;
using crypto_internal::OpenSslCharsPtr;
using crypto_internal::OpenSslError;
using crypto_internal::X509Ptr;

namespace {

absl::StatusOr<X509Ptr> ReadCertificate(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509* certificate =
      bio == nullptr ? nullptr : PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  if (certificate == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "the text is not a PEM certificate (BEGIN CERTIFICATE)");
  }
  return X509Ptr(certificate);
}

absl::StatusOr<int64_t> UnixSeconds(const ASN1_TIME* time, const char* which) {
  struct tm parts = {};
  if (time == nullptr || ASN1_TIME_to_tm(time, &parts) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        std::string("reading the certificate's ") + which + " time failed");
  }
  return static_cast<int64_t>(timegm(&parts));
}

absl::StatusOr<std::string> SerialNumber(X509* certificate) {
  BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(certificate), nullptr));
  if (serial == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "reading the certificate's serial number failed");
  }
  OpenSslCharsPtr hex(BN_bn2hex(serial.get()));
  if (hex == nullptr) {
    return OpenSslError(absl::StatusCode::kInternal, "formatting the serial number failed");
  }
  std::string digits = absl::AsciiStrToLower(hex.get());
  if (digits.size() % 2 == 1) digits.insert(0, "0");
  std::string formatted;
  for (size_t i = 0; i < digits.size(); i += 2) {
    if (i > 0) formatted.push_back(':');
    formatted.append(digits, i, 2);
  }
  return formatted;
}

absl::StatusOr<std::string> NameToString(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
    return OpenSslError(absl::StatusCode::kInternal, "formatting a certificate name failed");
  }
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

}  // namespace

absl::StatusOr<CertificateInfo> ParseCertificatePem(std::string_view pem) {
  ClearOpenSslErrors();
  absl::StatusOr<X509Ptr> certificate = ReadCertificate(pem);
  if (!certificate.ok()) return certificate.status();
  X509* cert = certificate->get();

  CertificateInfo info;
  absl::StatusOr<std::string> serial = SerialNumber(cert);
  if (!serial.ok()) return serial.status();
  info.serial_number = *std::move(serial);

  absl::StatusOr<int64_t> not_before = UnixSeconds(X509_get0_notBefore(cert), "notBefore");
  if (!not_before.ok()) return not_before.status();
  info.not_before = *not_before;
  absl::StatusOr<int64_t> not_after = UnixSeconds(X509_get0_notAfter(cert), "notAfter");
  if (!not_after.ok()) return not_after.status();
  info.not_after = *not_after;

  absl::StatusOr<std::string> subject = NameToString(X509_get_subject_name(cert));
  if (!subject.ok()) return subject.status();
  info.subject = *std::move(subject);
  absl::StatusOr<std::string> issuer = NameToString(X509_get_issuer_name(cert));
  if (!issuer.ok()) return issuer.status();
  info.issuer = *std::move(issuer);

  EVP_PKEY* public_key = X509_get0_pubkey(cert);
  if (public_key == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "the certificate's public key cannot be read");
  }
  absl::StatusOr<std::string> fingerprint = crypto_internal::FingerprintOfPublicKey(public_key);
  if (!fingerprint.ok()) return fingerprint.status();
  info.public_key_fingerprint = *std::move(fingerprint);

  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "encoding the certificate as PEM failed");
  }
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  info.certificate_pem.assign(data, static_cast<size_t>(length));
  return info;
}

absl::StatusOr<bool> CertificateMatchesKey(std::string_view certificate_pem,
                                           const PrivateKey& key) {
  ClearOpenSslErrors();
  absl::StatusOr<X509Ptr> certificate = ReadCertificate(certificate_pem);
  if (!certificate.ok()) return certificate.status();
  EVP_PKEY* public_key = X509_get0_pubkey(certificate->get());
  if (public_key == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "the certificate's public key cannot be read");
  }
  // EVP_PKEY_eq compares only the public components: 1 equal, 0 different, negative when the
  // types cannot be compared (which also means different keys).
  bool equal = EVP_PKEY_eq(public_key, key.get()) == 1;
  ClearOpenSslErrors();
  return equal;
}

}  // namespace vault_qualtrics
