package scrubprocessor // import "github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor"

import (
	"encoding/binary"
	"hash/maphash"
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// cumRef is one point of a cumulative sum, histogram or summary: its
// metric and index. Its methods read and write the point whatever its type,
// without boxing it.
type cumRef struct {
	m pmetric.Metric
	i int
}

// isCumulative reports whether m's points are carried across exports.
func isCumulative(m pmetric.Metric) bool {
	switch m.Type() {
	case pmetric.MetricTypeSum:
		return m.Sum().AggregationTemporality() == pmetric.AggregationTemporalityCumulative
	case pmetric.MetricTypeHistogram:
		return m.Histogram().AggregationTemporality() == pmetric.AggregationTemporalityCumulative
	case pmetric.MetricTypeSummary:
		return true
	}
	return false
}

func pointCount(m pmetric.Metric) int {
	switch m.Type() {
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints().Len()
	case pmetric.MetricTypeHistogram:
		return m.Histogram().DataPoints().Len()
	case pmetric.MetricTypeSummary:
		return m.Summary().DataPoints().Len()
	}
	return 0
}

type pointFunc func(r cumRef, id uint64)

// walk calls fn for every cumulative point of md with the hash of its
// whole identity: resource, scope, metric, attributes and bucket bounds.
func (cs *cumulativeState) walk(md pmetric.Metrics, buf *[]byte, fn pointFunc) {
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				cs.eachPoint(rm, sm, m, buf, fn)
			}
		}
	}
}

// eachPoint calls fn for each point of m, if m is cumulative.
func (cs *cumulativeState) eachPoint(rm pmetric.ResourceMetrics, sm pmetric.ScopeMetrics, m pmetric.Metric, buf *[]byte, fn pointFunc) {
	if !isCumulative(m) {
		return
	}
	b := appendString((*buf)[:0], rm.SchemaUrl())
	b = appendMapSig(b, rm.Resource().Attributes())
	b = appendString(b, sm.SchemaUrl())
	b = appendScopeSig(b, sm.Scope())
	b = appendMetricIdentity(b, m)
	prefix := len(b)
	for i := range pointCount(m) {
		r := cumRef{m, i}
		b = r.appendKey(b[:prefix])
		fn(r, maphash.Bytes(cs.seed, b))
	}
	*buf = b
}

func (r cumRef) monotonic() bool {
	return r.m.Type() != pmetric.MetricTypeSum || r.m.Sum().IsMonotonic()
}

func (r cumRef) appendKey(b []byte) []byte {
	switch r.m.Type() {
	case pmetric.MetricTypeSum:
		return appendMapSig(b, r.m.Sum().DataPoints().At(r.i).Attributes())
	case pmetric.MetricTypeHistogram:
		dp := r.m.Histogram().DataPoints().At(r.i)
		b = appendMapSig(b, dp.Attributes())
		for _, x := range dp.ExplicitBounds().All() {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
		}
		return b
	case pmetric.MetricTypeSummary:
		return appendMapSig(b, r.m.Summary().DataPoints().At(r.i).Attributes())
	}
	return b
}

func (r cumRef) start() pcommon.Timestamp {
	switch r.m.Type() {
	case pmetric.MetricTypeSum:
		return r.m.Sum().DataPoints().At(r.i).StartTimestamp()
	case pmetric.MetricTypeHistogram:
		return r.m.Histogram().DataPoints().At(r.i).StartTimestamp()
	}
	return r.m.Summary().DataPoints().At(r.i).StartTimestamp()
}

func (r cumRef) setStart(ts pcommon.Timestamp) {
	switch r.m.Type() {
	case pmetric.MetricTypeSum:
		r.m.Sum().DataPoints().At(r.i).SetStartTimestamp(ts)
	case pmetric.MetricTypeHistogram:
		r.m.Histogram().DataPoints().At(r.i).SetStartTimestamp(ts)
	case pmetric.MetricTypeSummary:
		r.m.Summary().DataPoints().At(r.i).SetStartTimestamp(ts)
	}
}

func (r cumRef) timestamp() pcommon.Timestamp {
	switch r.m.Type() {
	case pmetric.MetricTypeSum:
		return r.m.Sum().DataPoints().At(r.i).Timestamp()
	case pmetric.MetricTypeHistogram:
		return r.m.Histogram().DataPoints().At(r.i).Timestamp()
	}
	return r.m.Summary().DataPoints().At(r.i).Timestamp()
}

func (r cumRef) noValue() bool {
	switch r.m.Type() {
	case pmetric.MetricTypeSum:
		return r.m.Sum().DataPoints().At(r.i).Flags().NoRecordedValue()
	case pmetric.MetricTypeHistogram:
		return r.m.Histogram().DataPoints().At(r.i).Flags().NoRecordedValue()
	}
	return r.m.Summary().DataPoints().At(r.i).Flags().NoRecordedValue()
}

// appendValues appends the point's values; the first one tells a restart.
func (r cumRef) appendValues(vals []float64) []float64 {
	switch r.m.Type() {
	case pmetric.MetricTypeSum:
		return append(vals, numberValue(r.m.Sum().DataPoints().At(r.i)))
	case pmetric.MetricTypeHistogram:
		dp := r.m.Histogram().DataPoints().At(r.i)
		vals = append(vals, float64(dp.Count()), dp.Sum())
		for _, c := range dp.BucketCounts().All() {
			vals = append(vals, float64(c))
		}
		return vals
	}
	dp := r.m.Summary().DataPoints().At(r.i)
	return append(vals, float64(dp.Count()), dp.Sum())
}

// setValues writes totals laid out as appendValues reads them, keeping the
// point's value type, and leaves equal values alone (a set allocates).
func (r cumRef) setValues(total []float64) {
	switch r.m.Type() {
	case pmetric.MetricTypeSum:
		setNumber(r.m.Sum().DataPoints().At(r.i), total[0])
	case pmetric.MetricTypeHistogram:
		dp := r.m.Histogram().DataPoints().At(r.i)
		if len(total) != 2+dp.BucketCounts().Len() {
			return
		}
		dp.SetCount(uint64(math.Round(total[0])))
		if dp.HasSum() {
			dp.SetSum(total[1])
		}
		for j := range dp.BucketCounts().Len() {
			dp.BucketCounts().SetAt(j, uint64(math.Round(total[2+j])))
		}
	case pmetric.MetricTypeSummary:
		dp := r.m.Summary().DataPoints().At(r.i)
		dp.SetCount(uint64(math.Round(total[0])))
		dp.SetSum(total[1])
	}
}

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
