package vaulthost

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-uuid"
	"github.com/hashicorp/vault/sdk/helper/consts"
	"github.com/hashicorp/vault/sdk/logical"
	bplugin "github.com/hashicorp/vault/sdk/plugin"
)

// Mount is one enabled secrets mount of the plugin, with its own storage and system view.
type Mount struct {
	// Path is the mount path with a trailing slash, e.g. "qualtrics/".
	Path string
	// Accessor is the mount accessor Vault would generate, e.g. "qualtrics_1a2b3c4d".
	Accessor string
	// UUID is sent to Setup as the backend UUID.
	UUID string
	// Storage is the mount's storage, served to the plugin through the go-plugin broker.
	Storage logical.Storage
	// System is the mount's system view, served through the broker as well.
	System logical.SystemView
	// Backend is the SDK's client for the plugin backend (plugin.BackendPluginClientV5).
	Backend logical.Backend
	// Client is the mount's connection to the plugin process.
	Client *MountClient

	catalog     *Catalog
	disableOnce sync.Once
}

// MountOptions configures Enable.
type MountOptions struct {
	// Path is the mount path; a trailing slash is added when missing.
	Path string
	// Storage backs the mount; nil means a new logical.InmemStorage.
	Storage logical.Storage
	// System is the system view; nil means DefaultSystemView(catalog).
	System logical.SystemView
	// Options are the mount options passed to Setup next to plugin_name, plugin_type and
	// plugin_version.
	Options map[string]string
}

// DefaultSystemView returns the static system view a mount gets by default: Vault's default
// lease TTLs (768h), a mount that is not local, no replication, and the host's Vault version.
func DefaultSystemView(c *Catalog) logical.SystemView {
	return logical.StaticSystemView{
		DefaultLeaseTTLVal: 768 * time.Hour,
		MaxLeaseTTLVal:     768 * time.Hour,
		LocalMountVal:      false,
		VersionString:      c.vaultVersion,
		PluginEnvironment:  &logical.PluginEnvironment{VaultVersion: c.vaultVersion},
		ClusterUUID:        "vault-host-cluster",
	}
}

// Enable mounts the plugin as Vault does for `vault secrets enable`. plugin.NewBackendV5 looks the
// plugin up in the catalog and starts or reuses its process. Setup then sends the plugin the
// broker id under which this mount's storage and system view are served.
func (c *Catalog) Enable(ctx context.Context, opts MountOptions) (*Mount, error) {
	path := opts.Path
	if path == "" {
		path = c.runner.Name
	}
	path = strings.Trim(path, "/") + "/"

	storage := opts.Storage
	if storage == nil {
		storage = new(logical.InmemStorage)
	}
	system := opts.System
	if system == nil {
		system = DefaultSystemView(c)
	}
	backendUUID, err := uuid.GenerateUUID()
	if err != nil {
		return nil, err
	}
	accessor, err := uuid.GenerateUUID()
	if err != nil {
		return nil, err
	}

	var client *MountClient
	slotCtx := context.WithValue(ctx, clientSlotKey{}, &client)
	logger := c.logger
	backend, err := bplugin.NewBackendV5(slotCtx, c.runner.Name, consts.PluginTypeSecrets, "", c,
		&logical.BackendConfig{Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("starting plugin %s failed: %w", c.runner.Name, err)
	}

	config := map[string]string{}
	for k, v := range opts.Options {
		config[k] = v
	}
	config["plugin_name"] = c.runner.Name
	config["plugin_type"] = consts.PluginTypeSecrets.String()
	config["plugin_version"] = ""
	err = backend.Setup(ctx, &logical.BackendConfig{
		StorageView: storage,
		Logger:      logger,
		System:      system,
		Config:      config,
		BackendUUID: backendUUID,
	})
	if err != nil {
		backend.Cleanup(ctx)
		return nil, fmt.Errorf("plugin setup failed: %w", err)
	}
	if backend.Type() != logical.TypeLogical {
		backend.Cleanup(ctx)
		return nil, fmt.Errorf("plugin reported backend type %q, but a secrets engine must report %q",
			backend.Type(), logical.TypeLogical)
	}
	// Vault initializes a backend once it is mounted; plugins without Initialize are accepted.
	if err := backend.Initialize(ctx, &logical.InitializationRequest{Storage: storage}); err != nil {
		backend.Cleanup(ctx)
		return nil, fmt.Errorf("plugin initialize failed: %w", err)
	}
	return &Mount{
		Path:     path,
		Accessor: strings.TrimSuffix(c.runner.Name, "/") + "_" + accessor[:8],
		UUID:     backendUUID,
		Storage:  storage,
		System:   system,
		Backend:  backend,
		Client:   client,
		catalog:  c,
	}, nil
}

// Disable calls the plugin's Cleanup and releases the process, which exits once no mount uses
// it, as on `vault secrets disable`.
func (m *Mount) Disable(ctx context.Context) {
	m.disableOnce.Do(func() { m.Backend.Cleanup(ctx) })
}

// Process returns the plugin process serving this mount, or nil if unknown.
func (m *Mount) Process() *Process {
	if m.Client == nil {
		return nil
	}
	return m.Client.Process()
}

// NewRequest builds the logical.Request Vault's HTTP layer would build for an operation on
// fullPath, which must start with the mount path. A list request's path gets a trailing slash,
// as Vault adds one.
func (m *Mount) NewRequest(op logical.Operation, fullPath string, data map[string]interface{}) (*logical.Request, error) {
	rel, ok := m.RelativePath(fullPath)
	if !ok {
		return nil, fmt.Errorf("path %q is not under the mount %q", fullPath, m.Path)
	}
	if op == logical.ListOperation && rel != "" && !strings.HasSuffix(rel, "/") {
		rel += "/"
	}
	id, err := uuid.GenerateUUID()
	if err != nil {
		return nil, err
	}
	return &logical.Request{
		ID:            id,
		Operation:     op,
		Path:          rel,
		Data:          data,
		MountPoint:    m.Path,
		MountType:     m.catalog.runner.Name,
		MountAccessor: m.Accessor,
		DisplayName:   "root",
		Connection:    &logical.Connection{RemoteAddr: "127.0.0.1"},
	}, nil
}

// RelativePath strips the mount path from fullPath. It accepts the mount path with or without
// its trailing slash, the way `vault read qualtrics/` and `vault read qualtrics` name the root.
func (m *Mount) RelativePath(fullPath string) (string, bool) {
	fullPath = strings.TrimPrefix(fullPath, "/")
	if fullPath+"/" == m.Path {
		return "", true
	}
	if !strings.HasPrefix(fullPath, m.Path) {
		return "", false
	}
	return strings.TrimPrefix(fullPath, m.Path), true
}

// Result is the outcome of one request, with the HTTP status Vault would return.
type Result struct {
	Request  *logical.Request
	Response *logical.Response
	// Status is the HTTP status code Vault's HTTP layer derives (200, 204, 400, 404, 500, …).
	Status int
	// Err is the error Vault would report, nil on success.
	Err error
}

// Handle routes a request the way Vault's request handling does. A write (update) first runs the
// backend's existence check and becomes a create when the entry does not exist yet. The status
// code comes from logical.RespondErrorCommon, the function Vault's HTTP layer uses.
func (m *Mount) Handle(ctx context.Context, req *logical.Request) *Result {
	if req.Operation == logical.UpdateOperation || req.Operation == logical.CreateOperation {
		if err := m.resolveWriteOperation(ctx, req); err != nil {
			return m.result(req, nil, err)
		}
	}
	resp, err := m.Backend.HandleRequest(ctx, req)
	return m.result(req, resp, err)
}

func (m *Mount) resolveWriteOperation(ctx context.Context, req *logical.Request) error {
	checkFound, exists, err := m.Backend.HandleExistenceCheck(ctx, req)
	switch {
	case errors.Is(err, logical.ErrUnsupportedPath):
		// Vault lets the request itself fail with the unsupported-path error.
		checkFound = false
	case err != nil:
		return err
	}
	switch {
	case !checkFound:
		req.Operation = logical.UpdateOperation
	case exists:
		req.Operation = logical.UpdateOperation
	default:
		req.Operation = logical.CreateOperation
	}
	return nil
}

func (m *Mount) result(req *logical.Request, resp *logical.Response, err error) *Result {
	status, err := logical.RespondErrorCommon(req, resp, err)
	if err != nil {
		logical.AdjustErrorStatusCode(&status, err)
	}
	if status == 0 {
		status = 200
		if resp == nil || (len(resp.Data) == 0 && len(resp.Warnings) == 0 && resp.Secret == nil &&
			resp.Auth == nil && resp.WrapInfo == nil && resp.Redirect == "") {
			status = 204
		}
	}
	return &Result{Request: req, Response: resp, Status: status, Err: err}
}

// Do builds and handles a request in one step.
func (m *Mount) Do(ctx context.Context, op logical.Operation, fullPath string, data map[string]interface{}) *Result {
	req, err := m.NewRequest(op, fullPath, data)
	if err != nil {
		return &Result{Status: 400, Err: err}
	}
	return m.Handle(ctx, req)
}
