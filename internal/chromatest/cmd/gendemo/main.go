// Command gendemo builds testdata/chroma-demo: a small persist directory
// written by a real Chroma server, and a JSON file with what Chroma's own API
// reported about it.
//
// The records are deterministic (fixed PRNG seed); collection and segment
// UUIDs and timestamps are not. The directory holds one collection past the
// HNSW sync threshold (its index persisted once, with log rows still pending
// for it), one below it (a segment folder with an empty index and no
// max_seq_id row for its vector segment), and one empty collection (no
// segment folder).
//
// Usage (from the repository root; testdata/gen-chroma-demo.sh does this):
//
//	go run ./internal/chromatest/cmd/gendemo -out testdata/chroma-demo -expected testdata/chroma-demo.expected.json
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
)

const dim = 16

// Expected is the content of chroma-demo.expected.json.
type Expected struct {
	Collections   int            `json:"collections"`
	Records       int            `json:"records"`
	PerCollection map[string]int `json:"per_collection"`
}

func main() {
	out := flag.String("out", "testdata/chroma-demo", "persist directory to (re)create")
	expected := flag.String("expected", "testdata/chroma-demo.expected.json", "JSON file with the API's counts")
	seed := flag.Uint64("seed", 20240601, "PRNG seed for the records")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("gendemo: ")
	if err := run(*out, *expected, *seed); err != nil {
		log.Fatal(err)
	}
}

func run(out, expectedPath string, seed uint64) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	work, err := os.MkdirTemp("", "gendemo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	persist := filepath.Join(work, "persist")

	srv, err := chromatest.Launch(chromatest.Options{PersistDir: persist, LogDir: work})
	if err != nil {
		return err
	}
	exp, err := populate(ctx, srv.Client, rand.New(rand.NewPCG(seed, seed+1)))
	if stopErr := srv.Stop(); stopErr != nil {
		err = errors.Join(err, fmt.Errorf("stop chroma: %w", stopErr))
	}
	if err != nil {
		return fmt.Errorf("%w\n--- chroma log ---\n%s", err, srv.Logs())
	}

	// A journal left behind would mean a write transaction was cut off;
	// dropping it would corrupt the copy, so refuse instead.
	if j, err := filepath.Glob(filepath.Join(persist, "*-journal")); err != nil || len(j) > 0 {
		return fmt.Errorf("SQLite journal left after stop: %v %v", j, err)
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	if err := chromatest.CopyDir(persist, out); err != nil {
		return err
	}
	if err := verify(ctx, out, work, exp); err != nil {
		return fmt.Errorf("verify %s: %w", out, err)
	}
	b, err := json.MarshalIndent(exp, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(expectedPath, append(b, '\n'), 0o644); err != nil {
		return err
	}
	log.Printf("wrote %s (%d collections, %d records) and %s", out, exp.Collections, exp.Records, expectedPath)
	return nil
}

type demoCollection struct {
	name     string
	add      int // records added
	upsert   int // records upserted, half of them existing
	deletes  int // records deleted
	metadata func(r *rand.Rand, i int) map[string]any
	document func(r *rand.Rand, i int) string
}

var words = []string{"vector", "index", "backup", "restore", "latency", "shard", "replica",
	"query", "embedding", "segment", "bucket", "snapshot", "policy", "alert", "cluster"}

func sentence(r *rand.Rand, n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = words[r.IntN(len(words))]
	}
	return strings.Join(w, " ")
}

var demo = []demoCollection{
	{
		// Past the sync threshold: the HNSW index was persisted at 1000.
		name: "articles", add: 1500, deletes: 40,
		metadata: func(r *rand.Rand, i int) map[string]any {
			return map[string]any{"year": 2015 + r.IntN(10), "lang": []string{"en", "de", "fr"}[r.IntN(3)], "score": float64(r.IntN(1000)) / 10, "published": r.IntN(4) != 0}
		},
		document: func(r *rand.Rand, i int) string { return fmt.Sprintf("Article %d: %s.", i, sentence(r, 8)) },
	},
	{
		// Below the threshold: the vector segment has no max_seq_id row yet.
		name: "products", add: 800, upsert: 50, deletes: 15,
		metadata: func(r *rand.Rand, i int) map[string]any {
			return map[string]any{"sku": fmt.Sprintf("SKU-%05d", i), "price": float64(100+r.IntN(99900)) / 100, "in_stock": r.IntN(2) == 0}
		},
		document: func(r *rand.Rand, i int) string { return sentence(r, 5) },
	},
	{
		// No records: no segment folder.
		name: "empty-archive",
	},
}

func populate(ctx context.Context, c *chromatest.Client, r *rand.Rand) (Expected, error) {
	exp := Expected{PerCollection: map[string]int{}}
	for _, dc := range demo {
		id, err := c.CreateCollection(ctx, dc.name)
		if err != nil {
			return exp, err
		}
		var ids []string
		var embs [][]float32
		mk := func(i int) (string, []float32, map[string]any, string) {
			return fmt.Sprintf("%s-%05d", dc.name, i), chromatest.RandomEmbedding(r, dim), dc.metadata(r, i), dc.document(r, i)
		}
		const batch = 100
		for from := 0; from < dc.add; from += batch {
			var bIDs, bDocs []string
			var bEmbs [][]float32
			var bMetas []map[string]any
			for i := from; i < min(from+batch, dc.add); i++ {
				rid, e, m, d := mk(i)
				bIDs, bEmbs, bMetas, bDocs = append(bIDs, rid), append(bEmbs, e), append(bMetas, m), append(bDocs, d)
			}
			if err := c.Add(ctx, id, bIDs, bEmbs, bMetas, bDocs); err != nil {
				return exp, err
			}
			ids, embs = append(ids, bIDs...), append(embs, bEmbs...)
		}
		if dc.upsert > 0 {
			var uIDs, uDocs []string
			var uEmbs [][]float32
			var uMetas []map[string]any
			for k := range dc.upsert {
				i := dc.add - dc.upsert/2 + k // the second half are new ids
				rid, e, m, d := mk(i)
				uIDs, uEmbs, uMetas, uDocs = append(uIDs, rid), append(uEmbs, e), append(uMetas, m), append(uDocs, d)
			}
			if err := c.Upsert(ctx, id, uIDs, uEmbs, uMetas, uDocs); err != nil {
				return exp, err
			}
		}
		if dc.deletes > 0 {
			var del []string
			for _, i := range r.Perm(len(ids))[:dc.deletes] {
				del = append(del, ids[i])
			}
			if err := c.Delete(ctx, id, del); err != nil {
				return exp, err
			}
			// A record that survives is its own nearest neighbour.
			for _, i := range r.Perm(len(ids))[:5] {
				if slices.Contains(del, ids[i]) || i >= dc.add-dc.upsert/2 {
					continue
				}
				got, err := c.Query(ctx, id, embs[i], 1)
				if err != nil {
					return exp, err
				}
				if len(got) != 1 || got[0] != ids[i] {
					return exp, fmt.Errorf("%s: query with the embedding of %s returned %v", dc.name, ids[i], got)
				}
			}
		}
		n, err := c.Count(ctx, id)
		if err != nil {
			return exp, err
		}
		if want := dc.add + dc.upsert/2 - dc.deletes; n != want {
			return exp, fmt.Errorf("%s: count %d, want %d", dc.name, n, want)
		}
		exp.PerCollection[dc.name] = n
		exp.Records += n
	}
	n, err := c.CountCollections(ctx)
	if err != nil {
		return exp, err
	}
	colls, err := c.ListCollections(ctx)
	if err != nil {
		return exp, err
	}
	if n != len(demo) || len(colls) != len(demo) {
		return exp, fmt.Errorf("API reports %d collections (%d listed), want %d", n, len(colls), len(demo))
	}
	exp.Collections = n
	return exp, nil
}

// verify opens a scratch copy of dir with a real server and compares its
// counts with exp.
func verify(ctx context.Context, dir, work string, exp Expected) error {
	scratch := filepath.Join(work, "verify")
	if err := chromatest.CopyDir(dir, scratch); err != nil {
		return err
	}
	srv, err := chromatest.Launch(chromatest.Options{PersistDir: scratch, LogDir: work})
	if err != nil {
		return err
	}
	defer srv.Stop()
	n, err := srv.Client.CountCollections(ctx)
	if err != nil {
		return err
	}
	if n != exp.Collections {
		return fmt.Errorf("%d collections, want %d", n, exp.Collections)
	}
	for name, want := range exp.PerCollection {
		coll, err := srv.Client.GetCollection(ctx, name)
		if err != nil {
			return err
		}
		got, err := srv.Client.Count(ctx, coll.ID)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("%s: %d records, want %d", name, got, want)
		}
	}
	return nil
}
