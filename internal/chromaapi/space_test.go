package chromaapi_test

import (
	"encoding/json"
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

// A query with a record's own embedding ranks it as an exact search would:
// first or tied first (l2, cosine), or after the records that are nearer
// by inner product (ip); a farther record before it, or all k results
// without it while one is farther, is a miss.
func TestRanksAsItself(t *testing.T) {
	nb := func(pairs ...any) []chromaapi.Neighbour {
		var out []chromaapi.Neighbour
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, chromaapi.Neighbour{ID: pairs[i].(string), Distance: pairs[i+1].(float64)})
		}
		return out
	}
	long := []float32{2, 0} // ip: self distance 1 - 4 = -3
	for _, tc := range []struct {
		name  string
		got   []chromaapi.Neighbour
		self  float64
		k     int
		ranks bool
	}{
		{"l2 first", nb("r", 0.0, "a", 0.4), 0, 2, true},
		{"l2 tied with a duplicate", nb("a", 0.0, "r", 0.0), 0, 2, true},
		{"l2 float noise", nb("a", 2e-7, "r", 3e-7), 0, 2, true},
		{"l2 farther record first", nb("a", 0.1, "r", 0.0), 0, 2, false},
		{"l2 missing", nb("a", 0.1, "b", 0.2), 0, 2, false},
		{"l2 found at another distance", nb("r", 0.3, "a", 0.4), 0, 2, false},
		{"l2 k duplicates", nb("a", 0.0, "b", 0.0), 0, 2, true},
		{"l2 fewer than k without it", nb("a", 0.0), 0, 2, false},
		{"ip after longer records", nb("a", -5.0, "r", -3.0), chromaapi.SelfDistance("ip", long), 2, true},
		{"ip all k longer", nb("a", -5.0, "b", -4.0), chromaapi.SelfDistance("ip", long), 2, true},
		{"ip farther record first", nb("a", -1.0, "r", -3.0), chromaapi.SelfDistance("ip", long), 2, false},
		{"ip missing", nb("a", -5.0, "b", -1.0), chromaapi.SelfDistance("ip", long), 2, false},
	} {
		if got := chromaapi.RanksAsItself(tc.got, "r", tc.self, tc.k); got != tc.ranks {
			t.Errorf("%s: RanksAsItself(%v, self %v) = %v", tc.name, tc.got, tc.self, got)
		}
	}
	if d := chromaapi.SelfDistance("l2", long); d != 0 {
		t.Errorf("l2 self distance %v", d)
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
