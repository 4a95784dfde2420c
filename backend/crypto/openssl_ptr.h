// unique_ptr owners for the OpenSSL objects backend/crypto uses. Private to backend/crypto.
#ifndef BACKEND_CRYPTO_OPENSSL_PTR_H_
#define BACKEND_CRYPTO_OPENSSL_PTR_H_

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>

namespace vault_qualtrics {
namespace crypto_internal {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* pointer) const { Free(pointer); }
};

inline void FreeBio(BIO* bio) { BIO_free_all(bio); }
inline void FreeOpenSslBytes(unsigned char* bytes) { OPENSSL_free(bytes); }
inline void FreeOpenSslChars(char* chars) { OPENSSL_free(chars); }

using BioPtr = std::unique_ptr<BIO, Deleter<BIO, FreeBio>>;
using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ, X509_REQ_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, Deleter<X509_NAME, X509_NAME_free>>;
using OpenSslBytesPtr = std::unique_ptr<unsigned char, Deleter<unsigned char, FreeOpenSslBytes>>;
using OpenSslCharsPtr = std::unique_ptr<char, Deleter<char, FreeOpenSslChars>>;

}  // namespace crypto_internal
}  // namespace vault_qualtrics

#endif  // BACKEND_CRYPTO_OPENSSL_PTR_H_
