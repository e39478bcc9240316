package scrubprocessor // import "github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor"

import (
	"hash/maphash"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Cumulative series stay monotonic across exports. When scrubbing merges
// several series (contributors: tenants, collections, processes) into one,
// a request that lacks one of them would make the merged series drop, which
// a backend reads as a counter reset. So the processor remembers, per
// merged series, the last point of each contributor and emits their total:
//
//   - a contributor absent from a request counts with its last point;
//   - a contributor whose value (a histogram's or summary's count) falls or
//     whose start time moves restarted: what it had counted is retired into
//     the merged series, which never drops;
//   - the merged series keeps the earliest start time it was seen with.
//
// This covers cumulative sums, histograms (count, sum and buckets; series
// with other bounds are other series) and summaries (count and sum). The
// memory is bounded: a contributor not seen for cumulativeTTL is forgotten
// (a monotonic one's count stays retired in its series), and at most
// cumulativeLimit contributors are remembered; beyond that, new
// contributors count only in the requests that carry them. Non-monotonic
// sums carry absent contributors the same way but have no restarts, and a
// forgotten one stops counting.
const (
	cumulativeTTL   = time.Hour
	cumulativeLimit = 16384
)

type cumulativeState struct {
	mu        sync.Mutex
	now       func() time.Time
	ttl       time.Duration
	limit     int
	parts     int // contributors remembered
	series    map[uint64]*cumSeries
	lastSweep time.Time
	seed      maphash.Seed
}

// A point's values: a sum's value; a histogram's count, sum and bucket
// counts; a summary's count and sum. values[0] tells a restart.
type cumSeries struct {
	start     pcommon.Timestamp
	retired   []float64 // counted by contributors that restarted or were forgotten
	parts     map[uint64]*cumPart
	seen      time.Time
	monotonic bool
}

type cumPart struct {
	values    []float64
	start, ts pcommon.Timestamp
	seen      time.Time
}

func newCumulativeState(limit int, ttl time.Duration, now func() time.Time) *cumulativeState {
	return &cumulativeState{now: now, ttl: ttl, limit: limit, series: map[uint64]*cumSeries{}, seed: maphash.MakeSeed(), lastSweep: now()}
}

// observation is one contributor's point in one request; its values are
// cumulativeCall.vals[off:off+n].
type observation struct {
	key, part uint64 // the merged series; the contributor
	off, n    int
	start, ts pcommon.Timestamp
	monotonic bool
}

// cumulativeCall is one request's part of the work, kept in the scratch.
type cumulativeCall struct {
	parts []uint64 // contributor of each cumulative point, in walk order
	next  int
	obs   []observation
	vals  []float64
	extra map[uint64][]float64 // contributors beyond the limit, per series
	total []float64
	buf   []byte
}

func (cc *cumulativeCall) reset() {
	cc.parts = cc.parts[:0]
	cc.next = 0
	cc.obs = cc.obs[:0]
	cc.vals = cc.vals[:0]
	clear(cc.extra)
}

// before records the contributors of md's cumulative points, before
// scrubbing changes their identities.
func (cs *cumulativeState) before(md pmetric.Metrics, cc *cumulativeCall) {
	cs.walk(md, &cc.buf, func(_ cumRef, id uint64) {
		cc.parts = append(cc.parts, id)
	})
}

// scrubbed pairs the contributors of one scrubbed metric, not merged yet,
// with the series they became. Scrubbing changes attributes and names,
// never the order or number of points.
func (cs *cumulativeState) scrubbed(rm pmetric.ResourceMetrics, sm pmetric.ScopeMetrics, m pmetric.Metric, cc *cumulativeCall) {
	cs.eachPoint(rm, sm, m, &cc.buf, func(r cumRef, key uint64) {
		if cc.next >= len(cc.parts) {
			return
		}
		part := cc.parts[cc.next]
		cc.next++
		if r.noValue() {
			return
		}
		off := len(cc.vals)
		cc.vals = r.appendValues(cc.vals)
		cc.obs = append(cc.obs, observation{
			key: key, part: part, off: off, n: len(cc.vals) - off,
			start: r.start(), ts: r.timestamp(), monotonic: r.monotonic(),
		})
	})
}

// after records the request's contributors and sets every cumulative point
// of md, merged within the request by now, to the total over all of its
// contributors.
func (cs *cumulativeState) after(md pmetric.Metrics, cc *cumulativeCall) {
	if len(cc.obs) == 0 {
		return
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	now := cs.now()
	for _, o := range cc.obs {
		vals := cc.vals[o.off : o.off+o.n]
		if !cs.record(o, vals, now) {
			if cc.extra == nil {
				cc.extra = map[uint64][]float64{}
			}
			cc.extra[o.key] = addInto(cc.extra[o.key], vals)
		}
	}
	cs.walk(md, &cc.buf, func(r cumRef, key uint64) {
		s, ok := cs.series[key]
		if !ok || r.noValue() {
			return
		}
		cc.total = addInto(append(cc.total[:0], s.retired...), cc.extra[key])
		for _, part := range s.parts {
			cc.total = addInto(cc.total, part.values)
		}
		r.setValues(cc.total)
		if s.start != 0 && s.start != r.start() {
			r.setStart(s.start)
		}
	})
	if now.Sub(cs.lastSweep) >= cs.ttl/4 {
		cs.sweep(now)
		cs.lastSweep = now
	}
}

// record updates one contributor; false when the limit leaves no room.
func (cs *cumulativeState) record(o observation, vals []float64, now time.Time) bool {
	s, ok := cs.series[o.key]
	if ok && len(s.retired) != len(vals) {
		cs.forget(o.key, s) // the layout changed: start over
		ok = false
	}
	if !ok {
		if cs.parts >= cs.limit {
			return false
		}
		s = &cumSeries{parts: map[uint64]*cumPart{}, monotonic: o.monotonic, retired: make([]float64, len(vals))}
		cs.series[o.key] = s
	}
	s.seen = now
	if o.start != 0 && (s.start == 0 || o.start < s.start) {
		s.start = o.start
	}
	p, ok := s.parts[o.part]
	switch {
	case !ok && cs.parts >= cs.limit:
		return false
	case !ok:
		cs.parts++
		s.parts[o.part] = &cumPart{values: append([]float64(nil), vals...), start: o.start, ts: o.ts, seen: now}
		return true
	case o.ts != 0 && o.ts < p.ts:
		return true // older than what is known: a retried or reordered export
	}
	restarted := vals[0] < p.values[0] || (o.start != 0 && p.start != 0 && o.start > p.start)
	if s.monotonic && restarted {
		addInto(s.retired, p.values)
	}
	copy(p.values, vals)
	p.start, p.ts, p.seen = o.start, o.ts, now
	return true
}

func (cs *cumulativeState) forget(key uint64, s *cumSeries) {
	cs.parts -= len(s.parts)
	delete(cs.series, key)
}

// sweep forgets contributors and series not seen for the TTL.
func (cs *cumulativeState) sweep(now time.Time) {
	for key, s := range cs.series {
		for id, p := range s.parts {
			if now.Sub(p.seen) < cs.ttl {
				continue
			}
			if s.monotonic {
				addInto(s.retired, p.values)
			}
			delete(s.parts, id)
			cs.parts--
		}
		if len(s.parts) == 0 && now.Sub(s.seen) >= cs.ttl {
			delete(cs.series, key)
		}
	}
}

// addInto adds b to a element by element, growing a when shorter.
func addInto(a, b []float64) []float64 {
	for len(a) < len(b) {
		a = append(a, 0)
	}
	for i, v := range b {
		a[i] += v
	}
	return a
}
