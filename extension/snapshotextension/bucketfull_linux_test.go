package snapshotextension

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
)

// A folder bucket on a full volume (a real tmpfs, filled up): the attempt
// says the bucket is full and what frees it, not to check the credentials.
func TestAttemptIntoAFullBucketSaysSo(t *testing.T) {
	volume := filepath.Join(t.TempDir(), "volume")
	testutil.MountTmpfs(t, volume, 1)
	filler, err := os.Create(filepath.Join(volume, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer filler.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := filler.Write(chunk); err != nil {
			break // the volume is full
		}
	}
	cfg := testConfig(t, chromatest.CopyDemo(t), filepath.Join(volume, "bucket"))
	cfg.OnStart = true
	h := newHarness(t, cfg, withTicks(make(chan time.Time), nil))
	h.start(t)

	failed := func() []observer.LoggedEntry { return h.logs.FilterMessageSnippet("Snapshot attempt failed").All() }
	h.waitFor(t, "the failed attempt", func() bool { return len(failed()) > 0 })
	line := failed()[0]
	assert.Equal(t, "Snapshot attempt failed: the bucket is full", line.Message)
	fields := line.ContextMap()
	assert.Equal(t, "bucket", fields["error_class"])
	assert.Contains(t, fields["error"], "no space left")
	assert.Contains(t, fields["what_to_do"], "free space in the bucket")
	assert.NotContains(t, fields["what_to_do"], "check")
}
