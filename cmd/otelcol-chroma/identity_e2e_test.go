package main

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
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
	out := startCollector(t, cfg, "SCRUB_HASH_KEY="+hashKey)
	var up map[string]string
	require.Eventually(t, func() bool {
		up = persistUpByInstance(out.String())
		return len(up) >= 2
	}, time.Minute, 50*time.Millisecond, "chroma.persist.up of both deployments never printed; output:\n%s", out)
	return out.String(), up
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

// startCollector runs the binary on a configuration until the test ends and
// returns its output.
func startCollector(t *testing.T, cfg string, env ...string) *syncBuffer {
	t.Helper()
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o600))
	cmd := exec.Command(binary(t), "--config", cfgPath)
	cmd.Env = append(os.Environ(), env...)
	out := new(syncBuffer)
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return out
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
	out := startCollector(t, cfg)

	srv := chromatest.Start(t, chromatest.Options{OTLPEndpoint: "http://" + grpc, ServiceName: "acme-payroll-prod"})
	ctx := e2eContext(t)
	_, err := srv.Client.CreateCollection(ctx, "identity-e2e")
	require.NoError(t, err)

	service := keyedHash(key, "acme-payroll-prod")
	require.Eventually(t, func() bool {
		return strings.Contains(out.String(), "InstrumentationScope "+service)
	}, 2*time.Minute, 100*time.Millisecond, "Chroma's spans never arrived under the hashed scope name; output:\n%s", out)
	assert.Contains(t, out.String(), "-> service.name: Str("+service+")")
	assert.Contains(t, out.String(), "-> service.instance.id: Str("+keyedHash(key, "chroma-0")+")")
	assert.NotContains(t, out.String(), "acme-payroll")
	assert.NotContains(t, out.String(), "chroma-0")
	assert.NotContains(t, out.String(), "identity-e2e")
}
