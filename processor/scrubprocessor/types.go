package scrubprocessor // import "github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor"

import (
	"encoding/binary"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// A value never changes type: a consumer that reads an integer keeps
// reading an integer. Masking a value that is not a string drops it;
// hashing an integer gives an integer (the keyed hash's first 63 bits), and
// hashing any other value that is not a string drops it.

// replaceValue applies a mask, hash or drop to a whole value.
func (e *engine) replaceValue(v pcommon.Value, a action, id ruleID, st *scratch) (drop, changed bool) {
	st.count(id)
	switch {
	case a == aDrop:
		return true, true
	case v.Type() == pcommon.ValueTypeStr && a == aHash:
		v.SetStr(e.hash(v.Str()))
	case v.Type() == pcommon.ValueTypeStr:
		v.SetStr(e.placeholder)
	case v.Type() == pcommon.ValueTypeInt && a == aHash:
		v.SetInt(e.hashInt(v.Int()))
	default:
		return true, true
	}
	return false, true
}

func isScalar(t pcommon.ValueType) bool {
	return t != pcommon.ValueTypeMap && t != pcommon.ValueTypeSlice
}

// hashInt is the keyed hash of an integer's decimal form, as an integer.
func (e *engine) hashInt(i int64) int64 {
	h := e.hmacPool.Get().(*hmacState)
	defer e.hmacPool.Put(h)
	h.mac.Reset()
	h.buf = strconv.AppendInt(h.buf[:0], i, 10)
	h.mac.Write(h.buf)
	sum := h.mac.Sum(h.sum[:0])
	return int64(binary.BigEndian.Uint64(sum[:8]) >> 1)
}
