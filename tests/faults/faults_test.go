package faults

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
)

// createCounts returns the simulator's create requests by status, e.g. "200:1 429:1".
func createCounts(t *testing.T, s *sim) string {
	t.Helper()
	byStatus := s.state(t).Requests["create"].ByStatus
	var parts []string
	for _, status := range []string{"200", "400", "401", "403", "429", "500", "503", "dropped", "client_closed"} {
		if n := byStatus[status]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s:%d", status, n))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

// TestTransientCreateFaults injects one fault into the create call of a first issuance.
func TestTransientCreateFaults(t *testing.T) {
	cases := []struct {
		name     string
		fault    string
		rules    []faultRule
		expected string
		// wantOK is whether the first read must succeed.
		wantOK bool
	}{
		{"lost_response", "create response lost after commit",
			[]faultRule{{Match: "create", Kind: "lost_response"}},
			"outcome unknown reconciled by list: read succeeds, exactly one certificate", true},
		{"retry_after", "429 with Retry-After: 1",
			[]faultRule{{Match: "create", Kind: "retry_after", Status: 429, RetryAfter: "1"}},
			"retried after the delay: read succeeds, one certificate", true},
		{"503_burst", "503 on 2 creates in a row",
			[]faultRule{{Match: "create", Kind: "status", Status: 503, Count: 2}},
			"retried: read succeeds, one certificate", true},
		{"slow_body", "create response body sent 64 bytes every 20 ms",
			[]faultRule{{Match: "create", Kind: "slow_body", DelayMS: 20, ChunkBytes: 64}},
			"read succeeds within the request timeout, one certificate", true},
		{"drop", "connection closed before the create is handled",
			[]faultRule{{Match: "create", Kind: "drop"}},
			"no certificate created twice; converged after rollback", false},
		{"drop_reset", "TCP reset before the create is handled",
			[]faultRule{{Match: "create", Kind: "drop", Reset: true}},
			"no certificate created twice; converged after rollback", false},
	}
	for _, c := range cases {
		c := c
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			for _, rule := range c.rules {
				e.sim.addFault(t, rule)
			}
			started := time.Now()
			res := e.do(logical.ReadOperation, "cert/app", nil)
			elapsed := time.Since(started)
			if c.wantOK && res.Err != nil {
				t.Errorf("read failed: %v", res.Err)
			}
			diffFirst := e.converged()
			if res.Err == nil && diffFirst != "" {
				t.Errorf("not converged after a successful read: %s", diffFirst)
			}
			if res.Err == nil && len(e.heldIDs()) != 1 {
				t.Errorf("mount lists %v, want exactly one certificate", e.heldIDs())
			}
			if c.name == "retry_after" && elapsed < 900*time.Millisecond {
				t.Errorf("read took %v, less than the 1 s Retry-After", elapsed)
			}
			first := fmt.Sprintf("read %s in %.1fs; creates %s; %s", describe(res), elapsed.Seconds(),
				createCounts(t, e.sim), e.counts())

			e.rollback()
			second := e.do(logical.ReadOperation, "cert/app", nil)
			if second.Err != nil {
				t.Errorf("second read failed: %v", second.Err)
			}
			if diff := e.converged(); diff != "" {
				t.Errorf("not converged after rollback and a second read: %s", diff)
			}
			if n := len(e.heldIDs()); n != 1 {
				t.Errorf("mount holds %d certificates after the second read, want 1", n)
			}
			if n := e.walCount(); n != 0 {
				t.Errorf("%d write-ahead entries left", n)
			}
			record(t, c.fault, c.expected, first+"; after rollback and a second read: "+e.counts())
		})
	}
}

// TestRejectedRequests covers faults that must fail the read with a clear error and leave
// nothing behind.
func TestRejectedRequests(t *testing.T) {
	cases := []struct {
		name     string
		fault    string
		setup    func(t *testing.T, e *env)
		wantText string
	}{
		{"wrong_ca_bundle", "CA bundle of another CA", func(t *testing.T, e *env) {
			e.mustDo(logical.UpdateOperation, "config", map[string]interface{}{"ca_bundle": otherCAPEM(t), "api_token": e.sim.APIToken, "verify_connection": false})
		}, ""},
		{"invalid_token", "revoked or invalid API token (401)", func(t *testing.T, e *env) {
			e.mustDo(logical.UpdateOperation, "config", map[string]interface{}{"api_token": "revoked-token-0000", "verify_connection": false})
		}, ""},
		{"non_admin_token", "token of a user who is not a brand administrator (403)", func(t *testing.T, e *env) {
			e.mustDo(logical.UpdateOperation, "config", map[string]interface{}{"api_token": "sim-nonadmin-token", "verify_connection": false})
		}, ""},
		{"quota_full", "organization quota full, slots held outside the mount", func(t *testing.T, e *env) {
			e.sim.control(t, "POST", "/settings", map[string]interface{}{"max_active": 1}, nil)
			e.external[e.sim.insertCertificate(t)] = true
		}, "quota"},
		{"503_persistent", "503 on every create", func(t *testing.T, e *env) {
			e.sim.addFault(t, faultRule{Match: "create", Kind: "status", Status: 503, Count: -1})
		}, ""},
	}
	for _, c := range cases {
		c := c
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			c.setup(t, e)
			res := e.do(logical.ReadOperation, "cert/app", nil)
			if res.Err == nil {
				t.Errorf("read succeeded with status %d, want an error", res.Status)
			}
			if res.Err != nil && c.wantText != "" && !strings.Contains(res.Err.Error(), c.wantText) {
				t.Errorf("error %q does not mention %q", res.Err, c.wantText)
			}
			if diff := e.converged(); diff != "" {
				t.Errorf("not converged: %s", diff)
			}
			if n := len(e.heldIDs()); n != 0 {
				t.Errorf("mount lists %d certificates after a failed read, want 0", n)
			}
			if n := e.walCount(); n != 0 {
				t.Errorf("%d write-ahead entries left after a rejected create", n)
			}
			record(t, c.fault, "read fails with an error, nothing created or stored",
				fmt.Sprintf("read %s; creates %s; %s", describe(res), createCounts(t, e.sim), e.counts()))
		})
	}
}

// TestStorageWriteErrors fails Vault storage writes of one kind during an issuance.
func TestStorageWriteErrors(t *testing.T) {
	cases := []struct {
		prefix string
		what   string
	}{
		{"wal/", "write-ahead entry"},
		{"certs/", "certificate record"},
		{"cert/", "current-certificate pointer"},
	}
	for _, c := range cases {
		c := c
		t.Run(strings.TrimSuffix(c.prefix, "/"), func(t *testing.T) {
			e := newEnv(t)
			e.storage.failPuts(c.prefix)
			res := e.do(logical.ReadOperation, "cert/app", nil)
			e.storage.failPuts("")
			if diff := e.converged(); diff != "" {
				t.Errorf("not converged right after the failed write: %s", diff)
			}
			first := fmt.Sprintf("read %s; %s", describe(res), e.counts())

			e.rollback()
			second := e.do(logical.ReadOperation, "cert/app", nil)
			if second.Err != nil {
				t.Errorf("read after the storage recovered failed: %v", second.Err)
			}
			if diff := e.converged(); diff != "" {
				t.Errorf("not converged after recovery: %s", diff)
			}
			// A record left without its current-certificate pointer is made current again, so
			// the second read must not take a second slot.
			if n := len(e.heldIDs()); n != 1 {
				t.Errorf("mount holds %d certificates after recovery, want 1", n)
			}
			if n := e.walCount(); n != 0 {
				t.Errorf("%d write-ahead entries left", n)
			}
			record(t, "Vault storage rejects writes of the "+c.what,
				"no certificate without a record; one certificate once storage works again",
				first+"; after rollback and a second read: "+e.counts())
		})
	}
}

// otherCAPEM returns a self-signed CA certificate that did not sign the simulator's server
// certificate.
func otherCAPEM(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(7),
		Subject:               pkix.Name{CommonName: "unrelated test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
