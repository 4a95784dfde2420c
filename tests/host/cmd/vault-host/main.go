// Command vault-host starts a Vault secrets plugin binary the way a Vault server does and sends
// it requests, with output shaped like the vault CLI's:
//
//	vault-host -plugin PATH -storage state.json write qualtrics/config organization_id=ORG base_url=URL
//	vault-host -plugin PATH -storage state.json read qualtrics/config
//	vault-host -plugin PATH path-help qualtrics/config
//	vault-host -plugin PATH shell < commands.txt
//
// Each invocation starts one plugin process and stops it before exiting. -storage keeps the
// mount's storage in a JSON file between invocations; shell runs many commands against one
// process.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-multierror"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-plugin-secrets-qualtrics/tests/host/vaulthost"
)

const usage = `Usage: vault-host [global options] COMMAND [options] ARGS

Starts the plugin binary as Vault does (go-plugin v5, AutoMTLS, broker-served storage) and sends
it requests on one mount.

Commands:
  read PATH                 read a path (-field=NAME prints one field)
  write PATH [K=V ...]      write a path; V may be @FILE to read the value from a file
  list PATH                 list the keys under a path
  delete PATH               delete a path
  path-help PATH            print the help text of a path
  openapi [PATH]            print the OpenAPI document the plugin returns for PATH (default: mount)
  shell                     read one command per line from standard input (same syntax as above)

Global options:
`

// exit codes, as the vault CLI uses them.
const (
	exitOK       = 0
	exitLocal    = 1 // usage or local error
	exitResponse = 2 // the request failed or found nothing
)

type globalOptions struct {
	pluginPath   string
	pluginName   string
	mountPath    string
	storagePath  string
	format       string
	logLevel     string
	vaultVersion string
	timeout      time.Duration
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var opts globalOptions
	fs := flag.NewFlagSet("vault-host", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&opts.pluginPath, "plugin", os.Getenv("PLUGIN_BINARY"), "path of the plugin binary (default: $PLUGIN_BINARY)")
	fs.StringVar(&opts.pluginName, "name", "", "catalog name of the plugin (default: the binary's file name)")
	fs.StringVar(&opts.mountPath, "mount", "qualtrics/", "mount path the plugin is enabled at")
	fs.StringVar(&opts.storagePath, "storage", "", "JSON file that keeps the mount's storage between invocations (default: memory only)")
	fs.StringVar(&opts.format, "format", "table", "output format: table or json")
	fs.StringVar(&opts.logLevel, "log-level", "warn", "level of host and plugin log lines on stderr: trace, debug, info, warn, error, off")
	fs.StringVar(&opts.vaultVersion, "vault-version", vaulthost.DefaultVaultVersion, "Vault version reported to the plugin")
	fs.DurationVar(&opts.timeout, "timeout", 2*time.Minute, "maximum time for one request")
	if err := fs.Parse(args); err != nil {
		return exitLocal
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitLocal
	}
	if opts.pluginPath == "" {
		fmt.Fprintln(stderr, "Error: no plugin binary: pass -plugin PATH or set PLUGIN_BINARY")
		return exitLocal
	}
	if opts.pluginName == "" {
		opts.pluginName = filepath.Base(opts.pluginPath)
	}
	if opts.format != "table" && opts.format != "json" {
		fmt.Fprintf(stderr, "Error: invalid -format %q: use table or json\n", opts.format)
		return exitLocal
	}

	logger := hclog.New(&hclog.LoggerOptions{
		Name:   "vault-host",
		Level:  hclog.LevelFromString(opts.logLevel),
		Output: stderr,
	})
	if opts.logLevel == "off" {
		logger = hclog.NewNullLogger()
	}

	h := &host{opts: opts, stdin: stdin, stdout: stdout, stderr: stderr, logger: logger}
	if err := h.start(); err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return exitLocal
	}
	defer h.stop()

	command, rest := fs.Arg(0), fs.Args()[1:]
	if command == "shell" {
		return h.shell()
	}
	return h.execute(command, rest)
}

// host holds the running plugin and the mount between commands.
type host struct {
	opts   globalOptions
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	logger hclog.Logger
	mount  *vaulthost.Mount
}

func (h *host) start() error {
	catalog, err := vaulthost.NewCatalog(vaulthost.CatalogOptions{
		Name:         h.opts.pluginName,
		Command:      h.opts.pluginPath,
		VaultVersion: h.opts.vaultVersion,
		Logger:       h.logger,
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.opts.timeout)
	defer cancel()
	var storage logical.Storage
	if h.opts.storagePath != "" {
		storage, err = vaulthost.LoadStorage(ctx, h.opts.storagePath)
		if err != nil {
			return err
		}
	}
	h.mount, err = catalog.Enable(ctx, vaulthost.MountOptions{Path: h.opts.mountPath, Storage: storage})
	return err
}

func (h *host) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h.mount.Disable(ctx)
}

// save writes the storage file after each command, so a failed later command loses nothing.
func (h *host) save() int {
	if h.opts.storagePath == "" {
		return exitOK
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.opts.timeout)
	defer cancel()
	if err := vaulthost.SaveStorage(ctx, h.mount.Storage, h.opts.storagePath); err != nil {
		fmt.Fprintf(h.stderr, "Error saving storage: %v\n", err)
		return exitLocal
	}
	return exitOK
}

func (h *host) shell() int {
	worst := exitOK
	scanner := bufio.NewScanner(h.stdin)
	scanner.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		words, err := splitWords(line)
		if err != nil {
			fmt.Fprintf(h.stderr, "Error: %v in line %q\n", err, line)
			worst = max(worst, exitLocal)
			continue
		}
		if code := h.execute(words[0], words[1:]); code > worst {
			worst = code
		}
	}
	if err := scanner.Err(); err != nil {
		fmt.Fprintf(h.stderr, "Error reading commands: %v\n", err)
		return exitLocal
	}
	return worst
}

func (h *host) execute(command string, args []string) int {
	fs := flag.NewFlagSet(command, flag.ContinueOnError)
	fs.SetOutput(h.stderr)
	format := fs.String("format", h.opts.format, "output format: table or json")
	field := fs.String("field", "", "print only this field of the response data")
	if err := fs.Parse(args); err != nil {
		return exitLocal
	}
	out := output{w: h.stdout, errW: h.stderr, format: *format, field: *field}
	args = fs.Args()

	var code int
	switch command {
	case "read":
		code = h.simple(out, logical.ReadOperation, "reading", args, nil)
	case "list":
		code = h.simple(out, logical.ListOperation, "listing", args, nil)
	case "delete":
		code = h.simple(out, logical.DeleteOperation, "deleting", args, nil)
	case "path-help":
		code = h.simple(out, logical.HelpOperation, "retrieving path help", args, nil)
	case "openapi":
		if len(args) == 0 {
			args = []string{h.mount.Path}
		}
		code = h.simple(out, logical.HelpOperation, "retrieving OpenAPI", args, func(resp *logical.Response) int {
			return out.printJSONValue(resp.Data["openapi"])
		})
	case "write":
		if len(args) == 0 {
			fmt.Fprintln(h.stderr, "Error: write needs a path")
			return exitLocal
		}
		data, err := parseFields(args[1:], h.stdin)
		if err != nil {
			fmt.Fprintf(h.stderr, "Error: %v\n", err)
			return exitLocal
		}
		code = h.request(out, logical.UpdateOperation, "writing", args[0], data, nil)
	default:
		fmt.Fprintf(h.stderr, "Error: unknown command %q\n\n%s", command, usage)
		return exitLocal
	}
	return max(code, h.save())
}

func (h *host) simple(out output, op logical.Operation, verb string, args []string, show func(*logical.Response) int) int {
	if len(args) != 1 {
		fmt.Fprintf(h.stderr, "Error: %s needs exactly one path, got %d arguments\n", op, len(args))
		return exitLocal
	}
	return h.request(out, op, verb, args[0], nil, show)
}

func (h *host) request(out output, op logical.Operation, verb, path string, data map[string]interface{}, show func(*logical.Response) int) int {
	ctx, cancel := context.WithTimeout(context.Background(), h.opts.timeout)
	defer cancel()
	path = strings.TrimPrefix(path, "/")
	res := h.mount.Do(ctx, op, path, data)
	if res.Err != nil {
		fmt.Fprintf(h.stderr, "Error %s %s: %s\n", verb, path, formatError(res.Status, res.Err))
		return exitResponse
	}
	resp := res.Response
	if show != nil {
		if resp == nil {
			fmt.Fprintf(h.stderr, "No help found at %s\n", path)
			return exitResponse
		}
		return show(resp)
	}

	switch op {
	case logical.ReadOperation:
		if res.Status == 404 || resp == nil {
			fmt.Fprintf(h.stderr, "No value found at %s\n", path)
			return exitResponse
		}
		return out.printResponse(resp, res.Request)
	case logical.ListOperation:
		if res.Status == 404 || resp == nil {
			fmt.Fprintf(h.stderr, "No value found at %s\n", path)
			return exitResponse
		}
		return out.printList(resp, res.Request)
	case logical.HelpOperation:
		if out.format == "json" {
			return out.printJSONValue(resp.Data)
		}
		help, _ := resp.Data["help"].(string)
		fmt.Fprintln(out.w, strings.TrimRight(help, "\n"))
		return exitOK
	case logical.DeleteOperation:
		if resp != nil && (len(resp.Data) > 0 || len(resp.Warnings) > 0) {
			return out.printResponse(resp, res.Request)
		}
		fmt.Fprintf(out.w, "Success! Data deleted (if it existed) at: %s\n", path)
		return exitOK
	default:
		if resp != nil && (len(resp.Data) > 0 || len(resp.Warnings) > 0 || resp.Secret != nil) {
			return out.printResponse(resp, res.Request)
		}
		fmt.Fprintf(out.w, "Success! Data written to: %s\n", path)
		return exitOK
	}
}

// formatError renders an error as the vault CLI does for an API error: the HTTP status code and
// one bullet per error.
func formatError(status int, err error) string {
	var lines []string
	var merr *multierror.Error
	if errors.As(err, &merr) {
		for _, e := range merr.Errors {
			lines = append(lines, "* "+e.Error())
		}
	} else {
		lines = append(lines, "* "+err.Error())
	}
	return fmt.Sprintf("Code: %d. Errors:\n\n%s", status, strings.Join(lines, "\n"))
}

// parseFields turns K=V arguments into request data. Values stay strings, as the vault CLI
// sends them; V=@FILE reads the file and V=- reads standard input.
func parseFields(args []string, stdin io.Reader) (map[string]interface{}, error) {
	data := map[string]interface{}{}
	for _, arg := range args {
		key, value, ok := strings.Cut(arg, "=")
		if !ok || key == "" {
			return nil, fmt.Errorf("invalid field %q: expected KEY=VALUE", arg)
		}
		switch {
		case value == "-":
			raw, err := io.ReadAll(stdin)
			if err != nil {
				return nil, fmt.Errorf("cannot read the value of %q from standard input: %w", key, err)
			}
			value = string(raw)
		case strings.HasPrefix(value, "@"):
			raw, err := os.ReadFile(value[1:])
			if err != nil {
				return nil, fmt.Errorf("cannot read the value of %q: %w", key, err)
			}
			value = string(raw)
		}
		data[key] = value
	}
	return data, nil
}

// splitWords splits a shell command line into words, honouring single and double quotes and
// backslash escapes outside single quotes.
func splitWords(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for _, r := range line {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped = true
			inWord = true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote = r
			inWord = true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if escaped {
		return nil, errors.New("trailing backslash")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// output prints responses in the vault CLI's table or JSON shape.
type output struct {
	w      io.Writer
	errW   io.Writer
	format string
	field  string
}

// secretJSON is the shape `vault read -format=json` prints.
type secretJSON struct {
	RequestID     string                 `json:"request_id"`
	LeaseID       string                 `json:"lease_id"`
	LeaseDuration int                    `json:"lease_duration"`
	Renewable     bool                   `json:"renewable"`
	Data          map[string]interface{} `json:"data"`
	Warnings      []string               `json:"warnings"`
	MountType     string                 `json:"mount_type"`
}

func (o output) printResponse(resp *logical.Response, req *logical.Request) int {
	if o.field != "" {
		value, ok := resp.Data[o.field]
		if !ok {
			fmt.Fprintf(o.errW, "Field %q not present in secret\n", o.field)
			return exitLocal
		}
		if o.format == "json" {
			return o.printJSONValue(value)
		}
		fmt.Fprintln(o.w, formatValue(value))
		return exitOK
	}
	if o.format == "json" {
		return o.printJSONValue(toSecretJSON(resp, req))
	}

	rows := [][2]string{}
	if resp.Secret != nil {
		rows = append(rows,
			[2]string{"lease_id", resp.Secret.LeaseID},
			[2]string{"lease_duration", resp.Secret.TTL.String()},
			[2]string{"lease_renewable", fmt.Sprint(resp.Secret.Renewable)})
	}
	keys := make([]string, 0, len(resp.Data))
	for k := range resp.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		rows = append(rows, [2]string{k, formatValue(resp.Data[k])})
	}
	o.printWarnings(resp.Warnings)
	if len(rows) == 0 {
		return exitOK
	}
	tw := tabwriter.NewWriter(o.w, 0, 4, 4, ' ', 0)
	fmt.Fprintln(tw, "Key\tValue")
	fmt.Fprintln(tw, "---\t-----")
	for _, row := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
	}
	tw.Flush()
	return exitOK
}

func (o output) printList(resp *logical.Response, req *logical.Request) int {
	if o.format == "json" {
		keys := resp.Data["keys"]
		if keys == nil {
			keys = []string{}
		}
		return o.printJSONValue(keys)
	}
	o.printWarnings(resp.Warnings)
	fmt.Fprintln(o.w, "Keys")
	fmt.Fprintln(o.w, "----")
	switch keys := resp.Data["keys"].(type) {
	case []string:
		for _, k := range keys {
			fmt.Fprintln(o.w, k)
		}
	case []interface{}:
		for _, k := range keys {
			fmt.Fprintln(o.w, formatValue(k))
		}
	}
	return exitOK
}

func (o output) printWarnings(warnings []string) {
	if len(warnings) == 0 || o.format == "json" {
		return
	}
	fmt.Fprintln(o.w, "WARNING! The following warnings were returned from Vault:")
	fmt.Fprintln(o.w)
	for _, w := range warnings {
		fmt.Fprintf(o.w, "  * %s\n", w)
	}
	fmt.Fprintln(o.w)
}

func (o output) printJSONValue(value interface{}) int {
	raw, err := json.MarshalIndent(value, "", "  ")
	if err != nil {
		fmt.Fprintf(o.errW, "Error encoding the response as JSON: %v\n", err)
		return exitLocal
	}
	fmt.Fprintln(o.w, string(raw))
	return exitOK
}

func toSecretJSON(resp *logical.Response, req *logical.Request) secretJSON {
	out := secretJSON{Data: resp.Data, Warnings: resp.Warnings, MountType: req.MountType}
	if req != nil {
		out.RequestID = req.ID
	}
	if resp.Secret != nil {
		out.LeaseID = resp.Secret.LeaseID
		out.LeaseDuration = int(resp.Secret.TTL.Seconds())
		out.Renewable = resp.Secret.Renewable
	}
	return out
}

// formatValue prints strings as they are and everything else the way fmt does, which matches
// the vault CLI's table output for scalars, lists and maps.
func formatValue(v interface{}) string {
	switch t := v.(type) {
	case nil:
		return "n/a"
	case string:
		return t
	case json.Number:
		return t.String()
	case float64:
		// The SDK decodes response numbers into float64; print whole numbers without an
		// exponent, as the vault CLI does with its json.Number values.
		return strconv.FormatFloat(t, 'f', -1, 64)
	default:
		return fmt.Sprint(t)
	}
}
