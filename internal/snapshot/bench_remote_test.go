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

// remoteBench is the setting of the remote benchmarks (their memory is
// measured on the binary: the benchmark process's peak RSS also counts the
// sub-benchmark run before and the test binary's pages): a persist directory
// (SNAPSHOT_BENCH_PERSIST, left unchanged, else a generated one) and an S3
// bucket on versitygw behind SNAPSHOT_BENCH_LATENCY (default 20ms) per
// request, opened under a prefix, as seen with as many requests waiting as
// blocks held (looking local) and with remoteRequests waiting.
func remoteBench(b *testing.B) (dir string, cases []remoteCase) {
	latency := 20 * time.Millisecond
	if v := os.Getenv("SNAPSHOT_BENCH_LATENCY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("SNAPSHOT_BENCH_LATENCY: %v", err)
		}
		latency = d
	}
	dir = os.Getenv("SNAPSHOT_BENCH_PERSIST")
	if dir == "" {
		dir = benchFixture(b).dir
	}
	gw := versitygw.Start(b)
	proxy := testutil.StartConnProxy(b, gw.Endpoint)
	proxy.Delay(latency)
	q := url.Values{"endpoint": {proxy.URL}, "region": {versitygw.Region}, "path_style": {"true"}}
	open := func(prefix string) storage.Bucket {
		bucket, err := storage.Open(context.Background(), "s3://"+gw.Bucket+"/"+prefix+"?"+q.Encode(),
			storage.Options{AccessKeyID: gw.AccessKey, SecretAccessKey: gw.Secret})
		if err != nil {
			b.Fatal(err)
		}
		return bucket
	}
	return dir, []remoteCase{
		{defaultConcurrency(0), func(prefix string) storage.Bucket { return localLooking{open(prefix)} }},
		{remoteRequests, open},
	}
}

type remoteCase struct {
	requests int
	open     func(prefix string) storage.Bucket
}

// BenchmarkRestoreFromRemote restores one snapshot from the remote bucket.
func BenchmarkRestoreFromRemote(b *testing.B) {
	dir, cases := remoteBench(b)
	m := benchSnapshot(b, mustOpen(b, cases[0].open("restore"), Keys{}), dir)
	for _, c := range cases {
		b.Run(fmt.Sprintf("requests=%d", c.requests), func(b *testing.B) {
			benchRestores(b, mustOpen(b, c.open("restore"), Keys{}), m)
			b.ReportMetric(float64(m.Stats.BlocksNew), "objects")
		})
	}
}

// BenchmarkSnapshotFullToRemote takes full snapshots into the remote
// bucket, each under a prefix of its own.
func BenchmarkSnapshotFullToRemote(b *testing.B) {
	dir, cases := remoteBench(b)
	prefixes := 0 // the sub-benchmarks run more than once
	for _, c := range cases {
		b.Run(fmt.Sprintf("requests=%d", c.requests), func(b *testing.B) {
			b.SetBytes(logicalSize(b, dir))
			var objects, n int
			for b.Loop() {
				prefixes++
				m := benchSnapshot(b, mustOpen(b, c.open(fmt.Sprintf("full-%d", prefixes)), Keys{}), dir)
				objects += m.Stats.BlocksNew
				n++
			}
			b.ReportMetric(float64(objects)/float64(n), "objects")
		})
	}
}
