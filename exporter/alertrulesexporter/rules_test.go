package alertrulesexporter

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// projectRuleFiles are the project's rule files: every .yml in rules/ but
// the Alertmanager configuration.
func projectRuleFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../rules/*.yml")
	require.NoError(t, err)
	files = slices.DeleteFunc(files, func(f string) bool { return filepath.Base(f) == "alertmanager.yml" })
	require.NotEmpty(t, files, "rules/ holds the project's rule files")
	return files
}

// Every rule file of the project loads into the exporter, and its
// failing-backup alert fires from the receiver's metric, with the default
// thresholds resolved by its own recording rules.
func TestProjectRules(t *testing.T) {
	am := newFakeAlertmanager(t)
	cfg := testConfig(am)
	cfg.RuleFiles = projectRuleFiles(t)
	e, _, logs := newTestExporterWith(t, cfg)

	now := time.Now()
	require.NoError(t, e.consumeMetrics(context.Background(), failures("demo", 5, now)))
	fired := am.waitAlert(t, "ChromaBackupFailing", func(a receivedAlert) bool {
		return firing(a) && a.Labels["severity"] == "critical"
	})
	assert.Equal(t, "demo", fired.Labels["instance"])
	assert.Contains(t, fired.Annotations["runbook_url"], "#chromabackupfailing")

	// The 10-minute test window is shorter than the rules' 7-day lookbacks:
	// each such rule is named in a warning.
	warned := map[string]bool{}
	for _, entry := range logs.FilterMessage("alertrules: a rule reads further back than the window; it sees only the window").All() {
		warned[entry.ContextMap()["rule"].(string)] = true
	}
	assert.True(t, warned["instance:chroma_metrics:known"], "warned: %v", warned)
	assert.False(t, warned["instance:chroma_metrics:present"], "a 5m lookback fits a 10m window")
}
