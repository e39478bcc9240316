package scrubprocessor // import "github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor"

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// nameRules are the telemetry series and actions of names and of the
// strings outside attributes.
type nameRules struct {
	vocabulary     ruleID // a name or value rewritten by the vocabulary
	traceState     action
	traceStateRule ruleID
	schemaURL      ruleID
	entityRef      ruleID
}

func (e *engine) initNames(ep *effectivePolicy) {
	e.vocab = newVocabulary(ep.vocabulary.Unknown, ep.vocabulary.Words)
	e.names.vocabulary = e.ruleFor("vocabulary", aMask)
	e.names.traceState = parseAction(ep.text.TraceState)
	e.names.traceStateRule = e.ruleFor("text/trace_state", e.names.traceState)
	e.names.schemaURL = e.ruleFor("schema_url", aDrop)
	e.names.entityRef = e.ruleFor("entity_ref", aDrop)
}

// name applies a text action to a name. Under keep (or url), with an active
// vocabulary, the vocabulary decides: the result holds only its words and
// wildcards, so no detector needs to run.
func (e *engine) name(s string, a action, id ruleID, st *scratch) (string, bool) {
	if (a != aKeep && a != aURL) || !e.vocab.active() {
		return e.text(s, a, id, st)
	}
	out := e.vocab.name(s, e.placeholder, st)
	if out == s {
		return s, false
	}
	st.count(e.names.vocabulary)
	return out, true
}

// version treats a version string. With an active vocabulary a
// well-formed version is kept as it is (four numbers are a version, not an
// address) and anything else is emptied, as a kept key's value that does
// not fit its shape is dropped: templating it would keep its words
// (2.0.0+users). Without one it is a name.
func (e *engine) version(s string, a action, id ruleID, st *scratch) (string, bool) {
	if (a != aKeep && a != aURL) || !e.vocab.active() {
		return e.name(s, a, id, st)
	}
	if s == "" || e.fitsVersion(s) {
		return s, false
	}
	st.count(e.names.vocabulary)
	return "", true
}

// unit treats a metric unit: the dimensionless unit 1 is kept, the rest is
// a name.
func (e *engine) unit(s string, a action, id ruleID, st *scratch) (string, bool) {
	if s == "1" {
		return s, false
	}
	return e.name(s, a, id, st)
}

// otelSchemaPrefix starts every schema URL the semantic conventions publish.
const otelSchemaPrefix = "https://opentelemetry.io/schemas/"

// schemaURL: with an active vocabulary only the semantic conventions'
// schema URLs are kept; others are dropped. Without, the detectors run.
func (e *engine) schemaURL(u string, st *scratch) (string, bool) {
	if u == "" {
		return u, false
	}
	if !e.vocab.active() {
		return e.text(u, aKeep, 0, st)
	}
	if v, ok := strings.CutPrefix(u, otelSchemaPrefix); ok && e.fitsVersion(v) {
		return u, false
	}
	st.count(e.names.schemaURL)
	return "", true
}

// scrubTraceState applies text.trace_state: keep scans the detectors over
// it, drop empties it.
func (e *engine) scrubTraceState(ts pcommon.TraceState, st *scratch) {
	raw := ts.AsRaw()
	if raw == "" {
		return
	}
	switch e.names.traceState {
	case aRaw:
		return
	case aDrop:
		st.count(e.names.traceStateRule)
		ts.FromRaw("")
		return
	}
	if out, _ := e.scan(raw, st, true); out != raw {
		ts.FromRaw(out)
	}
}
