package main

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// testSim is a simulator started in-process for one test, with helpers to call it.
type testSim struct {
	t      *testing.T
	server *Server
	ready  ReadyInfo
	roots  *x509.CertPool
}

func startSim(t *testing.T, configure func(*Config)) *testSim {
	t.Helper()
	config := DefaultConfig()
	config.ControlToken = "test-control-token"
	if configure != nil {
		configure(&config)
	}
	server, err := NewServer(config)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	t.Cleanup(server.Close)
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(server.CAPEM()) {
		t.Fatal("CA PEM does not parse")
	}
	return &testSim{t: t, server: server, ready: server.Ready(), roots: roots}
}

// httpClient returns a client that trusts the simulator CA, presents clientCert when given and
// opens a new connection per request, so that a dropped connection is never retried silently.
func (ts *testSim) httpClient(clientCert *tls.Certificate, timeout time.Duration) *http.Client {
	tlsConfig := &tls.Config{RootCAs: ts.roots, MinVersion: tls.VersionTLS12}
	if clientCert != nil {
		tlsConfig.Certificates = []tls.Certificate{*clientCert}
	}
	return &http.Client{
		Timeout:   timeout,
		Transport: &http.Transport{TLSClientConfig: tlsConfig, DisableKeepAlives: true},
	}
}

// callOptions tune one API call.
type callOptions struct {
	token      string // X-API-TOKEN; "-" sends none
	bearer     string
	clientCert *tls.Certificate
	rawBody    []byte
	timeout    time.Duration
}

type apiResult struct {
	status  int
	header  http.Header
	body    map[string]any
	rawBody []byte
}

func (r apiResult) meta() map[string]any {
	meta, _ := r.body["meta"].(map[string]any)
	return meta
}

func (r apiResult) errorCode() string {
	errorObject, _ := r.meta()["error"].(map[string]any)
	code, _ := errorObject["errorCode"].(string)
	return code
}

func (r apiResult) result() map[string]any {
	result, _ := r.body["result"].(map[string]any)
	return result
}

// call sends one request to the simulated API; path is relative to the base URL, or absolute
// when it starts with https://.
func (ts *testSim) call(method, path string, body any, options callOptions) (apiResult, error) {
	target := path
	if !strings.HasPrefix(path, "https://") {
		target = ts.ready.BaseURL + path
	}
	var reader io.Reader
	if options.rawBody != nil {
		reader = bytes.NewReader(options.rawBody)
	} else if body != nil {
		encoded, err := json.Marshal(body)
		if err != nil {
			ts.t.Fatalf("encode body: %v", err)
		}
		reader = bytes.NewReader(encoded)
	}

	request, err := http.NewRequest(method, target, reader)
	if err != nil {
		ts.t.Fatalf("new request: %v", err)
	}
	if reader != nil {
		request.Header.Set("Content-Type", "application/json")
	}
	request.Header.Set("Accept", "application/json")
	switch {
	case options.bearer != "":
		request.Header.Set("Authorization", "Bearer "+options.bearer)
	case options.token == "":
		request.Header.Set("X-API-TOKEN", ts.ready.APIToken)
	case options.token != "-":
		request.Header.Set("X-API-TOKEN", options.token)
	}

	timeout := options.timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	response, err := ts.httpClient(options.clientCert, timeout).Do(request)
	if err != nil {
		return apiResult{}, err
	}
	defer response.Body.Close()
	raw, err := io.ReadAll(response.Body)
	if err != nil {
		return apiResult{}, err
	}

	result := apiResult{status: response.StatusCode, header: response.Header, rawBody: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &result.body); err != nil {
			ts.t.Fatalf("%s %s: response is not JSON: %v: %q", method, path, err, raw)
		}
	}
	return result, nil
}

// mustCall is call that fails the test on a transport error.
func (ts *testSim) mustCall(method, path string, body any, options callOptions) apiResult {
	ts.t.Helper()
	result, err := ts.call(method, path, body, options)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	return result
}

func (ts *testSim) certificatesPath(org string) string {
	if org == "" {
		org = ts.ready.OrganizationID
	}
	return "/organizations/" + url.PathEscape(org) + "/clientcertificates"
}

// create posts a CSR for a new P-256 key and returns the call result and the key.
func (ts *testSim) create(options callOptions) (apiResult, *ecdsa.PrivateKey) {
	ts.t.Helper()
	key := newECKey(ts.t)
	result := ts.mustCall(http.MethodPost, ts.certificatesPath(""), map[string]string{"certificateRequest": newCSR(ts.t, key)}, options)
	return result, key
}

// mustCreate creates a certificate and returns its id, the certificate and the key as a TLS
// client certificate.
func (ts *testSim) mustCreate() (string, *x509.Certificate, tls.Certificate) {
	ts.t.Helper()
	result, key := ts.create(callOptions{})
	if result.status != http.StatusOK {
		ts.t.Fatalf("create: status %d, body %s", result.status, result.rawBody)
	}
	certPEM, _ := result.result()["certificate"].(string)
	id, _ := result.result()["id"].(string)
	cert := parseCertificatePEM(ts.t, certPEM)
	return id, cert, tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key}
}

// control calls the control API and decodes the JSON response.
func (ts *testSim) control(method, path string, body any) (int, map[string]any) {
	ts.t.Helper()
	status, raw := ts.controlRaw(method, path, body, ts.ready.ControlToken)
	var decoded map[string]any
	if err := json.Unmarshal(raw, &decoded); err != nil {
		ts.t.Fatalf("control %s %s: response is not JSON: %q", method, path, raw)
	}
	return status, decoded
}

func (ts *testSim) controlRaw(method, path string, body any, token string) (int, []byte) {
	ts.t.Helper()
	var reader io.Reader
	if body != nil {
		encoded, err := json.Marshal(body)
		if err != nil {
			ts.t.Fatalf("encode body: %v", err)
		}
		reader = bytes.NewReader(encoded)
	}
	request, err := http.NewRequest(method, ts.ready.ControlURL+path, reader)
	if err != nil {
		ts.t.Fatalf("new request: %v", err)
	}
	if token != "" {
		request.Header.Set("X-Sim-Control-Token", token)
	}
	response, err := ts.httpClient(nil, 40*time.Second).Do(request)
	if err != nil {
		ts.t.Fatalf("control %s %s: %v", method, path, err)
	}
	defer response.Body.Close()
	raw, err := io.ReadAll(response.Body)
	if err != nil {
		ts.t.Fatalf("control %s %s: read body: %v", method, path, err)
	}
	return response.StatusCode, raw
}

// mustControl calls the control API and fails the test unless it returns 200.
func (ts *testSim) mustControl(method, path string, body any) map[string]any {
	ts.t.Helper()
	status, decoded := ts.control(method, path, body)
	if status != http.StatusOK {
		ts.t.Fatalf("control %s %s: status %d: %v", method, path, status, decoded)
	}
	return decoded
}

// state returns GET /_sim/state decoded into its Go type.
func (ts *testSim) state() stateSnapshot {
	ts.t.Helper()
	status, raw := ts.controlRaw(http.MethodGet, "/state", nil, ts.ready.ControlToken)
	if status != http.StatusOK {
		ts.t.Fatalf("state: status %d: %s", status, raw)
	}
	var snapshot stateSnapshot
	if err := json.Unmarshal(raw, &snapshot); err != nil {
		ts.t.Fatalf("state: %v: %s", err, raw)
	}
	return snapshot
}

func (ts *testSim) addFault(rule map[string]any) {
	ts.t.Helper()
	ts.mustControl(http.MethodPost, "/faults", rule)
}

func newECKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	return key
}

func newCSR(t testing.TB, key crypto.Signer) string {
	t.Helper()
	template := &x509.CertificateRequest{Subject: pkix.Name{
		CommonName: "fra1.qualtrics.com", Organization: []string{"Example Corp"}, OrganizationalUnit: []string{"IT"},
		Locality: []string{"Berlin"}, Province: []string{"Berlin"}, Country: []string{"DE"},
	}}
	der, err := x509.CreateCertificateRequest(rand.Reader, template, key)
	if err != nil {
		t.Fatalf("create CSR: %v", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

func parseCertificatePEM(t *testing.T, text string) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode([]byte(text))
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("not a PEM certificate: %q", text)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("parse certificate: %v", err)
	}
	return cert
}

func expectStatus(t *testing.T, what string, result apiResult, status int, code string) {
	t.Helper()
	if result.status != status {
		t.Fatalf("%s: status %d, expected %d; body %s", what, result.status, status, result.rawBody)
	}
	if got := result.meta()["httpStatus"]; got != httpStatusText(status) {
		t.Errorf("%s: meta.httpStatus %v, expected %q", what, got, httpStatusText(status))
	}
	if result.errorCode() != code {
		t.Errorf("%s: errorCode %q, expected %q; body %s", what, result.errorCode(), code, result.rawBody)
	}
	if id, _ := result.meta()["requestId"].(string); id == "" {
		t.Errorf("%s: meta.requestId is missing", what)
	}
}

func newPool(t testing.TB, caPEM []byte) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("CA PEM does not parse")
	}
	return pool
}
