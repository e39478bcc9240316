package scrubprocessor // import "github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor"

import (
	"context"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pprofile"
)

func (p *scrubProcessor) processProfiles(ctx context.Context, pd pprofile.Profiles) (pprofile.Profiles, error) {
	st := p.e.getScratch()
	p.e.scrubProfiles(pd, st)
	p.flush(ctx, st)
	return pd, nil
}

// scrubProfiles applies the policy to profiles. Attributes live in a shared
// table: entries the policy drops are emptied and unreferenced everywhere,
// and strings only they used are blanked. Every other string (function and
// file names, units) passes the detectors. The original payload, an
// unscrubbed copy of the whole profile, is removed.
func (e *engine) scrubProfiles(pd pprofile.Profiles, st *scratch) {
	dict := pd.Dictionary()
	strs := dict.StringTable()
	attrs := dict.AttributeTable()

	dropped := make([]bool, attrs.Len())
	anyDropped := false
	for i := 0; i < attrs.Len(); i++ {
		kv := attrs.At(i)
		key := stringAt(strs, kv.KeyStrindex())
		d := e.decide(key, st)
		drop := d.action == aDrop
		if drop {
			st.count(d.id)
		} else {
			drop, _ = e.scrubValue(kv.Value(), d, st, 0)
		}
		if drop {
			dropped[i] = true
			anyDropped = true
			pcommon.NewValueEmpty().CopyTo(kv.Value())
		}
	}

	used := make([]bool, strs.Len())
	mark := func(i int32) {
		if i > 0 && int(i) < len(used) {
			used[i] = true
		}
	}
	unref := func(s pcommon.Int32Slice) {
		if anyDropped {
			s.RemoveIf(func(i int32) bool { return i >= 0 && int(i) < len(dropped) && dropped[i] })
		}
	}
	for i := 0; i < attrs.Len(); i++ {
		if !dropped[i] {
			mark(attrs.At(i).KeyStrindex())
			mark(attrs.At(i).UnitStrindex())
		}
	}
	for i := 0; i < dict.FunctionTable().Len(); i++ {
		f := dict.FunctionTable().At(i)
		mark(f.NameStrindex())
		mark(f.SystemNameStrindex())
		mark(f.FilenameStrindex())
	}
	for i := 0; i < dict.MappingTable().Len(); i++ {
		m := dict.MappingTable().At(i)
		mark(m.FilenameStrindex())
		unref(m.AttributeIndices())
	}
	for i := 0; i < dict.LocationTable().Len(); i++ {
		unref(dict.LocationTable().At(i).AttributeIndices())
	}

	rps := pd.ResourceProfiles()
	for i := 0; i < rps.Len(); i++ {
		rp := rps.At(i)
		rename, _ := e.scrubResource(rp.Resource(), st)
		e.scrubSchemaURL(rp.SchemaUrl(), rp.SetSchemaUrl, st)
		sps := rp.ScopeProfiles()
		for j := 0; j < sps.Len(); j++ {
			sp := sps.At(j)
			e.scrubScope(sp.Scope(), rename, st)
			e.scrubSchemaURL(sp.SchemaUrl(), sp.SetSchemaUrl, st)
			profiles := sp.Profiles()
			for k := 0; k < profiles.Len(); k++ {
				prof := profiles.At(k)
				mark(prof.SampleType().TypeStrindex())
				mark(prof.SampleType().UnitStrindex())
				mark(prof.PeriodType().TypeStrindex())
				mark(prof.PeriodType().UnitStrindex())
				unref(prof.AttributeIndices())
				samples := prof.Samples()
				for s := 0; s < samples.Len(); s++ {
					unref(samples.At(s).AttributeIndices())
				}
				if prof.OriginalPayload().Len() > 0 || prof.OriginalPayloadFormat() != "" {
					st.count(e.payloadRule)
					prof.OriginalPayload().FromRaw(nil)
					prof.SetOriginalPayloadFormat("")
				}
			}
		}
	}

	for i := 0; i < strs.Len(); i++ {
		if i > 0 && !used[i] {
			if strs.At(i) != "" {
				strs.SetAt(i, "")
			}
			continue
		}
		e.profileString(strs, i, st)
	}
}

func stringAt(strs pcommon.StringSlice, i int32) string {
	if i < 0 || int(i) >= strs.Len() {
		return ""
	}
	return strs.At(int(i))
}
