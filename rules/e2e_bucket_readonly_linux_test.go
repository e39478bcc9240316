package rules

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/alertmanager"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/prometheus"
)

// A bucket that can still be read but no longer written (here a folder
// bucket remounted read-only in place, as a revoked write permission or a
// full bucket looks): the bucket is up, and no failed attempt can write its
// status record. The snapshot extension hands its unrecorded failures to
// the receiver, so ChromaBackupFailing pages after four failed attempts
// instead of the stale threshold; ChromaBucketUnreachable never fires. With
// the bucket writable again, everything resolves.
func TestReadOnlyBucketPagesAsFailing(t *testing.T) {
	bucket := filepath.Join(t.TempDir(), "bucket")
	if err := os.Mkdir(bucket, 0o700); err != nil {
		t.Fatal(err)
	}
	pager, chat := alertmanager.NewWebhook(t), alertmanager.NewWebhook(t)
	am := alertmanager.Start(t, withWebhooks(t, map[string]string{"pager": pager.URL, "chat": chat.URL}, 3*time.Second))
	rules := compressedRuleFiles(t, outageOverrides)
	prom := prometheus.Start(t, prometheusConfig(t, "", rules))
	cfg := fmt.Sprintf(outageCollectorConfig, chromatest.CopyDemo(t), outageInstance, fmt.Sprintf("{url: %q}", "file://"+bucket),
		quoted(rules), am.URL, prom.URL)
	log := testutil.StartCollector(t, cfg)
	defer func() {
		if t.Failed() {
			t.Logf("alert states last seen: %v\npager: %v\nchat: %v", states(t, am), pager.Received(), chat.Received())
		}
	}()

	waitForTwoSnapshots(t, log)
	writable := testutil.BindMountReadOnly(t, bucket, bucket)
	readOnly := time.Now()
	if err := os.WriteFile(filepath.Join(bucket, "probe"), nil, 0o600); err == nil {
		t.Fatal("the read-only bucket accepted a write")
	}
	testutil.Eventually(t, 90*time.Second, "ChromaBackupFailing at the pager", func() bool {
		return slices.Contains(notified(pager, "firing"), "ChromaBackupFailing/e2e/critical")
	})
	t.Logf("paged %s after the bucket turned read-only", time.Since(readOnly).Round(100*time.Millisecond))
	for _, status := range []string{"firing", "resolved"} {
		for _, k := range append(notified(pager, status), notified(chat, status)...) {
			if strings.HasPrefix(k, "ChromaBucketUnreachable/") {
				t.Errorf("%s notified (%s): the bucket stayed readable", k, status)
			}
		}
	}
	if !strings.Contains(log.String(), "Snapshot attempt failed") {
		t.Error("no failed attempt logged while the bucket was read-only")
	}

	writable()
	waitForEveryAlertResolved(t, am, prom, pager, chat)
}
