// Package vaulthost runs a Vault backend plugin binary the way a Vault server does, using the
// Vault SDK's own plugin client (sdk/plugin, sdk/helper/pluginutil) and go-plugin. It stands in
// for the parts of Vault's core that live outside the SDK: the plugin catalog entry, the process
// bookkeeping that shares one process between mounts when the plugin supports multiplexing, the
// mount's storage and system view, and the router that turns a CLI-style operation into a
// logical.Request.
package vaulthost

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-secure-stdlib/base62"
	"github.com/hashicorp/vault/sdk/helper/consts"
	"github.com/hashicorp/vault/sdk/helper/pluginutil"
	"github.com/hashicorp/vault/sdk/helper/wrapping"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// DefaultVaultVersion is the Vault version the host reports to the plugin in VAULT_VERSION and
// through the system view.
const DefaultVaultVersion = "1.21.0"

// multiplexIDLength is the length of the random base62 id that Vault attaches to every call of
// one mount (Vault 1.14.10's plugin catalog uses 10 characters).
const multiplexIDLength = 10

// CatalogOptions configures a Catalog.
type CatalogOptions struct {
	// Name is the plugin's catalog name, also used as the mount type.
	Name string
	// Command is the path of the plugin binary.
	Command string
	// Args are passed to the binary as argv.
	Args []string
	// Env entries are added to the plugin's environment, as a catalog entry's env is.
	Env []string
	// VaultVersion is reported in VAULT_VERSION; empty means DefaultVaultVersion.
	VaultVersion string
	// Logger receives the host's log lines and the plugin's stderr lines; nil discards them.
	Logger hclog.Logger
}

// Catalog is a plugin catalog that holds one external secrets plugin. It implements
// pluginutil.LookRunnerUtil, so the SDK's plugin.NewBackendV5 can look the plugin up and start
// it through Catalog.NewPluginClient, as Vault's core does.
type Catalog struct {
	runner       pluginutil.PluginRunner
	vaultVersion string
	logger       hclog.Logger

	mu sync.Mutex
	// shared is the running process that later mounts reuse; nil until a process reports
	// multiplexing support.
	shared *Process
}

var _ pluginutil.LookRunnerUtil = (*Catalog)(nil)

// NewCatalog registers the binary at opts.Command, with its SHA-256 checksum computed now as
// `vault plugin register -sha256=…` would pin it. go-plugin checks the checksum before each
// start.
func NewCatalog(opts CatalogOptions) (*Catalog, error) {
	if opts.Name == "" {
		return nil, errors.New("plugin name is empty")
	}
	command, err := filepath.Abs(opts.Command)
	if err != nil {
		return nil, fmt.Errorf("invalid plugin path %q: %w", opts.Command, err)
	}
	sum, err := fileSHA256(command)
	if err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	version := opts.VaultVersion
	if version == "" {
		version = DefaultVaultVersion
	}
	return &Catalog{
		runner: pluginutil.PluginRunner{
			Name:    opts.Name,
			Type:    consts.PluginTypeSecrets,
			Command: command,
			Args:    opts.Args,
			Env:     opts.Env,
			Sha256:  sum,
		},
		vaultVersion: version,
		logger:       logger,
	}, nil
}

func fileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open plugin binary: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("cannot read plugin binary %q: %w", path, err)
	}
	return h.Sum(nil), nil
}

// Runner returns a copy of the catalog entry.
func (c *Catalog) Runner() *pluginutil.PluginRunner {
	r := c.runner
	return &r
}

// Logger returns the logger that receives host and plugin log lines.
func (c *Catalog) Logger() hclog.Logger { return c.logger }

// LookupPlugin implements pluginutil.Looker.
func (c *Catalog) LookupPlugin(ctx context.Context, name string, pluginType consts.PluginType) (*pluginutil.PluginRunner, error) {
	return c.LookupPluginVersion(ctx, name, pluginType, "")
}

// LookupPluginVersion implements pluginutil.Looker. The catalog holds one unversioned entry.
func (c *Catalog) LookupPluginVersion(_ context.Context, name string, pluginType consts.PluginType, version string) (*pluginutil.PluginRunner, error) {
	if name != c.runner.Name || pluginType != c.runner.Type || version != "" {
		return nil, fmt.Errorf("plugin not found in the catalog: %s %s %q", pluginType, name, version)
	}
	return c.Runner(), nil
}

// NewPluginClient implements pluginutil.RunnerUtil. It starts the plugin with the SDK's
// PluginRunner.RunConfig (the environment, AutoMTLS and checksum Vault uses), requests its
// multiplexing support, and returns a client whose calls carry a fresh multiplex_id. When the
// process already running supports multiplexing, the new client shares it, as Vault does.
func (c *Catalog) NewPluginClient(ctx context.Context, config pluginutil.PluginClientConfig) (pluginutil.PluginClient, error) {
	id, err := base62.Random(multiplexIDLength)
	if err != nil {
		return nil, err
	}

	c.mu.Lock()
	defer c.mu.Unlock()

	proc := c.shared
	if proc != nil && proc.client.Exited() {
		c.shared = nil
		proc = nil
	}
	if proc == nil {
		proc, err = c.startProcess(ctx, config)
		if err != nil {
			return nil, err
		}
		if proc.Multiplexed {
			c.shared = proc
		}
	}
	proc.mounts[id] = struct{}{}
	mc := &MountClient{
		ClientProtocol: proc.rpc,
		id:             id,
		process:        proc,
		catalog:        c,
		conn:           &multiplexConn{ClientConn: proc.rpc.Conn, id: id},
	}
	if slot, ok := ctx.Value(clientSlotKey{}).(**MountClient); ok {
		*slot = mc
	}
	return mc, nil
}

// clientSlotKey marks a context value of type **MountClient that NewPluginClient fills in, so
// a caller of plugin.NewBackendV5 learns which process and multiplex id its backend uses.
type clientSlotKey struct{}

func (c *Catalog) startProcess(ctx context.Context, config pluginutil.PluginClientConfig) (*Process, error) {
	wrapper := config.Wrapper
	if wrapper == nil {
		wrapper = c
	}
	logger := config.Logger
	if logger == nil {
		logger = c.logger.Named(c.runner.Name)
	}
	started := time.Now()
	client, err := c.runner.RunConfig(ctx,
		pluginutil.PluginSets(config.PluginSets),
		pluginutil.HandshakeConfig(config.HandshakeConfig),
		pluginutil.Logger(logger),
		pluginutil.MetadataMode(config.IsMetadataMode),
		pluginutil.AutoMTLS(config.AutoMTLS),
		pluginutil.MLock(config.MLock),
		pluginutil.Runner(wrapper),
	)
	if err != nil {
		return nil, err
	}
	// Start returns once the handshake line is read; Client then dials the plugin's socket.
	if _, err := client.Start(); err != nil {
		client.Kill()
		return nil, err
	}
	handshake := time.Since(started)
	rpcClient, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, err
	}
	connected := time.Since(started)
	grpcClient, ok := rpcClient.(*plugin.GRPCClient)
	if !ok {
		client.Kill()
		return nil, fmt.Errorf("plugin negotiated protocol %s, but Vault accepts only gRPC plugins", client.Protocol())
	}
	muxed, err := pluginutil.MultiplexingSupported(ctx, grpcClient.Conn, config.Name)
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("multiplexing support request failed: %w", err)
	}
	proc := &Process{
		Multiplexed:       muxed,
		HandshakeDuration: handshake,
		StartDuration:     connected,
		client:            client,
		rpc:               grpcClient,
		mounts:            map[string]struct{}{},
	}
	if rc := client.ReattachConfig(); rc != nil {
		proc.PID = rc.Pid
		if rc.Addr != nil {
			proc.Network = rc.Addr.Network()
			proc.Address = rc.Addr.String()
		}
	}
	return proc, nil
}

// release removes one mount's client and stops the process when no mount uses it any more. A
// process without multiplexing serves exactly one mount, so it stops at once.
func (c *Catalog) release(proc *Process, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := proc.mounts[id]; !ok {
		return fmt.Errorf("plugin client %s is already closed", id)
	}
	delete(proc.mounts, id)
	if len(proc.mounts) == 0 || proc.client.Exited() {
		// Kill calls Shutdown on the plugin's go-plugin controller and waits for it
		// to exit, forcing it after go-plugin's grace period.
		proc.client.Kill()
		if c.shared == proc {
			c.shared = nil
		}
	}
	return nil
}

// ResponseWrapData implements pluginutil.RunnerUtil. Vault uses it only for the legacy
// non-AutoMTLS start, whose unwrap endpoint this host does not serve.
func (c *Catalog) ResponseWrapData(context.Context, map[string]interface{}, time.Duration, bool) (*wrapping.ResponseWrapInfo, error) {
	return nil, errors.New("response wrapping is not available in vault-host: start plugins with AutoMTLS or in metadata mode")
}

// MlockEnabled implements pluginutil.RunnerUtil.
func (c *Catalog) MlockEnabled() bool { return false }

// VaultVersion implements pluginutil.RunnerUtil.
func (c *Catalog) VaultVersion(context.Context) (string, error) { return c.vaultVersion, nil }

// ClusterID implements pluginutil.RunnerUtil.
func (c *Catalog) ClusterID(context.Context) (string, error) { return "vault-host-cluster", nil }

// DownloadExtractVerifyPlugin implements pluginutil.RunnerUtil. Catalog entries here are local
// binaries, so there is nothing to download.
func (c *Catalog) DownloadExtractVerifyPlugin(context.Context, *pluginutil.PluginRunner) error {
	return errors.New("plugin download is not supported by vault-host")
}

// Process is one running plugin process.
type Process struct {
	// PID of the plugin process.
	PID int
	// Network and Address of the plugin's gRPC listener, e.g. "unix" and a socket path.
	Network string
	Address string
	// Multiplexed reports whether the plugin returned true from MultiplexingSupport.
	Multiplexed bool
	// HandshakeDuration is the time from starting the binary to reading its handshake line.
	HandshakeDuration time.Duration
	// StartDuration is the time from starting the binary to an open gRPC connection.
	StartDuration time.Duration

	client *plugin.Client
	rpc    *plugin.GRPCClient
	mounts map[string]struct{}
}

// Exited reports whether the plugin process has exited.
func (p *Process) Exited() bool { return p.client.Exited() }

// NegotiatedVersion returns the app protocol version from the handshake line.
func (p *Process) NegotiatedVersion() int { return p.client.NegotiatedVersion() }

// Kill stops the process the way go-plugin does (graceful Shutdown first).
func (p *Process) Kill() { p.client.Kill() }

// MountClient is one mount's connection to a plugin process. It implements
// pluginutil.PluginClient; every call made through Conn carries the mount's multiplex_id.
type MountClient struct {
	plugin.ClientProtocol

	id      string
	process *Process
	catalog *Catalog
	conn    *multiplexConn
}

var _ pluginutil.PluginClient = (*MountClient)(nil)

// Conn returns the gRPC connection that tags each call with this mount's multiplex_id.
func (m *MountClient) Conn() grpc.ClientConnInterface { return m.conn }

// Close releases this mount's use of the process.
func (m *MountClient) Close() error { return m.catalog.release(m.process, m.id) }

// Reload implements pluginutil.PluginClient. vault-host has no plugin reload.
func (m *MountClient) Reload() error {
	return errors.New("plugin reload is not supported by vault-host")
}

// MultiplexID returns the id sent as multiplex_id metadata on this mount's calls.
func (m *MountClient) MultiplexID() string { return m.id }

// Process returns the process this mount talks to.
func (m *MountClient) Process() *Process { return m.process }

// multiplexConn adds the multiplex_id metadata to each unary call and stream.
type multiplexConn struct {
	*grpc.ClientConn
	id string
}

func (c *multiplexConn) withID(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, pluginutil.MultiplexingCtxKey, c.id)
}

func (c *multiplexConn) Invoke(ctx context.Context, method string, args, reply interface{}, opts ...grpc.CallOption) error {
	return c.ClientConn.Invoke(c.withID(ctx), method, args, reply, opts...)
}

func (c *multiplexConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return c.ClientConn.NewStream(c.withID(ctx), desc, method, opts...)
}
