// Command chromafill fills a persist directory through a real Chroma
// server's HTTP API, or changes it the way an application does, for the
// real-data snapshot benchmark (scripts/bench-snapshot.sh with DATA=real).
//
// Fill (starts Chroma on -dir, adds the records, stops it with SIGTERM):
//
//	go run ./scripts/chromafill -chroma .tools/npm/node_modules/.bin/chroma \
//	    -dir /tmp/persist -records 60000 -dim 1536 -collections 3
//
// Change (one application "round"; -round numbers the rounds so every
// round adds new ids):
//
//	go run ./scripts/chromafill -chroma ... -dir /tmp/persist -round 1 \
//	    -add 600 -upsert 60 -delete 30
//
// -dir and -chroma may be relative to the working directory. Records carry
// a normalized Gaussian embedding, a document of 15-75 words and four
// metadata keys. The same seed gives the same requests.
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromaapi"
)

type options struct {
	chroma      string
	dir         string
	records     int
	dim         int
	collections int
	batch       int
	seed        uint64
	round       int
	add         int
	upsert      int
	del         int
}

func main() {
	var o options
	flag.StringVar(&o.chroma, "chroma", "", "chroma executable (required)")
	flag.StringVar(&o.dir, "dir", "", "persist directory (required)")
	flag.IntVar(&o.records, "records", 60000, "records to add in total when filling")
	flag.IntVar(&o.dim, "dim", 1536, "embedding dimension")
	flag.IntVar(&o.collections, "collections", 3, "collections")
	flag.IntVar(&o.batch, "batch", 500, "records per request")
	flag.Uint64Var(&o.seed, "seed", 1, "PRNG seed")
	flag.IntVar(&o.round, "round", 0, "change round (0: fill)")
	flag.IntVar(&o.add, "add", 600, "records added per round")
	flag.IntVar(&o.upsert, "upsert", 60, "existing records replaced per round")
	flag.IntVar(&o.del, "delete", 30, "records deleted per round")
	flag.Parse()
	if o.chroma == "" || o.dir == "" {
		fmt.Fprintln(os.Stderr, "chromafill: -chroma and -dir are required")
		os.Exit(2)
	}
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "chromafill:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return err
	}
	logDir, err := os.MkdirTemp("", "chromafill-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(logDir)
	srv, err := chromaapi.StartServer(ctx, chromaapi.ServerOptions{Command: o.chroma, PersistDir: o.dir, LogDir: logDir, StartTimeout: 2 * time.Minute})
	if err != nil {
		return err
	}
	w := &writer{o: o, c: srv.Client, rng: rand.New(rand.NewPCG(o.seed, uint64(o.round)))}
	if o.round == 0 {
		err = w.fill(ctx)
	} else {
		err = w.change(ctx)
	}
	if stopErr := srv.Stop(); err == nil && stopErr != nil {
		err = fmt.Errorf("stop chroma: %w", stopErr)
	}
	return err
}

type writer struct {
	o   options
	c   *chromaapi.Client
	rng *rand.Rand
}

func collName(i int) string { return fmt.Sprintf("docs-%d", i) }

// perCollection is how many of n records collection i gets.
func perCollection(n, collections, i int) int {
	k := n / collections
	if i < n%collections {
		k++
	}
	return k
}

func (w *writer) fill(ctx context.Context) error {
	start := time.Now()
	for i := range w.o.collections {
		id, err := w.c.GetOrCreateCollection(ctx, collName(i))
		if err != nil {
			return err
		}
		n := perCollection(w.o.records, w.o.collections, i)
		for off := 0; off < n; off += w.o.batch {
			k := min(w.o.batch, n-off)
			if err := w.write(ctx, id, w.ids(i, 0, off, k), false); err != nil {
				return err
			}
		}
		fmt.Fprintf(os.Stderr, "chromafill: %s: %d records (%s)\n", collName(i), n, time.Since(start).Round(time.Second))
	}
	return nil
}

// change adds new records, replaces some existing ones and deletes a few,
// in every collection, the way an application keeps its data current.
func (w *writer) change(ctx context.Context) error {
	for i := range w.o.collections {
		id, err := w.c.GetOrCreateCollection(ctx, collName(i))
		if err != nil {
			return err
		}
		filled := perCollection(w.o.records, w.o.collections, i)
		add := perCollection(w.o.add, w.o.collections, i)
		for off := 0; off < add; off += w.o.batch {
			if err := w.write(ctx, id, w.ids(i, w.o.round, off, min(w.o.batch, add-off)), false); err != nil {
				return err
			}
		}
		if err := w.write(ctx, id, w.existing(i, filled, perCollection(w.o.upsert, w.o.collections, i)), true); err != nil {
			return err
		}
		if err := w.c.Delete(ctx, id, w.existing(i, filled, perCollection(w.o.del, w.o.collections, i))); err != nil {
			return err
		}
	}
	return nil
}

func (w *writer) ids(coll, round, off, n int) []string {
	ids := make([]string, n)
	for j := range ids {
		ids[j] = fmt.Sprintf("c%d-r%d-%07d", coll, round, off+j)
	}
	return ids
}

// existing picks n ids of the original fill at random.
func (w *writer) existing(coll, filled, n int) []string {
	ids := make([]string, n)
	for j := range ids {
		ids[j] = fmt.Sprintf("c%d-r0-%07d", coll, w.rng.IntN(filled))
	}
	return ids
}

func (w *writer) write(ctx context.Context, collID string, ids []string, upsert bool) error {
	if len(ids) == 0 {
		return nil
	}
	embs := make([][]float32, len(ids))
	docs := make([]string, len(ids))
	metas := make([]map[string]any, len(ids))
	for j := range ids {
		embs[j] = w.embedding()
		docs[j] = w.document()
		metas[j] = map[string]any{
			"source":   fmt.Sprintf("reports/%04d/%s.pdf", w.rng.IntN(2000), ids[j]),
			"page":     w.rng.IntN(400),
			"category": categories[w.rng.IntN(len(categories))],
			"score":    math.Round(w.rng.Float64()*1000) / 1000,
		}
	}
	if upsert {
		return w.c.Upsert(ctx, collID, ids, embs, metas, docs)
	}
	return w.c.Add(ctx, collID, ids, embs, metas, docs)
}

func (w *writer) embedding() []float32 {
	v := make([]float32, w.o.dim)
	var norm float64
	for k := range v {
		x := w.rng.NormFloat64()
		v[k] = float32(x)
		norm += x * x
	}
	inv := float32(1 / math.Sqrt(norm))
	for k := range v {
		v[k] *= inv
	}
	return v
}

func (w *writer) document() string {
	n := 15 + w.rng.IntN(61)
	var b strings.Builder
	for k := range n {
		if k > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(vocabulary[w.rng.IntN(len(vocabulary))])
	}
	b.WriteByte('.')
	return b.String()
}

var categories = []string{"finance", "legal", "engineering", "support", "sales", "research", "hr", "operations"}

// vocabulary: words with a Zipf-like reuse, so documents compress like text.
var vocabulary = strings.Fields(`the of and to in a is that for it as was with be by on not he this are or his from at which
but have an they you were her she there been one all we their has would when if so no will more can
who out up what some them into time only its could new other than then these two may first any like
now my such made over did most after also through where well much before must back great years way
even because same each those while last might people state being under never world day long system
report quarterly revenue customer contract agreement policy server cluster latency database index query
vector embedding model training dataset evaluation pipeline deployment incident review budget forecast
market product release feature request support ticket escalation region storage backup restore network
security compliance audit invoice payment account manager engineer analyst research results summary`)
