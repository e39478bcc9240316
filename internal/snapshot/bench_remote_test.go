package snapshot

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/versitygw"
)

// localLooking makes a remote bucket look like a folder, so that a restore
// keeps only as many requests waiting as it holds blocks: how restores
// fetched from every bucket before requests and held blocks were told apart.
type localLooking struct{ storage.Bucket }

func (localLooking) Root() string { return "/nonexistent" }

// BenchmarkRestoreFromRemote restores a snapshot from versitygw behind
// SNAPSHOT_BENCH_LATENCY (default 20ms) per request, at the default
// concurrency: with as many requests waiting as blocks held, and with
// remoteRequests waiting. SNAPSHOT_BENCH_PERSIST names a persist directory
// to snapshot instead of the generated one (left unchanged).
func BenchmarkRestoreFromRemote(b *testing.B) {
	latency := 20 * time.Millisecond
	if v := os.Getenv("SNAPSHOT_BENCH_LATENCY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("SNAPSHOT_BENCH_LATENCY: %v", err)
		}
		latency = d
	}
	dir := os.Getenv("SNAPSHOT_BENCH_PERSIST")
	if dir == "" {
		dir = benchFixture(b).dir
	}
	gw := versitygw.Start(b)
	proxy := testutil.StartConnProxy(b, gw.Endpoint)
	proxy.Delay(latency)
	q := url.Values{"endpoint": {proxy.URL}, "region": {versitygw.Region}, "path_style": {"true"}}
	bucket, err := storage.Open(context.Background(), "s3://"+gw.Bucket+"?"+q.Encode(),
		storage.Options{AccessKeyID: gw.AccessKey, SecretAccessKey: gw.Secret})
	if err != nil {
		b.Fatal(err)
	}
	m := benchSnapshot(b, mustOpen(b, bucket, Keys{}), dir)
	for _, c := range []struct {
		requests int
		bucket   storage.Bucket
	}{{defaultConcurrency(0), localLooking{bucket}}, {remoteRequests, bucket}} {
		b.Run(fmt.Sprintf("requests=%d", c.requests), func(b *testing.B) {
			repo := mustOpen(b, c.bucket, Keys{})
			benchRestores(b, repo, m)
			b.ReportMetric(float64(m.Stats.BlocksNew), "objects")
			reportPeakRSS(b)
		})
	}
}
