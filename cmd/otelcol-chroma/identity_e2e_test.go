package main

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
)

// persistUpByInstance reads, from the debug exporter's detailed output, the
// last chroma.persist.up value printed under each service.instance.id.
func persistUpByInstance(output string) map[string]string {
	out := map[string]string{}
	instance, inMetric := "", false
	idLine := regexp.MustCompile(`-> service\.instance\.id: Str\((.*)\)$`)
	sc := bufio.NewScanner(strings.NewReader(output))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case idLine.MatchString(line):
			instance = idLine.FindStringSubmatch(line)[1]
		case strings.Contains(line, "-> Name: "):
			inMetric = strings.HasSuffix(line, "-> Name: chroma.persist.up")
		case inMetric && strings.HasPrefix(line, "Value: "):
			out[instance] = strings.TrimPrefix(line, "Value: ")
			inMetric = false
		}
	}
	return out
}

// runTwoDeployments runs the collector with two chromabackup receivers,
// prod-eu-1 unable to read its persist directory and prod-eu-2 healthy,
// whose metrics go through scrub/vendor, until both have been printed.
func runTwoDeployments(t *testing.T, hashKey string) (string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	cfg := vendorDebugConfig(`
  chromabackup/eu1:
    persist_directory: `+filepath.Join(dir, "unmounted")+`
    collection_interval: 200ms
    instance: prod-eu-1
  chromabackup/eu2:
    persist_directory: `+chromatest.CopyDemo(t)+`
    collection_interval: 200ms
    instance: prod-eu-2`,
		"hash_key: ${env:SCRUB_HASH_KEY}", "metrics", "chromabackup/eu1, chromabackup/eu2")
	c := startVendorCollector(t, cfg, "SCRUB_HASH_KEY="+hashKey)
	var up map[string]string
	waitLog(t, c, "chroma.persist.up of both deployments", func(log string) bool {
		up = persistUpByInstance(log)
		return len(up) >= 2
	})
	return c.log(), up
}

// vendorDebugConfig is a collector configuration: the given receivers,
// scrub/vendor with the given settings, and the debug exporter printing
// everything, in one pipeline of the given signal.
func vendorDebugConfig(receivers, scrub, signal, receiverIDs string) string {
	return "receivers:" + receivers + `
processors:
  scrub/vendor:
    policy: vendor
    ` + scrub + `
exporters:
  debug:
    verbosity: detailed
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    ` + signal + `:
      receivers: [` + receiverIDs + `]
      processors: [scrub/vendor]
      exporters: [debug]
`
}

// startVendorCollector runs the binary on a configuration until the test
// ends, with extra environment variables.
func startVendorCollector(t *testing.T, cfg string, env ...string) *collectorProcess {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	return startCollector(t, binary(t), cliEnv(t, env...), path)
}

// waitLog waits, for at most two minutes, until cond holds for the
// collector's output.
func waitLog(t *testing.T, c *collectorProcess, what string, cond func(string) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(e2eContext(t), 2*time.Minute)
	defer cancel()
	c.waitFor(ctx, t, what, cond)
}

// keyedHash is the scrub processor's hash action, computed independently.
func keyedHash(key, s string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(s))
	return hex.EncodeToString(mac.Sum(nil)[:8])
}

func TestTwoDeploymentsReachTheVendorApart(t *testing.T) {
	key := "a-deployment-key-of-at-least-32-bytes"
	out, up := runTwoDeployments(t, key)
	assert.Equal(t, map[string]string{keyedHash(key, "prod-eu-1"): "0", keyedHash(key, "prod-eu-2"): "1"}, up)
	assert.NotContains(t, out, "prod-eu")
	assert.NotContains(t, out, key)
	assert.NotContains(t, out, "hash_key is not set")
}

func TestTwoDeploymentsWithoutHashKey(t *testing.T) {
	out, up := runTwoDeployments(t, "")
	assert.Len(t, up, 2, "a random key still keeps the deployments apart")
	for id := range up {
		assert.Regexp(t, `^[0-9a-f]{16}$`, id)
	}
	assert.Contains(t, out, "hash_key is not set")
	assert.NotContains(t, out, "prod-eu")
}

// A real Chroma server configured with a customer's service name sends its
// telemetry through scrub/vendor: the name reaches the vendor neither in
// the resource nor in the scope Chroma names after it, and the replica's
// instance arrives hashed.
func TestChromaServiceNameReachesTheVendorHashed(t *testing.T) {
	key := "a-deployment-key-of-at-least-32-bytes"
	grpc := freeAddr(t)
	cfg := vendorDebugConfig(`
  otlp:
    protocols:
      grpc:
        endpoint: `+grpc,
		"hash_key: "+key+"\n    instance: chroma-0", "traces", "otlp")
	c := startVendorCollector(t, cfg)

	srv := chromatest.Start(t, chromatest.Options{OTLPEndpoint: "http://" + grpc, ServiceName: "acme-payroll-prod"})
	_, err := srv.Client.CreateCollection(e2eContext(t), "identity-e2e")
	require.NoError(t, err)

	service := keyedHash(key, "acme-payroll-prod")
	waitLog(t, c, "Chroma's spans under the hashed scope name", func(log string) bool {
		return strings.Contains(log, "InstrumentationScope "+service)
	})
	out := c.log()
	assert.Contains(t, out, "-> service.name: Str("+service+")")
	assert.Contains(t, out, "-> service.instance.id: Str("+keyedHash(key, "chroma-0")+")")
	assert.NotContains(t, out, "acme-payroll")
	assert.NotContains(t, out, "chroma-0")
	assert.NotContains(t, out, "identity-e2e")
}
