package scrubprocessor // import "github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor"

import (
	_ "embed"
	"fmt"
	"strings"
)

// What a name or an identifier value may hold when one of its words is
// outside the vocabulary.
const (
	UnknownTemplate = "template" // the word becomes "*"
	UnknownMask     = "mask"     // the whole name becomes the placeholder; a value is dropped
	UnknownKeep     = "keep"     // no vocabulary: the detectors alone decide
)

// wildcard replaces each run of unknown words in a templated name.
const wildcard = '*'

// maxWordLen is the longest word looked up; longer words are unknown.
const maxWordLen = 48

//go:embed vocabulary.txt
var builtinWords string

// vocabulary is the set of words a name may hold. Words are runs of ASCII
// letters and digits, split where a lower-case letter meets an upper-case
// one or where an acronym ends (IOError), compared without case. A run of digits is never a word of the
// vocabulary, nor is anything holding a non-ASCII byte.
type vocabulary struct {
	words map[string]struct{}
	// routes holds the literal route segments that are no value, labels
	// the pre-release and build labels of versions: each its built-in list
	// and the configuration's own words.
	routes, labels map[string]struct{}
	unknown        string
}

func newVocabulary(unknown string, extra []string) *vocabulary {
	v := &vocabulary{words: make(map[string]struct{}, 2048), unknown: unknown}
	for _, line := range strings.Split(builtinWords, "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		for _, w := range strings.Fields(line) {
			v.words[w] = struct{}{}
		}
	}
	for _, w := range extra {
		v.words[strings.ToLower(w)] = struct{}{}
	}
	v.routes = wordSet(routeSegments, extra)
	v.labels = wordSet(versionLabels, extra)
	return v
}

// wordSet holds the words of both lists, in lower case.
func wordSet(builtin, extra []string) map[string]struct{} {
	set := make(map[string]struct{}, len(builtin)+len(extra))
	for _, list := range [][]string{builtin, extra} {
		for _, w := range list {
			set[strings.ToLower(w)] = struct{}{}
		}
	}
	return set
}

// versionLabel reports whether a piece of a version's pre-release or build
// part is a label of the version vocabulary, in any case.
func (v *vocabulary) versionLabel(p string) bool {
	_, ok := v.labels[strings.ToLower(p)]
	return ok
}

// routeSegment reports whether a literal path segment is one of the route
// vocabulary, in any case.
func (v *vocabulary) routeSegment(seg string) bool {
	_, ok := v.routes[strings.ToLower(seg)]
	return ok
}

// active reports whether names are checked against the vocabulary.
func (v *vocabulary) active() bool { return v.unknown != UnknownKeep }

// validWord reports whether w can be added to the vocabulary.
func validWord(w string) bool {
	if w == "" || len(w) > maxWordLen || allDigits(w) {
		return false
	}
	for i := 0; i < len(w); i++ {
		if !isASCIIAlnum(w[i]) {
			return false
		}
	}
	return true
}

func isASCIIAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isWordByte(c byte) bool { return isASCIIAlnum(c) || c >= 0x80 }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// known reports whether the word s is in the vocabulary.
func (v *vocabulary) known(s string) bool {
	if len(s) > maxWordLen || allDigits(s) {
		return false
	}
	var buf [maxWordLen]byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c >= 0x80:
			return false
		}
		buf[i] = c
	}
	_, ok := v.words[string(buf[:len(s)])]
	return ok
}

// nextWord returns the end of the word starting at s[i].
func nextWord(s string, i int) int {
	j := i + 1
	for j < len(s) && isWordByte(s[j]) && !wordBoundary(s, j) {
		j++
	}
	return j
}

// wordBoundary reports whether a new word starts at s[j] inside a run of
// letters: camelCase (fooBar) and the end of an acronym (IOError).
func wordBoundary(s string, j int) bool {
	if !isUpper(s[j]) {
		return false
	}
	prev := s[j-1]
	return prev >= 'a' && prev <= 'z' || isUpper(prev) && j+1 < len(s) && s[j+1] >= 'a' && s[j+1] <= 'z'
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// allKnown reports whether every word of s is in the vocabulary.
func (v *vocabulary) allKnown(s string) bool {
	for i := 0; i < len(s); {
		if !isWordByte(s[i]) {
			i++
			continue
		}
		j := nextWord(s, i)
		if !v.known(s[i:j]) {
			return false
		}
		i = j
	}
	return true
}

// template replaces every word of s outside the vocabulary with the
// wildcard. Unknown words joined only by '-', '_', '.' or '@' become one
// wildcard, so "Collection [acme-payroll] does not exist" gives
// "Collection [*] does not exist". It returns s itself when every word is
// known.
func (v *vocabulary) template(s string) string {
	if v.allKnown(s) {
		return s
	}
	b := make([]byte, 0, len(s))
	lastWild := -1 // length of b just after the last wildcard written
	for i := 0; i < len(s); {
		if !isWordByte(s[i]) {
			b = append(b, s[i])
			i++
			continue
		}
		j := nextWord(s, i)
		switch {
		case v.known(s[i:j]):
			b = append(b, s[i:j]...)
		case lastWild >= 0 && onlyJoiners(b[lastWild:]):
			b = b[:lastWild]
		default:
			b = append(b, wildcard)
			lastWild = len(b)
		}
		i = j
	}
	return string(b)
}

// onlyJoiners reports whether s holds nothing but characters that join
// the parts of one name.
func onlyJoiners(s []byte) bool {
	for _, c := range s {
		if c != '-' && c != '_' && c != '.' && c != '@' && c != wildcard {
			return false
		}
	}
	return true
}

// name applies the vocabulary to a name: unchanged when every word is
// known; otherwise templated, or replaced whole by the placeholder.
func (v *vocabulary) name(s, placeholder string, st *scratch) string {
	if !v.active() {
		return s
	}
	out := v.templated(s, true, st)
	if out != s && v.unknown == UnknownMask {
		return placeholder
	}
	return out
}

// templated is s with its unknown words templated, its value slots masked
// (bracketed ones too with brackets) and the paths inside it taken as
// routes: what a name or a short text value keeps.
func (v *vocabulary) templated(s string, brackets bool, st *scratch) string {
	return v.namePaths(maskValueSlots(remember(st.templated, s, v.template), brackets))
}

// mergeVocabulary sets the vocabulary of an effective policy: the policy's,
// with the configuration's mode and its words added.
func (ep *effectivePolicy) mergeVocabulary(base policySpec, cfg VocabularyConfig) []error {
	var errs []error
	ep.vocabulary = VocabularyConfig{Unknown: base.vocabulary.Unknown}
	if ep.vocabulary.Unknown == "" {
		ep.vocabulary.Unknown = UnknownKeep
	}
	switch cfg.Unknown {
	case "":
	case UnknownTemplate, UnknownMask, UnknownKeep:
		ep.vocabulary.Unknown = cfg.Unknown
	default:
		errs = append(errs, fmt.Errorf("vocabulary.unknown: unknown value %q; use template, mask or keep", cfg.Unknown))
	}
	for i, w := range cfg.Words {
		if !validWord(w) {
			errs = append(errs, fmt.Errorf("vocabulary.words[%d]: %q is not a word: use letters and digits only (not only digits), at most %d", i, w, maxWordLen))
			continue
		}
		ep.vocabulary.Words = append(ep.vocabulary.Words, w)
	}
	return errs
}

// remember returns what this call already found for s in memo, or
// computes it with f and keeps it when s is short and memo not full.
func remember(memo map[string]string, s string, f func(string) string) string {
	if out, ok := memo[s]; ok {
		return out
	}
	out := f(s)
	if len(s) <= cleanMaxLen && len(memo) < cleanMaxEntries {
		memo[s] = out
	}
	return out
}

// maskValueSlots replaces every quoted or bracketed run of a name by the
// wildcard: a program that formats a value into a message quotes or
// brackets it (Rust's {:?} of a string gives "...", Python's repr '...',
// Chroma writes [{0}]), and such a slot holds the customer's value even
// when its words are in the vocabulary (Collection [users] does not exist
// gives Collection [*] does not exist). A quote is an opening one only
// where no word goes before it and a closing one only where no word follows
// it, so an apostrophe (doesn't) opens nothing. Values of the text shape
// keep their brackets (Chroma's include is IncludeList([Document,
// Metadata])): only their quotes are slots. What follows a key and = is a
// slot too (tenant=staging gives tenant=*), up to white space or , ; & | )
// ] } >; a quoted or bracketed value or a path after = is left to those
// rules, and ==, !=, <=, >= and => are no such slot.
func maskValueSlots(s string, brackets bool) string {
	if strings.IndexAny(s, "\"'`[=") < 0 {
		return s
	}
	var b strings.Builder
	prev := 0
	for i := 0; i < len(s); i++ {
		end, ok := valueSlot(s, i)
		if !ok || !brackets && s[i] == '[' {
			continue
		}
		if inner := s[i+1 : end]; inner != string(wildcard) {
			b.WriteString(s[prev : i+1])
			b.WriteByte(wildcard)
			prev = end
		}
		i = end
	}
	if prev == 0 {
		return s
	}
	b.WriteString(s[prev:])
	return b.String()
}

// valueSlot reports whether a quote or bracket at s[i] opens a value slot,
// and where it closes. A backslash escapes the next byte inside quotes.
func valueSlot(s string, i int) (int, bool) {
	closer := s[i]
	switch closer {
	case '=':
		return assignedSlot(s, i)
	case '[':
		closer = ']'
	case '"', '\'', '`':
		if i > 0 && isWordByte(s[i-1]) {
			return 0, false
		}
	default:
		return 0, false
	}
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == '\\' && closer != ']':
			j++
		case s[j] == closer:
			if j == i+1 || closer != ']' && j+1 < len(s) && isWordByte(s[j+1]) {
				return 0, false
			}
			return j, true
		}
	}
	return 0, false
}

// namePaths treats every path inside a name (a run from a / that starts a
// word to the next space or closing punctuation) as a route: its literal
// segments outside the route vocabulary become *, so that an event name
// such as "GET /api/v2/tenants/staging" does not pass because staging is a
// word. A / starts a path at the start of the name or after any byte that
// is neither a word's nor one that closes something: after a space, a tab,
// =, :, (, a quote or *, but not in By/s, {request}/s or read/write.
func (v *vocabulary) namePaths(s string) string {
	if !strings.Contains(s, "/") {
		return s
	}
	var b strings.Builder
	prev := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '/' || i > 0 && !opensPath(s[i-1]) {
			continue
		}
		end := pathEnd(s, i)
		path := s[i:end]
		if out := v.routePath(path); out != path {
			b.WriteString(s[prev:i])
			b.WriteString(out)
			prev = end
		}
		i = end
	}
	if prev == 0 {
		return s
	}
	b.WriteString(s[prev:])
	return b.String()
}

// opensPath reports whether a / after c starts a path.
func opensPath(c byte) bool {
	return !isWordByte(c) && strings.IndexByte("})]>", c) < 0
}

// pathEnd is where the path starting at s[i] ends: at white space or at
// punctuation that closes or separates what holds the path.
func pathEnd(s string, i int) int {
	for j := i; j < len(s); j++ {
		if c := s[j]; c <= ' ' || strings.IndexByte("\"'`)],;|<>", c) >= 0 {
			return j
		}
	}
	return len(s)
}

// assignedSlot reports whether the = at s[i] assigns a value to a key, and
// where that value ends (the byte after it).
func assignedSlot(s string, i int) (int, bool) {
	if i == 0 || strings.IndexByte("=!<>", s[i-1]) >= 0 || i+1 == len(s) || strings.IndexByte("=>\"'`[/", s[i+1]) >= 0 {
		return 0, false
	}
	end := i + 1
	for end < len(s) && s[end] > ' ' && strings.IndexByte(",;&|)]}>", s[end]) < 0 {
		end++
	}
	return end, end > i+1
}
