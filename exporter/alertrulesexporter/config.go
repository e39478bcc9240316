package alertrulesexporter // import "github.com/otelcol-chroma/otelcol-chroma/exporter/alertrulesexporter"

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"
)

// Config of the alertrules exporter.
type Config struct {
	// RuleFiles are paths or globs of Prometheus rule files (the format
	// `promtool check rules` accepts). Required.
	RuleFiles []string `mapstructure:"rule_files"`

	// EvaluationInterval is how often every rule group is evaluated, unless a
	// group sets its own interval. Default 15s.
	EvaluationInterval time.Duration `mapstructure:"evaluation_interval"`

	// Window is how much history is kept: the longest range a rule can look
	// back over (e.g. `[30m]`, predict_linear's range). Default 1h.
	Window time.Duration `mapstructure:"window"`

	// MaxSeries caps the received series held in the window; samples of new
	// series beyond it are dropped, counted and logged. Default 10000.
	MaxSeries int `mapstructure:"max_series"`

	// Directory holds the window's chunk files (a few MiB). Default: a new
	// folder under the system's temporary folder, removed on shutdown.
	Directory string `mapstructure:"directory"`

	// ExternalLabels are added to every alert sent, as in Prometheus'
	// global.external_labels (e.g. cluster, instance of the deployment).
	ExternalLabels map[string]string `mapstructure:"external_labels"`

	// ExternalURL is the generator URL's base in the alerts sent.
	ExternalURL string `mapstructure:"external_url"`

	// ResendDelay is how long to wait before sending a still-firing (or
	// recently resolved) alert again; it is also how soon a failed send is
	// retried. Default 1m, as in Prometheus.
	ResendDelay time.Duration `mapstructure:"resend_delay"`

	// QueueCapacity is how many alerts wait for each Alertmanager while it
	// is slow or down; beyond it, the oldest are dropped. Default 10000.
	QueueCapacity int `mapstructure:"queue_capacity"`

	// Alertmanagers receive every alert (API v2). At least one is required.
	Alertmanagers []AlertmanagerConfig `mapstructure:"alertmanagers"`
}

// AlertmanagerConfig is one Alertmanager: its base URL (endpoint), TLS,
// headers, timeout and proxy from the collector's HTTP client settings, plus
// basic or bearer authentication.
type AlertmanagerConfig struct {
	confighttp.ClientConfig `mapstructure:",squash"`

	// BasicAuth sends an Authorization: Basic header.
	BasicAuth *BasicAuthConfig `mapstructure:"basic_auth"`

	// BearerToken sends an Authorization: Bearer header.
	BearerToken configopaque.String `mapstructure:"bearer_token"`
}

// amOwnKeys are AlertmanagerConfig's keys beside the HTTP client's.
type amOwnKeys struct {
	BasicAuth   *BasicAuthConfig    `mapstructure:"basic_auth"`
	BearerToken configopaque.String `mapstructure:"bearer_token"`
}

// Unmarshal decodes the HTTP client settings and the authentication keys.
// The embedded client's own Unmarshal would otherwise decode only its keys
// and silently ignore the rest, typos included.
func (am *AlertmanagerConfig) Unmarshal(conf *confmap.Conf) error {
	if err := am.ClientConfig.Unmarshal(conf); err != nil {
		return err
	}
	own := amOwnKeys{BasicAuth: am.BasicAuth, BearerToken: am.BearerToken}
	if err := conf.Unmarshal(&own, confmap.WithIgnoreUnused()); err != nil {
		return err
	}
	am.BasicAuth, am.BearerToken = own.BasicAuth, own.BearerToken
	known := mapstructureKeys(reflect.TypeFor[confighttp.ClientConfig](), reflect.TypeFor[amOwnKeys]())
	for key := range conf.ToStringMap() {
		if !known[key] {
			return fmt.Errorf("%q is not an Alertmanager setting; see the exporter's README for the keys", key)
		}
	}
	return nil
}

// mapstructureKeys are the top-level keys the struct types decode.
func mapstructureKeys(types ...reflect.Type) map[string]bool {
	keys := map[string]bool{}
	for _, t := range types {
		for f := range t.Fields() {
			if name, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ","); name != "" {
				keys[name] = true
			}
		}
	}
	return keys
}

// BasicAuthConfig is a user name and password for HTTP basic authentication.
type BasicAuthConfig struct {
	Username string              `mapstructure:"username"`
	Password configopaque.String `mapstructure:"password"`
}

// Validate checks the configuration; each error names the key and says what
// to do.
func (cfg *Config) Validate() error {
	return errors.Join(cfg.validateRules(), cfg.validateWindow(), cfg.validateSending())
}

func (cfg *Config) validateRules() error {
	if len(cfg.RuleFiles) == 0 {
		return errors.New("rule_files: list at least one Prometheus rule file or glob (e.g. /etc/otelcol-chroma/rules/*.yaml)")
	}
	var errs []error
	for i, pattern := range cfg.RuleFiles {
		if _, err := filepath.Match(pattern, ""); err != nil {
			errs = append(errs, fmt.Errorf("rule_files[%d] %q: %w; fix the glob", i, pattern, err))
		}
	}
	if cfg.EvaluationInterval <= 0 {
		errs = append(errs, fmt.Errorf("evaluation_interval: must be positive (got %s); e.g. 15s", cfg.EvaluationInterval))
	}
	return errors.Join(errs...)
}

func (cfg *Config) validateWindow() error {
	var errs []error
	if cfg.Window < cfg.EvaluationInterval || cfg.Window <= 0 {
		errs = append(errs, fmt.Errorf("window: must be positive and at least evaluation_interval (got %s, interval %s); set it to the longest range the rules look back over, e.g. 1h", cfg.Window, cfg.EvaluationInterval))
	}
	if cfg.MaxSeries <= 0 {
		errs = append(errs, fmt.Errorf("max_series: must be positive (got %d); e.g. 10000", cfg.MaxSeries))
	}
	return errors.Join(errs...)
}

func (cfg *Config) validateSending() error {
	var errs []error
	for name := range cfg.ExternalLabels {
		if !model.LegacyValidation.IsValidLabelName(name) {
			errs = append(errs, fmt.Errorf("external_labels: %q is not a Prometheus label name; use letters, digits and underscores, not starting with a digit", name))
		}
	}
	if cfg.ExternalURL != "" {
		if u, err := url.Parse(cfg.ExternalURL); err != nil || !u.IsAbs() {
			errs = append(errs, fmt.Errorf("external_url: %q is not an absolute URL; e.g. https://otelcol.example.com", cfg.ExternalURL))
		}
	}
	if cfg.ResendDelay <= 0 {
		errs = append(errs, fmt.Errorf("resend_delay: must be positive (got %s); e.g. 1m", cfg.ResendDelay))
	}
	if cfg.QueueCapacity <= 0 {
		errs = append(errs, fmt.Errorf("queue_capacity: must be positive (got %d); e.g. 10000", cfg.QueueCapacity))
	}
	return errors.Join(append(errs, cfg.validateAlertmanagers())...)
}

func (cfg *Config) validateAlertmanagers() error {
	if len(cfg.Alertmanagers) == 0 {
		return errors.New("alertmanagers: list at least one Alertmanager, e.g. - endpoint: http://alertmanager:9093")
	}
	var errs []error
	seen := map[string]int{}
	for i := range cfg.Alertmanagers {
		am := &cfg.Alertmanagers[i]
		if err := am.validate(); err != nil {
			errs = append(errs, fmt.Errorf("alertmanagers[%d]: %w", i, err))
			continue
		}
		if j, dup := seen[am.Endpoint]; dup {
			errs = append(errs, fmt.Errorf("alertmanagers[%d].endpoint: %q is already alertmanagers[%d]; list each Alertmanager once", i, am.Endpoint, j))
		}
		seen[am.Endpoint] = i
	}
	return errors.Join(errs...)
}

func (am *AlertmanagerConfig) validate() error {
	u, err := url.Parse(am.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("endpoint: %q is not an http(s) URL with a host; e.g. http://alertmanager:9093", am.Endpoint)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("endpoint: %q must not carry a query, fragment or credentials; use basic_auth or bearer_token", am.Endpoint)
	}
	if am.BasicAuth != nil && am.BearerToken != "" {
		return errors.New("basic_auth and bearer_token: set one of them, not both")
	}
	if am.BasicAuth != nil && am.BasicAuth.Username == "" {
		return errors.New("basic_auth.username: required with basic_auth")
	}
	return nil
}
