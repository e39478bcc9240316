package chromaapi_test

import (
	"encoding/json"
	"math"
	"slices"
	"testing"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromaapi"
)

// The distance function comes from the configuration, else the legacy
// metadata key, else Chroma's default.
func TestCollectionSpace(t *testing.T) {
	for _, tc := range []struct{ config, metadata, want string }{
		{`{"hnsw":{"space":"ip"}}`, `{"hnsw:space":"cosine"}`, "ip"},
		{`{"spann":{"space":"cosine"}}`, ``, "cosine"},
		{`{"hnsw":{"ef_search":10}}`, `{"hnsw:space":"cosine"}`, "cosine"},
		{``, `null`, "l2"},
	} {
		c := chromaapi.Collection{ConfigurationJSON: json.RawMessage(tc.config), Metadata: json.RawMessage(tc.metadata)}
		if got := c.Space(); got != tc.want {
			t.Errorf("config %s, metadata %s: space %q, want %q", tc.config, tc.metadata, got, tc.want)
		}
	}
}

// A query with a record's own embedding finds it at its own distance,
// first or tied first (l2, cosine) or after the records nearer by inner
// product (ip); with all k results at least as near and the record not
// among them, only a query limited to it can tell (RankBehind); a farther
// record before it, the record at another distance, or a distance that
// is not a number is a miss.
func TestRank(t *testing.T) {
	nb := func(pairs ...any) []chromaapi.Neighbour {
		var out []chromaapi.Neighbour
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, chromaapi.Neighbour{ID: pairs[i].(string), Distance: pairs[i+1].(float64)})
		}
		return out
	}
	ip := chromaapi.SelfDistance("ip", []float32{2, 0}) // 1 - 4
	const (
		found  = chromaapi.RankFound
		behind = chromaapi.RankBehind
		missed = chromaapi.RankMissed
	)
	for _, tc := range []struct {
		name string
		got  []chromaapi.Neighbour
		self float64
		k    int
		want chromaapi.Ranking
	}{
		{"l2 first", nb("r", 0.0, "a", 0.4), 0, 2, found},
		{"l2 tied with a duplicate", nb("a", 0.0, "r", 0.0), 0, 2, found},
		{"l2 float noise", nb("a", 2e-7, "r", 3e-7), 0, 2, found},
		{"l2 farther record first", nb("a", 0.1, "r", 0.0), 0, 2, missed},
		{"l2 missing", nb("a", 0.1, "b", 0.2), 0, 2, missed},
		{"l2 found at another distance", nb("r", 0.3, "a", 0.4), 0, 2, missed},
		{"l2 k duplicates", nb("a", 0.0, "b", 0.0), 0, 2, behind},
		{"l2 fewer than k without it", nb("a", 0.0), 0, 2, missed},
		{"no results", nil, 0, 1, missed},
		{"not a number", nb("a", math.NaN(), "b", math.NaN()), 0, 2, missed},
		{"infinitely near", nb("a", math.Inf(-1), "b", math.Inf(-1)), ip, 2, missed},
		{"ip after longer records", nb("a", -5.0, "r", -3.0), ip, 2, found},
		{"ip all k longer", nb("a", -5.0, "b", -4.0), ip, 2, behind},
		{"ip farther record first", nb("a", -1.0, "r", -3.0), ip, 2, missed},
		{"ip missing", nb("a", -5.0, "b", -1.0), ip, 2, missed},
	} {
		if got := chromaapi.Rank(tc.got, "r", tc.self, tc.k); got != tc.want {
			t.Errorf("%s: Rank(%v, self %v) = %v, want %v", tc.name, tc.got, tc.self, got, tc.want)
		}
	}
	if d := chromaapi.SelfDistance("l2", []float32{2, 0}); d != 0 {
		t.Errorf("l2 self distance %v", d)
	}
}

// Distance is Chroma's: squared Euclidean, 1 - cosine, 1 - inner product.
func TestDistance(t *testing.T) {
	a, b := []float32{1, 2}, []float32{3, 0}
	for space, want := range map[string]float64{"l2": 8, "ip": -2, "cosine": 1 - 3/(math.Sqrt(5)*3)} {
		if got := chromaapi.Distance(space, a, b); !chromaapi.SameDistance(got, want) {
			t.Errorf("%s distance %v, want %v", space, got, want)
		}
	}
	if d := chromaapi.SelfDistance("cosine", a); d != 0 {
		t.Errorf("cosine self distance %v", d)
	}
}

func TestProbeOffsets(t *testing.T) {
	for _, tc := range []struct {
		n, k int
		want []int
	}{{0, 3, nil}, {1, 3, []int{0}}, {2, 3, []int{1, 0}}, {8, 3, []int{4, 2, 6}}, {8, 1, []int{4}}} {
		if got := chromaapi.ProbeOffsets(tc.n, tc.k); !slices.Equal(got, tc.want) {
			t.Errorf("ProbeOffsets(%d, %d) = %v, want %v", tc.n, tc.k, got, tc.want)
		}
	}
}
