#include "backend/crypto/csr.h"

#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cctype>

#include "absl/strings/str_cat.h"
#include "backend/crypto/key_internal.h"
#include "backend/crypto/openssl_error.h"
#include "backend/crypto/openssl_ptr.h"

namespace vault_qualtrics {

using crypto_internal::BioPtr;
using crypto_internal::ClearOpenSslErrors;
using crypto_internal::OpenSslError;
using crypto_internal::X509ReqPtr;

namespace {

// RFC 5280's upper bound for most DirectoryString attributes (ub-common-name and friends).
constexpr size_t kMaxNameFieldLength = 64;

absl::Status ValidateSubject(const Subject& subject) {
  if (subject.common_name.empty()) {
    return absl::InvalidArgumentError("the subject's common_name is missing");
  }
  const std::pair<const char*, const std::string*> fields[] = {
      {"common_name", &subject.common_name},
      {"organization", &subject.organization},
      {"organizational_unit", &subject.organizational_unit},
      {"locality", &subject.locality},
      {"province", &subject.province},
  };
  for (const auto& [name, value] : fields) {
    if (value->size() > kMaxNameFieldLength) {
      return absl::InvalidArgumentError(absl::StrCat("the subject's ", name, " is ",
                                                     value->size(), " characters long: at most ",
                                                     kMaxNameFieldLength, " are allowed"));
    }
  }
  if (!subject.country.empty()) {
    bool valid = subject.country.size() == 2 &&
                 std::isupper(static_cast<unsigned char>(subject.country[0])) &&
                 std::isupper(static_cast<unsigned char>(subject.country[1]));
    if (!valid) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid subject country \"", subject.country,
                       "\": use a two-letter upper-case ISO 3166 code such as DE or US"));
    }
  }
  return absl::OkStatus();
}

absl::Status AddNameEntry(X509_NAME* name, int nid, const std::string& value) {
  if (value.empty()) return absl::OkStatus();
  if (X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(value.data()),
                                 static_cast<int>(value.size()), -1, 0) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        absl::StrCat("adding ", OBJ_nid2sn(nid), " to the CSR subject failed"));
  }
  return absl::OkStatus();
}

absl::StatusOr<X509ReqPtr> ReadCsr(std::string_view csr_pem) {
  BioPtr bio(BIO_new_mem_buf(csr_pem.data(), static_cast<int>(csr_pem.size())));
  X509_REQ* request =
      bio == nullptr ? nullptr : PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr);
  if (request == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "the text is not a PEM certificate request (BEGIN CERTIFICATE REQUEST)");
  }
  return X509ReqPtr(request);
}

}  // namespace

absl::StatusOr<SignatureDigest> ParseSignatureDigest(std::string_view name) {
  if (name.empty() || name == "sha256") return SignatureDigest::kSha256;
  if (name == "sha384") return SignatureDigest::kSha384;
  return absl::InvalidArgumentError(absl::StrCat("invalid signature_digest \"", std::string(name),
                                                 "\": allowed values are sha256, sha384"));
}

absl::StatusOr<std::string> CreateCsrPem(const PrivateKey& key, const Subject& subject,
                                         SignatureDigest digest) {
  if (absl::Status valid = ValidateSubject(subject); !valid.ok()) return valid;
  ClearOpenSslErrors();

  X509ReqPtr request(X509_REQ_new());
  if (request == nullptr) {
    return OpenSslError(absl::StatusCode::kInternal, "allocating a CSR failed");
  }
  // Version 1 of PKCS#10 is encoded as 0.
  if (X509_REQ_set_version(request.get(), 0) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "setting the CSR version failed");
  }

  X509_NAME* name = X509_REQ_get_subject_name(request.get());
  const std::pair<int, const std::string*> entries[] = {
      {NID_countryName, &subject.country},
      {NID_stateOrProvinceName, &subject.province},
      {NID_localityName, &subject.locality},
      {NID_organizationName, &subject.organization},
      {NID_organizationalUnitName, &subject.organizational_unit},
      {NID_commonName, &subject.common_name},
  };
  for (const auto& [nid, value] : entries) {
    if (absl::Status added = AddNameEntry(name, nid, *value); !added.ok()) return added;
  }

  if (X509_REQ_set_pubkey(request.get(), key.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "setting the CSR public key failed");
  }

  // Ed25519 hashes internally (PureEdDSA), so OpenSSL requires a null digest for it.
  const EVP_MD* md = nullptr;
  if (key.spec().type != KeyType::kEd25519) {
    md = digest == SignatureDigest::kSha384 ? EVP_sha384() : EVP_sha256();
  }
  if (X509_REQ_sign(request.get(), key.get(), md) <= 0) {
    return OpenSslError(absl::StatusCode::kInternal, "signing the CSR failed");
  }

  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509_REQ(bio.get(), request.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "encoding the CSR as PEM failed");
  }
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

absl::Status VerifyCsrPem(std::string_view csr_pem) {
  ClearOpenSslErrors();
  absl::StatusOr<X509ReqPtr> request = ReadCsr(csr_pem);
  if (!request.ok()) return request.status();
  EVP_PKEY* public_key = X509_REQ_get0_pubkey(request->get());
  if (public_key == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, "the CSR has no readable public key");
  }
  if (X509_REQ_verify(request->get(), public_key) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "the CSR signature does not verify with its public key");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> CsrPublicKeyFingerprint(std::string_view csr_pem) {
  ClearOpenSslErrors();
  absl::StatusOr<X509ReqPtr> request = ReadCsr(csr_pem);
  if (!request.ok()) return request.status();
  EVP_PKEY* public_key = X509_REQ_get0_pubkey(request->get());
  if (public_key == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, "the CSR has no readable public key");
  }
  return crypto_internal::FingerprintOfPublicKey(public_key);
}

}  // namespace vault_qualtrics
