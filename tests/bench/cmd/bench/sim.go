package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"time"

	"github.com/vault-plugin-secrets-qualtrics/tests/host/vaulthost/hosttest"
)

// simulator is a running Qualtrics simulator process and a client for its control API.
type simulator struct {
	Ready hosttest.SimulatorReady
	// CAPEM is the simulator CA that signs its server certificate.
	CAPEM string

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	client *http.Client
}

// simState holds the parts of GET /_sim/state that the benchmark reads.
type simState struct {
	Requests map[string]struct {
		Total int `json:"total"`
	} `json:"requests"`
}

// startSimulator starts the simulator binary on a free loopback port and waits for its ready line.
// The process exits when stdin closes, so it cannot outlive the benchmark.
func startSimulator(ctx context.Context, binary string, maxActive int) (*simulator, error) {
	cmd := exec.Command(binary, "-listen", "127.0.0.1:0", "-exit-on-stdin-eof",
		"-max-active", fmt.Sprint(maxActive), "-max-lifetime", "2h")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the simulator %s failed: %w", binary, err)
	}

	sim := &simulator{cmd: cmd, stdin: stdin}
	lines := make(chan []byte, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadBytes('\n')
		lines <- line
		io.Copy(io.Discard, stdout)
	}()
	select {
	case line := <-lines:
		if err := json.Unmarshal(line, &sim.Ready); err != nil {
			sim.Stop()
			return nil, fmt.Errorf("invalid ready line from the simulator %q: %w", line, err)
		}
	case <-time.After(30 * time.Second):
		sim.Stop()
		return nil, fmt.Errorf("the simulator printed no ready line within 30s")
	case <-ctx.Done():
		sim.Stop()
		return nil, ctx.Err()
	}

	ca, err := os.ReadFile(sim.Ready.CAFile)
	if err != nil {
		sim.Stop()
		return nil, fmt.Errorf("reading the simulator CA failed: %w", err)
	}
	sim.CAPEM = string(ca)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		sim.Stop()
		return nil, fmt.Errorf("no certificate in the simulator CA file %s", sim.Ready.CAFile)
	}
	sim.client = &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}
	return sim, nil
}

// Stop closes the simulator's stdin, which makes it exit, and waits for it.
func (s *simulator) Stop() {
	s.stdin.Close()
	done := make(chan struct{})
	go func() {
		s.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

// control sends one control API call and decodes the JSON response into out when out is not nil.
func (s *simulator) control(method, path string, body any, out any) error {
	var reader io.Reader
	if body != nil {
		encoded, err := json.Marshal(body)
		if err != nil {
			return err
		}
		reader = bytes.NewReader(encoded)
	}
	req, err := http.NewRequest(method, s.Ready.ControlURL+path, reader)
	if err != nil {
		return err
	}
	req.Header.Set("X-Sim-Control-Token", s.Ready.ControlToken)
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("simulator control call %s %s failed: %w", method, path, err)
	}
	defer resp.Body.Close()
	payload, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("simulator control call %s %s returned %d: %s", method, path, resp.StatusCode, payload)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(payload, out)
}

// Creates returns how many certificate create calls the simulator has received since its last reset.
func (s *simulator) Creates() (int, error) {
	var state simState
	if err := s.control(http.MethodGet, "/state", nil, &state); err != nil {
		return 0, err
	}
	return state.Requests["create"].Total, nil
}

// Calls returns how many API calls of any kind (create, list, delete, token and others) the
// simulator has received since its last reset. Control calls are not counted.
func (s *simulator) Calls() (int, error) {
	var state simState
	if err := s.control(http.MethodGet, "/state", nil, &state); err != nil {
		return 0, err
	}
	total := 0
	for _, endpoint := range state.Requests {
		total += endpoint.Total
	}
	return total, nil
}

// Reset deletes every certificate and clears the counters.
func (s *simulator) Reset() error { return s.control(http.MethodPost, "/reset", nil, nil) }

// SetCertValidity changes the validity of certificates issued from now on, e.g. "3s".
func (s *simulator) SetCertValidity(validity string) error {
	return s.control(http.MethodPost, "/settings", map[string]any{"cert_validity": validity}, nil)
}
