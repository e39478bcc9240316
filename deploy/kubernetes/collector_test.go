package kubernetes_test

import (
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
