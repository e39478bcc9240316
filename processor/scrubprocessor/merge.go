package scrubprocessor // import "github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor"

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// merger folds together what scrubbing made identical: data points of one
// metric whose attributes became equal, and metrics, scopes and resources
// that became the same. Sums add, histograms merge, gauges keep the latest.
// Its buffers are reused between calls.
type merger struct {
	buf     []byte // signatures, back to back
	offs    []int  // signature i is buf[offs[i]:offs[i+1]]
	first   []int  // index of the first item with the same signature, or -1
	index   map[uint64]int
	removed []bool
	seed    maphash.Seed
}

// signatures are compared linearly up to this many items, hashed above.
const linearGroupLimit = 16

func (mg *merger) reset() {
	if mg.index == nil {
		mg.index = map[uint64]int{}
		mg.seed = maphash.MakeSeed()
	}
	mg.buf = mg.buf[:0]
	mg.offs = append(mg.offs[:0], 0)
}

func (mg *merger) endSig() { mg.offs = append(mg.offs, len(mg.buf)) }

func (mg *merger) sig(i int) []byte { return mg.buf[mg.offs[i]:mg.offs[i+1]] }

// group fills mg.first for n signatures and reports whether any repeats.
func (mg *merger) group(n int) bool {
	mg.first = mg.first[:0]
	mg.removed = mg.removed[:0]
	dup := false
	for i := 0; i < n; i++ {
		mg.removed = append(mg.removed, false)
		f := -1
		if n <= linearGroupLimit {
			for j := 0; j < i; j++ {
				if mg.first[j] < 0 && bytes.Equal(mg.sig(j), mg.sig(i)) {
					f = j
					break
				}
			}
		} else {
			h := maphash.Bytes(mg.seed, mg.sig(i))
			if j, ok := mg.index[h]; !ok {
				mg.index[h] = i
			} else if bytes.Equal(mg.sig(j), mg.sig(i)) {
				f = j
			} else {
				for j := 0; j < i; j++ {
					if mg.first[j] < 0 && bytes.Equal(mg.sig(j), mg.sig(i)) {
						f = j
						break
					}
				}
			}
		}
		mg.first = append(mg.first, f)
		if f >= 0 {
			dup = true
			mg.removed[i] = true
		}
	}
	clear(mg.index)
	return dup
}

// ---- signatures ----

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendMapSig(b []byte, m pcommon.Map) []byte {
	var small [16]string
	keys := small[:0]
	for k := range m.All() {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		v, _ := m.Get(k)
		b = appendString(b, k)
		b = appendValueSig(b, v)
	}
	return b
}

func appendValueSig(b []byte, v pcommon.Value) []byte {
	b = append(b, byte(v.Type()))
	switch v.Type() {
	case pcommon.ValueTypeStr:
		b = appendString(b, v.Str())
	case pcommon.ValueTypeInt:
		b = binary.LittleEndian.AppendUint64(b, uint64(v.Int()))
	case pcommon.ValueTypeDouble:
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Double()))
	case pcommon.ValueTypeBool:
		if v.Bool() {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	case pcommon.ValueTypeBytes:
		raw := v.Bytes().AsRaw()
		b = binary.AppendUvarint(b, uint64(len(raw)))
		b = append(b, raw...)
	case pcommon.ValueTypeMap:
		b = appendMapSig(b, v.Map())
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		b = binary.AppendUvarint(b, uint64(s.Len()))
		for i := 0; i < s.Len(); i++ {
			b = appendValueSig(b, s.At(i))
		}
	}
	return b
}

func appendScopeSig(b []byte, sc pcommon.InstrumentationScope) []byte {
	b = appendString(b, sc.Name())
	b = appendString(b, sc.Version())
	return appendMapSig(b, sc.Attributes())
}

// appendMetricIdentity writes what must match for two metrics to be one.
func appendMetricIdentity(b []byte, m pmetric.Metric) []byte {
	b = appendString(b, m.Name())
	b = appendString(b, m.Unit())
	b = append(b, byte(m.Type()))
	switch m.Type() {
	case pmetric.MetricTypeSum:
		b = append(b, byte(m.Sum().AggregationTemporality()))
		if m.Sum().IsMonotonic() {
			b = append(b, 1)
		}
	case pmetric.MetricTypeHistogram:
		b = append(b, byte(m.Histogram().AggregationTemporality()))
	case pmetric.MetricTypeExponentialHistogram:
		b = append(b, byte(m.ExponentialHistogram().AggregationTemporality()))
	}
	return b
}

// ---- resources, scopes, metrics ----

// mergeResources merges resources with equal attributes and schema, then
// their scopes. It returns the number of data points merged away.
func (mg *merger) mergeResources(rms pmetric.ResourceMetricsSlice) int {
	n := rms.Len()
	if n < 2 {
		return 0
	}
	mg.reset()
	for i := 0; i < n; i++ {
		rm := rms.At(i)
		mg.buf = appendString(mg.buf, rm.SchemaUrl())
		mg.buf = appendMapSig(mg.buf, rm.Resource().Attributes())
		mg.endSig()
	}
	if !mg.group(n) {
		return 0
	}
	var targets []pmetric.ResourceMetrics
	for i, f := range mg.first {
		if f >= 0 {
			rms.At(i).ScopeMetrics().MoveAndAppendTo(rms.At(f).ScopeMetrics())
			if firstDuplicate(mg.first, i, f) {
				targets = append(targets, rms.At(f))
			}
		}
	}
	removeMarked(rms, mg.removed)
	merged := 0
	for _, t := range targets {
		merged += mg.mergeScopes(t.ScopeMetrics())
	}
	return merged
}

// firstDuplicate reports whether i is the first item merged into f, so
// that each target is visited once.
func firstDuplicate(first []int, i, f int) bool {
	for _, x := range first[:i] {
		if x == f {
			return false
		}
	}
	return true
}

type removable[T any] interface {
	RemoveIf(func(T) bool)
}

func removeMarked[T any, S removable[T]](s S, removed []bool) {
	i := 0
	s.RemoveIf(func(T) bool {
		r := removed[i]
		i++
		return r
	})
}

// mergeScopes merges scopes with equal name, version, attributes and schema.
func (mg *merger) mergeScopes(sms pmetric.ScopeMetricsSlice) int {
	n := sms.Len()
	if n < 2 {
		return 0
	}
	mg.reset()
	for i := 0; i < n; i++ {
		sm := sms.At(i)
		mg.buf = appendString(mg.buf, sm.SchemaUrl())
		mg.buf = appendScopeSig(mg.buf, sm.Scope())
		mg.endSig()
	}
	if !mg.group(n) {
		return 0
	}
	var targets []pmetric.ScopeMetrics
	for i, f := range mg.first {
		if f >= 0 {
			sms.At(i).Metrics().MoveAndAppendTo(sms.At(f).Metrics())
			if firstDuplicate(mg.first, i, f) {
				targets = append(targets, sms.At(f))
			}
		}
	}
	removeMarked(sms, mg.removed)
	merged := 0
	for _, t := range targets {
		merged += mg.mergeMetrics(t.Metrics())
	}
	return merged
}

// mergeMetrics merges metrics of one scope with the same name, unit, type
// and temporality, then their data points.
func (mg *merger) mergeMetrics(ms pmetric.MetricSlice) int {
	n := ms.Len()
	if n < 2 {
		return 0
	}
	mg.reset()
	for i := 0; i < n; i++ {
		mg.buf = appendMetricIdentity(mg.buf, ms.At(i))
		mg.endSig()
	}
	if !mg.group(n) {
		return 0
	}
	var targets []pmetric.Metric
	for i, f := range mg.first {
		if f >= 0 {
			movePoints(ms.At(i), ms.At(f))
			if firstDuplicate(mg.first, i, f) {
				targets = append(targets, ms.At(f))
			}
		}
	}
	removeMarked(ms, mg.removed)
	merged := 0
	for _, t := range targets {
		merged += mg.dedupPoints(t)
	}
	return merged
}

func movePoints(from, into pmetric.Metric) {
	switch from.Type() {
	case pmetric.MetricTypeGauge:
		from.Gauge().DataPoints().MoveAndAppendTo(into.Gauge().DataPoints())
	case pmetric.MetricTypeSum:
		from.Sum().DataPoints().MoveAndAppendTo(into.Sum().DataPoints())
	case pmetric.MetricTypeHistogram:
		from.Histogram().DataPoints().MoveAndAppendTo(into.Histogram().DataPoints())
	case pmetric.MetricTypeExponentialHistogram:
		from.ExponentialHistogram().DataPoints().MoveAndAppendTo(into.ExponentialHistogram().DataPoints())
	case pmetric.MetricTypeSummary:
		from.Summary().DataPoints().MoveAndAppendTo(into.Summary().DataPoints())
	}
}

// ---- data points ----

type point interface {
	Attributes() pcommon.Map
}

type pointSlice[P point] interface {
	Len() int
	At(int) P
	RemoveIf(func(P) bool)
}

// dedupPoints merges the data points of m whose attributes are equal and
// returns how many it removed.
func (mg *merger) dedupPoints(m pmetric.Metric) int {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return dedup(mg, m.Gauge().DataPoints(), mergeGauge)
	case pmetric.MetricTypeSum:
		return dedup(mg, m.Sum().DataPoints(), mergeSum)
	case pmetric.MetricTypeHistogram:
		return dedup(mg, m.Histogram().DataPoints(), mergeHistogram)
	case pmetric.MetricTypeExponentialHistogram:
		return dedup(mg, m.ExponentialHistogram().DataPoints(), mergeExpHistogram)
	case pmetric.MetricTypeSummary:
		return dedup(mg, m.Summary().DataPoints(), mergeSummary)
	}
	return 0
}

func dedup[S pointSlice[P], P point](mg *merger, dps S, merge func(into, from P)) int {
	n := dps.Len()
	if n < 2 {
		return 0
	}
	mg.reset()
	for i := 0; i < n; i++ {
		mg.buf = appendMapSig(mg.buf, dps.At(i).Attributes())
		mg.endSig()
	}
	if !mg.group(n) {
		return 0
	}
	merged := 0
	for i, f := range mg.first {
		if f >= 0 {
			merge(dps.At(f), dps.At(i))
			merged++
		}
	}
	removeMarked(dps, mg.removed)
	return merged
}

type timed interface {
	StartTimestamp() pcommon.Timestamp
	SetStartTimestamp(pcommon.Timestamp)
	Timestamp() pcommon.Timestamp
	SetTimestamp(pcommon.Timestamp)
}

// mergeTimes widens into's interval to cover from's.
func mergeTimes(into, from timed) {
	if s := from.StartTimestamp(); s != 0 && (into.StartTimestamp() == 0 || s < into.StartTimestamp()) {
		into.SetStartTimestamp(s)
	}
	if t := from.Timestamp(); t > into.Timestamp() {
		into.SetTimestamp(t)
	}
}

func numberValue(dp pmetric.NumberDataPoint) float64 {
	if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
		return float64(dp.IntValue())
	}
	return dp.DoubleValue()
}

// mergeSum adds from into into.
func mergeSum(into, from pmetric.NumberDataPoint) {
	switch {
	case from.Flags().NoRecordedValue():
		return
	case into.Flags().NoRecordedValue():
		from.MoveTo(into)
		return
	case into.ValueType() == pmetric.NumberDataPointValueTypeInt && from.ValueType() == pmetric.NumberDataPointValueTypeInt:
		into.SetIntValue(into.IntValue() + from.IntValue())
	default:
		into.SetDoubleValue(numberValue(into) + numberValue(from))
	}
	mergeTimes(into, from)
	from.Exemplars().MoveAndAppendTo(into.Exemplars())
}

// mergeGauge keeps the latest value.
func mergeGauge(into, from pmetric.NumberDataPoint) {
	if from.Flags().NoRecordedValue() && !into.Flags().NoRecordedValue() {
		return
	}
	if from.Timestamp() >= into.Timestamp() || into.Flags().NoRecordedValue() {
		from.MoveTo(into)
	}
}

// mergeHistogram adds buckets, counts and sums when the bounds agree and
// keeps the latest point when they do not.
func mergeHistogram(into, from pmetric.HistogramDataPoint) {
	switch {
	case from.Flags().NoRecordedValue():
		return
	case into.Flags().NoRecordedValue():
		from.MoveTo(into)
		return
	case !into.ExplicitBounds().Equal(from.ExplicitBounds()) || into.BucketCounts().Len() != from.BucketCounts().Len():
		if from.Timestamp() >= into.Timestamp() {
			from.MoveTo(into)
		}
		return
	}
	bc, fc := into.BucketCounts(), from.BucketCounts()
	for i := 0; i < bc.Len(); i++ {
		bc.SetAt(i, bc.At(i)+fc.At(i))
	}
	into.SetCount(into.Count() + from.Count())
	if into.HasSum() && from.HasSum() {
		into.SetSum(into.Sum() + from.Sum())
	} else {
		into.RemoveSum()
	}
	if into.HasMin() && from.HasMin() {
		into.SetMin(math.Min(into.Min(), from.Min()))
	} else {
		into.RemoveMin()
	}
	if into.HasMax() && from.HasMax() {
		into.SetMax(math.Max(into.Max(), from.Max()))
	} else {
		into.RemoveMax()
	}
	mergeTimes(into, from)
	from.Exemplars().MoveAndAppendTo(into.Exemplars())
}

// mergeExpHistogram brings both points to the coarser scale (exact) and adds
// them. The zero bucket takes the larger threshold.
func mergeExpHistogram(into, from pmetric.ExponentialHistogramDataPoint) {
	switch {
	case from.Flags().NoRecordedValue():
		return
	case into.Flags().NoRecordedValue():
		from.MoveTo(into)
		return
	}
	scale := min(into.Scale(), from.Scale())
	downscale(into.Positive(), into.Scale()-scale)
	downscale(into.Negative(), into.Scale()-scale)
	downscale(from.Positive(), from.Scale()-scale)
	downscale(from.Negative(), from.Scale()-scale)
	into.SetScale(scale)
	addBuckets(into.Positive(), from.Positive())
	addBuckets(into.Negative(), from.Negative())
	into.SetZeroThreshold(math.Max(into.ZeroThreshold(), from.ZeroThreshold()))
	into.SetZeroCount(into.ZeroCount() + from.ZeroCount())
	into.SetCount(into.Count() + from.Count())
	if into.HasSum() && from.HasSum() {
		into.SetSum(into.Sum() + from.Sum())
	} else {
		into.RemoveSum()
	}
	if into.HasMin() && from.HasMin() {
		into.SetMin(math.Min(into.Min(), from.Min()))
	} else {
		into.RemoveMin()
	}
	if into.HasMax() && from.HasMax() {
		into.SetMax(math.Max(into.Max(), from.Max()))
	} else {
		into.RemoveMax()
	}
	mergeTimes(into, from)
	from.Exemplars().MoveAndAppendTo(into.Exemplars())
}

// downscale lowers the scale of buckets by d: every 2^d neighbouring buckets
// become one.
func downscale(b pmetric.ExponentialHistogramDataPointBuckets, d int32) {
	if d <= 0 {
		return
	}
	counts := b.BucketCounts()
	off := b.Offset()
	newOff := off >> d
	if counts.Len() == 0 {
		b.SetOffset(newOff)
		return
	}
	last := (off + int32(counts.Len()) - 1) >> d
	out := make([]uint64, last-newOff+1)
	for i := 0; i < counts.Len(); i++ {
		out[((off+int32(i))>>d)-newOff] += counts.At(i)
	}
	b.SetOffset(newOff)
	counts.FromRaw(out)
}

// addBuckets adds from's counts into into at the same scale.
func addBuckets(into, from pmetric.ExponentialHistogramDataPointBuckets) {
	fc := from.BucketCounts()
	if fc.Len() == 0 {
		return
	}
	ic := into.BucketCounts()
	if ic.Len() == 0 {
		into.SetOffset(from.Offset())
		fc.CopyTo(ic)
		return
	}
	lo := min(into.Offset(), from.Offset())
	hi := max(into.Offset()+int32(ic.Len()), from.Offset()+int32(fc.Len()))
	out := make([]uint64, hi-lo)
	for i := 0; i < ic.Len(); i++ {
		out[into.Offset()-lo+int32(i)] += ic.At(i)
	}
	for i := 0; i < fc.Len(); i++ {
		out[from.Offset()-lo+int32(i)] += fc.At(i)
	}
	into.SetOffset(lo)
	ic.FromRaw(out)
}

// mergeSummary adds counts and sums; quantiles cannot be combined, so the
// latest point's quantiles stay.
func mergeSummary(into, from pmetric.SummaryDataPoint) {
	switch {
	case from.Flags().NoRecordedValue():
		return
	case into.Flags().NoRecordedValue():
		from.MoveTo(into)
		return
	}
	into.SetCount(into.Count() + from.Count())
	into.SetSum(into.Sum() + from.Sum())
	if from.Timestamp() >= into.Timestamp() {
		from.QuantileValues().CopyTo(into.QuantileValues())
	}
	mergeTimes(into, from)
}
