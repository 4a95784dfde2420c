package main

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// requestToken posts to the token endpoint and returns the status and decoded body.
func (ts *testSim) requestToken(t *testing.T, form url.Values, id, secret string, clientCert *tls.Certificate) (int, map[string]any) {
	t.Helper()
	request, err := http.NewRequest(http.MethodPost, ts.ready.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	request.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		request.SetBasicAuth(id, secret)
	}
	response, err := ts.httpClient(clientCert, 10*time.Second).Do(request)
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	defer response.Body.Close()
	raw, _ := io.ReadAll(response.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("token response is not JSON: %q", raw)
	}
	return response.StatusCode, body
}

func clientCredentials(scope string) url.Values {
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	return form
}

func TestOAuthClientCredentials(t *testing.T) {
	ts := startSim(t, func(c *Config) { c.OAuthTokenLifetime = 30 * time.Minute })
	status, body := ts.requestToken(t, clientCredentials("manage:all"), ts.ready.OAuthClientID, ts.ready.OAuthClientSecret, nil)
	if status != http.StatusOK {
		t.Fatalf("token: status %d, body %v", status, body)
	}
	if body["token_type"] != "Bearer" || body["expires_in"] != float64(1800) || body["scope"] != "manage:all" {
		t.Errorf("token response %v", body)
	}
	bearer, _ := body["access_token"].(string)
	if len(bearer) < 32 {
		t.Fatalf("access_token %q is too short", bearer)
	}

	if result := ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{bearer: bearer}); result.status != http.StatusOK {
		t.Fatalf("list with bearer: status %d, body %s", result.status, result.rawBody)
	}
	if result, _ := ts.create(callOptions{bearer: bearer}); result.status != http.StatusOK {
		t.Fatalf("create with bearer: status %d, body %s", result.status, result.rawBody)
	}

	ts.mustControl(http.MethodPost, "/clock", map[string]any{"advance": "31m"})
	expired := ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{bearer: bearer})
	expectStatus(t, "expired bearer", expired, http.StatusUnauthorized, "AUTH_TOKEN_EXPIRED")

	if got := ts.state().TokensIssued; got != 1 {
		t.Errorf("tokens_issued %d, expected 1", got)
	}
}

func TestOAuthTokensExpireOnRequest(t *testing.T) {
	ts := startSim(t, nil)
	_, body := ts.requestToken(t, clientCredentials(""), ts.ready.OAuthClientID, ts.ready.OAuthClientSecret, nil)
	if body["scope"] != "manage:all" {
		t.Errorf("default scope %v", body["scope"])
	}
	bearer, _ := body["access_token"].(string)
	expired := ts.mustControl(http.MethodPost, "/tokens/expire", nil)
	if expired["expired"] != float64(1) {
		t.Errorf("tokens/expire returned %v", expired)
	}
	result := ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{bearer: bearer})
	expectStatus(t, "bearer after tokens/expire", result, http.StatusUnauthorized, "AUTH_TOKEN_EXPIRED")
}

func TestOAuthErrors(t *testing.T) {
	ts := startSim(t, func(c *Config) {
		c.OAuthClients = append(c.OAuthClients, OAuthClient{ID: "viewer", Secret: "viewer-secret", NonAdmin: true})
	})
	cases := []struct {
		name   string
		form   url.Values
		id     string
		secret string
		status int
		code   string
	}{
		{"wrong secret", clientCredentials("manage:all"), ts.ready.OAuthClientID, "wrong", 401, "invalid_client"},
		{"unknown client", clientCredentials("manage:all"), "nobody", "x", 401, "invalid_client"},
		{"no credentials", clientCredentials("manage:all"), "", "", 401, "invalid_client"},
		{"wrong grant", url.Values{"grant_type": {"password"}}, ts.ready.OAuthClientID, ts.ready.OAuthClientSecret, 400, "unsupported_grant_type"},
		{"missing grant", url.Values{}, ts.ready.OAuthClientID, ts.ready.OAuthClientSecret, 400, "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := ts.requestToken(t, tc.form, tc.id, tc.secret, nil)
			if status != tc.status || body["error"] != tc.code {
				t.Errorf("status %d body %v, expected %d %s", status, body, tc.status, tc.code)
			}
		})
	}

	t.Run("form credentials", func(t *testing.T) {
		form := clientCredentials("manage:all")
		form.Set("client_id", ts.ready.OAuthClientID)
		form.Set("client_secret", ts.ready.OAuthClientSecret)
		if status, body := ts.requestToken(t, form, "", "", nil); status != http.StatusOK {
			t.Errorf("status %d body %v", status, body)
		}
	})
	t.Run("non-admin client", func(t *testing.T) {
		_, body := ts.requestToken(t, clientCredentials("manage:all"), "viewer", "viewer-secret", nil)
		bearer, _ := body["access_token"].(string)
		result := ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{bearer: bearer})
		expectStatus(t, "non-admin bearer", result, http.StatusForbidden, "NOT_BRAND_ADMINISTRATOR")
	})
	t.Run("GET", func(t *testing.T) {
		result := ts.mustCall(http.MethodGet, strings.TrimSuffix(ts.ready.BaseURL, "/API/v3")+"/oauth2/token", nil, callOptions{})
		expectStatus(t, "GET token", result, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")
	})
}

// selfSignedClientCertificate returns a client certificate the simulator did not issue.
func selfSignedClientCertificate(t *testing.T) tls.Certificate {
	t.Helper()
	key := newECKey(t)
	template := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: "stranger"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// insertedClientCertificate inserts a certificate through the control API and returns its id
// and a TLS certificate with its generated key.
func (ts *testSim) insertedClientCertificate(t *testing.T, fields map[string]any) (string, tls.Certificate) {
	t.Helper()
	inserted := ts.mustControl(http.MethodPost, "/certificates", fields)
	pair, err := tls.X509KeyPair([]byte(inserted["certificate"].(string)), []byte(inserted["private_key"].(string)))
	if err != nil {
		t.Fatalf("inserted certificate and key do not form a pair: %v", err)
	}
	return inserted["id"].(string), pair
}

func TestMutualTLSMode(t *testing.T) {
	ts := startSim(t, func(c *Config) { c.Organizations = []string{"simorg", "otherorg"} })
	// The first certificate is created before mTLS is turned on, as Qualtrics advises.
	id, _, pair := ts.mustCreate()
	ts.mustControl(http.MethodPost, "/settings", map[string]any{"mtls": true})

	without := ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{})
	expectStatus(t, "no client certificate", without, http.StatusUnauthorized, "CLIENT_CERT_REQUIRED")

	stranger := selfSignedClientCertificate(t)
	unknown := ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{clientCert: &stranger})
	expectStatus(t, "foreign certificate", unknown, http.StatusUnauthorized, "CLIENT_CERT_UNKNOWN")

	with := ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{clientCert: &pair})
	if with.status != http.StatusOK {
		t.Fatalf("list with client certificate: status %d, body %s", with.status, with.rawBody)
	}
	renewed, _ := ts.create(callOptions{clientCert: &pair})
	if renewed.status != http.StatusOK {
		t.Fatalf("create with client certificate: status %d, body %s", renewed.status, renewed.rawBody)
	}
	// mTLS comes before the token check, and the token is still needed.
	noToken := ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{clientCert: &pair, token: "-"})
	expectStatus(t, "client certificate without token", noToken, http.StatusUnauthorized, "AUTH_TOKEN_MISSING")

	wrongOrg := ts.mustCall(http.MethodGet, ts.certificatesPath("otherorg"), nil, callOptions{clientCert: &pair})
	expectStatus(t, "certificate of another organization", wrongOrg, http.StatusForbidden, "CLIENT_CERT_WRONG_ORGANIZATION")

	status, _ := ts.requestToken(t, clientCredentials(""), ts.ready.OAuthClientID, ts.ready.OAuthClientSecret, nil)
	if status != http.StatusUnauthorized {
		t.Errorf("token endpoint without client certificate: status %d", status)
	}
	if status, body := ts.requestToken(t, clientCredentials(""), ts.ready.OAuthClientID, ts.ready.OAuthClientSecret, &pair); status != http.StatusOK {
		t.Errorf("token endpoint with client certificate: status %d, body %v", status, body)
	}

	_, expiredPair := ts.insertedClientCertificate(t, map[string]any{"organization_id": "simorg", "expired": true})
	expired := ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{clientCert: &expiredPair})
	expectStatus(t, "expired certificate", expired, http.StatusUnauthorized, "CLIENT_CERT_EXPIRED")

	ts.mustCall(http.MethodDelete, ts.certificatesPath("")+"/"+id, nil, callOptions{clientCert: &pair})
	revoked := ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{clientCert: &pair})
	expectStatus(t, "deleted certificate", revoked, http.StatusUnauthorized, "CLIENT_CERT_REVOKED")

	ts.mustControl(http.MethodPost, "/settings", map[string]any{"mtls": false})
	if result := ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{}); result.status != http.StatusOK {
		t.Errorf("after mTLS off: status %d", result.status)
	}
}

func TestMutualTLSFlagAndClockExpiry(t *testing.T) {
	ts := startSim(t, func(c *Config) { c.Settings.MTLS = true })
	_, pair := ts.insertedClientCertificate(t, map[string]any{"organization_id": "simorg", "validity": "24h"})
	if result := ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{clientCert: &pair}); result.status != http.StatusOK {
		t.Fatalf("status %d, body %s", result.status, result.rawBody)
	}
	ts.mustControl(http.MethodPost, "/clock", map[string]any{"advance": "25h"})
	result := ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{clientCert: &pair})
	expectStatus(t, "after the clock passed expiry", result, http.StatusUnauthorized, "CLIENT_CERT_EXPIRED")
}

func TestNoticeForCertificateNearExpiry(t *testing.T) {
	ts := startSim(t, nil)
	soonID, soon := ts.insertedClientCertificate(t, map[string]any{"organization_id": "simorg", "validity": "720h"})
	_, later := ts.insertedClientCertificate(t, map[string]any{"organization_id": "simorg"})

	result := ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{clientCert: &soon})
	notice, _ := result.meta()["notice"].(string)
	if !strings.Contains(notice, soonID) || !strings.Contains(notice, "expires on") || !strings.Contains(notice, "regenerate") {
		t.Errorf("notice %q does not name the certificate, its expiry and the fix", notice)
	}
	created, _ := ts.create(callOptions{clientCert: &soon})
	if _, present := created.meta()["notice"]; !present {
		t.Errorf("create response lacks the notice: %s", created.rawBody)
	}

	result = ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{clientCert: &later})
	if notice, present := result.meta()["notice"]; present {
		t.Errorf("notice %v for a certificate valid for a year", notice)
	}
	stranger := selfSignedClientCertificate(t)
	result = ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{clientCert: &stranger})
	if notice, present := result.meta()["notice"]; present {
		t.Errorf("notice %v for a certificate the simulator did not issue", notice)
	}

	ts.mustControl(http.MethodPost, "/clock", map[string]any{"advance": "7330h"})
	result = ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{clientCert: &later})
	if _, present := result.meta()["notice"]; !present {
		t.Errorf("no notice once the clock is within 60 days of expiry: %s", result.rawBody)
	}
}
