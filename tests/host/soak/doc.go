// Package soak holds a bounded load test of the built plugin binary. Concurrent callers send
// thousands of certificate reads against the Qualtrics simulator while the test samples the
// plugin's resident memory, open file descriptors and threads from /proc and checks that they
// stay flat. The plugin comes from PLUGIN_BINARY and the simulator from QUALTRICS_SIM_BIN; the
// tests build nothing themselves.
package soak
