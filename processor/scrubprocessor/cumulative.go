package scrubprocessor // import "github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor"

import (
	"hash/maphash"
	"math"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Cumulative sums stay monotonic across exports. When scrubbing merges
// several series (contributors: tenants, collections, processes) into one,
// a request that lacks one of them would make the merged sum drop, which a
// backend reads as a counter reset. So the processor remembers, per merged
// series, the last value of each contributor and emits their total:
//
//   - a contributor absent from a request counts with its last value;
//   - a contributor whose value falls or whose start time moves (it
//     restarted) keeps what it had counted: the old value is retired into
//     the merged series, which never drops;
//   - the merged series keeps the first start time it was seen with.
//
// The memory is bounded: a contributor not seen for cumulativeTTL is
// forgotten (a monotonic one's last value stays retired in its series), and
// at most cumulativeLimit contributors are remembered; beyond that, new
// contributors count only in the requests that carry them. Non-monotonic
// cumulative sums carry absent contributors the same way but have no
// resets, and a forgotten one stops counting.
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

type cumSeries struct {
	start     pcommon.Timestamp
	retired   float64 // counted by contributors that restarted or were forgotten
	parts     map[uint64]*cumPart
	seen      time.Time
	monotonic bool
}

type cumPart struct {
	value     float64
	start, ts pcommon.Timestamp
	seen      time.Time
}

func newCumulativeState(limit int, ttl time.Duration, now func() time.Time) *cumulativeState {
	return &cumulativeState{now: now, ttl: ttl, limit: limit, series: map[uint64]*cumSeries{}, seed: maphash.MakeSeed(), lastSweep: now()}
}

// observation is one contributor's point in one request.
type observation struct {
	key, part uint64 // the merged series; the contributor
	value     float64
	start, ts pcommon.Timestamp
	monotonic bool
}

// cumulativeCall is one request's part of the work, kept in the scratch.
type cumulativeCall struct {
	parts []uint64 // contributor of each cumulative sum point, in walk order
	next  int
	obs   []observation
	extra map[uint64]float64 // contributors beyond the limit, per series
	buf   []byte
}

func (cc *cumulativeCall) reset() {
	cc.parts = cc.parts[:0]
	cc.next = 0
	cc.obs = cc.obs[:0]
	clear(cc.extra)
}

func isCumulativeSum(m pmetric.Metric) bool {
	return m.Type() == pmetric.MetricTypeSum && m.Sum().AggregationTemporality() == pmetric.AggregationTemporalityCumulative
}

type pointFunc func(m pmetric.Metric, dp pmetric.NumberDataPoint, id uint64)

// walkCumulative calls fn for every cumulative sum point of md with the
// hash of its whole identity: resource, scope, metric and attributes.
func (cs *cumulativeState) walkCumulative(md pmetric.Metrics, buf *[]byte, fn pointFunc) {
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				cs.eachPoint(rm, sm, m, buf, fn)
			}
		}
	}
}

// eachPoint calls fn for each point of m, if m is a cumulative sum.
func (cs *cumulativeState) eachPoint(rm pmetric.ResourceMetrics, sm pmetric.ScopeMetrics, m pmetric.Metric, buf *[]byte, fn pointFunc) {
	if !isCumulativeSum(m) {
		return
	}
	b := appendString((*buf)[:0], rm.SchemaUrl())
	b = appendMapSig(b, rm.Resource().Attributes())
	b = appendString(b, sm.SchemaUrl())
	b = appendScopeSig(b, sm.Scope())
	b = appendMetricIdentity(b, m)
	prefix := len(b)
	for _, dp := range m.Sum().DataPoints().All() {
		b = appendMapSig(b[:prefix], dp.Attributes())
		fn(m, dp, maphash.Bytes(cs.seed, b))
	}
	*buf = b
}

// before records the contributors of md's cumulative sums, before
// scrubbing changes their identities.
func (cs *cumulativeState) before(md pmetric.Metrics, cc *cumulativeCall) {
	cs.walkCumulative(md, &cc.buf, func(_ pmetric.Metric, _ pmetric.NumberDataPoint, id uint64) {
		cc.parts = append(cc.parts, id)
	})
}

// scrubbed pairs the contributors of one scrubbed metric, not merged yet,
// with the series they became. Scrubbing changes attributes and names,
// never the order or number of points.
func (cs *cumulativeState) scrubbed(rm pmetric.ResourceMetrics, sm pmetric.ScopeMetrics, m pmetric.Metric, cc *cumulativeCall) {
	cs.eachPoint(rm, sm, m, &cc.buf, func(m pmetric.Metric, dp pmetric.NumberDataPoint, key uint64) {
		if cc.next >= len(cc.parts) {
			return
		}
		part := cc.parts[cc.next]
		cc.next++
		if dp.Flags().NoRecordedValue() {
			return
		}
		cc.obs = append(cc.obs, observation{
			key: key, part: part, value: numberValue(dp), start: dp.StartTimestamp(), ts: dp.Timestamp(),
			monotonic: m.Sum().IsMonotonic(),
		})
	})
}

// after records the request's contributors and sets every cumulative sum
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
		if !cs.record(o, now) {
			if cc.extra == nil {
				cc.extra = map[uint64]float64{}
			}
			cc.extra[o.key] += o.value
		}
	}
	cs.walkCumulative(md, &cc.buf, func(_ pmetric.Metric, dp pmetric.NumberDataPoint, key uint64) {
		s, ok := cs.series[key]
		if !ok || dp.Flags().NoRecordedValue() {
			return
		}
		total := s.retired + cc.extra[key]
		for _, p := range s.parts {
			total += p.value
		}
		setNumber(dp, total)
		if s.start != 0 && s.start != dp.StartTimestamp() {
			dp.SetStartTimestamp(s.start)
		}
	})
	if now.Sub(cs.lastSweep) >= cs.ttl/4 {
		cs.sweep(now)
		cs.lastSweep = now
	}
}

// record updates one contributor; false when the limit leaves no room.
func (cs *cumulativeState) record(o observation, now time.Time) bool {
	s, ok := cs.series[o.key]
	if !ok {
		if cs.parts >= cs.limit {
			return false
		}
		s = &cumSeries{parts: map[uint64]*cumPart{}, monotonic: o.monotonic}
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
		s.parts[o.part] = &cumPart{value: o.value, start: o.start, ts: o.ts, seen: now}
		return true
	case o.ts != 0 && o.ts < p.ts:
		return true // older than what is known: a retry or a reordered batch
	}
	restarted := o.value < p.value || (o.start != 0 && p.start != 0 && o.start > p.start)
	if s.monotonic && restarted {
		s.retired += p.value
	}
	p.value, p.start, p.ts, p.seen = o.value, o.start, o.ts, now
	return true
}

// sweep forgets contributors and series not seen for the TTL.
func (cs *cumulativeState) sweep(now time.Time) {
	for key, s := range cs.series {
		for id, p := range s.parts {
			if now.Sub(p.seen) < cs.ttl {
				continue
			}
			if s.monotonic {
				s.retired += p.value
			}
			delete(s.parts, id)
			cs.parts--
		}
		if len(s.parts) == 0 && now.Sub(s.seen) >= cs.ttl {
			delete(cs.series, key)
		}
	}
}

// setNumber keeps the point's value type, and its value when equal (a set
// allocates).
func setNumber(dp pmetric.NumberDataPoint, v float64) {
	if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
		if i := int64(math.Round(v)); i != dp.IntValue() {
			dp.SetIntValue(i)
		}
		return
	}
	if v != dp.DoubleValue() {
		dp.SetDoubleValue(v)
	}
}
