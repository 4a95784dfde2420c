package main

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestCreateListDelete(t *testing.T) {
	ts := startSim(t, nil)
	created, key := ts.create(callOptions{})
	if created.status != http.StatusOK {
		t.Fatalf("create: status %d, body %s", created.status, created.rawBody)
	}
	if got := created.meta()["httpStatus"]; got != "200 - OK" {
		t.Errorf("httpStatus %v", got)
	}
	if id, _ := created.meta()["requestId"].(string); !uuidPattern.MatchString(id) {
		t.Errorf("requestId %q is not a UUID v4", id)
	}
	if created.header.Get("X-Request-Id") != created.meta()["requestId"] {
		t.Errorf("X-Request-Id header %q differs from meta.requestId", created.header.Get("X-Request-Id"))
	}
	if _, present := created.meta()["notice"]; present {
		t.Errorf("notice present without a client certificate: %v", created.meta()["notice"])
	}
	id, _ := created.result()["id"].(string)
	if !regexp.MustCompile(`^CC_[A-Za-z0-9]{15}$`).MatchString(id) {
		t.Errorf("id %q does not look like CC_ and 15 letters or digits", id)
	}

	certPEM, _ := created.result()["certificate"].(string)
	cert := parseCertificatePEM(t, certPEM)
	if !key.PublicKey.Equal(cert.PublicKey) {
		t.Error("issued certificate does not carry the CSR's public key")
	}
	if cert.Subject.CommonName != "fra1.qualtrics.com" || cert.Subject.Country[0] != "DE" || cert.Subject.OrganizationalUnit[0] != "IT" {
		t.Errorf("subject %q does not match the CSR", cert.Subject)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: ts.roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("certificate does not verify as a client certificate under the CA: %v", err)
	}
	if cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 || cert.KeyUsage&x509.KeyUsageKeyEncipherment != 0 {
		t.Errorf("key usage %b, expected digital signature only for EC", cert.KeyUsage)
	}
	if validity := time.Until(cert.NotAfter); validity < 364*24*time.Hour || validity > 366*24*time.Hour {
		t.Errorf("certificate expires in %s, expected about 365 days", validity)
	}
	if cert.SerialNumber.BitLen() < 64 {
		t.Errorf("serial %s is too short to be random", cert.SerialNumber)
	}

	listed := ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{})
	if listed.status != http.StatusOK {
		t.Fatalf("list: status %d, body %s", listed.status, listed.rawBody)
	}
	elements, _ := listed.result()["elements"].([]any)
	if len(elements) != 1 {
		t.Fatalf("list returned %d elements, expected 1: %s", len(elements), listed.rawBody)
	}
	if next, present := listed.result()["nextPage"]; !present || next != nil {
		t.Errorf("nextPage %v, expected null", next)
	}
	element := elements[0].(map[string]any)
	spkiHash := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	if element["id"] != id || element["certificate"] != certPEM || element["fingerprint"] != hex.EncodeToString(spkiHash[:]) {
		t.Errorf("list element %v does not match the created certificate", element)
	}
	if element["expiresAt"] != cert.NotAfter.UTC().Format(time.RFC3339) {
		t.Errorf("expiresAt %v, expected %s", element["expiresAt"], cert.NotAfter.UTC().Format(time.RFC3339))
	}
	if _, err := time.Parse(time.RFC3339, fmt.Sprint(element["createdAt"])); err != nil {
		t.Errorf("createdAt %v is not RFC 3339", element["createdAt"])
	}

	deleted := ts.mustCall(http.MethodDelete, ts.certificatesPath("")+"/"+id, nil, callOptions{})
	if deleted.status != http.StatusOK || deleted.meta()["httpStatus"] != "200 - OK" {
		t.Fatalf("delete: status %d, body %s", deleted.status, deleted.rawBody)
	}
	if _, present := deleted.body["result"]; present {
		t.Errorf("delete response has a result: %s", deleted.rawBody)
	}
	listed = ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{})
	if elements, _ := listed.result()["elements"].([]any); len(elements) != 0 {
		t.Errorf("list after delete returned %d elements", len(elements))
	}
	again := ts.mustCall(http.MethodDelete, ts.certificatesPath("")+"/"+id, nil, callOptions{})
	expectStatus(t, "second delete", again, http.StatusNotFound, "CERTIFICATE_NOT_FOUND")

	state := ts.state()
	certs := state.Organizations["simorg"].Certificates
	if len(certs) != 1 || certs[0].State != "deleted" || certs[0].DeletedAt == nil {
		t.Errorf("state after delete: %+v", certs)
	}
	if got := state.Requests["create"]; got.Total != 1 || got.ByStatus["200"] != 1 {
		t.Errorf("create counter %+v", got)
	}
	if got := state.Requests["delete"]; got.Total != 2 || got.ByStatus["200"] != 1 || got.ByStatus["404"] != 1 {
		t.Errorf("delete counter %+v", got)
	}
}

func TestCreateAcceptsEveryKeyType(t *testing.T) {
	ts := startSim(t, nil)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]crypto.Signer{"rsa2048": rsaKey, "p384": p384, "ed25519": edKey} {
		t.Run(name, func(t *testing.T) {
			result := ts.mustCall(http.MethodPost, ts.certificatesPath(""), map[string]string{"certificateRequest": newCSR(t, key)}, callOptions{})
			if result.status != http.StatusOK {
				t.Fatalf("status %d, body %s", result.status, result.rawBody)
			}
			cert := parseCertificatePEM(t, result.result()["certificate"].(string))
			if !key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(cert.PublicKey) {
				t.Error("issued certificate does not carry the CSR's public key")
			}
		})
	}
}

func TestCreateAcceptsSingleLinePEM(t *testing.T) {
	ts := startSim(t, nil)
	csr := strings.ReplaceAll(newCSR(t, newECKey(t)), "\n", "")
	if !strings.HasPrefix(csr, "-----BEGIN CERTIFICATE REQUEST-----MI") {
		t.Fatalf("test CSR has the wrong form: %q", csr[:50])
	}
	result := ts.mustCall(http.MethodPost, ts.certificatesPath(""), map[string]string{"certificateRequest": csr}, callOptions{})
	if result.status != http.StatusOK {
		t.Fatalf("status %d, body %s", result.status, result.rawBody)
	}
}

func TestCreateRejectsMalformedRequest(t *testing.T) {
	ts := startSim(t, nil)
	csr := newCSR(t, newECKey(t))
	block, _ := pem.Decode([]byte(csr))
	tampered := append([]byte(nil), block.Bytes...)
	tampered[len(tampered)-5] ^= 0x01 // inside the signature
	tamperedPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: tampered}))
	certAsCSR := strings.ReplaceAll(strings.ReplaceAll(string(ts.server.CAPEM()), "CERTIFICATE", "CERTIFICATE REQUEST"), "REQUEST REQUEST", "REQUEST")
	jsonEscaped, _ := json.Marshal(csr)

	cases := []struct {
		name   string
		body   []byte
		status int
		code   string
	}{
		{"raw line breaks in JSON string", []byte(`{"certificateRequest": "` + csr + `"}`), 500, "INTERNAL_SERVER_ERROR"},
		{"line breaks escaped twice", []byte(`{"certificateRequest": ` + strings.ReplaceAll(string(jsonEscaped), `\n`, `\\n`) + `}`), 500, "INTERNAL_SERVER_ERROR"},
		{"line break inside the header", mustJSON(t, strings.Replace(csr, "CERTIFICATE REQUEST", "CERTIFICATE\nREQUEST", 1)), 500, "INTERNAL_SERVER_ERROR"},
		{"not PEM", mustJSON(t, "MIIBhello"), 500, "INTERNAL_SERVER_ERROR"},
		{"bad base64", mustJSON(t, "-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n"), 500, "INTERNAL_SERVER_ERROR"},
		{"certificate instead of CSR", mustJSON(t, certAsCSR), 500, "INTERNAL_SERVER_ERROR"},
		{"bad signature", mustJSON(t, tamperedPEM), 500, "INTERNAL_SERVER_ERROR"},
		{"truncated", mustJSON(t, csr[:len(csr)/2]), 500, "INTERNAL_SERVER_ERROR"},
		{"not JSON", []byte("certificateRequest=abc"), 500, "INTERNAL_SERVER_ERROR"},
		{"missing field", []byte(`{"csr": "x"}`), 400, "CERTIFICATE_REQUEST_MISSING"},
		{"empty field", []byte(`{"certificateRequest": ""}`), 400, "CERTIFICATE_REQUEST_MISSING"},
		{"too large", mustJSON(t, strings.Repeat("A", maxBodyBytes)), 413, "REQUEST_TOO_LARGE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			result := ts.mustCall(http.MethodPost, ts.certificatesPath(""), nil, callOptions{rawBody: tc.body})
			expectStatus(t, tc.name, result, tc.status, tc.code)
		})
	}
	if used := ts.state().Organizations["simorg"].SlotsUsed; used != 0 {
		t.Errorf("%d certificates stored after malformed requests", used)
	}
}

func mustJSON(t testing.TB, csr string) []byte {
	t.Helper()
	body, err := json.Marshal(map[string]string{"certificateRequest": csr})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func TestAuthenticationErrors(t *testing.T) {
	ts := startSim(t, nil)
	cases := []struct {
		name    string
		method  string
		path    string
		options callOptions
		status  int
		code    string
	}{
		{"no token", http.MethodGet, ts.certificatesPath(""), callOptions{token: "-"}, 401, "AUTH_TOKEN_MISSING"},
		{"invalid token", http.MethodGet, ts.certificatesPath(""), callOptions{token: "wrong"}, 401, "AUTH_TOKEN_INVALID"},
		{"invalid bearer", http.MethodGet, ts.certificatesPath(""), callOptions{bearer: "wrong"}, 401, "AUTH_TOKEN_INVALID"},
		{"not brand administrator", http.MethodPost, ts.certificatesPath(""), callOptions{token: ts.ready.NonAdminToken}, 403, "NOT_BRAND_ADMINISTRATOR"},
		{"unknown organization", http.MethodGet, ts.certificatesPath("other"), callOptions{}, 404, "ORGANIZATION_NOT_FOUND"},
		{"unknown path", http.MethodGet, "/surveys", callOptions{}, 404, "NOT_FOUND"},
		{"wrong method", http.MethodPut, ts.certificatesPath(""), callOptions{}, 405, "METHOD_NOT_ALLOWED"},
		{"delete unknown id", http.MethodDelete, ts.certificatesPath("") + "/CC_unknown", callOptions{}, 404, "CERTIFICATE_NOT_FOUND"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			result := ts.mustCall(tc.method, tc.path, nil, tc.options)
			expectStatus(t, tc.name, result, tc.status, tc.code)
		})
	}
}

func TestQuotaCountsExpiredCertificates(t *testing.T) {
	ts := startSim(t, nil)
	for i := 0; i < 9; i++ {
		ts.mustCreate()
	}
	expired := ts.mustControl(http.MethodPost, "/certificates", map[string]any{"organization_id": "simorg", "expired": true})
	expiredID, _ := expired["id"].(string)

	state := ts.state()
	if got := state.Organizations["simorg"].SlotsUsed; got != 10 {
		t.Fatalf("slots_used %d, expired %v", got, expired)
	}
	expiredStates := 0
	for _, cert := range state.Organizations["simorg"].Certificates {
		if cert.State == "expired" {
			expiredStates++
		}
	}
	if expiredStates != 1 {
		t.Errorf("%d certificates in state expired, expected 1", expiredStates)
	}

	full, _ := ts.create(callOptions{})
	expectStatus(t, "eleventh create", full, http.StatusBadRequest, "CERT_LIMIT_REACHED")
	message, _ := full.meta()["error"].(map[string]any)["errorMessage"].(string)
	if !strings.Contains(message, "10 active client certificates") || !strings.Contains(message, "delete one") {
		t.Errorf("quota message %q does not name the limit and the fix", message)
	}

	listed := ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{})
	if elements, _ := listed.result()["elements"].([]any); len(elements) != 10 {
		t.Errorf("list returned %d elements, expected 10 including the expired one", len(elements))
	}

	ts.mustCall(http.MethodDelete, ts.certificatesPath("")+"/"+expiredID, nil, callOptions{})
	if result, _ := ts.create(callOptions{}); result.status != http.StatusOK {
		t.Fatalf("create after freeing a slot: status %d, body %s", result.status, result.rawBody)
	}
	again, _ := ts.create(callOptions{})
	expectStatus(t, "create when full again", again, http.StatusBadRequest, "CERT_LIMIT_REACHED")
}

func TestQuotaFollowsMaxActiveSetting(t *testing.T) {
	ts := startSim(t, func(c *Config) { c.Settings.MaxActive = 2 })
	ts.mustCreate()
	ts.mustCreate()
	full, _ := ts.create(callOptions{})
	expectStatus(t, "third create", full, http.StatusBadRequest, "CERT_LIMIT_REACHED")
	ts.mustControl(http.MethodPost, "/settings", map[string]any{"max_active": 3})
	if result, _ := ts.create(callOptions{}); result.status != http.StatusOK {
		t.Fatalf("create after raising max_active: status %d", result.status)
	}
}

func TestClockAdvanceExpiresCertificates(t *testing.T) {
	ts := startSim(t, nil)
	id, cert, _ := ts.mustCreate()
	clock := ts.mustControl(http.MethodPost, "/clock", map[string]any{"advance": "8785h"})
	if clock["offset"] != "8785h0m0s" {
		t.Errorf("clock offset %v", clock["offset"])
	}
	state := ts.state()
	got := state.Organizations["simorg"].Certificates[0]
	if got.ID != id || got.State != "expired" {
		t.Errorf("certificate after a year: %+v", got)
	}
	if !state.Now.After(cert.NotAfter) {
		t.Errorf("simulated now %s is not after not-after %s", state.Now, cert.NotAfter)
	}
	if state.Organizations["simorg"].SlotsUsed != 1 {
		t.Errorf("expired certificate does not take a slot")
	}

	// A certificate issued now gets its validity from the simulated time.
	_, later, _ := ts.mustCreate()
	if later.NotAfter.Sub(cert.NotAfter) < 8780*time.Hour {
		t.Errorf("certificate issued after the clock moved expires at %s", later.NotAfter)
	}
	if later.NotBefore.After(time.Now()) {
		t.Errorf("not-before %s is in the real future", later.NotBefore)
	}

	status, _ := ts.control(http.MethodPost, "/clock", map[string]any{"advance": "-1h"})
	if status != http.StatusBadRequest {
		t.Errorf("negative advance: status %d", status)
	}
	ts.mustControl(http.MethodPost, "/clock", map[string]any{"offset": "0s"})
	if ts.state().Organizations["simorg"].Certificates[0].State != "active" {
		t.Error("certificate is not active after the clock offset returned to 0")
	}
}

func TestCertValiditySetting(t *testing.T) {
	ts := startSim(t, func(c *Config) { c.Settings.CertValidity = Duration(48 * time.Hour) })
	_, cert, _ := ts.mustCreate()
	if validity := time.Until(cert.NotAfter); validity < 47*time.Hour || validity > 49*time.Hour {
		t.Errorf("validity %s, expected 48h", validity)
	}
	ts.mustControl(http.MethodPost, "/settings", map[string]any{"cert_validity": "2h"})
	_, short, _ := ts.mustCreate()
	if validity := time.Until(short.NotAfter); validity < time.Hour || validity > 2*time.Hour {
		t.Errorf("validity after the setting changed %s, expected 2h", validity)
	}
}

func TestListPagination(t *testing.T) {
	ts := startSim(t, func(c *Config) { c.Settings.ListPageSize = 2 })
	var ids []string
	for i := 0; i < 3; i++ {
		id, _, _ := ts.mustCreate()
		ids = append(ids, id)
	}
	first := ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{})
	elements, _ := first.result()["elements"].([]any)
	next, _ := first.result()["nextPage"].(string)
	if len(elements) != 2 || !strings.HasSuffix(next, "/clientcertificates?offset=2") || !strings.HasPrefix(next, ts.ready.BaseURL) {
		t.Fatalf("first page: %d elements, nextPage %q", len(elements), next)
	}
	second := ts.mustCall(http.MethodGet, next, nil, callOptions{})
	elements, _ = second.result()["elements"].([]any)
	if len(elements) != 1 || elements[0].(map[string]any)["id"] != ids[2] || second.result()["nextPage"] != nil {
		t.Fatalf("second page: %s", second.rawBody)
	}
	bad := ts.mustCall(http.MethodGet, ts.certificatesPath("")+"?offset=-1", nil, callOptions{})
	expectStatus(t, "negative offset", bad, http.StatusBadRequest, "INVALID_PARAMETER")
}

func TestRequestIDCounterFormat(t *testing.T) {
	ts := startSim(t, func(c *Config) { c.RequestIDFormat = "counter" })
	first := ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{})
	second := ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{})
	if first.meta()["requestId"] != "sim-000001" || second.meta()["requestId"] != "sim-000002" {
		t.Errorf("request ids %v, %v", first.meta()["requestId"], second.meta()["requestId"])
	}
}

func TestMultipleOrganizations(t *testing.T) {
	ts := startSim(t, func(c *Config) { c.Organizations = []string{"orgA", "orgB"}; c.Settings.MaxActive = 1 })
	key := newECKey(t)
	for _, org := range []string{"orgA", "orgB"} {
		result := ts.mustCall(http.MethodPost, ts.certificatesPath(org), map[string]string{"certificateRequest": newCSR(t, key)}, callOptions{})
		if result.status != http.StatusOK {
			t.Fatalf("create in %s: status %d", org, result.status)
		}
	}
	id, _ := ts.mustCall(http.MethodGet, ts.certificatesPath("orgA"), nil, callOptions{}).result()["elements"].([]any)[0].(map[string]any)["id"].(string)
	crossDelete := ts.mustCall(http.MethodDelete, ts.certificatesPath("orgB")+"/"+id, nil, callOptions{})
	expectStatus(t, "delete through another organization", crossDelete, http.StatusNotFound, "CERTIFICATE_NOT_FOUND")
}

func TestIssuedCertificateHasRSAKeyEncipherment(t *testing.T) {
	ts := startSim(t, nil)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	result := ts.mustCall(http.MethodPost, ts.certificatesPath(""), map[string]string{"certificateRequest": newCSR(t, key)}, callOptions{})
	if result.status != http.StatusOK {
		t.Fatalf("status %d, body %s", result.status, result.rawBody)
	}
	cert := parseCertificatePEM(t, result.result()["certificate"].(string))
	if cert.KeyUsage&x509.KeyUsageKeyEncipherment == 0 {
		t.Errorf("RSA certificate key usage %b lacks key encipherment", cert.KeyUsage)
	}
	if !bytes.Equal(cert.RawSubject, mustParseCSR(t, newCSR(t, key)).RawSubject) {
		t.Error("subject bytes differ from the CSR")
	}
}

func mustParseCSR(t *testing.T, text string) *x509.CertificateRequest {
	t.Helper()
	csr, err := parseCertificateRequestPEM(text)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}
