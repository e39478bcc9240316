package chromaapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
)

// Chroma 1.0 reads a JSON number with a fractional part or an exponent the
// fast way: its digits as an integer converted to float64, then one
// multiplication or division by a float64 power of ten (itself rounded
// beyond 1e22). That is exact for up to 15 digits and exponents within
// ±22, but not for every float64: one in its shortest form can need 17
// digits, and a small one a larger exponent (9.781094891581872e-10). And it
// reads a metadata value twice: from the request, and again from its log,
// where it wrote the first reading in its shortest form. A value can come
// out a step or two away, and be printed so. For a copy to keep every
// metadata value, floats are sent as text that these two readings turn
// into exactly the value meant.

// pow10 holds 1e0 ... 1e308 as float64 literals round them.
var pow10 = sync.OnceValue(func() []float64 {
	t := make([]float64, 309)
	for i := range t {
		t[i], _ = strconv.ParseFloat("1e"+strconv.Itoa(i), 64)
	}
	return t
})

// chromaReads is the value Chroma reads from digits sig and exponent exp
// (sig × 10^exp).
func chromaReads(sig uint64, exp int) float64 {
	f, p := float64(sig), pow10()
	for {
		if exp >= 0 && exp < len(p) {
			return f * p[exp]
		}
		if exp < 0 && -exp < len(p) {
			return f / p[-exp]
		}
		if f == 0 {
			return 0
		}
		if exp >= 0 {
			return math.Inf(1)
		}
		f /= 1e308
		exp += 308
	}
}

// decimalParts splits an unsigned decimal number ("0.0894", "9.78e-10",
// "1e+21") into its digits and exponent; ok is false when the digits do not
// fit in 19.
func decimalParts(s string) (sig uint64, exp int, ok bool) {
	mant, e, hasExp := strings.Cut(strings.ToLower(s), "e")
	if hasExp {
		n, err := strconv.Atoi(e)
		if err != nil {
			return 0, 0, false
		}
		exp = n
	}
	whole, frac, _ := strings.Cut(mant, ".")
	digits := strings.TrimLeft(whole+frac, "0")
	if len(digits) > 19 {
		return 0, 0, false
	}
	if digits != "" {
		var err error
		if sig, err = strconv.ParseUint(digits, 10, 64); err != nil {
			return 0, 0, false
		}
	}
	return sig, exp - len(frac), true
}

// readsAs is the value Chroma reads from the decimal text s.
func readsAs(s string) (float64, bool) {
	unsigned, negative := strings.CutPrefix(s, "-")
	sig, exp, ok := decimalParts(unsigned)
	if !ok {
		return 0, false
	}
	if negative {
		return -chromaReads(sig, exp), true
	}
	return chromaReads(sig, exp), true
}

// shortest is x's shortest decimal form, as Chroma writes it to its log.
func shortest(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// chromaFloat writes a finite x as a JSON float that Chroma stores as x:
// text that Chroma reads as a value v whose shortest form it reads as x.
// v is x or a few steps away; the text is v's shortest form when Chroma
// reads that as v, else 17 to 19 digits with an exponent, the last one
// adjusted until it does. It always has a fractional part or an exponent,
// so Chroma keeps it a float; when nothing fits, x's shortest form.
func chromaFloat(x float64) string {
	for step := range 16 {
		for _, dir := range []float64{math.Inf(1), math.Inf(-1)} {
			v := x
			for range step {
				v = math.Nextafter(v, dir)
			}
			if back, ok := readsAs(shortest(v)); !ok || back != x {
				continue
			}
			if text, ok := textReadAs(v); ok {
				return text
			}
		}
	}
	return asFloat(shortest(x))
}

// textReadAs returns text that Chroma reads as v: v's shortest form, or
// 16 to 19 digits near v's with an exponent.
func textReadAs(v float64) (string, bool) {
	if s := asFloat(shortest(v)); readsExactly(s, v) {
		return s, true
	}
	abs, sign := math.Abs(v), ""
	if math.Signbit(v) {
		sign = "-"
	}
	for digits := 16; digits <= 19; digits++ {
		sig, exp, ok := decimalParts(strconv.FormatFloat(abs, 'e', digits-1, 64))
		if !ok {
			continue
		}
		// Digits that convert to the same float64 read the same: step by
		// the float64 spacing at sig.
		spacing := max(1, uint64(math.Nextafter(float64(sig), math.Inf(1))-float64(sig)))
		for j := range uint64(17) {
			for _, c := range []uint64{sig + j*spacing, sig - j*spacing} {
				if c <= math.MaxUint64/10 && chromaReads(c, exp) == abs {
					return fmt.Sprintf("%s%de%d", sign, c, exp), true
				}
			}
		}
	}
	return "", false
}

func readsExactly(s string, v float64) bool {
	got, ok := readsAs(s)
	return ok && got == v
}

// asFloat gives a whole number a fractional part, so that JSON readers
// keep it a float ("5" would become an integer).
func asFloat(s string) string {
	if strings.ContainsAny(s, ".eEnN") {
		return s
	}
	return s + ".0"
}

// exactMetadata rewrites the floats of a metadata object so that Chroma
// reads each as the value it stands for; other values stay as they are,
// and an object without such floats is returned unchanged.
func exactMetadata(raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 || !bytes.ContainsAny(raw, ".eE") {
		return raw, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode metadata: %w", err)
	}
	v, changed := exactFloats(v)
	if !changed {
		return raw, nil
	}
	return json.Marshal(v)
}

func exactFloats(v any) (any, bool) {
	changed := false
	switch t := v.(type) {
	case json.Number:
		if !strings.ContainsAny(string(t), ".eE") {
			return t, false
		}
		x, err := strconv.ParseFloat(string(t), 64)
		if err != nil {
			return t, false
		}
		n := json.Number(chromaFloat(x))
		return n, n != t
	case map[string]any:
		for k, e := range t {
			var c bool
			t[k], c = exactFloats(e)
			changed = changed || c
		}
	case []any:
		for i, e := range t {
			var c bool
			t[i], c = exactFloats(e)
			changed = changed || c
		}
	}
	return v, changed
}
