// Package config reads a tenant service's configuration from flags and HOMEWARD_* variables and
// refuses to start on anything missing or malformed, naming each problem.
package config

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Config is what every tenant service needs.
type Config struct {
	Partnership       string
	Listen            string
	RedisAddr         string
	RedisUser         string
	RedisPasswordFile string
	PIIKeyFile        string
	KratosPublicURL   string
	OTLPEndpoint      string
	// TraceSampleRatio is the share (0 to 1, as text) of the traces this process starts that are
	// kept; empty leaves it to OTEL_TRACES_SAMPLER, and without it every trace is kept.
	TraceSampleRatio string
	PolicyJSON       string
	LogLevel         string
	ShutdownGrace    time.Duration
	// The tenant's service APIs, which the portal calls; the services themselves leave them empty.
	ReferralURL, HousingURL, ReportingURL string
	// KratosAdminURL is the tenant's Kratos admin API, which only the portal is given (from its server
	// side, for the partnership admin's user management); the services leave it empty.
	KratosAdminURL string
	// AllowedEmailDomains limits whom the portal may invite (comma-separated, from the Partnership's
	// identity.allowedEmailDomains); empty allows any.
	AllowedEmailDomains string

	// Read from the files and variables above by Load.
	RedisPassword string
	PIIKey        []byte
	Policy        Policy
	SampleRatio   *float64
}

// Env names each flag's environment variable.
var Env = map[string]string{
	"partnership":           "HOMEWARD_PARTNERSHIP",
	"listen":                "HOMEWARD_LISTEN",
	"redis-addr":            "HOMEWARD_REDIS_ADDR",
	"redis-user":            "HOMEWARD_REDIS_USER",
	"redis-password-file":   "HOMEWARD_REDIS_PASSWORD_FILE",
	"pii-key-file":          "HOMEWARD_PII_KEY_FILE",
	"kratos-public-url":     "HOMEWARD_KRATOS_PUBLIC_URL",
	"otlp-endpoint":         "OTEL_EXPORTER_OTLP_ENDPOINT",
	"trace-sample-ratio":    "HOMEWARD_TRACE_SAMPLE_RATIO",
	"policy":                "HOMEWARD_POLICY",
	"log-level":             "HOMEWARD_LOG_LEVEL",
	"shutdown-grace":        "HOMEWARD_SHUTDOWN_GRACE",
	"referral-url":          "HOMEWARD_REFERRAL_URL",
	"housing-url":           "HOMEWARD_HOUSING_URL",
	"reporting-url":         "HOMEWARD_REPORTING_URL",
	"kratos-admin-url":      "HOMEWARD_KRATOS_ADMIN_URL",
	"allowed-email-domains": "HOMEWARD_ALLOWED_EMAIL_DOMAINS",
}

// EnvVar is one environment variable of a tenant process.
type EnvVar struct{ Name, Value string }

// Environ is the configuration as the environment of a tenant process, each variable spelled as Parse
// reads it: both runtimes launch services with it. Values left empty are left out, so the service's
// defaults apply; the files the configuration names must exist where the process runs.
func (c Config) Environ() []EnvVar {
	var out []EnvVar
	for _, v := range []struct{ flag, value string }{
		{"partnership", c.Partnership}, {"listen", c.Listen}, {"redis-addr", c.RedisAddr}, {"redis-user", c.RedisUser},
		{"redis-password-file", c.RedisPasswordFile}, {"pii-key-file", c.PIIKeyFile}, {"kratos-public-url", c.KratosPublicURL},
		{"otlp-endpoint", c.OTLPEndpoint}, {"trace-sample-ratio", c.TraceSampleRatio}, {"policy", c.PolicyJSON}, {"log-level", c.LogLevel},
		{"referral-url", c.ReferralURL}, {"housing-url", c.HousingURL}, {"reporting-url", c.ReportingURL},
		{"kratos-admin-url", c.KratosAdminURL}, {"allowed-email-domains", c.AllowedEmailDomains},
	} {
		if v.value != "" {
			out = append(out, EnvVar{Name: Env[v.flag], Value: v.value})
		}
	}
	if c.ShutdownGrace != 0 {
		out = append(out, EnvVar{Name: Env["shutdown-grace"], Value: c.ShutdownGrace.String()})
	}
	return out
}

var (
	tenantName  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	emailDomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$`)
)

// EmailDomains are the allowed email domains, none meaning any.
func (c Config) EmailDomains() []string {
	var out []string
	for _, d := range strings.Split(c.AllowedEmailDomains, ",") {
		if d = strings.TrimSpace(d); d != "" {
			out = append(out, d)
		}
	}
	return out
}

// Parse reads flags (falling back to their variables) and then the files they name.
func Parse(name string, args []string, getenv func(string) string) (Config, error) {
	var c Config
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	env := func(flagName, def string) string {
		if v := getenv(Env[flagName]); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.Partnership, "partnership", env("partnership", ""), "the partnership (tenant) this process serves")
	fs.StringVar(&c.Listen, "listen", env("listen", ":8080"), "address to serve HTTP on")
	fs.StringVar(&c.RedisAddr, "redis-addr", env("redis-addr", ""), "the tenant's Redis, host:port")
	fs.StringVar(&c.RedisUser, "redis-user", env("redis-user", name), "Redis ACL user")
	fs.StringVar(&c.RedisPasswordFile, "redis-password-file", env("redis-password-file", ""), "file holding the Redis password")
	fs.StringVar(&c.PIIKeyFile, "pii-key-file", env("pii-key-file", ""), "file holding the tenant's base64 256-bit personal-data key")
	fs.StringVar(&c.KratosPublicURL, "kratos-public-url", env("kratos-public-url", ""), "the tenant's Kratos public API")
	fs.StringVar(&c.OTLPEndpoint, "otlp-endpoint", env("otlp-endpoint", ""), "OTLP/gRPC endpoint for traces (empty: spans are not exported)")
	fs.StringVar(&c.TraceSampleRatio, "trace-sample-ratio", env("trace-sample-ratio", ""), "share of the traces this process starts that are kept, 0 to 1 (empty: OTEL_TRACES_SAMPLER decides)")
	fs.StringVar(&c.PolicyJSON, "policy", env("policy", ""), `the Partnership's {"policy": …, "costModel": …} as JSON (empty: API defaults)`)
	fs.StringVar(&c.LogLevel, "log-level", env("log-level", "info"), "debug, info, warn or error")
	fs.StringVar(&c.ReferralURL, "referral-url", env("referral-url", ""), "the tenant's referral API (the portal's)")
	fs.StringVar(&c.HousingURL, "housing-url", env("housing-url", ""), "the tenant's housing-options API (the portal's)")
	fs.StringVar(&c.ReportingURL, "reporting-url", env("reporting-url", ""), "the tenant's reporting API (the portal's)")
	fs.StringVar(&c.KratosAdminURL, "kratos-admin-url", env("kratos-admin-url", ""), "the tenant's Kratos admin API (the portal's, for managing users)")
	fs.StringVar(&c.AllowedEmailDomains, "allowed-email-domains", env("allowed-email-domains", ""), "comma-separated email domains the portal may invite (empty: any)")
	grace := env("shutdown-grace", "20s")
	fs.Func("shutdown-grace", "how long in-flight requests may finish on shutdown", func(s string) error { grace = s; return nil })
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	var errs []error
	d, err := time.ParseDuration(grace)
	if err != nil || d < 0 {
		errs = append(errs, fmt.Errorf("shutdown-grace %q is not a duration", grace))
	}
	c.ShutdownGrace = d
	errs = append(errs, c.load()...)
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("configuration is not valid:\n%w", err)
	}
	return c, nil
}

func (c *Config) load() []error {
	var errs []error
	need := func(flagName, v string) bool {
		if v == "" {
			errs = append(errs, fmt.Errorf("--%s (or %s) is required", flagName, Env[flagName]))
			return false
		}
		return true
	}
	if need("partnership", c.Partnership) && (!tenantName.MatchString(c.Partnership) || len(c.Partnership) > 40) {
		errs = append(errs, fmt.Errorf("partnership %q is not a lowercase DNS label of at most 40 characters", c.Partnership))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen %q is not host:port", c.Listen))
	}
	if need("redis-addr", c.RedisAddr) {
		if _, _, err := net.SplitHostPort(c.RedisAddr); err != nil {
			errs = append(errs, fmt.Errorf("redis-addr %q is not host:port", c.RedisAddr))
		}
	}
	need("redis-user", c.RedisUser)
	if need("redis-password-file", c.RedisPasswordFile) {
		b, err := os.ReadFile(c.RedisPasswordFile)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("redis password: %w", err))
		case strings.TrimSpace(string(b)) == "":
			errs = append(errs, fmt.Errorf("redis password file %s is empty", c.RedisPasswordFile))
		default:
			c.RedisPassword = strings.TrimSpace(string(b))
		}
	}
	if need("pii-key-file", c.PIIKeyFile) {
		b, err := os.ReadFile(c.PIIKeyFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("personal-data key: %w", err))
		} else if key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b))); err != nil || len(key) != 32 {
			errs = append(errs, fmt.Errorf("personal-data key in %s must be 32 bytes, base64 encoded", c.PIIKeyFile))
		} else {
			c.PIIKey = key
		}
	}
	if c.TraceSampleRatio != "" {
		r, err := strconv.ParseFloat(c.TraceSampleRatio, 64)
		if err != nil || r < 0 || r > 1 {
			errs = append(errs, fmt.Errorf("trace-sample-ratio %q is not a number from 0 to 1", c.TraceSampleRatio))
		} else {
			c.SampleRatio = &r
		}
	}
	if need("kratos-public-url", c.KratosPublicURL) {
		if u, err := url.Parse(c.KratosPublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("kratos-public-url %q is not an http(s) URL", c.KratosPublicURL))
		}
	}
	for _, d := range c.EmailDomains() {
		if !emailDomain.MatchString(d) {
			errs = append(errs, fmt.Errorf("allowed-email-domains: %q is not a lower-case domain name", d))
		}
	}
	for flagName, v := range map[string]string{"referral-url": c.ReferralURL, "housing-url": c.HousingURL, "reporting-url": c.ReportingURL, "kratos-admin-url": c.KratosAdminURL} {
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s %q is not an http(s) URL", flagName, v))
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log-level %q is not debug, info, warn or error", c.LogLevel))
	}
	p, err := ParsePolicy(c.PolicyJSON)
	if err != nil {
		errs = append(errs, fmt.Errorf("policy: %w", err))
	}
	c.Policy = p
	return errs
}
