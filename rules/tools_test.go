// Package rules holds no Go code: its tests check the Prometheus rule files,
// their promtool tests and the example Alertmanager configuration in this
// folder with the real promtool, amtool and Alertmanager, and with the rule
// parser of the Prometheus version the collector links.
package rules

import (
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/alertmanager"
)

const alertmanagerConfig = "alertmanager.yml"

// ruleFiles lists the rule files: every .yml here but the Alertmanager
// configuration.
func ruleFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.yml")
	if err != nil {
		t.Fatal(err)
	}
	files = slices.DeleteFunc(files, func(f string) bool { return f == alertmanagerConfig })
	if len(files) == 0 {
		t.Fatal("no rule files found")
	}
	return files
}

func unitTestFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("tests", "*.test.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no promtool test files in tests/ (%v)", err)
	}
	return files
}

// run runs a real command and fails the test with its output when it fails.
func run(t *testing.T, name string, args ...string) {
	t.Helper()
	bin := testutil.Command(t, alertmanager.InstallHint, name)
	out, err := exec.CommandContext(t.Context(), bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	t.Logf("%s", out)
}

func TestPromtoolCheckRules(t *testing.T) {
	run(t, "promtool", append([]string{"check", "rules"}, ruleFiles(t)...)...)
}

func TestPromtoolTestRules(t *testing.T) {
	run(t, "promtool", append([]string{"test", "rules"}, unitTestFiles(t)...)...)
}

func TestAmtoolCheckConfig(t *testing.T) {
	run(t, "amtool", "check-config", alertmanagerConfig)
}
