package snapshot

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromaapi"
	"github.com/otelcol-chroma/otelcol-chroma/internal/chromadb"
)

// neighbours is how many results a drill's query asks for: enough to see
// past records at the same distance as the one queried, or nearer (ip).
const neighbours = 10

// checkInChroma starts Chroma on the restored copy on a loopback port,
// and checks through its API that every collection of the manifest is
// there with its record count, and that a query with a stored embedding
// finds that record where an exact search would. Closing the copy stops
// Chroma.
func checkInChroma(ctx context.Context, sc *ScratchCopy, opts DrillOptions, res *DrillResult) error {
	srv, ready, err := sc.Serve(ctx, opts.ChromaCommand, opts.ChromaStartTimeout)
	if err != nil {
		return err
	}
	res.ChromaReady = ready
	res.Recovery += ready
	if err := checkCollections(ctx, srv.Client, sc.Manifest, sc.where, res); err != nil {
		return fmt.Errorf("%w: %w\n--- chroma log (tail) ---\n%s", ErrChromaCheck, err, chromaapi.Tail(srv.Logs(), 1500))
	}
	res.ChromaChecked = true
	return nil
}

// dbRef is where Chroma's API finds a collection.
type dbRef struct{ tenant, database string }

// collectionDatabases reads each collection's tenant and database from the
// restored copy (the manifest does not record them).
func collectionDatabases(ctx context.Context, persist string) (map[string]dbRef, error) {
	db, err := chromadb.OpenCopy(ctx, filepath.Join(persist, chromadb.DatabaseFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRestoreCheck, err)
	}
	defer db.Close()
	cols, err := db.Collections(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRestoreCheck, err)
	}
	out := make(map[string]dbRef, len(cols))
	for _, c := range cols {
		out[c.ID] = dbRef{cmp.Or(c.Tenant, chromaapi.DefaultTenant), cmp.Or(c.Database, chromaapi.DefaultDatabase)}
	}
	return out, nil
}

// checkCollections compares every database's collection count and every
// collection's record count with the manifest, and runs one query each.
func checkCollections(ctx context.Context, c *chromaapi.Client, m *Manifest, where map[string]dbRef, res *DrillResult) error {
	perDB := make(map[dbRef]int)
	for _, col := range m.Chroma.Collections {
		perDB[where[col.ID]]++
	}
	for ref, want := range perDB {
		n, err := c.InDatabase(ref.tenant, ref.database).CountCollections(ctx)
		if err != nil {
			return fmt.Errorf("count collections of database %s/%s: %w", ref.tenant, ref.database, err)
		}
		if n != want {
			return fmt.Errorf("database %s/%s has %d collections in Chroma, the manifest %d", ref.tenant, ref.database, n, want)
		}
	}
	for _, col := range m.Chroma.Collections {
		ref := where[col.ID]
		if err := checkCollection(ctx, c.InDatabase(ref.tenant, ref.database), col, res); err != nil {
			return err
		}
	}
	return nil
}

// checkCollection compares one collection's count with the manifest and
// queries with stored embeddings (see checkQueries).
func checkCollection(ctx context.Context, c *chromaapi.Client, col Collection, res *DrillResult) error {
	n, err := c.Count(ctx, col.ID)
	if err != nil {
		return fmt.Errorf("count records of collection %q (%s): %w", col.Name, col.ID, err)
	}
	if int64(n) != col.Records {
		return fmt.Errorf("collection %q has %d records in Chroma, the manifest says %d", col.Name, n, col.Records)
	}
	if n == 0 {
		return nil
	}
	if err := checkQueries(ctx, c, col, n); err != nil {
		return err
	}
	res.Queries++
	return nil
}

// checkQueries queries with the embeddings of up to QueryProbes records
// (chromaapi.ProbeOffsets), in the collection's distance function: the
// check passes once one of them comes back at its own distance where an
// exact search ranks it (see probeRecord).
func checkQueries(ctx context.Context, c *chromaapi.Client, col Collection, n int) error {
	coll, err := c.GetCollection(ctx, col.Name)
	if err != nil {
		return fmt.Errorf("read collection %q: %w", col.Name, err)
	}
	space, k := coll.Space(), min(n, neighbours)
	var misses []string
	for _, at := range chromaapi.ProbeOffsets(n, chromaapi.QueryProbes) {
		rec, ok, err := c.RecordAt(ctx, col.ID, at)
		if err != nil || !ok {
			return fmt.Errorf("read a record of collection %q: found %v, %v", col.Name, ok, err)
		}
		found, got, err := probeRecord(ctx, c, col.ID, rec, space, k)
		if err != nil {
			return fmt.Errorf("query collection %q: %w", col.Name, err)
		}
		if found {
			return nil
		}
		misses = append(misses, fmt.Sprintf("record %q: got %v", rec.ID, got))
	}
	return fmt.Errorf("collection %q (distance %s): no query with a stored embedding found its record where an exact search ranks it: %s",
		col.Name, space, strings.Join(misses, "; "))
}

// probeRecord queries with rec's embedding for its k nearest records, and
// reports whether rec came back at its own distance with nothing farther
// before it. When all k are at least as near (equal embeddings, or, with
// ip, longer ones), the query cannot show rec; it passes when every result
// is at the distance its own stored embedding gives (the index answers
// with the records' true vectors, in an order an exact search agrees with).
// got is what the query returned.
func probeRecord(ctx context.Context, c *chromaapi.Client, collID string, rec chromaapi.Record, space string, k int) (bool, []chromaapi.Neighbour, error) {
	got, err := c.Nearest(ctx, collID, rec.Embedding, k)
	if err != nil {
		return false, nil, err
	}
	switch chromaapi.Rank(got, rec.ID, chromaapi.SelfDistance(space, rec.Embedding), k) {
	case chromaapi.RankFound:
		return true, got, nil
	case chromaapi.RankMissed:
		return false, got, nil
	}
	ok, err := trueDistances(ctx, c, collID, rec.Embedding, space, got)
	return ok, got, err
}

// trueDistances reports whether every neighbour's distance from query is
// the one its stored embedding gives.
func trueDistances(ctx context.Context, c *chromaapi.Client, collID string, query []float32, space string, got []chromaapi.Neighbour) (bool, error) {
	ids := make([]string, len(got))
	for i, nb := range got {
		ids[i] = nb.ID
	}
	recs, err := c.Get(ctx, collID, ids)
	if err != nil {
		return false, err
	}
	stored := make(map[string][]float32, len(recs))
	for _, r := range recs {
		stored[r.ID] = r.Embedding
	}
	for _, nb := range got {
		emb, ok := stored[nb.ID]
		if !ok || !chromaapi.SameDistance(nb.Distance, chromaapi.Distance(space, query, emb)) {
			return false, nil
		}
	}
	return true, nil
}
