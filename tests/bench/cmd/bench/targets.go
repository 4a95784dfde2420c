package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/vault-plugin-secrets-qualtrics/tests/host/vaulthost"
)

// Target keys, in the order the report lists them.
const (
	keyOurs  = "qualtrics"
	keyPeer  = "kv"
	keyFloor = "floor"
	// keyTLSFloor names the figures of the TLS floor program, which is not a plugin.
	keyTLSFloor = "tls-floor"
)

// target is one plugin under test: how to mount it, seed the entry the read benchmark reads, and
// check that a read returned that entry.
type target struct {
	Key     string
	Label   string
	Binary  string
	Options map[string]string
	// FirstPath is read right after the mount to time the first request that gets a response.
	FirstPath string
	// Seed stores the entry to read and returns the path of the read.
	Seed func(ctx context.Context, m *vaulthost.Mount) (string, error)
	// CheckRead returns an error when a read did not return the seeded entry.
	CheckRead func(resp *logical.Response) error

	catalog *vaulthost.Catalog
}

// countingStorage is the mount's in-memory storage with counts of calls, so the benchmark can
// report how many storage calls a read or an issuance makes over the broker.
type countingStorage struct {
	logical.InmemStorage
	gets    atomic.Int64
	puts    atomic.Int64
	deletes atomic.Int64
}

func (s *countingStorage) Get(ctx context.Context, key string) (*logical.StorageEntry, error) {
	s.gets.Add(1)
	return s.InmemStorage.Get(ctx, key)
}

func (s *countingStorage) Put(ctx context.Context, entry *logical.StorageEntry) error {
	s.puts.Add(1)
	return s.InmemStorage.Put(ctx, entry)
}

func (s *countingStorage) Delete(ctx context.Context, key string) error {
	s.deletes.Add(1)
	return s.InmemStorage.Delete(ctx, key)
}

// writes returns the number of Put and Delete calls so far.
func (s *countingStorage) writes() int64 { return s.puts.Load() + s.deletes.Load() }

// payload builds the entry that the Go peer and the floor store, shaped like the data of a
// cert/<role> read of our plugin (a real certificate PEM and the same field names), so every
// plugin returns a response of about the same size.
func payload(certificatePEM string) map[string]interface{} {
	return map[string]interface{}{
		"certificate":            certificatePEM,
		"serial_number":          "6b:0f:31:8e:7a:90:5c:11:2e:44:a8:13:d7:02:9b:c4",
		"expiration":             time.Now().Add(365 * 24 * time.Hour).Unix(),
		"not_before":             time.Now().Unix(),
		"qualtrics_id":           "CC_0123456789abcde",
		"role":                   "bench",
		"subject":                "CN=bench.qualtrics.com",
		"issuer":                 "CN=Qualtrics Simulator CA",
		"key_type":               "ec",
		"key_bits":               "P-256",
		"public_key_fingerprint": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		"renew_in_seconds":       26265600,
		"from_storage":           true,
	}
}

func newTargets(ourBinary, peerBinary, floorBinary string, sim *simulator, entry map[string]interface{}) []*target {
	ours := &target{
		Key:       keyOurs,
		Label:     "qualtrics (C++)",
		Binary:    ourBinary,
		FirstPath: "config",
		Seed: func(ctx context.Context, m *vaulthost.Mount) (string, error) {
			if err := configureOurs(ctx, m, sim); err != nil {
				return "", err
			}
			if err := writeRole(ctx, m, "bench", map[string]interface{}{"key_type": "ec"}); err != nil {
				return "", err
			}
			resp, err := readOK(ctx, m, "cert/bench")
			if err != nil {
				return "", fmt.Errorf("first issuance failed: %w", err)
			}
			if resp.Data["from_storage"] != false {
				return "", fmt.Errorf("the first read of cert/bench did not issue a certificate: from_storage=%v", resp.Data["from_storage"])
			}
			return "cert/bench", nil
		},
		CheckRead: func(resp *logical.Response) error {
			if resp == nil || resp.Data["from_storage"] != true {
				return errors.New("cert/bench was not served from storage")
			}
			return nil
		},
	}
	peer := &target{
		Key:       keyPeer,
		Label:     "kv v2 (Go peer)",
		Binary:    peerBinary,
		Options:   map[string]string{"version": "2"},
		FirstPath: "config",
		Seed: func(ctx context.Context, m *vaulthost.Mount) (string, error) {
			// The versioned store upgrades its storage layout in the background after Initialize
			// and rejects writes until that ends, as in Vault.
			deadline := time.Now().Add(30 * time.Second)
			for {
				res := m.Do(ctx, logical.UpdateOperation, m.Path+"data/bench", map[string]interface{}{"data": entry})
				if res.Err == nil && res.Status < 300 {
					return "data/bench", nil
				}
				if time.Now().After(deadline) {
					return "", fmt.Errorf("writing data/bench failed: status %d: %v", res.Status, res.Err)
				}
				time.Sleep(5 * time.Millisecond)
			}
		},
		CheckRead: func(resp *logical.Response) error {
			if resp == nil || resp.Data["data"] == nil {
				return errors.New("data/bench returned no data")
			}
			return nil
		},
	}
	floor := &target{
		Key:       keyFloor,
		Label:     "floor (Go, one Get)",
		Binary:    floorBinary,
		FirstPath: "value/first",
		Seed: func(ctx context.Context, m *vaulthost.Mount) (string, error) {
			encoded, err := jsonString(entry)
			if err != nil {
				return "", err
			}
			res := m.Do(ctx, logical.UpdateOperation, m.Path+"value/bench", map[string]interface{}{"value": encoded})
			if res.Err != nil {
				return "", fmt.Errorf("writing value/bench failed: %w", res.Err)
			}
			return "value/bench", nil
		},
		CheckRead: func(resp *logical.Response) error {
			if resp == nil || resp.Data["value"] == nil {
				return errors.New("value/bench returned no data")
			}
			return nil
		},
	}
	return []*target{ours, peer, floor}
}

// configureOurs writes the connection config that points our plugin at the simulator.
func configureOurs(ctx context.Context, m *vaulthost.Mount, sim *simulator) error {
	res := m.Do(ctx, logical.UpdateOperation, m.Path+"config", map[string]interface{}{
		"base_url":                sim.Ready.BaseURL,
		"organization_id":         sim.Ready.OrganizationID,
		"api_token":               sim.Ready.APIToken,
		"ca_bundle":               sim.CAPEM,
		"max_active_certificates": simMaxActive,
		"verify_connection":       false,
	})
	if res.Err != nil {
		return fmt.Errorf("writing config failed: %w", res.Err)
	}
	return nil
}

func writeRole(ctx context.Context, m *vaulthost.Mount, name string, fields map[string]interface{}) error {
	res := m.Do(ctx, logical.UpdateOperation, m.Path+"roles/"+name, fields)
	if res.Err != nil {
		return fmt.Errorf("writing roles/%s failed: %w", name, res.Err)
	}
	return nil
}

// readOK reads a path of the mount and fails on an error or an empty response.
func readOK(ctx context.Context, m *vaulthost.Mount, path string) (*logical.Response, error) {
	res := m.Do(ctx, logical.ReadOperation, m.Path+path, nil)
	if res.Err != nil {
		return nil, fmt.Errorf("reading %s failed: %w", path, res.Err)
	}
	if res.Response == nil {
		return nil, fmt.Errorf("reading %s returned no response", path)
	}
	return res.Response, nil
}
