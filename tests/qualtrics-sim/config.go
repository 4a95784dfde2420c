package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"time"
)

// OAuthClient is an OAuth 2.0 client that may obtain bearer tokens by client credentials.
type OAuthClient struct {
	ID     string
	Secret string
	// NonAdmin makes the client's bearer tokens act for a user who is not a brand administrator.
	NonAdmin bool
}

// Settings are the values a test may change at run time through the control API.
type Settings struct {
	MTLS         bool     `json:"mtls"`
	CertValidity Duration `json:"cert_validity"`
	MaxActive    int      `json:"max_active"`
	NoticeWindow Duration `json:"notice_window"`
	ListPageSize int      `json:"list_page_size"`
}

// Config is the simulator's configuration, fixed at start.
type Config struct {
	Listen             string
	StateDir           string
	Organizations      []string
	APITokens          []string
	NonAdminTokens     []string
	OAuthClients       []OAuthClient
	OAuthTokenLifetime time.Duration
	RequestIDFormat    string
	ControlToken       string
	Settings           Settings
	Logger             *log.Logger
}

// DefaultConfig returns the configuration the command uses when no flag is given, except that
// the control token is left empty so NewServer generates a random one.
func DefaultConfig() Config {
	return Config{
		Listen:             "127.0.0.1:0",
		Organizations:      []string{"simorg"},
		APITokens:          []string{"sim-admin-token"},
		NonAdminTokens:     []string{"sim-nonadmin-token"},
		OAuthClients:       []OAuthClient{{ID: "sim-client", Secret: "sim-secret"}},
		OAuthTokenLifetime: time.Hour,
		RequestIDFormat:    "uuid",
		Settings: Settings{
			CertValidity: Duration(365 * 24 * time.Hour),
			MaxActive:    10,
			NoticeWindow: Duration(60 * 24 * time.Hour),
		},
	}
}

// Duration is a time.Duration written in JSON as a Go duration string such as "24h0m0s".
type Duration time.Duration

// MarshalJSON encodes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Duration(d).String() + `"`), nil
}

// UnmarshalJSON decodes a duration string such as "24h".
func (d *Duration) UnmarshalJSON(data []byte) error {
	var text string
	if err := json.Unmarshal(data, &text); err != nil {
		return fmt.Errorf("duration must be a string such as \"24h\": %v", err)
	}
	parsed, err := time.ParseDuration(text)
	if err != nil {
		return err
	}
	*d = Duration(parsed)
	return nil
}

type cliOptions struct {
	config         Config
	exitOnStdinEOF bool
	maxLifetime    time.Duration
}

// parseFlags parses the command line into options, printing errors and usage to output.
func parseFlags(args []string, output io.Writer) (cliOptions, error) {
	defaults := DefaultConfig()
	flags := flag.NewFlagSet("qualtrics-sim", flag.ContinueOnError)
	flags.SetOutput(output)

	listen := flags.String("listen", defaults.Listen, "listen address; the host must be a loopback IP, port 0 picks a free port")
	stateDir := flags.String("state-dir", "", "directory for ca.pem and ready.json (default: a private temporary directory removed on exit)")
	orgs := flags.String("org", strings.Join(defaults.Organizations, ","), "organization ids, comma separated")
	apiTokens := flags.String("api-token", strings.Join(defaults.APITokens, ","), "valid brand-administrator API tokens, comma separated")
	nonAdminTokens := flags.String("non-admin-token", strings.Join(defaults.NonAdminTokens, ","), "valid API tokens of users who are not brand administrators, comma separated")
	oauthClients := flags.String("oauth-client", "sim-client:sim-secret", "OAuth clients as id:secret or id:secret:nonadmin, comma separated")
	tokenLifetime := flags.Duration("oauth-token-lifetime", defaults.OAuthTokenLifetime, "lifetime of issued bearer tokens")
	certValidity := flags.Duration("cert-validity", time.Duration(defaults.Settings.CertValidity), "validity of issued client certificates")
	maxActive := flags.Int("max-active", defaults.Settings.MaxActive, "maximum active client certificates per organization, expired ones included")
	noticeWindow := flags.Duration("notice-window", time.Duration(defaults.Settings.NoticeWindow), "add meta.notice when the presented client certificate expires within this time")
	mtls := flags.Bool("mtls", false, "require a client certificate issued by the simulator on every API call")
	requestIDFormat := flags.String("request-id-format", defaults.RequestIDFormat, "format of meta.requestId: uuid or counter")
	listPageSize := flags.Int("list-page-size", 0, "elements per list page; 0 returns all in one page")
	controlToken := flags.String("control-token", "", "token for the X-Sim-Control-Token header (default: random)")
	exitOnStdinEOF := flags.Bool("exit-on-stdin-eof", false, "exit when stdin is closed")
	maxLifetime := flags.Duration("max-lifetime", 30*time.Minute, "exit after this long in any case")

	if err := flags.Parse(args); err != nil {
		return cliOptions{}, err
	}
	if flags.NArg() > 0 {
		err := fmt.Errorf("unexpected argument %q", flags.Arg(0))
		fmt.Fprintln(output, err)
		return cliOptions{}, err
	}

	config := defaults
	config.Listen = *listen
	config.StateDir = *stateDir
	config.Organizations = splitList(*orgs)
	config.APITokens = splitList(*apiTokens)
	config.NonAdminTokens = splitList(*nonAdminTokens)
	config.OAuthTokenLifetime = *tokenLifetime
	config.RequestIDFormat = *requestIDFormat
	config.ControlToken = *controlToken
	config.Settings = Settings{
		MTLS:         *mtls,
		CertValidity: Duration(*certValidity),
		MaxActive:    *maxActive,
		NoticeWindow: Duration(*noticeWindow),
		ListPageSize: *listPageSize,
	}
	clients, err := parseOAuthClients(*oauthClients)
	if err == nil {
		config.OAuthClients = clients
		err = config.Validate()
	}
	if err == nil && *maxLifetime <= 0 {
		err = errors.New("-max-lifetime must be positive")
	}
	if err != nil {
		fmt.Fprintf(output, "invalid configuration: %v\n", err)
		return cliOptions{}, err
	}
	return cliOptions{config: config, exitOnStdinEOF: *exitOnStdinEOF, maxLifetime: *maxLifetime}, nil
}

func splitList(value string) []string {
	var items []string
	for _, item := range strings.Split(value, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

func parseOAuthClients(value string) ([]OAuthClient, error) {
	var clients []OAuthClient
	for _, item := range splitList(value) {
		parts := strings.Split(item, ":")
		if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
			return nil, fmt.Errorf("-oauth-client entry %q must be id:secret or id:secret:nonadmin", parts[0])
		}
		client := OAuthClient{ID: parts[0], Secret: parts[1]}
		if len(parts) == 3 {
			if parts[2] != "nonadmin" {
				return nil, fmt.Errorf("-oauth-client entry %q has unknown suffix %q, expected nonadmin", parts[0], parts[2])
			}
			client.NonAdmin = true
		}
		clients = append(clients, client)
	}
	return clients, nil
}

// Validate checks the configuration and returns the first problem found.
func (c Config) Validate() error {
	if err := checkLoopback(c.Listen); err != nil {
		return err
	}
	if len(c.Organizations) == 0 {
		return errors.New("at least one organization id is required (-org)")
	}
	for _, org := range c.Organizations {
		if strings.ContainsAny(org, "/?#%") {
			return fmt.Errorf("organization id %q must not contain '/', '?', '#' or '%%'", org)
		}
	}
	if c.OAuthTokenLifetime <= 0 {
		return errors.New("-oauth-token-lifetime must be positive")
	}
	if c.RequestIDFormat != "uuid" && c.RequestIDFormat != "counter" {
		return fmt.Errorf("-request-id-format %q is invalid, expected uuid or counter", c.RequestIDFormat)
	}
	return c.Settings.validate()
}

func (s Settings) validate() error {
	if s.CertValidity <= 0 {
		return errors.New("certificate validity must be positive")
	}
	if s.MaxActive < 1 {
		return errors.New("maximum active certificates must be at least 1")
	}
	if s.NoticeWindow < 0 {
		return errors.New("notice window must not be negative")
	}
	if s.ListPageSize < 0 {
		return errors.New("list page size must not be negative")
	}
	return nil
}

// checkLoopback rejects a listen address whose host is not a loopback IP address.
func checkLoopback(address string) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("-listen %q is invalid: %v", address, err)
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-listen host %q must be a loopback IP address such as 127.0.0.1 or ::1", host)
	}
	return nil
}
