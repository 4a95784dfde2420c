package soak

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"
)

// simBinaryEnv names the environment variable with the path of the built qualtrics-sim.
const simBinaryEnv = "QUALTRICS_SIM_BIN"

// simReady is the part of the simulator's ready line (see tests/qualtrics-sim/README.md) that
// the soak test uses.
type simReady struct {
	BaseURL        string `json:"base_url"`
	CAFile         string `json:"ca_file"`
	OrganizationID string `json:"organization_id"`
	APIToken       string `json:"api_token"`
}

// sim is one running simulator.
type sim struct {
	simReady
	caPEM string
}

// startSim starts qualtrics-sim on a free loopback port and stops it when the test ends. The
// simulator also exits by itself when its standard input closes or after maxLifetime.
func startSim(t testing.TB, maxLifetime time.Duration) *sim {
	t.Helper()
	bin := os.Getenv(simBinaryEnv)
	if bin == "" {
		t.Fatalf("%s is not set: build the simulator with `go -C tests/qualtrics-sim build -o bin/qualtrics-sim .` and export its path", simBinaryEnv)
	}
	cmd := exec.Command(bin, "-listen", "127.0.0.1:0", "-exit-on-stdin-eof",
		"-max-lifetime", maxLifetime.String(), "-state-dir", t.TempDir())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})

	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
		io.Copy(io.Discard, stdout)
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(20 * time.Second):
		t.Fatalf("simulator printed no ready line within 20s; stderr:\n%s", stderr.String())
	}
	s := &sim{}
	if err := json.Unmarshal([]byte(line), &s.simReady); err != nil {
		t.Fatalf("invalid simulator ready line %q: %v; stderr:\n%s", line, err, stderr.String())
	}
	ca, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatalf("read simulator CA: %v", err)
	}
	s.caPEM = string(ca)
	return s
}
