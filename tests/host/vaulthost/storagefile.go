package vaulthost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/vault/sdk/logical"
)

// storageFileVersion is the format version written to storage files.
const storageFileVersion = 1

// storageFile is the on-disk form of a mount's storage: each key with its raw value (base64 in
// JSON, because values are opaque bytes).
type storageFile struct {
	Version int               `json:"version"`
	Entries map[string][]byte `json:"entries"`
}

// LoadStorage returns an in-memory storage filled from the JSON file at path. A missing file
// yields an empty storage.
func LoadStorage(ctx context.Context, path string) (*logical.InmemStorage, error) {
	storage := new(logical.InmemStorage)
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return storage, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read storage file: %w", err)
	}
	var file storageFile
	if err := json.Unmarshal(raw, &file); err != nil {
		return nil, fmt.Errorf("storage file %s is not valid JSON: %w", path, err)
	}
	if file.Version != storageFileVersion {
		return nil, fmt.Errorf("storage file %s has version %d, expected %d", path, file.Version, storageFileVersion)
	}
	for key, value := range file.Entries {
		if err := storage.Put(ctx, &logical.StorageEntry{Key: key, Value: value}); err != nil {
			return nil, err
		}
	}
	return storage, nil
}

// SaveStorage writes every entry of storage to path as JSON, replacing the file atomically. The
// file is created with mode 0600 because entries may hold secrets such as private keys.
func SaveStorage(ctx context.Context, storage logical.Storage, path string) error {
	keys, err := logical.CollectKeys(ctx, storage)
	if err != nil {
		return fmt.Errorf("listing storage failed: %w", err)
	}
	file := storageFile{Version: storageFileVersion, Entries: make(map[string][]byte, len(keys))}
	for _, key := range keys {
		entry, err := storage.Get(ctx, key)
		if err != nil {
			return fmt.Errorf("reading storage key %q failed: %w", key, err)
		}
		if entry != nil {
			file.Entries[key] = entry.Value
		}
	}
	raw, err := json.MarshalIndent(file, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".vault-host-storage-*")
	if err != nil {
		return fmt.Errorf("cannot write storage file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(raw, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write storage file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot write storage file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("cannot write storage file: %w", err)
	}
	return nil
}
