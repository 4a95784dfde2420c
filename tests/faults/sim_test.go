package faults

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/vault-plugin-secrets-qualtrics/tests/host/vaulthost/hosttest"
)

// sim is one running simulator with a client for its control API.
type sim struct {
	*hosttest.Simulator
	client *http.Client
}

// startSim starts qualtrics-sim with extra flags and stops it when the test ends.
func startSim(t testing.TB, flags ...string) *sim {
	t.Helper()
	s := &sim{Simulator: hosttest.StartSimulator(t, flags...)}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(s.CAPEM)) {
		t.Fatalf("simulator CA %s contains no PEM certificate", s.CAFile)
	}
	s.client = &http.Client{
		Timeout:   40 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
	return s
}

// control sends one control API call and decodes the JSON response into out (when not nil).
func (s *sim) control(t testing.TB, method, path string, body interface{}, out interface{}) {
	t.Helper()
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.ControlURL+path, reader)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Sim-Control-Token", s.ControlToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("simulator control %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("simulator control %s %s: status %d: %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("simulator control %s %s: invalid JSON %q: %v", method, path, data, err)
		}
	}
}

// faultRule is one fault rule of the simulator's control API.
type faultRule struct {
	Match      string `json:"match"`
	Kind       string `json:"kind"`
	Status     int    `json:"status,omitempty"`
	RetryAfter string `json:"retry_after,omitempty"`
	Phase      string `json:"phase,omitempty"`
	Count      int    `json:"count,omitempty"`
	Skip       int    `json:"skip,omitempty"`
	Reset      bool   `json:"reset,omitempty"`
	DelayMS    int    `json:"delay_ms,omitempty"`
	ChunkBytes int    `json:"chunk_bytes,omitempty"`
}

func (s *sim) addFault(t testing.TB, rule faultRule) {
	t.Helper()
	s.control(t, http.MethodPost, "/faults", rule, nil)
}

func (s *sim) clearFaults(t testing.TB) {
	t.Helper()
	s.control(t, http.MethodDelete, "/faults", nil, nil)
}

// waitHeld waits up to wait for at least one held request and returns how many are held.
func (s *sim) waitHeld(t testing.TB, wait time.Duration) int {
	t.Helper()
	var held struct {
		Held []struct {
			ID int `json:"id"`
		} `json:"held"`
	}
	s.control(t, http.MethodGet, fmt.Sprintf("/held?min=1&wait_ms=%d", wait.Milliseconds()), nil, &held)
	return len(held.Held)
}

// releaseAll releases every held request with action (proceed or drop).
func (s *sim) releaseAll(t testing.TB, action string) {
	t.Helper()
	s.control(t, http.MethodPost, "/release", map[string]string{"action": action}, nil)
}

// simCert is one certificate in the simulator's state.
type simCert struct {
	ID    string `json:"id"`
	State string `json:"state"`
}

// simState is the part of GET /_sim/state the tests read.
type simState struct {
	Organizations map[string]struct {
		Certificates []simCert `json:"certificates"`
	} `json:"organizations"`
	Requests map[string]struct {
		Total    int            `json:"total"`
		ByStatus map[string]int `json:"by_status"`
	} `json:"requests"`
}

func (s *sim) state(t testing.TB) simState {
	t.Helper()
	var st simState
	s.control(t, http.MethodGet, "/state", nil, &st)
	return st
}

// activeIDs returns the ids of the organization's certificates that are not deleted (active or
// expired, because both take a slot).
func (s *sim) activeIDs(t testing.TB) []string {
	t.Helper()
	var ids []string
	for _, c := range s.state(t).Organizations[s.OrganizationID].Certificates {
		if c.State != "deleted" {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// insertCertificate adds a certificate held outside the mount and returns its id.
func (s *sim) insertCertificate(t testing.TB) string {
	t.Helper()
	var out struct {
		ID string `json:"id"`
	}
	s.control(t, http.MethodPost, "/certificates", map[string]interface{}{"organization_id": s.OrganizationID}, &out)
	return out.ID
}
