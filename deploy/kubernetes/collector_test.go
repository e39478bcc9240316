package kubernetes_test

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// envRef matches the collector's ${env:NAME} and ${env:NAME:-default}.
var envRef = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// collectorConfig is a collector configuration with its ${env:...}
// references expanded from what the container's environment holds.
type collectorConfig struct {
	Raw  map[string]any
	Text string
}

// requiredEnv returns the variables the configuration reads without a
// default: an unset one is an error (or an empty value) at start.
func requiredEnv(text string) []string {
	var out []string
	for _, m := range envRef.FindAllStringSubmatch(text, -1) {
		if m[2] == "" {
			out = append(out, m[1])
		}
	}
	return out
}

func expandCollectorConfig(t *testing.T, text string, env map[string]string) collectorConfig {
	t.Helper()
	expanded := envRef.ReplaceAllStringFunc(text, func(ref string) string {
		m := envRef.FindStringSubmatch(ref)
		if v, ok := env[m[1]]; ok && v != "" {
			return v
		}
		return m[3]
	})
	var raw map[string]any
	if err := yaml.Unmarshal([]byte(expanded), &raw); err != nil {
		t.Fatalf("collector configuration does not parse after expansion: %v", err)
	}
	return collectorConfig{Raw: raw, Text: text}
}

// get follows a path of keys ("extensions", "health_check", "endpoint").
func (c collectorConfig) get(keys ...string) (any, bool) {
	var cur any = c.Raw
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func (c collectorConfig) str(keys ...string) string {
	v, _ := c.get(keys...)
	s, _ := v.(string)
	return s
}

// hostPort splits an endpoint "host:port" or "scheme://host:port/...".
func hostPort(t *testing.T, endpoint string) (string, int32) {
	t.Helper()
	if _, rest, ok := strings.Cut(endpoint, "://"); ok {
		endpoint, _, _ = strings.Cut(rest, "/")
	}
	host, port, err := net.SplitHostPort(endpoint)
	if err != nil {
		t.Fatalf("endpoint %q: %v", endpoint, err)
	}
	n, err := strconv.ParseInt(port, 10, 32)
	if err != nil {
		t.Fatalf("endpoint %q: port: %v", endpoint, err)
	}
	return host, int32(n)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// set applies a --config=yaml: override ("a::b::c: value") as the collector
// merges it.
func (c collectorConfig) set(t *testing.T, override string) {
	t.Helper()
	path, value, ok := strings.Cut(override, ": ")
	if !ok {
		t.Fatalf("override %q: want key::path: value", override)
	}
	var v any
	if err := yaml.Unmarshal([]byte(value), &v); err != nil {
		t.Fatalf("override %q: %v", override, err)
	}
	keys := strings.Split(path, "::")
	m := c.Raw
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = v
}

// telemetryListener returns where the collector serves its own metrics for
// Prometheus, if it does.
func (c collectorConfig) telemetryListener() (host, port string, ok bool) {
	readers, _ := c.get("service", "telemetry", "metrics", "readers")
	list, _ := readers.([]any)
	for _, r := range list {
		sub := collectorConfig{Raw: map[string]any{"r": r}}
		if h, ok := sub.get("r", "pull", "exporter", "prometheus", "host"); ok {
			p, _ := sub.get("r", "pull", "exporter", "prometheus", "port")
			return fmt.Sprint(h), fmt.Sprint(p), true
		}
	}
	return "", "", false
}

// walkStrings calls fn with every string value of the configuration and its
// key path.
func (c collectorConfig) walkStrings(fn func(key, value string)) {
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, sub := range x {
				walk(prefix+"::"+k, sub)
			}
		case []any:
			for i, sub := range x {
				walk(fmt.Sprintf("%s[%d]", prefix, i), sub)
			}
		case string:
			fn(strings.TrimPrefix(prefix, "::"), x)
		}
	}
	walk("", c.Raw)
}
