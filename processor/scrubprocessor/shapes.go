package scrubprocessor // import "github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor"

import (
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor/internal/detect"
)

// Value shapes of a key rule: what a kept value must look like.
const (
	ShapeNumber     = "number"      // an integer or a decimal; in a string also Rust's Some(n) and None
	ShapeBool       = "bool"        // a boolean, or the string true or false in any case
	ShapeDuration   = "duration"    // a number, or a string of a number and a time unit
	ShapeVersion    = "version"     // a version such as 1.2.3, v2, 1.0.0-rc.1
	ShapeStatusCode = "status_code" // an HTTP status code, 100 to 599
	ShapeMethod     = "method"      // an HTTP method: known ones upper-cased, others _OTHER
	ShapeRoute      = "route"       // a route template: literal segments outside the vocabulary become *
	ShapeIdentifier = "identifier"  // a code identifier of vocabulary words, at most 128 characters
	ShapeText       = "text"        // a short text of vocabulary words, at most 256 characters
)

var shapeNames = []string{ShapeNumber, ShapeBool, ShapeDuration, ShapeVersion, ShapeStatusCode, ShapeMethod, ShapeRoute, ShapeIdentifier, ShapeText}

type shape uint8

const (
	shapeNone shape = iota
	shapeNumber
	shapeBool
	shapeDuration
	shapeVersion
	shapeStatusCode
	shapeMethod
	shapeRoute
	shapeIdentifier
	shapeText
)

func (r KeyRule) validateShape(where string) error {
	if r.Shape == "" {
		return nil
	}
	if parseShape(r.Shape) == shapeNone {
		return fmt.Errorf("%s.shape: unknown shape %q; use %s", where, r.Shape, strings.Join(shapeNames, ", "))
	}
	if r.Pattern != "" || len(r.Values) > 0 {
		return fmt.Errorf("%s: use one of values, pattern and shape", where)
	}
	if r.Action != ActionNone && r.Action != ActionKeep {
		return fmt.Errorf("%s: a shape only applies to action keep", where)
	}
	return nil
}

func parseShape(s string) shape {
	for i, n := range shapeNames {
		if n == s {
			return shape(i + 1)
		}
	}
	return shapeNone
}

const (
	maxIdentifierLen = 128
	maxShapeTextLen  = 256
	maxNumberLen     = 32
	maxVersionLen    = 64
)

// shapeValue applies a rule's shape to a scalar value. A value that does
// not fit is dropped; a value of another type than the shape's is never
// turned into a string. An integer fits only a shape of numbers: under an
// identifier, a text, a route, a method or a flag its digits would become
// * as a string, so as an integer it goes. Under number (counts, offsets,
// ids: no timing) a card number goes, as it does in a string.
func (e *engine) shapeValue(v pcommon.Value, d *decision, st *scratch) (drop, changed bool) {
	sh := d.rule.shape
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return e.shapeStr(v, d, st)
	case pcommon.ValueTypeInt:
		switch {
		case sh == shapeStatusCode:
			return e.shapeFail(d, st, v.Int() < 100 || v.Int() > 599)
		case sh == shapeNumber:
			return e.scrubInt(v, st)
		}
		return e.shapeFail(d, st, !numericShape(sh))
	case pcommon.ValueTypeDouble:
		if sh == shapeNumber {
			return e.scrubDouble(v, st)
		}
		return e.shapeFail(d, st, !numericShape(sh))
	case pcommon.ValueTypeBool:
		return e.shapeFail(d, st, sh != shapeBool)
	}
	return e.shapeFail(d, st, true)
}

// numericShape: numbers of these shapes are kept; only those of the number
// shape are checked for a card number (a duration in nanoseconds is not
// one).
func numericShape(sh shape) bool {
	return sh == shapeNumber || sh == shapeDuration || sh == shapeVersion
}

func (e *engine) shapeFail(d *decision, st *scratch, fail bool) (drop, changed bool) {
	if !fail {
		return false, false
	}
	st.count(d.rule.shapeRule.drop)
	return true, true
}

func (e *engine) shapeStr(v pcommon.Value, d *decision, st *scratch) (drop, changed bool) {
	s := v.Str()
	out, ok := e.fitShape(d.rule.shape, s, st)
	if !ok {
		return e.shapeFail(d, st, true)
	}
	if out != s {
		st.count(d.rule.shapeRule.rewrite)
		v.SetStr(out)
		return false, true
	}
	return false, false
}

// fitShape returns the value a string takes under a shape, or false when it
// does not fit. What it returns holds nothing a detector could find: only
// digits and fixed words, or words of the vocabulary.
func (e *engine) fitShape(sh shape, s string, st *scratch) (string, bool) {
	switch sh {
	case shapeNumber:
		return s, isNumberString(s)
	case shapeBool:
		return s, strings.EqualFold(s, "true") || strings.EqualFold(s, "false")
	case shapeDuration:
		return s, isDurationString(s)
	case shapeVersion:
		return s, e.fitsVersion(s)
	case shapeStatusCode:
		return s, len(s) == 3 && s[0] >= '1' && s[0] <= '5' && isDigitByte(s[1]) && isDigitByte(s[2])
	case shapeMethod:
		return normalizeMethod(s), true
	case shapeRoute:
		return e.routeOnce(s, st)
	case shapeIdentifier:
		if len(s) > maxIdentifierLen || !isIdentifierString(s) {
			return "", false
		}
		return e.vocabValue(s, st)
	case shapeText:
		if len(s) > maxShapeTextLen {
			return "", false
		}
		return e.vocabValue(s, st)
	}
	return s, true
}

// vocabValue applies the vocabulary to an identifier or a short text, and
// treats a path inside it as a route, as in a name. With unknown: mask, a
// value holding an unknown word does not fit. With unknown: keep the value
// is kept as it is.
func (e *engine) vocabValue(s string, st *scratch) (string, bool) {
	if !e.vocab.active() {
		return s, true
	}
	out := e.vocab.templated(s, false, st)
	return out, out == s || e.vocab.unknown != UnknownMask
}

func isDigitByte(c byte) bool { return c >= '0' && c <= '9' }

// isNumberString accepts an optionally signed decimal with an optional
// fraction and exponent, and Rust's Option forms Some(n) and None.
func isNumberString(s string) bool {
	if s == "None" {
		return true
	}
	if strings.HasPrefix(s, "Some(") && strings.HasSuffix(s, ")") {
		s = s[len("Some(") : len(s)-1]
	}
	n, ok := numberPrefix(s)
	return ok && n == len(s) && len(s) <= maxNumberLen && !holdsCardNumber(s)
}

// holdsCardNumber reports whether the digits of a number string, taken
// together or as any one run (the integer part of 4111111111111111.0 or
// 4111111111111111e0), are a payment card number.
func holdsCardNumber(s string) bool {
	if detect.IsCardNumber(s) {
		return true
	}
	for i := 0; i < len(s); {
		n := digitRun(s[i:])
		if n == 0 {
			i++
			continue
		}
		if detect.IsCardNumber(s[i : i+n]) {
			return true
		}
		i += n
	}
	return false
}

func numberPrefix(s string) (int, bool) {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	digits := 0
	for i < len(s) && isDigitByte(s[i]) {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigitByte(s[i]) {
			i++
			digits++
		}
	}
	if digits == 0 {
		return 0, false
	}
	if i+1 < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if s[j] == '-' || s[j] == '+' {
			j++
		}
		k := j
		for k < len(s) && isDigitByte(s[k]) {
			k++
		}
		if k > j {
			i = k
		}
	}
	return i, true
}

var durationUnits = []string{"ns", "us", "µs", "μs", "ms", "s", "m", "min", "h", "d"}

// isDurationString accepts a number, optionally followed by a space and a
// time unit: 146.819µs, 0 ms, 1.5s.
func isDurationString(s string) bool {
	n, ok := numberPrefix(s)
	if !ok || len(s) > maxNumberLen || holdsCardNumber(s[:n]) {
		return false
	}
	unit := strings.TrimPrefix(s[n:], " ")
	if unit == "" {
		return n == len(s)
	}
	for _, u := range durationUnits {
		if unit == u {
			return true
		}
	}
	return false
}

// fitsVersion accepts an optional v (or HTTP/), one to four dot-separated numbers, and
// an optional pre-release and build part whose dot-separated pieces are
// numbers, hex digests or version labels. A four-part version is a
// version, not an address.
func (e *engine) fitsVersion(s string) bool {
	if s == "" || len(s) > maxVersionLen {
		return false
	}
	s = strings.TrimPrefix(s, "HTTP/")
	if s != "" && (s[0] == 'v' || s[0] == 'V') {
		s = s[1:]
	}
	core, rest := s, ""
	if i := strings.IndexAny(s, "-+"); i >= 0 {
		core, rest = s[:i], s[i+1:]
	}
	if !isVersionCore(core) {
		return false
	}
	for tail := rest; tail != ""; {
		var p string
		if i := strings.IndexAny(tail, ".-+"); i >= 0 {
			p, tail = tail[:i], tail[i+1:]
		} else {
			p, tail = tail, ""
		}
		if p != "" && !allDigits(p) && !isHexDigest(p) && !e.vocab.versionLabel(p) {
			return false
		}
	}
	// Four numbers are a version, not an address; but the pre-release and
	// build parts, and the whole for every other detector, are checked.
	var buf [2]detect.Match
	return len(detect.Find(rest, e.detectors, buf[:0])) == 0 &&
		len(detect.Find(s, e.detectors&^detect.Of(detect.IPv4, detect.IPv6), buf[:0])) == 0
}

// versionLabels are the words of versions' pre-release and build parts
// (1.0.0-rc.1, 0.161.0-dev); any other word there names something, as in
// 1.0.0-staging or 2.3.1-payroll.
var versionLabels = []string{"rc", "alpha", "beta", "dev", "nightly", "preview", "snapshot", "stable", "final", "pre", "post", "build", "release"}

// isVersionCore accepts one to four dot-separated numbers.
func isVersionCore(s string) bool {
	for parts := 1; parts <= 4; parts++ {
		p, rest, found := strings.Cut(s, ".")
		if !allDigits(p) {
			return false
		}
		if !found {
			return true
		}
		s = rest
	}
	return false
}

func isHexDigest(s string) bool {
	if len(s) < 7 || len(s) > 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isDigitByte(c) && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// isIdentifierString accepts the characters of code identifiers, module
// paths and type names: letters, digits and _ . : / - < > $ # , and no
// space.
func isIdentifierString(s string) bool { return onlyAlnumAnd(s, "_.:/-<>$#,") }

// onlyAlnumAnd reports whether s is not empty and holds only ASCII letters,
// digits and bytes of extra.
func onlyAlnumAnd(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		if !isASCIIAlnum(s[i]) && strings.IndexByte(extra, s[i]) < 0 {
			return false
		}
	}
	return s != ""
}

// shapeRules count the values a shape dropped and those it rewrote.
type shapeRules struct{ drop, rewrite ruleID }

func (e *engine) compileShape(r KeyRule) (shape, shapeRules) {
	sh := parseShape(r.Shape)
	if sh == shapeNone {
		return sh, shapeRules{}
	}
	return sh, shapeRules{drop: e.ruleFor("shape/"+r.Key, aDrop), rewrite: e.ruleFor("shape/"+r.Key, aMask)}
}

// vendorShapes gives each key the vendor policy keeps the shape its values
// must have. service.name has none: it names the deployment.
var vendorShapes = map[string]string{
	"service.version":           ShapeVersion,
	"telemetry.sdk.name":        ShapeIdentifier,
	"telemetry.sdk.language":    ShapeIdentifier,
	"telemetry.sdk.version":     ShapeVersion,
	"telemetry.distro.name":     ShapeIdentifier,
	"telemetry.distro.version":  ShapeVersion,
	"process.runtime.name":      ShapeIdentifier,
	"process.runtime.version":   ShapeVersion,
	"os.type":                   ShapeIdentifier,
	"host.arch":                 ShapeIdentifier,
	"cloud.provider":            ShapeIdentifier,
	"cloud.platform":            ShapeIdentifier,
	"http.route":                ShapeRoute,
	"http.status_code":          ShapeStatusCode,
	"http.response.status_code": ShapeStatusCode,
	"http.version":              ShapeVersion,
	"network.protocol.name":     ShapeIdentifier,
	"network.protocol.version":  ShapeVersion,
	"url.scheme":                ShapeIdentifier,
	"url.template":              ShapeRoute,
	"rpc.system":                ShapeIdentifier,
	"rpc.service":               ShapeIdentifier,
	"rpc.method":                ShapeIdentifier,
	"rpc.grpc.status_code":      ShapeNumber,
	"db.system":                 ShapeIdentifier,
	"db.system.name":            ShapeIdentifier,
	"db.operation":              ShapeIdentifier,
	"db.operation.name":         ShapeIdentifier,
	"error.type":                ShapeIdentifier,
	"exception.type":            ShapeIdentifier,
	"exception.escaped":         ShapeBool,
	"otel.status_code":          ShapeIdentifier,
	"code.namespace":            ShapeIdentifier,
	"code.function":             ShapeIdentifier,
	"code.function.name":        ShapeIdentifier,
	"code.lineno":               ShapeNumber,
	"code.line.number":          ShapeNumber,
	"thread.id":                 ShapeNumber,
	"thread.name":               ShapeIdentifier,
	"level":                     ShapeIdentifier,
	"target":                    ShapeIdentifier,
	"busy_ns":                   ShapeDuration,
	"idle_ns":                   ShapeDuration,
	"elapsed":                   ShapeDuration,
	"elapsed_secs":              ShapeDuration,
	"latency":                   ShapeDuration,
	"num_ids":                   ShapeNumber,
	"num_embeddings":            ShapeNumber,
	"has_where":                 ShapeBool,
	"include":                   ShapeText,
	"limit":                     ShapeNumber,
	"offset":                    ShapeNumber,
	"batch_size":                ShapeNumber,
	"end_timestamp":             ShapeDuration,
	"rows_affected":             ShapeNumber,
	"rows_returned":             ShapeNumber,
	"classification":            ShapeText,
	"otel.component.id":         ShapeIdentifier,
	"otel.component.kind":       ShapeIdentifier,
	"otel.signal":               ShapeIdentifier,
	"receiver":                  ShapeIdentifier,
	"processor":                 ShapeIdentifier,
	"exporter":                  ShapeIdentifier,
	"transport":                 ShapeIdentifier,
	"data_type":                 ShapeIdentifier,
	"outcome":                   ShapeIdentifier,
	"rule":                      ShapeIdentifier,
	"signal":                    ShapeIdentifier,
	"action":                    ShapeIdentifier,
}

// chromaNumericKeys hold Chroma's timings and counts. Every policy gives
// them the duration (timings: an integer there is never taken for a card
// number) or number shape.
var chromaNumericKeys = []string{
	"busy_ns", "idle_ns", "elapsed_secs", "num_ids", "num_embeddings",
	"batch_size", "rows_affected", "rows_returned", "code.lineno", "code.line.number", "thread.id",
}
