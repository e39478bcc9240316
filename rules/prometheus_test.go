package rules

import (
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/alertmanager"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/prometheus"
)

// prometheusConfig loads the rule files, evaluates every second, and
// notifies the Alertmanager at amURL, or none when amURL is "".
func prometheusConfig(t *testing.T, amURL string, files []string) string {
	t.Helper()
	abs := make([]string, len(files))
	for i, f := range files {
		var err error
		if abs[i], err = filepath.Abs(f); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fmt.Sprintf("global:\n  evaluation_interval: 1s\nrule_files: [%s]\n", quoted(abs))
	if amURL == "" {
		return cfg
	}
	u, err := url.Parse(amURL)
	if err != nil {
		t.Fatal(err)
	}
	return cfg + fmt.Sprintf(`alerting:
  alertmanagers:
    - static_configs:
        - targets: [%q]
`, u.Host)
}

func chromaSample(name, instance string, value float64, at time.Time) prometheus.Sample {
	return prometheus.Sample{
		Labels: map[string]string{
			"__name__":        name,
			"instance":        instance,
			"otel_scope_name": "github.com/otelcol-chroma/otelcol-chroma/receiver/chromabackupreceiver",
		},
		Value: value,
		Time:  at,
	}
}

// The rule files in a real Prometheus fed through remote write, notifying the
// example Alertmanager: a is 4 h behind (warning, to chat), b 7 h (critical,
// paged; its warning held back), d is new and has no snapshot yet (nothing).
func TestPrometheusEvaluatesRulesAndNotifies(t *testing.T) {
	pager, chat := alertmanager.NewWebhook(t), alertmanager.NewWebhook(t)
	// Prometheus delivers an alert a few seconds after it starts, at most.
	am := alertmanager.Start(t, withWebhooks(t, map[string]string{"pager": pager.URL, "chat": chat.URL}, 10*time.Second))
	// Alerts are sent again every second, not every minute, so that the
	// test does not wait for a resend when the first send came before
	// Prometheus had the Alertmanager as a target.
	prom := prometheus.Start(t, prometheusConfig(t, am.URL, ruleFiles(t)), "--rules.alert.resend-delay=1s")

	now := time.Now()
	err := prom.RemoteWrite(t.Context(),
		chromaSample("chroma_backup_last_success_time_seconds", "a", float64(now.Add(-4*time.Hour).Unix()), now),
		chromaSample("chroma_backup_count", "a", 5, now),
		chromaSample("chroma_backup_last_success_time_seconds", "b", float64(now.Add(-7*time.Hour).Unix()), now),
		chromaSample("chroma_backup_count", "b", 5, now),
		chromaSample("chroma_backup_count", "d", 0, now),
		chromaSample("chroma_bucket_up", "d", 1, now),
	)
	if err != nil {
		t.Fatal(err)
	}

	wantFiring := []string{"ChromaBackupStale/a/warning", "ChromaBackupStale/b/critical", "ChromaBackupStale/b/warning"}
	var gotFiring []string
	defer func() {
		if t.Failed() {
			t.Logf("prometheus firing: %v\npager got: %v\nchat got: %v", gotFiring, firing(pager), firing(chat))
		}
	}()
	testutil.Eventually(t, 60*time.Second, "the stale alerts firing in Prometheus", func() bool {
		alerts, err := prom.Alerts(t.Context())
		if err != nil {
			return false
		}
		gotFiring = nil
		for _, a := range alerts {
			if a.State == "firing" {
				gotFiring = append(gotFiring, key(a.Labels))
			}
		}
		slices.Sort(gotFiring)
		return slices.Equal(gotFiring, wantFiring)
	})
	testutil.Eventually(t, 60*time.Second, "the stale alerts at the pager and in chat", func() bool {
		return slices.Equal(firing(pager), []string{"ChromaBackupStale/b/critical"}) &&
			slices.Equal(firing(chat), []string{"ChromaBackupStale/a/warning"})
	})
}
