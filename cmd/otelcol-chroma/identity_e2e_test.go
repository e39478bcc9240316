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
	cfg := `
receivers:
  chromabackup/eu1:
    persist_directory: ` + filepath.Join(dir, "unmounted") + `
    collection_interval: 200ms
    instance: prod-eu-1
  chromabackup/eu2:
    persist_directory: ` + chromatest.CopyDemo(t) + `
    collection_interval: 200ms
    instance: prod-eu-2
processors:
  scrub/vendor:
    policy: vendor
    hash_key: ${env:SCRUB_HASH_KEY}
exporters:
  debug:
    verbosity: detailed
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    metrics:
      receivers: [chromabackup/eu1, chromabackup/eu2]
      processors: [scrub/vendor]
      exporters: [debug]
`
	cfgPath := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o600))
	cmd := exec.Command(binary(t), "--config", cfgPath)
	cmd.Env = append(os.Environ(), "SCRUB_HASH_KEY="+hashKey)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	var up map[string]string
	require.Eventually(t, func() bool {
		up = persistUpByInstance(out.String())
		return len(up) >= 2
	}, time.Minute, 50*time.Millisecond, "chroma.persist.up of both deployments never printed; output:\n%s", &out)
	return out.String(), up
}

func TestTwoDeploymentsReachTheVendorApart(t *testing.T) {
	key := "a-deployment-key-of-at-least-32-bytes"
	out, up := runTwoDeployments(t, key)
	hash := func(s string) string {
		mac := hmac.New(sha256.New, []byte(key))
		mac.Write([]byte(s))
		return hex.EncodeToString(mac.Sum(nil)[:8])
	}
	assert.Equal(t, map[string]string{hash("prod-eu-1"): "0", hash("prod-eu-2"): "1"}, up)
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
