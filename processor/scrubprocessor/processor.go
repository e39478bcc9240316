package scrubprocessor // import "github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor"

import (
	"context"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor/internal/metadata"
)

type signal int

const (
	signalTraces signal = iota
	signalMetrics
	signalLogs
	signalProfiles
	numSignals
)

var signalNames = [numSignals]string{"traces", "metrics", "logs", "profiles"}

// scrubProcessor runs one engine for one signal and reports what it removed.
type scrubProcessor struct {
	e       *engine
	signal  signal
	tb      *metadata.TelemetryBuilder
	removed []metric.AddOption // per rule, for this signal
	merged  metric.AddOption
}

func newScrubProcessor(e *engine, sig signal, tb *metadata.TelemetryBuilder) *scrubProcessor {
	p := &scrubProcessor{e: e, signal: sig, tb: tb}
	p.removed = make([]metric.AddOption, len(e.rules))
	for i, r := range e.rules {
		p.removed[i] = metric.WithAttributeSet(attribute.NewSet(
			attribute.String("rule", r.name),
			attribute.String("signal", signalNames[sig]),
			attribute.String("action", r.action.String()),
		))
	}
	p.merged = metric.WithAttributeSet(attribute.NewSet(attribute.String("signal", signalNames[sig])))
	return p
}

func (p *scrubProcessor) flush(ctx context.Context, st *scratch) {
	for i, n := range st.counts {
		if n > 0 {
			p.tb.ProcessorScrubRemoved.Add(ctx, n, p.removed[i])
		}
	}
	if st.merged > 0 {
		p.tb.ProcessorScrubMergedDatapoints.Add(ctx, st.merged, p.merged)
	}
	p.e.putScratch(st)
}

func (p *scrubProcessor) shutdown(context.Context) error {
	p.tb.Shutdown()
	return nil
}

func (p *scrubProcessor) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	st := p.e.getScratch()
	p.e.scrubTraces(td, st)
	p.flush(ctx, st)
	return td, nil
}

func (p *scrubProcessor) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	st := p.e.getScratch()
	p.e.scrubLogs(ld, st)
	p.flush(ctx, st)
	return ld, nil
}

func (p *scrubProcessor) processMetrics(ctx context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	st := p.e.getScratch()
	p.e.scrubMetrics(md, st)
	p.flush(ctx, st)
	return md, nil
}

// ---- shared parts ----

// scrubScope applies the policy to a scope of a resource whose service.name
// scrubbing changed as rename says.
func (e *engine) scrubScope(sc pcommon.InstrumentationScope, rename serviceRename, st *scratch) bool {
	changed := false
	if out, ch := e.scopeName(sc.Name(), rename, st); ch {
		sc.SetName(out)
		changed = true
	}
	if out, ch := e.version(sc.Version(), e.textAct.scopeName, e.textRules.scopeName, st); ch {
		sc.SetVersion(out)
		changed = true
	}
	return e.scrubMap(sc.Attributes(), st, 0) || changed
}

// scrubSchemaURL applies the schema URL rule (see schemaURL).
func (e *engine) scrubSchemaURL(u string, set func(string), st *scratch) bool {
	if out, ch := e.schemaURL(u, st); ch {
		set(out)
		return true
	}
	return false
}

// ---- traces ----

func (e *engine) scrubTraces(td ptrace.Traces, st *scratch) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		st.route = ""
		rename, _ := e.scrubResource(rs.Resource(), st)
		e.scrubSchemaURL(rs.SchemaUrl(), rs.SetSchemaUrl, st)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			e.scrubScope(ss.Scope(), rename, st)
			e.scrubSchemaURL(ss.SchemaUrl(), ss.SetSchemaUrl, st)
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				e.scrubSpan(spans.At(k), st)
			}
		}
	}
	st.route = ""
}

func (e *engine) scrubSpan(sp ptrace.Span, st *scratch) {
	attrs := sp.Attributes()
	st.route = ""
	if e.needRoute {
		st.route = e.routeOf(attrs, st)
	}
	e.scrubMap(attrs, st, 0)

	name := sp.Name()
	out := name
	switch e.textAct.spanName {
	case aURL:
		if out = e.urlSpanName(name, st.route); out != name {
			st.count(e.textRules.spanName)
		}
		out, _ = e.name(out, aKeep, e.textRules.spanName, st)
	default:
		out, _ = e.name(name, e.textAct.spanName, e.textRules.spanName, st)
	}
	if out != name {
		sp.SetName(out)
	}

	status := sp.Status()
	if msg, ch := e.text(status.Message(), e.textAct.statusMessage, e.textRules.statusMessage, st); ch {
		status.SetMessage(msg)
	}
	e.scrubTraceState(sp.TraceState(), st)

	events := sp.Events()
	for i := 0; i < events.Len(); i++ {
		ev := events.At(i)
		if n, ch := e.name(ev.Name(), e.textAct.eventName, e.textRules.eventName, st); ch {
			ev.SetName(n)
		}
		e.scrubMap(ev.Attributes(), st, 0)
	}
	links := sp.Links()
	for i := 0; i < links.Len(); i++ {
		l := links.At(i)
		e.scrubMap(l.Attributes(), st, 0)
		e.scrubTraceState(l.TraceState(), st)
	}
	st.route = ""
}

// ---- logs ----

func (e *engine) scrubLogs(ld plog.Logs, st *scratch) {
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		rename, _ := e.scrubResource(rl.Resource(), st)
		e.scrubSchemaURL(rl.SchemaUrl(), rl.SetSchemaUrl, st)
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			e.scrubScope(sl.Scope(), rename, st)
			e.scrubSchemaURL(sl.SchemaUrl(), sl.SetSchemaUrl, st)
			lrs := sl.LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				e.scrubLogRecord(lrs.At(k), st)
			}
		}
	}
}

func (e *engine) scrubLogRecord(lr plog.LogRecord, st *scratch) {
	attrs := lr.Attributes()
	st.route = ""
	if e.needRoute {
		st.route = e.routeOf(attrs, st)
	}
	e.scrubMap(attrs, st, 0)
	if e.scrubBody(lr.Body(), st, 0) {
		pcommon.NewValueEmpty().CopyTo(lr.Body())
	}
	if n, ch := e.name(lr.EventName(), e.textAct.eventName, e.textRules.eventName, st); ch {
		lr.SetEventName(n)
	}
	if sev := lr.SeverityText(); sev != "" {
		if out, ch := e.name(sev, aKeep, e.textRules.logBody, st); ch {
			lr.SetSeverityText(out)
		}
	}
	st.route = ""
}

// scrubBody handles a log body or a value inside a slice body: strings and
// bytes follow text.log_body, maps follow the key rules. It reports whether
// the value should go.
func (e *engine) scrubBody(v pcommon.Value, st *scratch, depth int) bool {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		s := v.Str()
		out, ch := e.text(s, e.textAct.logBody, e.textRules.logBody, st)
		if !ch {
			return false
		}
		if e.textAct.logBody == aDrop {
			return true
		}
		v.SetStr(out)
	case pcommon.ValueTypeBytes:
		if e.textAct.logBody == aRaw {
			return false
		}
		if e.textAct.logBody == aDrop {
			st.count(e.textRules.logBody)
			return true
		}
		if e.textAct.logBody == aMask {
			st.count(e.textRules.logBody)
			v.SetEmptyBytes().FromRaw([]byte(e.placeholder)) // bytes stay bytes
			return false
		}
		drop, _ := e.scrubBytes(v, st)
		return drop
	case pcommon.ValueTypeMap:
		if depth >= maxDepth {
			st.count(e.depthRule)
			return true
		}
		e.scrubMap(v.Map(), st, depth+1)
	case pcommon.ValueTypeSlice:
		if depth >= maxDepth {
			st.count(e.depthRule)
			return true
		}
		v.Slice().RemoveIf(func(el pcommon.Value) bool {
			return e.scrubBody(el, st, depth+1)
		})
	case pcommon.ValueTypeInt, pcommon.ValueTypeDouble, pcommon.ValueTypeBool:
		return e.scrubScalarBody(v, st)
	}
	return false
}

// scrubScalarBody handles a number or a boolean as a body or in a slice
// body. No key vouches for it, so where text.log_body drops or masks
// strings it goes (a mask of a value that is not a string drops it);
// under keep a number is checked for a card number.
func (e *engine) scrubScalarBody(v pcommon.Value, st *scratch) bool {
	switch e.textAct.logBody {
	case aRaw:
		return false
	case aDrop, aMask:
		st.count(e.textRules.logBody)
		return true
	}
	var drop bool
	switch v.Type() {
	case pcommon.ValueTypeInt:
		drop, _ = e.scrubInt(v, st)
	case pcommon.ValueTypeDouble:
		drop, _ = e.scrubDouble(v, st)
	}
	return drop
}

// ---- metrics ----

func (e *engine) scrubMetrics(md pmetric.Metrics, st *scratch) {
	e.cumulative.before(md, &st.cumulative)
	rms := md.ResourceMetrics()
	resourceChanged := false
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		rename, ch := e.scrubResource(rm.Resource(), st)
		resourceChanged = resourceChanged || ch
		if e.scrubSchemaURL(rm.SchemaUrl(), rm.SetSchemaUrl, st) {
			resourceChanged = true
		}
		sms := rm.ScopeMetrics()
		scopeChanged := false
		for j := 0; j < sms.Len(); j++ {
			sm := sms.At(j)
			if e.scrubScope(sm.Scope(), rename, st) {
				scopeChanged = true
			}
			if e.scrubSchemaURL(sm.SchemaUrl(), sm.SetSchemaUrl, st) {
				scopeChanged = true
			}
			ms := sm.Metrics()
			nameChanged := false
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				named, pointsChanged := e.scrubMetric(m, st)
				e.cumulative.scrubbed(rm, sm, m, &st.cumulative)
				nameChanged = nameChanged || named
				if pointsChanged {
					st.merged += int64(st.merge.dedupPoints(m))
				}
			}
			if nameChanged {
				st.merged += int64(st.merge.mergeMetrics(ms))
			}
		}
		if scopeChanged {
			st.merged += int64(st.merge.mergeScopes(sms))
		}
	}
	if resourceChanged {
		st.merged += int64(st.merge.mergeResources(rms))
	}
	e.cumulative.after(md, &st.cumulative)
}

// scrubMetric scrubs one metric and reports whether its name changed and
// whether any of its data points' attributes changed.
func (e *engine) scrubMetric(m pmetric.Metric, st *scratch) (nameChanged, pointsChanged bool) {
	if n, ch := e.name(m.Name(), e.textAct.metricName, e.textRules.metricName, st); ch {
		m.SetName(n)
		nameChanged = true
	}
	if d, ch := e.name(m.Description(), e.textAct.metricName, e.textRules.metricName, st); ch {
		m.SetDescription(d)
	}
	if u, ch := e.unit(m.Unit(), e.textAct.metricName, e.textRules.metricName, st); ch {
		m.SetUnit(u)
		nameChanged = true
	}
	e.scrubMap(m.Metadata(), st, 0)
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		dps := m.Gauge().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			pointsChanged = e.scrubMap(dp.Attributes(), st, 0) || pointsChanged
			e.scrubExemplars(dp.Exemplars(), st)
		}
	case pmetric.MetricTypeSum:
		dps := m.Sum().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			pointsChanged = e.scrubMap(dp.Attributes(), st, 0) || pointsChanged
			e.scrubExemplars(dp.Exemplars(), st)
		}
	case pmetric.MetricTypeHistogram:
		dps := m.Histogram().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			pointsChanged = e.scrubMap(dp.Attributes(), st, 0) || pointsChanged
			e.scrubExemplars(dp.Exemplars(), st)
		}
	case pmetric.MetricTypeExponentialHistogram:
		dps := m.ExponentialHistogram().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			pointsChanged = e.scrubMap(dp.Attributes(), st, 0) || pointsChanged
			e.scrubExemplars(dp.Exemplars(), st)
		}
	case pmetric.MetricTypeSummary:
		dps := m.Summary().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			pointsChanged = e.scrubMap(dps.At(i).Attributes(), st, 0) || pointsChanged
		}
	}
	return nameChanged, pointsChanged
}

func (e *engine) scrubExemplars(exs pmetric.ExemplarSlice, st *scratch) {
	for i := 0; i < exs.Len(); i++ {
		e.scrubMap(exs.At(i).FilteredAttributes(), st, 0)
	}
}
