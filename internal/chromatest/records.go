package chromatest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromaapi"
)

// HardRecords returns n records of dimension dim whose values are hard to
// carry through JSON unchanged: embeddings of random float32 bit patterns
// (every mantissa, subnormals and -0 included; magnitudes below 2^40, so
// that distances stay finite), metadata with integers,
// floats with no fraction (5.0), booleans, Unicode strings, and records
// without a document, metadata or uri.
func HardRecords(rng *rand.Rand, prefix string, n, dim int) chromaapi.Batch {
	var b chromaapi.Batch
	for i := range n {
		b.IDs = append(b.IDs, fmt.Sprintf("%s-%05d", prefix, i))
		b.Embeddings = append(b.Embeddings, hardEmbedding(rng, dim))
		var doc, uri *string
		if i%5 != 1 {
			d := fmt.Sprintf("document %d of %s: naïve “quotes” \u2603 %x", i, prefix, rng.Uint64())
			doc = &d
		}
		if i%7 == 3 && i%6 != 2 { // Chroma returns {} for a record with a uri and no metadata
			u := fmt.Sprintf("s3://docs/%s/%d", prefix, i)
			uri = &u
		}
		md := json.RawMessage("null")
		if i%6 != 2 {
			md = json.RawMessage(fmt.Sprintf(`{"i":%d,"whole":%d.0,"f":%s,"ok":%t,"s":"héllo %d"}`,
				i, i%9, strconv.FormatFloat(float64(500000+rng.IntN(1000000))/1e6, 'f', -1, 64), i%2 == 0, i))
		}
		b.Documents, b.URIs, b.Metadatas = append(b.Documents, doc), append(b.URIs, uri), append(b.Metadatas, md)
	}
	return b
}

func hardEmbedding(rng *rand.Rand, dim int) []float32 {
	special := []float32{0, float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32, 0.1, 1.0 / 3, math.Nextafter32(1, 2)}
	e := make([]float32, dim)
	for j := range e {
		if rng.IntN(8) == 0 {
			e[j] = special[rng.IntN(len(special))]
			continue
		}
		for {
			f := math.Float32frombits(rng.Uint32())
			if math.Abs(float64(f)) < 1<<40 {
				e[j] = f
				break
			}
		}
	}
	return e
}

// Snapshot of a collection's records, keyed by id, in a form that compares
// with ==: embeddings as their bit patterns, metadata as canonical JSON
// that keeps numbers' text (5 and 5.0 differ).
type RecordSet map[string]string

// ReadRecords reads every record of a collection, page by page.
func ReadRecords(ctx context.Context, c *chromaapi.Client, collID string) (RecordSet, error) {
	const page = 500
	out := RecordSet{}
	for offset := 0; ; offset += page {
		b, err := c.GetPage(ctx, collID, offset, page, true)
		if err != nil {
			return nil, err
		}
		for i, id := range b.IDs {
			if _, dup := out[id]; dup {
				return nil, fmt.Errorf("id %q returned twice", id)
			}
			out[id] = canonicalRecord(b, i)
		}
		if b.Len() < page {
			return out, nil
		}
	}
}

// BatchRecords is ReadRecords for records in memory.
func BatchRecords(b chromaapi.Batch) RecordSet {
	out := RecordSet{}
	for i, id := range b.IDs {
		out[id] = canonicalRecord(b, i)
	}
	return out
}

func canonicalRecord(b chromaapi.Batch, i int) string {
	var s strings.Builder
	if i < len(b.Embeddings) {
		for _, f := range b.Embeddings[i] {
			fmt.Fprintf(&s, "%08x ", math.Float32bits(f))
		}
	}
	for _, col := range [][]*string{b.Documents, b.URIs} {
		if i < len(col) && col[i] != nil {
			fmt.Fprintf(&s, "| %q ", *col[i])
		} else {
			s.WriteString("| nil ")
		}
	}
	if i < len(b.Metadatas) {
		s.WriteString("| " + canonicalJSON(b.Metadatas[i]))
	}
	return s.String()
}

// canonicalJSON re-encodes v with sorted keys, numbers as written.
func canonicalJSON(raw json.RawMessage) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "invalid: " + string(raw)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// Diff describes how got differs from want (at most a few records), or "".
func (want RecordSet) Diff(got RecordSet) string {
	var s strings.Builder
	n := 0
	for id, w := range want {
		if g, ok := got[id]; !ok || g != w {
			if n < 3 {
				fmt.Fprintf(&s, "record %q:\n  want %.300s\n  got  %.300s (present %t)\n", id, w, g, ok)
			}
			n++
		}
	}
	if len(got) != len(want) {
		fmt.Fprintf(&s, "%d records, want %d\n", len(got), len(want))
	}
	if n > 0 {
		fmt.Fprintf(&s, "%d records differ or are missing\n", n)
	}
	return s.String()
}
