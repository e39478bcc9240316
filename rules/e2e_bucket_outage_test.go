package rules

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/alertmanager"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/prometheus"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/versitygw"
)

// timeScale compresses the rules' `for:` durations for the end-to-end test:
// a minute of the shipped rules is a second of the test.
const timeScale = 60

// outageInstance is the deployment's instance label in the end-to-end test.
const outageInstance = "e2e"

// compressedRuleFiles writes a copy of every rule file into a temporary
// folder with each `for:` divided by timeScale, and a file of threshold
// overrides for outageInstance, the way an operator overrides them. Nothing
// else of the rules changes. It returns the paths.
func compressedRuleFiles(t *testing.T, overrides string) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for _, f := range ruleFiles(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Groups []map[string]any `yaml:"groups"`
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, g := range doc.Groups {
			for _, r := range g["rules"].([]any) {
				scaleFor(t, r.(map[string]any))
			}
		}
		paths = append(paths, writeYAML(t, filepath.Join(dir, filepath.Base(f)), doc))
	}
	path := filepath.Join(dir, "e2e-overrides.yml")
	if err := os.WriteFile(path, []byte(overrides), 0o600); err != nil {
		t.Fatal(err)
	}
	return append(paths, path)
}

func scaleFor(t *testing.T, rule map[string]any) {
	t.Helper()
	s, ok := rule["for"].(string)
	if !ok {
		return
	}
	d, err := model.ParseDuration(s)
	if err != nil {
		t.Fatalf("rule %v: for %q: %v", rule["alert"], s, err)
	}
	rule["for"] = (time.Duration(d) / timeScale).String()
}

func writeYAML(t *testing.T, path string, v any) string {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// outageOverrides: snapshots every 3 s, so the backup is stale after 20 s
// (warning) and 30 s (critical); ChromaBucketUnreachable (for 5 s once
// compressed) fires well before, as its 5 minutes do before the default 3 h.
var outageOverrides = fmt.Sprintf(`groups:
  - name: e2e-threshold-overrides
    rules:
      - record: chroma_alert_threshold
        expr: vector(20)
        labels: {threshold: backup_stale_warning_seconds, instance: %[1]s}
      - record: chroma_alert_threshold
        expr: vector(30)
        labels: {threshold: backup_stale_critical_seconds, instance: %[1]s}
`, outageInstance)

// outageCollectorConfig: the snapshot extension, the chromabackup receiver
// reading the extension's bucket, and the alertrules exporter, on a
// schedule of seconds; the same metrics go to a Prometheus by remote write.
const outageCollectorConfig = `extensions:
  snapshot:
    persist_directory: %[1]q
    instance: %[2]s
    bucket: %[3]s
    interval: 3s
    on_start: true
    timeout: 30s
receivers:
  chromabackup:
    persist_directory: %[1]q
    instance: %[2]s
    snapshot_extension: snapshot
    collection_interval: 1s
    initial_delay: 0s
    bucket_timeout: 2s
    bucket_list_interval: 5s
exporters:
  alertrules:
    rule_files: [%[4]s]
    evaluation_interval: 500ms
    resend_delay: 1s
    alertmanagers:
      - endpoint: %[5]s
        timeout: 2s
  prometheus_remote_write:
    endpoint: %[6]s/api/v1/write
service:
  extensions: [snapshot]
  telemetry:
    logs:
      level: debug
    metrics:
      level: none
  pipelines:
    metrics:
      receivers: [chromabackup]
      exporters: [alertrules, prometheus_remote_write]
`

// s3Bucket is the extension's bucket setting for gw, in flow style.
func s3Bucket(gw *versitygw.Server) string {
	return fmt.Sprintf("{url: %q, access_key_id: %q, secret_access_key: %q}", gw.URL(), gw.AccessKey, gw.Secret)
}

func quoted(paths []string) string {
	q := make([]string, len(paths))
	for i, p := range paths {
		q[i] = fmt.Sprintf("%q", p)
	}
	return strings.Join(q, ", ")
}

// notified returns the outage's alerts a webhook was notified of in status
// ("firing" or "resolved"), by key.
func notified(w *alertmanager.Webhook, status string) []string {
	var keys []string
	for _, n := range w.Received() {
		for _, a := range n.Alerts {
			if a.Status == status && isOutageAlert(a.Labels) && !slices.Contains(keys, key(a.Labels)) {
				keys = append(keys, key(a.Labels))
			}
		}
	}
	slices.Sort(keys)
	return keys
}

// logTime returns the time of the collector's first log line containing
// msg (the console encoder's first field), and false when there is none.
func logTime(t *testing.T, log, msg string) (time.Time, bool) {
	t.Helper()
	for line := range strings.Lines(log) {
		if !strings.Contains(line, msg) {
			continue
		}
		stamp, _, _ := strings.Cut(line, "\t")
		at, err := time.Parse(time.RFC3339Nano, stamp)
		if err != nil {
			t.Fatalf("the collector's log line %q does not start with a time: %v", line, err)
		}
		return at, true
	}
	return time.Time{}, false
}

// The paging path with real parts: the collector (snapshot extension,
// chromabackup receiver, alertrules exporter with the shipped rules,
// compressed in time), versitygw as the bucket, and Alertmanager with the
// shipped routing and inhibition, whose pager and chat are webhooks here.
// With the bucket stopped, ChromaBucketUnreachable pages and
// ChromaBackupStale, firing too, is held back; with the bucket back,
// everything resolves.
func TestBucketOutagePagesAndResolves(t *testing.T) {
	gw := versitygw.Start(t)
	pager, chat := alertmanager.NewWebhook(t), alertmanager.NewWebhook(t)
	am := alertmanager.Start(t, withWebhooks(t, map[string]string{"pager": pager.URL, "chat": chat.URL}, 3*time.Second))
	rules := compressedRuleFiles(t, outageOverrides)
	prom := prometheus.Start(t, prometheusConfig(t, "", rules))
	cfg := fmt.Sprintf(outageCollectorConfig, chromatest.CopyDemo(t), outageInstance, s3Bucket(gw),
		quoted(rules), am.URL, prom.URL)
	log := testutil.StartCollector(t, cfg)
	var last map[string]string
	defer func() {
		if t.Failed() {
			t.Logf("alert states last seen: %v\npager: %v\nchat: %v", last, pager.Received(), chat.Received())
		}
	}()

	waitForTwoSnapshots(t, log)
	stopped := time.Now()
	gw.Stop()
	testutil.Eventually(t, 60*time.Second, "ChromaBucketUnreachable at the pager", func() bool {
		return slices.Contains(notified(pager, "firing"), "ChromaBucketUnreachable/e2e/critical")
	})
	paged := time.Now()
	reportTimeToPage(t, log.String(), stopped, paged)

	// The stale alerts fire in Alertmanager and are held back.
	testutil.Eventually(t, 60*time.Second, "ChromaBackupStale firing and inhibited", func() bool {
		last = states(t, am)
		return last["ChromaBackupStale/e2e/critical"] == "inhibited -> pager" &&
			last["ChromaBackupStale/e2e/warning"] == "inhibited -> chat"
	})
	if got := append(notified(pager, "firing"), notified(chat, "firing")...); !slices.Equal(got, []string{"ChromaBucketUnreachable/e2e/critical"}) {
		t.Errorf("notified during the outage: %v, want the bucket alert only", got)
	}
	outageAlerts := []string{"ChromaBackupStale/e2e/critical", "ChromaBackupStale/e2e/warning", "ChromaBucketUnreachable/e2e/critical"}
	if got := amHolds(t, am); !slices.Equal(got, outageAlerts) {
		t.Errorf("Alertmanager holds %v from the collector, want %v", got, outageAlerts)
	}
	// The same rules in a Prometheus fed by remote write: the same alerts.
	testutil.Eventually(t, 30*time.Second, "the same alerts firing in Prometheus", func() bool {
		return slices.Equal(promFiring(t, prom), outageAlerts)
	})

	gw.Start()
	waitForEveryAlertResolved(t, am, prom, pager, chat)
}

// waitForTwoSnapshots waits for two snapshots (the receiver has read a
// success record in between) whose retention steps are over: a retention
// step cut off by a bucket outage would leave its exclusive lock in the
// bucket, which holds back snapshots until it expires (30 min).
func waitForTwoSnapshots(t *testing.T, log *testutil.SyncBuffer) {
	t.Helper()
	testutil.Eventually(t, 30*time.Second, "two snapshots taken and their retention done", func() bool {
		out := log.String()
		taken := strings.Count(out, "Snapshot taken")
		return taken >= 2 && strings.Count(out, "Retention kept every snapshot")+strings.Count(out, "Retention forgot snapshots") == taken
	})
}

// waitForEveryAlertResolved waits until neither Alertmanager nor Prometheus
// holds an alert of the outage's kinds and every notification of one
// firing was followed by one of it resolved.
func waitForEveryAlertResolved(t *testing.T, am *alertmanager.Server, prom *prometheus.Server, pager, chat *alertmanager.Webhook) {
	t.Helper()
	testutil.Eventually(t, 60*time.Second, "every alert resolved", func() bool {
		return len(amHolds(t, am)) == 0 && len(promFiring(t, prom)) == 0 &&
			slices.Equal(notified(pager, "firing"), notified(pager, "resolved")) &&
			slices.Equal(notified(chat, "firing"), notified(chat, "resolved"))
	})
	t.Logf("after the outage: pager notified of %v, chat of %v (each resolved)", notified(pager, "resolved"), notified(chat, "resolved"))
}

// isOutageAlert says whether an alert is one of those a bucket outage of
// outageInstance concerns. Others (the test machine's volume nearly full)
// are not this test's business.
func isOutageAlert(labels map[string]string) bool {
	kinds := []string{"ChromaBucketUnreachable", "ChromaBackupStale", "ChromaBackupFailing"}
	return labels["instance"] == outageInstance && slices.Contains(kinds, labels["alertname"])
}

// amHolds returns the outage's alerts Alertmanager holds, by key.
func amHolds(t *testing.T, am *alertmanager.Server) []string {
	t.Helper()
	alerts, err := am.Alerts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, a := range alerts {
		if isOutageAlert(a.Labels) {
			keys = append(keys, key(a.Labels))
		}
	}
	slices.Sort(keys)
	return keys
}

// promFiring returns the alerts of the outage's kinds firing in Prometheus
// for outageInstance, by key.
func promFiring(t *testing.T, prom *prometheus.Server) []string {
	t.Helper()
	alerts, err := prom.Alerts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, a := range alerts {
		if a.State == "firing" && isOutageAlert(a.Labels) {
			keys = append(keys, key(a.Labels))
		}
	}
	slices.Sort(keys)
	return keys
}

// reportTimeToPage logs how long the page took after the bucket stopped
// and after the first failed snapshot attempt: a figure, not a bound.
func reportTimeToPage(t *testing.T, log string, stopped, paged time.Time) {
	t.Helper()
	failed, ok := logTime(t, log, "Snapshot attempt failed")
	if !ok {
		t.Logf("paged %s after the bucket stopped, before any snapshot attempt failed", paged.Sub(stopped).Round(100*time.Millisecond))
		return
	}
	t.Logf("paged %s after the bucket stopped, %s after the first failed snapshot attempt (logged %s after the stop)",
		paged.Sub(stopped).Round(100*time.Millisecond), paged.Sub(failed).Round(100*time.Millisecond), failed.Sub(stopped).Round(100*time.Millisecond))
}
