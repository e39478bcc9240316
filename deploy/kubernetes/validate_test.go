package kubernetes_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
)

// The binary itself accepts each otel-collector container's arguments and
// environment (otelcol-chroma validate): the mounted configuration, the
// yaml: overrides, every variable as the manifests set it, with the
// destination endpoints an overlay fills in, Secret values standing in for
// the Secret, and the mounted folders as temporary ones.
func TestBinaryValidatesEachCollectorContainer(t *testing.T) {
	bin := testutil.CollectorBinary(t)
	sec := secrets(t)
	for _, dir := range []string{"base", "overlays/telemetry-deployment"} {
		t.Run(dir, func(t *testing.T) {
			tr := load(t, dir)
			for _, p := range pods(t, tr) {
				for _, c := range p.Spec.Containers {
					if c.Name == "otel-collector" {
						validate(t, bin, tr, p, c, containerEnv(t, p.Where, c, tr, sec))
					}
				}
			}
		})
	}
}

func validate(t *testing.T, bin string, tr tree, p pod, c corev1.Container, env map[string]string) {
	t.Helper()
	text, ok := mountedFile(p, c, tr, strings.TrimPrefix(c.Args[0], "--config="))
	if !ok {
		t.Fatalf("%s: %s is not a mounted ConfigMap key", p.Where, c.Args[0])
	}
	file := filepath.Join(t.TempDir(), "collector.yaml")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	filled := map[string]string{
		"VENDOR_OTLP_ENDPOINT":                 "https://otlp.vendor.example",
		"CUSTOMER_OTLP_ENDPOINT":               "https://otlp.customer.example",
		"CUSTOMER_PROMETHEUS_REMOTE_WRITE_URL": "https://prometheus.customer.example/api/v1/write",
	}
	vars := []string{"PATH=" + os.Getenv("PATH")}
	for name, v := range env {
		switch {
		case filled[name] != "":
			v = filled[name]
		case v == "(secret)":
			v = "a-secret-value-of-at-least-32-bytes-long"
		case strings.HasPrefix(v, "/"):
			v = filepath.Join(t.TempDir(), v) // an existing folder in place of the mount
			if err := os.MkdirAll(v, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		vars = append(vars, name+"="+v)
	}
	args := append([]string{"validate", "--config=" + file}, c.Args[1:]...)
	cmd := exec.Command(bin, args...)
	cmd.Env = vars
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%s/%s: otelcol-chroma %v: %v\n%s", p.Where, c.Name, args, err, out)
	}
}
