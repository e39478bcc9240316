package scrubprocessor // import "github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor"

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor/internal/detect"
)

// Policy names.
const (
	PolicyVendor   = "vendor"
	PolicyCustomer = "customer"
	PolicyNone     = "none"
)

// Modes.
const (
	ModeAllowlist = "allowlist"
	ModeBlocklist = "blocklist"
)

// Actions on a key's value, a detector's match or a text field.
const (
	ActionKeep = "keep" // keep; detectors still run on it
	ActionRaw  = "raw"  // keep verbatim; detectors do not run
	ActionDrop = "drop"
	ActionMask = "mask"
	ActionHash = "hash"
	ActionURL  = "url" // route template, else the url_without_route treatment
	ActionOff  = "off" // detectors only: disabled
	ActionNone = ""    // not set: inherit from the policy
)

// What to do with a raw URL when the span or log record has no route template.
const (
	URLStrip = "strip" // strip query values and identifier-like path segments
	URLDrop  = "drop"  // drop the attribute; mask the path in a span name
)

// minHashKeyLen is the shortest accepted HMAC key, in bytes.
const minHashKeyLen = 32

// Config of one scrub processor instance. Everything left unset comes from
// the built-in policy named by Policy; what is set extends or overrides it.
type Config struct {
	// Policy is the built-in policy to start from: vendor (the default),
	// customer or none.
	Policy string `mapstructure:"policy"`

	// Mode overrides the policy's mode: allowlist keeps only keys that a rule
	// lists; blocklist keeps every key that no rule drops.
	Mode string `mapstructure:"mode"`

	// Placeholder replaces masked values. Defaults to "****".
	Placeholder string `mapstructure:"placeholder"`

	// HashKey is the HMAC-SHA256 key of the hash action, at least 32 bytes.
	// Required when any rule hashes.
	HashKey configopaque.String `mapstructure:"hash_key"`

	// Instance names this deployment or replica for telemetry that carries
	// no identity of its own: it becomes service.instance.id of resources
	// without one, before the policy applies (the vendor policy hashes it).
	Instance string `mapstructure:"instance"`

	// Keys are rules by attribute key, tried before the policy's. A rule with
	// the same key as a policy rule replaces it.
	Keys []KeyRule `mapstructure:"keys"`

	// Detectors maps a built-in detector name to drop, mask, hash or off,
	// overriding the policy's setting for that detector.
	Detectors map[string]string `mapstructure:"detectors"`

	// CustomDetectors are extra value detectors written as regular
	// expressions.
	CustomDetectors []CustomDetector `mapstructure:"custom_detectors"`

	// Text says what to do with the strings that have no key.
	Text TextConfig `mapstructure:"text"`

	// URLWithoutRoute is what the url action and url span names do when there
	// is no route template: strip or drop.
	URLWithoutRoute string `mapstructure:"url_without_route"`

	// Vocabulary says which words names and identifier values may hold.
	Vocabulary VocabularyConfig `mapstructure:"vocabulary"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// KeyRule decides what happens to the values under matching keys.
type KeyRule struct {
	// Key is an exact attribute key or a pattern where * matches any run of
	// characters. Matching ignores ASCII case.
	Key string `mapstructure:"key"`
	// Action is keep (the default), raw, drop, mask, hash or url.
	Action string `mapstructure:"action"`
	// Values, when set, are the only string values kept; others are masked
	// (hashed under action hash).
	Values []string `mapstructure:"values"`
	// Pattern, when set, is a regular expression the whole string value must
	// match to be kept; others are masked (hashed under action hash).
	Pattern string `mapstructure:"pattern"`
	// Shape, when set, is what the value must look like: number, bool,
	// duration, version, status_code, method, route, identifier or text.
	// A value that does not fit is dropped.
	Shape string `mapstructure:"shape"`
}

// VocabularyConfig is the allowlist of words for names (span, event,
// metric and scope names, descriptions, units, severity text) and for
// values of the identifier, text and route shapes.
type VocabularyConfig struct {
	// Unknown is what a word outside the vocabulary does: template (it
	// becomes *), mask (the whole name becomes the placeholder, a value is
	// dropped) or keep (no vocabulary; the detectors alone decide).
	Unknown string `mapstructure:"unknown"`
	// Words are added to the built-in vocabulary: letters and digits only.
	Words []string `mapstructure:"words"`
}

// CustomDetector finds values with a regular expression.
type CustomDetector struct {
	Name   string `mapstructure:"name"`
	Regex  string `mapstructure:"regex"`
	Action string `mapstructure:"action"`
}

// TextConfig covers names, messages and bodies.
type TextConfig struct {
	// SpanName: keep, url (keep, and treat a path in the name like the url
	// action), raw or mask.
	SpanName string `mapstructure:"span_name"`
	// EventName: keep, raw or mask. Applies to span events and log event names.
	EventName string `mapstructure:"event_name"`
	// MetricName: keep, raw or mask. Applies to metric names and descriptions.
	MetricName string `mapstructure:"metric_name"`
	// ScopeName: keep, raw or mask. Applies to scope names and versions.
	ScopeName string `mapstructure:"scope_name"`
	// StatusMessage: keep, raw, mask or drop.
	StatusMessage string `mapstructure:"status_message"`
	// LogBody: keep, raw, mask or drop, for string bodies (and strings directly
	// in a slice body). Map bodies follow the key rules.
	LogBody string `mapstructure:"log_body"`
	// TraceState: keep, raw or drop, for the trace state of spans and links.
	TraceState string `mapstructure:"trace_state"`
}

func createDefaultConfig() *Config {
	return &Config{Policy: PolicyVendor}
}

// Validate checks the configuration, including the built-in policy it
// extends, and names the key at fault.
func (cfg *Config) Validate() error {
	_, err := cfg.effective()
	return err
}

// effective merges the configuration over its built-in policy and checks
// the result.
func (cfg *Config) effective() (*effectivePolicy, error) {
	var errs []error
	policyName := cfg.Policy
	if policyName == "" {
		policyName = PolicyVendor
	}
	base, ok := builtinPolicy(policyName)
	if !ok {
		return nil, fmt.Errorf("policy: unknown policy %q; use vendor, customer or none", cfg.Policy)
	}
	ep := &effectivePolicy{
		name:            policyName,
		mode:            base.mode,
		placeholder:     "****",
		hashKey:         []byte(cfg.HashKey),
		instance:        cfg.Instance,
		text:            base.text,
		urlWithoutRoute: base.urlWithoutRoute,
		detectors:       map[detect.Kind]string{},
	}
	switch cfg.Mode {
	case "":
	case ModeAllowlist, ModeBlocklist:
		ep.mode = cfg.Mode
	default:
		errs = append(errs, fmt.Errorf("mode: unknown mode %q; use allowlist or blocklist", cfg.Mode))
	}
	if cfg.Placeholder != "" {
		ep.placeholder = cfg.Placeholder
	}
	switch cfg.URLWithoutRoute {
	case "":
	case URLStrip, URLDrop:
		ep.urlWithoutRoute = cfg.URLWithoutRoute
	default:
		errs = append(errs, fmt.Errorf("url_without_route: unknown value %q; use strip or drop", cfg.URLWithoutRoute))
	}

	// Key rules: the user's first, replacing policy rules with the same key.
	seen := map[string]bool{}
	for i, r := range cfg.Keys {
		where := fmt.Sprintf("keys[%d]", i)
		if r.Key != "" {
			where = fmt.Sprintf("keys[%d] (%s)", i, r.Key)
		}
		if err := r.validate(where); err != nil {
			errs = append(errs, err)
			continue
		}
		lk := strings.ToLower(r.Key)
		if seen[lk] {
			errs = append(errs, fmt.Errorf("%s: key listed twice", where))
			continue
		}
		seen[lk] = true
		ep.keys = append(ep.keys, ruleSource{KeyRule: r, where: where})
	}
	// The policy's identity rules replace its other rules for the same key.
	for _, r := range base.identity {
		if !seen[strings.ToLower(r.Key)] {
			seen[strings.ToLower(r.Key)] = true
			ep.keys = append(ep.keys, ruleSource{KeyRule: r, where: fmt.Sprintf("policy %s identity key %s", policyName, r.Key), identity: true})
			ep.identity = true
		}
	}
	for _, r := range base.keys {
		if !seen[strings.ToLower(r.Key)] {
			ep.keys = append(ep.keys, ruleSource{KeyRule: r, where: fmt.Sprintf("policy %s key %s", policyName, r.Key)})
		}
	}

	// Detectors: the policy's, then the user's overrides.
	for k, a := range base.detectors {
		ep.detectors[k] = a
	}
	for name, a := range cfg.Detectors {
		k, ok := detect.Parse(name)
		if !ok {
			errs = append(errs, fmt.Errorf("detectors: unknown detector %q; known detectors: %s", name, strings.Join(detect.Names(), ", ")))
			continue
		}
		switch a {
		case ActionDrop, ActionMask, ActionHash:
			ep.detectors[k] = a
		case ActionOff:
			delete(ep.detectors, k)
		default:
			errs = append(errs, fmt.Errorf("detectors.%s: unknown action %q; use drop, mask, hash or off", name, a))
		}
	}
	names := map[string]bool{}
	for i, c := range cfg.CustomDetectors {
		where := fmt.Sprintf("custom_detectors[%d]", i)
		if c.Name == "" {
			errs = append(errs, fmt.Errorf("%s.name: required", where))
			continue
		}
		where = fmt.Sprintf("custom_detectors[%d] (%s)", i, c.Name)
		if _, builtin := detect.Parse(c.Name); builtin || names[c.Name] {
			errs = append(errs, fmt.Errorf("%s.name: %q is already a detector name", where, c.Name))
			continue
		}
		names[c.Name] = true
		re, err := regexp.Compile(c.Regex)
		switch {
		case c.Regex == "":
			errs = append(errs, fmt.Errorf("%s.regex: required", where))
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("%s.regex: %w", where, err))
			continue
		case re.MatchString(""):
			errs = append(errs, fmt.Errorf("%s.regex: matches the empty string, which would mask between every character", where))
			continue
		}
		action := c.Action
		if action == "" {
			action = ActionMask
		}
		switch action {
		case ActionDrop, ActionMask, ActionHash:
		default:
			errs = append(errs, fmt.Errorf("%s.action: unknown action %q; use drop, mask or hash", where, c.Action))
			continue
		}
		ep.custom = append(ep.custom, compiledCustom{name: c.Name, re: re, action: action, where: where})
	}

	// Text fields.
	text := []struct {
		name    string
		user    string
		dst     *string
		allowed []string
	}{
		{"text.span_name", cfg.Text.SpanName, &ep.text.SpanName, []string{ActionKeep, ActionURL, ActionRaw, ActionMask}},
		{"text.event_name", cfg.Text.EventName, &ep.text.EventName, []string{ActionKeep, ActionRaw, ActionMask}},
		{"text.metric_name", cfg.Text.MetricName, &ep.text.MetricName, []string{ActionKeep, ActionRaw, ActionMask}},
		{"text.scope_name", cfg.Text.ScopeName, &ep.text.ScopeName, []string{ActionKeep, ActionRaw, ActionMask}},
		{"text.status_message", cfg.Text.StatusMessage, &ep.text.StatusMessage, []string{ActionKeep, ActionRaw, ActionMask, ActionDrop}},
		{"text.log_body", cfg.Text.LogBody, &ep.text.LogBody, []string{ActionKeep, ActionRaw, ActionMask, ActionDrop}},
		{"text.trace_state", cfg.Text.TraceState, &ep.text.TraceState, []string{ActionKeep, ActionRaw, ActionDrop}},
	}
	for _, f := range text {
		if f.user == "" {
			continue
		}
		if !contains(f.allowed, f.user) {
			errs = append(errs, fmt.Errorf("%s: unknown action %q; use %s", f.name, f.user, strings.Join(f.allowed, ", ")))
			continue
		}
		*f.dst = f.user
	}

	errs = append(errs, ep.mergeVocabulary(base, cfg.Vocabulary)...)

	// The hash key, checked once everything that may hash is known.
	users := ep.hashUsers()
	switch {
	case len(users) > 0 && len(cfg.HashKey) == 0:
		errs = append(errs, fmt.Errorf("hash_key: required because %s uses action hash", users[0]))
	case len(cfg.HashKey) > 0 && len(cfg.HashKey) < minHashKeyLen:
		errs = append(errs, fmt.Errorf("hash_key: must be at least %d bytes (got %d); generate one with `openssl rand -hex 32`", minHashKeyLen, len(cfg.HashKey)))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return ep, nil
}

func (r KeyRule) validate(where string) error {
	if r.Key == "" {
		return fmt.Errorf("%s.key: required", where)
	}
	switch r.Action {
	case ActionNone, ActionKeep, ActionRaw, ActionDrop, ActionMask, ActionHash, ActionURL:
	default:
		return fmt.Errorf("%s.action: unknown action %q; use keep, raw, drop, mask, hash or url", where, r.Action)
	}
	if r.Pattern != "" {
		if _, err := regexp.Compile(r.Pattern); err != nil {
			return fmt.Errorf("%s.pattern: %w", where, err)
		}
	}
	if err := r.validateShape(where); err != nil {
		return err
	}
	if (r.Pattern != "" || len(r.Values) > 0) && (r.Action == ActionDrop || r.Action == ActionMask || r.Action == ActionRaw) {
		return fmt.Errorf("%s: values and pattern only apply to actions keep, url and hash", where)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// effectivePolicy is a configuration merged over its built-in policy.
type effectivePolicy struct {
	name            string
	mode            string
	placeholder     string
	hashKey         []byte
	keys            []ruleSource
	detectors       map[detect.Kind]string
	custom          []compiledCustom
	text            TextConfig
	urlWithoutRoute string
	vocabulary      VocabularyConfig
	identity        bool // some rule hashes a deployment identity
	instance        string
}

type ruleSource struct {
	KeyRule
	where    string
	identity bool // hashes with hash_key, or a random key when there is none
}

type compiledCustom struct {
	name   string
	re     *regexp.Regexp
	action string
	where  string
}

// hashUsers names the rules that hash, for the error when the key is missing.
func (ep *effectivePolicy) hashUsers() []string {
	var out []string
	for _, r := range ep.keys {
		if r.Action == ActionHash && !r.identity {
			out = append(out, r.where)
		}
	}
	for _, k := range detectKindsSorted(ep.detectors) {
		if ep.detectors[k] == ActionHash {
			out = append(out, "detectors."+k.String())
		}
	}
	for _, c := range ep.custom {
		if c.action == ActionHash {
			out = append(out, c.where)
		}
	}
	return out
}

func detectKindsSorted(m map[detect.Kind]string) []detect.Kind {
	var out []detect.Kind
	for k := detect.Kind(0); k < detect.NumKinds; k++ {
		if _, ok := m[k]; ok {
			out = append(out, k)
		}
	}
	return out
}
