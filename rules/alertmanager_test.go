package rules

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/alertmanager"
)

// withWebhooks returns alertmanager.yml with each receiver's integrations
// replaced by a webhook to the given URL, and the route's group_wait set to
// groupWait and its group_interval to a second. Routes, grouping and
// inhibition stay as written.
//
// Alertmanager flushes a new group at once, without group_wait, when its
// alert started more than group_wait ago, and it may then notify before its
// inhibitor has seen the inhibiting alert. groupWait must therefore exceed
// the time between an alert's start and its arrival.
func withWebhooks(t *testing.T, urls map[string]string, groupWait time.Duration) string {
	t.Helper()
	b, err := os.ReadFile(alertmanagerConfig)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("%s: %v", alertmanagerConfig, err)
	}
	receivers, _ := cfg["receivers"].([]any)
	for _, r := range receivers {
		rcv := r.(map[string]any)
		name := rcv["name"].(string)
		url, ok := urls[name]
		if !ok {
			t.Fatalf("%s: receiver %q has no webhook in this test", alertmanagerConfig, name)
		}
		clear(rcv)
		rcv["name"] = name
		rcv["webhook_configs"] = []any{map[string]any{"url": url, "send_resolved": true}}
	}
	route := cfg["route"].(map[string]any)
	route["group_wait"], route["group_interval"] = groupWait.String(), "1s"
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "alertmanager.yml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func alert(name, instance, severity string) alertmanager.Alert {
	return alertmanager.Alert{
		Labels:   map[string]string{"alertname": name, "instance": instance, "severity": severity},
		StartsAt: time.Now(),
	}
}

func key(labels map[string]string) string {
	return labels["alertname"] + "/" + labels["instance"] + "/" + labels["severity"]
}

// state is what GET /api/v2/alerts says of each alert: "active" or
// "inhibited", and the receivers it is routed to.
func state(a alertmanager.Alert) string {
	s := a.Status.State
	if len(a.Status.InhibitedBy) > 0 {
		s = "inhibited"
	}
	var rcv []string
	for _, r := range a.Receivers {
		rcv = append(rcv, r.Name)
	}
	return s + " -> " + strings.Join(rcv, ",")
}

func states(t *testing.T, am *alertmanager.Server) map[string]string {
	t.Helper()
	alerts, err := am.Alerts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range alerts {
		got[key(a.Labels)] = state(a)
	}
	return got
}

// firing returns the alerts a webhook was notified of as firing, by key.
func firing(w *alertmanager.Webhook) []string {
	var keys []string
	for _, n := range w.Received() {
		for _, a := range n.Alerts {
			if a.Status == "firing" && !slices.Contains(keys, key(a.Labels)) {
				keys = append(keys, key(a.Labels))
			}
		}
	}
	slices.Sort(keys)
	return keys
}

// The example configuration, in a real Alertmanager: critical pages, warning
// goes to chat, an unreachable bucket holds back the stale and failing
// alerts of its instance only, and a critical alert holds back its warning.
func TestAlertmanagerRoutesAndInhibits(t *testing.T) {
	pager, chat := alertmanager.NewWebhook(t), alertmanager.NewWebhook(t)
	am := alertmanager.Start(t, withWebhooks(t, map[string]string{"pager": pager.URL, "chat": chat.URL}, 2*time.Second))

	bucketDown := alert("ChromaBucketUnreachable", "a", "critical")
	am.PostAlerts(t,
		bucketDown,
		alert("ChromaBackupStale", "a", "warning"),
		alert("ChromaBackupStale", "a", "critical"),
		alert("ChromaBackupFailing", "a", "warning"),
		alert("ChromaBackupStale", "b", "critical"),
		alert("ChromaVolumeNearlyFull", "b", "warning"),
		alert("ChromaVolumeNearlyFull", "b", "critical"),
		alert("ChromaBackupSizeDropped", "b", "warning"),
	)
	want := map[string]string{
		"ChromaBucketUnreachable/a/critical": "active -> pager",
		"ChromaBackupStale/a/warning":        "inhibited -> chat",
		"ChromaBackupStale/a/critical":       "inhibited -> pager",
		"ChromaBackupFailing/a/warning":      "inhibited -> chat",
		"ChromaBackupStale/b/critical":       "active -> pager",
		"ChromaVolumeNearlyFull/b/warning":   "inhibited -> chat",
		"ChromaVolumeNearlyFull/b/critical":  "active -> pager",
		"ChromaBackupSizeDropped/b/warning":  "active -> chat",
	}
	var got map[string]string
	defer func() {
		if t.Failed() {
			t.Logf("alert states last seen: %v\nwant: %v\npager got: %v\nchat got: %v", got, want, firing(pager), firing(chat))
		}
	}()
	testutil.Eventually(t, 30*time.Second, "alert states", func() bool {
		got = states(t, am)
		return fmt.Sprint(got) == fmt.Sprint(want)
	})

	wantPager := []string{"ChromaBackupStale/b/critical", "ChromaBucketUnreachable/a/critical", "ChromaVolumeNearlyFull/b/critical"}
	wantChat := []string{"ChromaBackupSizeDropped/b/warning"}
	testutil.Eventually(t, 30*time.Second, "pager and chat notifications", func() bool {
		return slices.Equal(firing(pager), wantPager) && slices.Equal(firing(chat), wantChat)
	})

	// The bucket is back: what it held back is notified now, each to its
	// receiver; the stale warning stays behind its critical.
	bucketDown.EndsAt = time.Now()
	am.PostAlerts(t, bucketDown)
	wantPager = []string{"ChromaBackupStale/a/critical", "ChromaBackupStale/b/critical", "ChromaBucketUnreachable/a/critical", "ChromaVolumeNearlyFull/b/critical"}
	wantChat = []string{"ChromaBackupFailing/a/warning", "ChromaBackupSizeDropped/b/warning"}
	testutil.Eventually(t, 30*time.Second, "held-back alerts notified after the bucket recovered", func() bool {
		return slices.Equal(firing(pager), wantPager) && slices.Equal(firing(chat), wantChat)
	})
}
