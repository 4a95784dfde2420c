// Adapts the HTTPS Qualtrics client (backend/qualtrics/client.h) to the engine's
// CertificateAuthority interface.
#ifndef BACKEND_QUALTRICS_ADAPTER_H_
#define BACKEND_QUALTRICS_ADAPTER_H_

#include "backend/certificate_authority.h"

namespace vault_qualtrics {

// Returns a factory that builds the libcurl client from a stored config, presenting the given
// client identity in mutual TLS mode. Fails with InvalidArgument when the config cannot make
// a client (for example no https base URL).
CertificateAuthorityFactory QualtricsCertificateAuthorityFactory();

}  // namespace vault_qualtrics

#endif  // BACKEND_QUALTRICS_ADAPTER_H_
