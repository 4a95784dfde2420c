// Command qualtrics-sim serves a simulated Qualtrics client-certificate API over HTTPS on
// loopback, for tests of the plugin's Qualtrics client. README.md describes the command line,
// the ready line, the API and the control API.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	logger := log.New(os.Stderr, "qualtrics-sim: ", log.LstdFlags|log.LUTC)
	options, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		// The flag package has already printed the message and usage.
		os.Exit(2)
	}
	options.config.Logger = logger

	// Signals are caught from before the ready line, so a caller may stop the process as soon as
	// it has read that line.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)

	server, err := NewServer(options.config)
	if err != nil {
		logger.Printf("failed to start: %v", err)
		os.Exit(1)
	}
	ready, err := json.Marshal(server.Ready())
	if err != nil {
		logger.Printf("failed to encode the ready line: %v", err)
		server.Close()
		os.Exit(1)
	}
	fmt.Fprintf(os.Stdout, "%s\n", ready)
	logger.Printf("listening on %s (state in %s)", server.Ready().BaseURL, server.Dir())

	reason := waitForExit(server, options, signals)
	logger.Printf("stopping: %s", reason)
	server.Close()
}

// waitForExit blocks until a signal, the end of stdin (when requested), the maximum lifetime,
// or a failure of the HTTP server, and returns which one happened.
func waitForExit(server *Server, options cliOptions, signals <-chan os.Signal) string {
	stdinClosed := make(chan struct{})
	if options.exitOnStdinEOF {
		go func() {
			_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
			close(stdinClosed)
		}()
	}

	lifetime := time.NewTimer(options.maxLifetime)
	defer lifetime.Stop()

	select {
	case sig := <-signals:
		return "received " + sig.String()
	case <-stdinClosed:
		return "stdin closed"
	case <-lifetime.C:
		return fmt.Sprintf("maximum lifetime of %s reached", options.maxLifetime)
	case err := <-server.Failed():
		return fmt.Sprintf("HTTP server failed: %v", err)
	}
}
