package hosttest

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

// SimulatorBinaryEnv names the environment variable that contains the path of the built
// qualtrics-sim.
const SimulatorBinaryEnv = "QUALTRICS_SIM_BIN"

// SimulatorReady is the simulator's ready line (see tests/qualtrics-sim/README.md).
type SimulatorReady struct {
	BaseURL        string `json:"base_url"`
	CAFile         string `json:"ca_file"`
	ControlURL     string `json:"control_url"`
	ControlToken   string `json:"control_token"`
	OrganizationID string `json:"organization_id"`
	APIToken       string `json:"api_token"`
}

// Simulator is one running qualtrics-sim.
type Simulator struct {
	SimulatorReady
	// CAPEM is the PEM text of the CA that signed the simulator's server certificate.
	CAPEM string
}

// StartSimulator starts qualtrics-sim on a free loopback port with its state in a temporary
// folder, and stops it when the test ends. The simulator also exits by itself when its standard
// input closes or after 5 minutes. The flags follow these defaults and so override them: a later
// -max-lifetime wins.
func StartSimulator(t testing.TB, flags ...string) *Simulator {
	t.Helper()
	bin := os.Getenv(SimulatorBinaryEnv)
	if bin == "" {
		t.Fatalf("%s is not set: build the simulator with `go -C tests/qualtrics-sim build -o bin/qualtrics-sim .` and export its path", SimulatorBinaryEnv)
	}
	args := append([]string{"-listen", "127.0.0.1:0", "-exit-on-stdin-eof", "-max-lifetime", "5m",
		"-state-dir", t.TempDir()}, flags...)
	cmd := exec.Command(bin, args...)
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
	s := &Simulator{}
	if err := json.Unmarshal([]byte(line), &s.SimulatorReady); err != nil {
		t.Fatalf("invalid simulator ready line %q: %v; stderr:\n%s", line, err, stderr.String())
	}
	ca, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatalf("read simulator CA %s: %v", s.CAFile, err)
	}
	s.CAPEM = string(ca)
	return s
}
