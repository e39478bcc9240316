package scrubprocessor // import "github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor"

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor/internal/detect"
)

// action is what happens to one value.
type action uint8

const (
	aKeep action = iota
	aRaw
	aDrop
	aMask
	aHash
	aURL
)

func parseAction(s string) action {
	switch s {
	case ActionRaw:
		return aRaw
	case ActionDrop:
		return aDrop
	case ActionMask:
		return aMask
	case ActionHash:
		return aHash
	case ActionURL:
		return aURL
	}
	return aKeep
}

func (a action) String() string {
	switch a {
	case aDrop:
		return ActionDrop
	case aMask:
		return ActionMask
	case aHash:
		return ActionHash
	case aURL:
		return ActionURL
	case aRaw:
		return ActionRaw
	}
	return ActionKeep
}

// severity orders actions on overlapping matches: what reveals least wins.
func severity(a action) int {
	switch a {
	case aDrop:
		return 3
	case aMask:
		return 2
	case aHash:
		return 1
	}
	return 0
}

// ruleID indexes engine.rules: one telemetry series per rule and action.
type ruleID int32

type ruleInfo struct {
	name   string
	action action
}

// keyRule is a compiled KeyRule.
type keyRule struct {
	pattern   string // lower case
	glob      bool
	order     int // earlier rules win: the user's, then the policy's
	action    action
	values    map[string]struct{}
	re        *regexp.Regexp
	rule      ruleID // counts the rule's action
	valueRule ruleID // counts values masked by values/pattern
	shape     shape
	shapeRule shapeRules
}

func (r *keyRule) hasValueRule() bool { return r.values != nil || r.re != nil }

// keepsUnhashed reports whether a hash rule's values or pattern let v
// through as it is (still scanned unless listed in values).
func (r *keyRule) keepsUnhashed(v pcommon.Value) bool {
	return r != nil && r.hasValueRule() && v.Type() == pcommon.ValueTypeStr && r.allows(v.Str())
}

func (r *keyRule) allows(s string) bool {
	if r.values != nil {
		if _, ok := r.values[s]; !ok {
			return false
		}
	}
	return r.re == nil || r.re.MatchString(s)
}

// decision is what happens under one attribute key; computed once per
// distinct key and cached.
type decision struct {
	action action
	rule   *keyRule // nil when no rule matched
	id     ruleID   // counts a drop decided for the key as a whole
}

// Kinds of matches beyond the built-in detectors are custom detectors.
type kindInfo struct {
	action   action // in an attribute value
	rule     ruleID // counts matches in attribute values
	textRule ruleID // counts matches in names, messages and bodies, where drop masks
	keyRule  ruleID // counts attributes dropped because their key holds a match
}

const (
	maxDepth       = 32
	hashOutputSize = 8 // bytes of HMAC output kept, as 16 hex characters
)

// engine applies one effective policy. It is safe for concurrent use.
type engine struct {
	allowlist   bool
	placeholder string
	detectors   detect.Set
	custom      []compiledCustom
	kinds       []kindInfo // detect kinds first, then custom detectors
	exact       map[string]*keyRule
	globs       []*keyRule
	keep        *decision // no rule, blocklist: keep and scan
	unlisted    *decision // no rule, allowlist: drop
	cache       keyCache

	textAct struct {
		spanName, eventName, metricName, scopeName, statusMessage, logBody action
	}
	textRules struct {
		spanName, eventName, metricName, scopeName, statusMessage, logBody ruleID
	}
	urlDrop   bool
	needRoute bool
	cardRule  bool // the card detector also checks large integers

	allowlistRule ruleID
	depthRule     ruleID
	payloadRule   ruleID
	rules         []ruleInfo
	ruleIndex     map[ruleInfo]ruleID

	hmacKey    []byte
	hmacPool   sync.Pool
	scratch    sync.Pool
	cumulative *cumulativeState
	instance   string // service.instance.id of resources without one

	vocab *vocabulary
	names nameRules
}

func newEngine(ep *effectivePolicy) *engine {
	e := &engine{
		allowlist:   ep.mode == ModeAllowlist,
		placeholder: ep.placeholder,
		custom:      ep.custom,
		exact:       map[string]*keyRule{},
		keep:        &decision{action: aKeep},
		ruleIndex:   map[ruleInfo]ruleID{},
		hmacKey:     ep.hashKey,
		urlDrop:     ep.urlWithoutRoute == URLDrop,
		instance:    ep.instance,
	}
	e.allowlistRule = e.ruleFor("allowlist", aDrop)
	e.unlisted = &decision{action: aDrop, id: e.allowlistRule}
	e.depthRule = e.ruleFor("depth_limit", aDrop)
	e.payloadRule = e.ruleFor("profile/original_payload", aDrop)

	e.kinds = make([]kindInfo, int(detect.NumKinds)+len(ep.custom))
	for _, k := range detectKindsSorted(ep.detectors) {
		e.detectors |= detect.Of(k)
		e.kinds[k] = e.kindInfo("detector/"+k.String(), parseAction(ep.detectors[k]))
	}
	e.cardRule = e.detectors.Has(detect.CardNumber)
	for i, c := range ep.custom {
		e.kinds[int(detect.NumKinds)+i] = e.kindInfo("custom/"+c.name, parseAction(c.action))
	}

	for i, src := range ep.keys {
		r := &keyRule{
			pattern: strings.ToLower(src.Key),
			glob:    strings.Contains(src.Key, "*"),
			order:   i,
			action:  parseAction(src.Action),
		}
		if len(src.Values) > 0 {
			r.values = make(map[string]struct{}, len(src.Values))
			for _, v := range src.Values {
				r.values[v] = struct{}{}
			}
		}
		if src.Pattern != "" {
			r.re = regexp.MustCompile(`^(?:` + src.Pattern + `)$`)
		}
		r.rule = e.ruleFor("key/"+src.Key, r.action)
		r.valueRule = e.ruleFor("values/"+src.Key, aMask)
		r.shape, r.shapeRule = e.compileShape(src.KeyRule)
		if r.action == aURL {
			e.needRoute = true
		}
		if r.glob {
			e.globs = append(e.globs, r)
		} else {
			e.exact[r.pattern] = r
		}
	}

	set := func(dst *action, id *ruleID, field, a string) {
		*dst = parseAction(a)
		*id = e.ruleFor("text/"+field, *dst)
	}
	set(&e.textAct.spanName, &e.textRules.spanName, "span_name", ep.text.SpanName)
	set(&e.textAct.eventName, &e.textRules.eventName, "event_name", ep.text.EventName)
	set(&e.textAct.metricName, &e.textRules.metricName, "metric_name", ep.text.MetricName)
	set(&e.textAct.scopeName, &e.textRules.scopeName, "scope_name", ep.text.ScopeName)
	set(&e.textAct.statusMessage, &e.textRules.statusMessage, "status_message", ep.text.StatusMessage)
	set(&e.textAct.logBody, &e.textRules.logBody, "log_body", ep.text.LogBody)
	if e.textAct.spanName == aURL {
		e.needRoute = true
	}
	e.initNames(ep)

	e.cache.init()
	e.cumulative = newCumulativeState(cumulativeLimit, cumulativeTTL, time.Now)
	e.hmacPool.New = func() any {
		return &hmacState{mac: hmac.New(sha256.New, e.hmacKey)}
	}
	nRules := len(e.rules)
	e.scratch.New = func() any {
		return &scratch{counts: make([]int64, nRules), clean: make(map[string]struct{}, 64), templated: make(map[string]string, 64), routes: make(map[string]string, 16)}
	}
	return e
}

func (e *engine) kindInfo(name string, a action) kindInfo {
	textAction := a
	if a == aDrop {
		textAction = aMask
	}
	return kindInfo{action: a, rule: e.ruleFor(name, a), textRule: e.ruleFor(name, textAction), keyRule: e.ruleFor(name, aDrop)}
}

// ruleFor registers a telemetry series; only called while compiling.
func (e *engine) ruleFor(name string, a action) ruleID {
	ri := ruleInfo{name: name, action: a}
	if id, ok := e.ruleIndex[ri]; ok {
		return id
	}
	id := ruleID(len(e.rules))
	e.rules = append(e.rules, ri)
	e.ruleIndex[ri] = id
	return id
}

// scratch is per-call state, pooled so that a call allocates nothing for it.
type scratch struct {
	counts []int64
	route  string
	merged int64
	merge  merger
	// clean holds short strings of this call in which the detectors found
	// nothing, so that a value repeated across a batch is scanned once. It
	// is emptied when the call ends.
	clean    map[string]struct{}
	callKeys callKeys
	// templated and routes hold short names and values, and routes, of this
	// call as the vocabulary leaves them, so that each is looked at once per
	// batch.
	templated, routes map[string]string
	cumulative        cumulativeCall
}

const (
	cleanMaxLen     = 96
	cleanMaxEntries = 512
)

func (e *engine) getScratch() *scratch { return e.scratch.Get().(*scratch) }

func (e *engine) putScratch(st *scratch) {
	st.reset()
	e.scratch.Put(st)
}

func (st *scratch) reset() {
	clear(st.clean)
	clear(st.templated)
	clear(st.routes)
	clear(st.counts)
	st.callKeys.reset()
	st.cumulative.reset()
	st.route = ""
	st.merged = 0
}

func (st *scratch) count(id ruleID) { st.counts[id]++ }

// ---- keys ----

func (e *engine) computeDecision(k string) *decision {
	lk := strings.ToLower(k)
	r, exact := e.exact[lk]
	for _, g := range e.globs {
		if exact && g.order > r.order {
			break
		}
		if globMatch(g.pattern, lk) {
			r, exact = g, false
			break
		}
	}
	switch {
	case r == nil && e.allowlist:
		return e.unlisted
	case r != nil && r.action == aDrop:
		return &decision{action: aDrop, rule: r, id: r.rule}
	}
	// A key that a rule does not name exactly may itself carry a value.
	if !exact {
		if id, found := e.keyHasSecret(k); found {
			return &decision{action: aDrop, id: id}
		}
	}
	if r == nil {
		return e.keep
	}
	return &decision{action: r.action, rule: r, id: r.rule}
}

func (e *engine) keyHasSecret(k string) (ruleID, bool) {
	var buf [4]detect.Match
	if ms := detect.Find(k, e.detectors, buf[:0]); len(ms) > 0 {
		return e.kinds[ms[0].Kind].keyRule, true
	}
	for i, c := range e.custom {
		if c.re.MatchString(k) {
			return e.kinds[int(detect.NumKinds)+i].keyRule, true
		}
	}
	return 0, false
}

// globMatch matches a lower-case pattern where * is any run of characters.
func globMatch(pattern, s string) bool {
	px, sx := 0, 0
	nextPx, nextSx := -1, -1
	for px < len(pattern) || sx < len(s) {
		if px < len(pattern) {
			c := pattern[px]
			if c == '*' {
				nextPx, nextSx = px, sx+1
				px++
				continue
			}
			if sx < len(s) && s[sx] == c {
				px++
				sx++
				continue
			}
		}
		if nextPx >= 0 && nextSx <= len(s) {
			px, sx = nextPx, nextSx
			continue
		}
		return false
	}
	return true
}

// ---- values ----

// scrubMap applies the key rules to every entry of m, recursively. It
// reports whether anything changed.
func (e *engine) scrubMap(m pcommon.Map, st *scratch, depth int) bool {
	if m.Len() == 0 {
		return false
	}
	changed := false
	m.RemoveIf(func(k string, v pcommon.Value) bool {
		d := e.decide(k, st)
		if d.action == aDrop {
			st.count(d.id)
			changed = true
			return true
		}
		drop, ch := e.scrubValue(v, d, st, depth)
		changed = changed || ch || drop
		return drop
	})
	return changed
}

// scrubValue applies a key's decision to its value. drop asks the caller to
// remove the entry.
func (e *engine) scrubValue(v pcommon.Value, d *decision, st *scratch, depth int) (drop, changed bool) {
	switch d.action {
	case aRaw:
		return false, false
	case aMask:
		return e.replaceValue(v, aMask, d.id, st)
	case aHash:
		if !d.rule.keepsUnhashed(v) {
			return e.replaceValue(v, aHash, d.id, st)
		}
	case aURL:
		// Only a string can be read as a URL and templated; bytes or a
		// number there are not a URL and go, like a string that is none.
		if isScalar(v.Type()) && v.Type() != pcommon.ValueTypeStr {
			return e.replaceValue(v, aDrop, d.id, st)
		}
	}
	if d.rule != nil && d.rule.shape != shapeNone {
		// A shape describes one value: a list or a map fits none (an
		// embedding as a list of doubles under limit).
		if !isScalar(v.Type()) {
			return e.shapeFail(d, st, true)
		}
		return e.shapeValue(v, d, st)
	}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return e.scrubStr(v, d, st)
	case pcommon.ValueTypeMap:
		if depth >= maxDepth {
			st.count(e.depthRule)
			return true, true
		}
		return false, e.scrubMap(v.Map(), st, depth+1)
	case pcommon.ValueTypeSlice:
		if depth >= maxDepth {
			st.count(e.depthRule)
			return true, true
		}
		changed := false
		v.Slice().RemoveIf(func(el pcommon.Value) bool {
			drop, ch := e.scrubValue(el, d, st, depth+1)
			changed = changed || ch || drop
			return drop
		})
		return false, changed
	case pcommon.ValueTypeInt:
		return e.scrubInt(v, st)
	case pcommon.ValueTypeDouble:
		return e.scrubDouble(v, st)
	case pcommon.ValueTypeBytes:
		return e.scrubBytes(v, st)
	}
	return false, false
}

func (e *engine) scrubStr(v pcommon.Value, d *decision, st *scratch) (drop, changed bool) {
	s := v.Str()
	if r := d.rule; r != nil && r.hasValueRule() {
		if !r.allows(s) {
			st.count(r.valueRule)
			v.SetStr(e.placeholder)
			return false, true
		}
		if r.values != nil && d.action != aURL {
			// One of the values the configuration lists: nothing to find.
			return false, false
		}
	}
	out := s
	if d.action == aURL {
		var dropURL bool
		out, dropURL = e.rewriteURL(s, st.route)
		if dropURL {
			st.count(d.id)
			return true, true
		}
		if out != s {
			st.count(d.id)
		}
	}
	out, drop = e.scan(out, st, false)
	if drop {
		return true, true
	}
	if out != s {
		v.SetStr(out)
		return false, true
	}
	return false, false
}

// scrubInt checks integers long enough to be a payment card number.
func (e *engine) scrubInt(v pcommon.Value, st *scratch) (drop, changed bool) {
	i := v.Int()
	if i < 0 {
		i = -i
	}
	return e.scrubCardDigits(v, uint64(i), st)
}

// scrubDouble checks the integer part of a double the same way
// (4111111111111111.5 holds a card number).
func (e *engine) scrubDouble(v pcommon.Value, st *scratch) (drop, changed bool) {
	x := math.Abs(v.Double())
	if x >= 1e19 || math.IsNaN(x) {
		return false, false
	}
	return e.scrubCardDigits(v, uint64(x), st)
}

// scrubCardDigits applies the card detector to a value whose digits are n.
func (e *engine) scrubCardDigits(v pcommon.Value, n uint64, st *scratch) (drop, changed bool) {
	if !e.cardRule || n < 1e12 {
		return false, false
	}
	var buf [24]byte
	if !detect.IsCardNumber(string(strconv.AppendUint(buf[:0], n, 10))) {
		return false, false
	}
	ki := e.kinds[detect.CardNumber]
	return e.replaceValue(v, ki.action, ki.rule, st)
}

func (e *engine) scrubBytes(v pcommon.Value, st *scratch) (drop, changed bool) {
	b := v.Bytes().AsRaw()
	if len(b) == 0 {
		return false, false
	}
	s := string(b)
	out, drop := e.scan(s, st, false)
	if drop {
		return true, true
	}
	if out != s {
		v.SetEmptyBytes().FromRaw([]byte(out))
		return false, true
	}
	return false, false
}

// text applies a text action to a string that has no key. Drop empties it.
func (e *engine) text(s string, a action, id ruleID, st *scratch) (string, bool) {
	switch a {
	case aRaw:
		return s, false
	case aMask:
		if s == "" || s == e.placeholder {
			return s, false
		}
		st.count(id)
		return e.placeholder, true
	case aDrop:
		if s == "" {
			return s, false
		}
		st.count(id)
		return "", true
	}
	out, _ := e.scan(s, st, true)
	return out, out != s
}

// scan runs the detectors over s. In an attribute value a drop detector
// drops the entry; in text it masks.
func (e *engine) scan(s string, st *scratch, text bool) (string, bool) {
	if len(s) < 3 {
		return s, false
	}
	memo := len(s) <= cleanMaxLen
	if memo {
		if _, ok := st.clean[s]; ok {
			return s, false
		}
	}
	var buf [8]detect.Match
	ms := detect.Find(s, e.detectors, buf[:0])
	for i, c := range e.custom {
		for _, loc := range c.re.FindAllStringIndex(s, -1) {
			if loc[1] > loc[0] {
				ms = append(ms, detect.Match{Start: loc[0], End: loc[1], Kind: detect.Kind(int(detect.NumKinds) + i)})
			}
		}
	}
	if len(ms) == 0 {
		if memo && len(st.clean) < cleanMaxEntries {
			st.clean[s] = struct{}{}
		}
		return s, false
	}
	// Insertion sort: matches are few.
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && ms[j].Start < ms[j-1].Start; j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
	if !text {
		for _, m := range ms {
			if e.kinds[m.Kind].action == aDrop {
				for _, m := range ms {
					st.count(e.kinds[m.Kind].rule)
				}
				return "", true
			}
		}
	}
	// Merge overlapping matches into regions, the strongest action winning,
	// and size the result exactly.
	type region struct {
		start, end int
		action     action
	}
	var rbuf [8]region
	regions := rbuf[:0]
	size := len(s)
	for i := 0; i < len(ms); {
		r := region{ms[i].Start, ms[i].End, e.kinds[ms[i].Kind].action}
		e.countMatch(ms[i].Kind, text, st)
		for i++; i < len(ms) && ms[i].Start < r.end; i++ {
			r.end = max(r.end, ms[i].End)
			if ka := e.kinds[ms[i].Kind].action; severity(ka) > severity(r.action) {
				r.action = ka
			}
			e.countMatch(ms[i].Kind, text, st)
		}
		size -= r.end - r.start
		if r.action == aHash {
			size += 2 * hashOutputSize
		} else {
			size += len(e.placeholder)
		}
		regions = append(regions, r)
	}
	var b strings.Builder
	b.Grow(size)
	prev := 0
	for _, r := range regions {
		b.WriteString(s[prev:r.start])
		if r.action == aHash {
			e.writeHash(&b, s[r.start:r.end])
		} else {
			b.WriteString(e.placeholder)
		}
		prev = r.end
	}
	b.WriteString(s[prev:])
	return b.String(), false
}

func (e *engine) countMatch(k detect.Kind, text bool, st *scratch) {
	if text {
		st.count(e.kinds[k].textRule)
	} else {
		st.count(e.kinds[k].rule)
	}
}

type hmacState struct {
	mac hash.Hash
	buf []byte
	sum [sha256.Size]byte
}

// hash returns a keyed hash of s: equal inputs give equal outputs, and
// without the key nobody can test a guess.
func (e *engine) hash(s string) string {
	var b strings.Builder
	b.Grow(2 * hashOutputSize)
	e.writeHash(&b, s)
	return b.String()
}

func (e *engine) writeHash(b *strings.Builder, s string) {
	h := e.hmacPool.Get().(*hmacState)
	h.mac.Reset()
	h.buf = append(h.buf[:0], s...)
	h.mac.Write(h.buf)
	sum := h.mac.Sum(h.sum[:0])
	var out [2 * hashOutputSize]byte
	hex.Encode(out[:], sum[:hashOutputSize])
	b.Write(out[:])
	e.hmacPool.Put(h)
}
