package snapshot

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/file"
)

// benchFixture is a persist directory of about SNAPSHOT_BENCH_MIB MiB
// (default 256): two collections whose HNSW files hold incompressible
// floats, and a SQLite database with records and log rows.
func benchFixture(b *testing.B) *fixture {
	b.Helper()
	mib := int64(256)
	if v := os.Getenv("SNAPSHOT_BENCH_MIB"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			b.Fatalf("SNAPSHOT_BENCH_MIB: %v", err)
		}
		mib = n
	}
	return newFixture(b, fixtureOpts{collections: 2, records: 20000, hnswBytes: (mib << 20) / 2})
}

func logicalSize(b *testing.B, dir string) int64 {
	var n int64
	for _, data := range readTreeSizes(b, dir) {
		n += data
	}
	return n
}

func readTreeSizes(b *testing.B, dir string) map[string]int64 {
	out := make(map[string]int64)
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			out[p] = fi.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// reportPeakRSS reports the process's peak resident set size.
func reportPeakRSS(b *testing.B) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			b.ReportMetric(float64(kb)/1024, "peak-RSS-MiB")
		}
	}
}

func benchKeys(b *testing.B, encrypted bool) (Keys, Keys) {
	if !encrypted {
		return Keys{}, Keys{}
	}
	return mustKeys(b)
}

func BenchmarkSnapshotFull(b *testing.B) {
	for _, enc := range []bool{false, true} {
		b.Run(fmt.Sprintf("encrypted=%v", enc), func(b *testing.B) {
			fx := benchFixture(b)
			writer, _ := benchKeys(b, enc)
			root := b.TempDir()
			b.SetBytes(logicalSize(b, fx.dir))
			i := 0
			for b.Loop() {
				i++
				bucket := newBucketAt(b, filepath.Join(root, strconv.Itoa(i)))
				repo := mustOpen(b, bucket, writer)
				if _, err := repo.Snapshot(context.Background(), SnapshotOptions{PersistDir: fx.dir, ScratchDir: b.TempDir()}); err != nil {
					b.Fatal(err)
				}
				os.RemoveAll(filepath.Join(root, strconv.Itoa(i-1)))
			}
			reportPeakRSS(b)
		})
	}
}

// Each iteration changes 1% of the HNSW blocks in place, then snapshots.
func BenchmarkSnapshotIncremental(b *testing.B) {
	fx := benchFixture(b)
	repo := mustOpen(b, newBucket(b), Keys{})
	benchSnapshot(b, repo, fx.dir)
	size := logicalSize(b, fx.dir)
	b.SetBytes(size)
	var added int64
	var stall, check time.Duration
	for b.Loop() {
		b.StopTimer()
		blocks := int(size / DefaultBlockSize)
		for j := range max(blocks/100, 1) {
			c := fx.colls[j%len(fx.colls)]
			off := int64(fx.rng.IntN(int(fx.opts.hnswBytes/DefaultBlockSize))) * DefaultBlockSize
			fx.overwrite(b, filepath.Join(fx.dir, c.vecSeg, "data_level0.bin"), off, fx.randBytes(4096))
		}
		b.StartTimer()
		m, err := repo.Snapshot(context.Background(), SnapshotOptions{PersistDir: fx.dir, ScratchDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		added = m.Stats.AddedBytes
		stall += m.Timings.WriterStall
		check += m.Timings.SourceCheck
	}
	b.ReportMetric(float64(added)/float64(size)*100, "added-%")
	// The writer stall must not include the source check, which runs after
	// the read lock is released.
	b.ReportMetric(float64(stall.Microseconds())/float64(b.N)/1000, "writer-stall-ms")
	b.ReportMetric(float64(check.Microseconds())/float64(b.N)/1000, "source-check-ms")
	reportPeakRSS(b)
}

func BenchmarkRestore(b *testing.B) {
	for _, enc := range []bool{false, true} {
		b.Run(fmt.Sprintf("encrypted=%v", enc), func(b *testing.B) {
			fx := benchFixture(b)
			writer, reader := benchKeys(b, enc)
			bucket := newBucket(b)
			m := benchSnapshot(b, mustOpen(b, bucket, writer), fx.dir)
			repo := mustOpen(b, bucket, reader)
			benchRestores(b, repo, m)
			reportPeakRSS(b)
		})
	}
}

// benchRestores restores m into a new folder per iteration.
func benchRestores(b *testing.B, repo *Repository, m *Manifest) {
	b.SetBytes(m.Stats.LogicalBytes)
	parent := b.TempDir()
	i := 0
	for b.Loop() {
		i++
		target := filepath.Join(parent, strconv.Itoa(i))
		if _, err := repo.Restore(context.Background(), m.ID, RestoreOptions{Target: target}); err != nil {
			b.Fatal(err)
		}
		os.RemoveAll(target)
	}
}

// benchSnapshot snapshots with the default block size.
func benchSnapshot(b *testing.B, repo *Repository, dir string) *Manifest {
	m, err := repo.Snapshot(context.Background(), SnapshotOptions{PersistDir: dir, ScratchDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

func newBucketAt(b *testing.B, dir string) *file.Bucket {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	bk, err := file.New(dir)
	if err != nil {
		b.Fatal(err)
	}
	return bk
}
