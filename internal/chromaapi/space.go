package chromaapi

import (
	"encoding/json"
	"math"
	"slices"
)

// Chroma's distance functions (a collection's "space").
const (
	SpaceL2     = "l2"
	SpaceCosine = "cosine"
	SpaceIP     = "ip"
)

// Space is the collection's distance function: the configuration's
// hnsw.space (or spann.space), else the legacy "hnsw:space" metadata key,
// else Chroma's default l2.
func (c Collection) Space() string {
	var cfg struct {
		HNSW  *struct{ Space string } `json:"hnsw"`
		SPANN *struct{ Space string } `json:"spann"`
	}
	if json.Unmarshal(c.ConfigurationJSON, &cfg) == nil {
		switch {
		case cfg.HNSW != nil && cfg.HNSW.Space != "":
			return cfg.HNSW.Space
		case cfg.SPANN != nil && cfg.SPANN.Space != "":
			return cfg.SPANN.Space
		}
	}
	var md map[string]any
	if json.Unmarshal(c.Metadata, &md) == nil {
		if s, ok := md["hnsw:space"].(string); ok {
			return s
		}
	}
	return SpaceL2
}

// Distance is Chroma's distance between embeddings a and b in space:
// squared Euclidean (l2), 1 - cosine similarity (cosine), or 1 - the
// inner product (ip).
func Distance(space string, a, b []float32) float64 {
	var dot, aa, bb, l2 float64
	for i := range min(len(a), len(b)) {
		x, y := float64(a[i]), float64(b[i])
		dot, aa, bb, l2 = dot+x*y, aa+x*x, bb+y*y, l2+(x-y)*(x-y)
	}
	switch space {
	case SpaceIP:
		return 1 - dot
	case SpaceCosine:
		return 1 - dot/math.Sqrt(aa*bb)
	}
	return l2
}

// SelfDistance is the distance Chroma reports between embedding and
// itself: 0 for l2 and cosine, 1 - |embedding|² for ip, which ranks by
// inner product, so a longer embedding can rank before the record's own.
func SelfDistance(space string, embedding []float32) float64 {
	if space != SpaceIP {
		return 0
	}
	return Distance(space, embedding, embedding)
}

// Ranking is where a query with a record's own embedding placed it.
type Ranking int

const (
	// RankMissed: a result farther than the record's own distance came
	// before it, or it came at another distance (or a distance is not a
	// number): the index did not find the record, or holds another vector
	// for it.
	RankMissed Ranking = iota
	// RankFound: the record came at its own distance, with nothing farther
	// before it.
	RankFound
	// RankBehind: all k results are at least as near as the record's own
	// distance, and it is not among them. An exact search ranks it after
	// them too (records with equal embeddings, or, with ip, longer ones),
	// so the query cannot tell whether the index holds it.
	RankBehind
)

// Rank places record id in the k results of a query with its own
// embedding, whose distance to itself is self (SelfDistance).
func Rank(got []Neighbour, id string, self float64, k int) Ranking {
	for _, nb := range got {
		switch {
		case !finite(nb.Distance):
			return RankMissed
		case nb.ID == id && SameDistance(nb.Distance, self):
			return RankFound
		case nb.ID == id, nb.Distance > self && !SameDistance(nb.Distance, self):
			return RankMissed
		}
	}
	if len(got) == k && k > 0 {
		return RankBehind
	}
	return RankMissed
}

// SameDistance reports whether distance d equals want within the
// rounding of Chroma's float32 arithmetic; a distance that is not a
// finite number equals nothing.
func SameDistance(d, want float64) bool {
	return finite(d) && math.Abs(d-want) <= 1e-4*max(1, math.Abs(want))
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// QueryProbes is how many stored records a check queries with, at most.
// HNSW search is approximate: in a large collection of hard data (random
// vectors of high dimension) a query can miss even the record whose
// embedding it is.
const QueryProbes = 3

// ProbeOffsets are up to k distinct offsets among n records to query
// with: the middle one first, then a quarter and three quarters in.
func ProbeOffsets(n, k int) []int {
	if n <= 0 || k <= 0 {
		return nil
	}
	out := []int{n / 2}
	for _, at := range []int{n / 4, 3 * n / 4} {
		if len(out) < k && !slices.Contains(out, at) {
			out = append(out, at)
		}
	}
	return out
}
