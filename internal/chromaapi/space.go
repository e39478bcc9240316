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

// SelfDistance is the distance Chroma reports between embedding and
// itself: 0 for l2 (squared) and cosine, 1 - |embedding|² for ip, which
// ranks by inner product, so a longer embedding can rank before the
// record's own.
func SelfDistance(space string, embedding []float32) float64 {
	if space != SpaceIP {
		return 0
	}
	var dot float64
	for _, x := range embedding {
		dot += float64(x) * float64(x)
	}
	return 1 - dot
}

// RanksAsItself reports whether the k results of a query with record id's
// own embedding (whose distance to itself is self) rank it where an exact
// search would: id is among them, at distance self, with nothing farther
// before it, or all k are at least as near as self (records with equal
// embeddings, or, with ip, longer ones, may all come first). A result
// farther than self before id, or an id missing behind such a result,
// means the index did not find the record; id at another distance means
// the index holds another vector for it than the record has.
func RanksAsItself(got []Neighbour, id string, self float64, k int) bool {
	tol := 1e-4 * max(1, math.Abs(self))
	for _, nb := range got {
		if nb.ID == id {
			return math.Abs(nb.Distance-self) <= tol
		}
		if nb.Distance > self+tol {
			return false
		}
	}
	return len(got) == k && k > 0
}

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
