package snapshot

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
)

// The demo persist directory was written by a real Chroma server.
func TestDemoRoundTrip(t *testing.T) {
	ctx := testContext(t)
	src := chromatest.CopyDemo(t)
	want := chromatest.DemoExpected(t)
	writer, reader := mustKeys(t)
	b := newBucket(t)
	m, err := mustOpen(t, b, writer).Snapshot(ctx, SnapshotOptions{PersistDir: src, ScratchDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Chroma.Collections) != want.Collections || int(m.Records()) != want.Records {
		t.Fatalf("manifest has %d collections, %d records; Chroma reported %d, %d",
			len(m.Chroma.Collections), m.Records(), want.Collections, want.Records)
	}
	for _, c := range m.Chroma.Collections {
		if int(c.Records) != want.PerCollection[c.Name] {
			t.Errorf("collection %s: %d records in the manifest, Chroma reported %d", c.Name, c.Records, want.PerCollection[c.Name])
		}
	}
	repo := mustOpen(t, b, reader)
	target := restoreTo(t, repo, m.ID)
	requireSameTree(t, src, target)
	if _, err := repo.Verify(ctx, "latest", VerifyOptions{ReadData: true}); err != nil {
		t.Fatal(err)
	}
	second, err := mustOpen(t, b, writer).Snapshot(ctx, SnapshotOptions{PersistDir: src, ScratchDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if second.Stats.AddedBytes != 0 {
		t.Errorf("second snapshot of an unchanged directory added %d bytes", second.Stats.AddedBytes)
	}
}

// A restored snapshot opens in a real Chroma with the same collections and
// record counts.
func TestRestoredDemoOpensInChroma(t *testing.T) {
	bin := chromatest.Binary(t)
	ctx := testContext(t)
	src := chromatest.CopyDemo(t)
	repo := mustOpen(t, newBucket(t), Keys{})
	m := takeSnapshot(t, repo, src)
	target := restoreTo(t, repo, m.ID)
	srv := chromatest.Start(t, chromatest.Options{PersistDir: target, Binary: bin})
	requireChromaMatches(ctx, t, srv.Client, m)
}

// Snapshots taken while a real Chroma is being written to restore into a
// directory Chroma opens, with every record readable with its embedding.
func TestSnapshotUnderLoad(t *testing.T) {
	bin := chromatest.Binary(t)
	ctx := testContext(t)
	src := chromatest.CopyDemo(t)
	srv := chromatest.Start(t, chromatest.Options{PersistDir: src, Binary: bin})
	load := chromatest.NewLoadWriter(srv.Client, chromatest.LoadOptions{Collections: 2, BatchSize: 100, MaxOps: 100000})
	loadCtx, stopLoad := context.WithCancel(ctx)
	var loadErr error
	var wg sync.WaitGroup
	wg.Go(func() { loadErr = load.Run(loadCtx) })
	defer func() {
		stopLoad()
		wg.Wait()
	}()

	repo := mustOpen(t, newBucket(t), Keys{})
	var last *Manifest
	// Snapshot after every few requests until the writer has crossed HNSW
	// persists (every 1000 records per collection).
	for i := 0; load.Stats().Added < 2400; i++ {
		ops := load.Stats().Ops
		waitFor(t, ctx, "load writer progress", func() bool { return load.Stats().Ops >= ops+3 || loadCtx.Err() != nil })
		m, err := repo.Snapshot(ctx, SnapshotOptions{PersistDir: src, ScratchDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		last = m
		t.Logf("snapshot %d: %d records, stall %v, retries %d, rereads %d, load %+v",
			i, m.Records(), m.Timings.WriterStall, m.Stats.CaptureRetries, m.Stats.FileRereads, load.Stats())
	}
	stopLoad()
	wg.Wait()
	if loadErr != nil {
		t.Fatalf("load writer: %v", loadErr)
	}
	target := restoreTo(t, repo, last.ID)
	restored := chromatest.Start(t, chromatest.Options{PersistDir: target, Binary: bin})
	requireChromaMatches(ctx, t, restored.Client, last)
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// requireChromaMatches checks a running Chroma against a manifest: same
// collections, same counts, every record readable with its embedding, and
// queries answer.
func requireChromaMatches(ctx context.Context, t *testing.T, c *chromatest.Client, m *Manifest) {
	t.Helper()
	colls, err := c.ListCollections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(colls) != len(m.Chroma.Collections) {
		t.Fatalf("Chroma lists %d collections, the manifest %d", len(colls), len(m.Chroma.Collections))
	}
	want := make(map[string]int64)
	for _, mc := range m.Chroma.Collections {
		want[mc.ID] = mc.Records
	}
	for _, coll := range colls {
		n, err := c.Count(ctx, coll.ID)
		if err != nil {
			t.Fatal(err)
		}
		if records, ok := want[coll.ID]; !ok || int64(n) != records {
			t.Fatalf("collection %s: Chroma counts %d records, the manifest %d", coll.Name, n, records)
		}
		recs, err := c.Get(ctx, coll.ID, nil)
		if err != nil {
			t.Fatalf("get all records of %s: %v", coll.Name, err)
		}
		if len(recs) != n {
			t.Fatalf("collection %s: got %d records, count says %d", coll.Name, len(recs), n)
		}
		if n == 0 {
			continue
		}
		for _, r := range recs {
			if len(r.Embedding) == 0 {
				t.Fatalf("record %s of %s has no embedding", r.ID, coll.Name)
			}
		}
		q := chromatest.RandomEmbedding(rand.New(rand.NewPCG(1, 2)), len(recs[0].Embedding))
		ids, err := c.Query(ctx, coll.ID, q, min(n, 10))
		if err != nil || len(ids) != min(n, 10) {
			t.Fatalf("query %s: %v, %v", coll.Name, ids, err)
		}
	}
}

// A persist directory a real Chroma created and never filled (no collections,
// no segment folders) snapshots and restores into a directory Chroma opens.
func TestEmptyChromaRoundTrip(t *testing.T) {
	bin := chromatest.Binary(t)
	ctx := testContext(t)
	src := t.TempDir()
	srv := chromatest.Start(t, chromatest.Options{PersistDir: src, Binary: bin})
	if n, err := srv.Client.CountCollections(ctx); err != nil || n != 0 {
		t.Fatalf("a new Chroma has %d collections (%v)", n, err)
	}
	// Snapshot while the server runs, as the product does.
	repo := mustOpen(t, newBucket(t), Keys{})
	m := takeSnapshot(t, repo, src)
	if len(m.Chroma.Collections) != 0 || m.Records() != 0 {
		t.Fatalf("manifest of an empty Chroma lists %d collections, %d records", len(m.Chroma.Collections), m.Records())
	}
	target := restoreTo(t, repo, m.ID)
	restored := chromatest.Start(t, chromatest.Options{PersistDir: target, Binary: bin})
	requireChromaMatches(ctx, t, restored.Client, m)
	if _, err := restored.Client.CreateCollection(ctx, "after-restore"); err != nil {
		t.Fatalf("the restored empty Chroma does not take writes: %v", err)
	}
}
