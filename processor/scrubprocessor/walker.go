package scrubprocessor // import "github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/xpdata/entity"
)

// scrubEntityRefs treats an entity's type as a name and its schema URL like
// any schema URL, and removes the keys that no longer name a kept
// attribute (a key the policy dropped, or one that never existed).
func (e *engine) scrubEntityRefs(res pcommon.Resource, st *scratch) bool {
	refs := entity.ResourceEntityRefs(res)
	changed := false
	for i := 0; i < refs.Len(); i++ {
		ref := refs.At(i)
		if out, ch := e.name(ref.Type(), aKeep, e.names.vocabulary, st); ch {
			ref.SetType(out)
			changed = true
		}
		if out, ch := e.schemaURL(ref.SchemaUrl(), st); ch {
			ref.SetSchemaUrl(out)
			changed = true
		}
		changed = e.keepKnownKeys(ref.IdKeys(), res.Attributes(), st) || changed
		changed = e.keepKnownKeys(ref.DescriptionKeys(), res.Attributes(), st) || changed
	}
	return changed
}

func (e *engine) keepKnownKeys(keys pcommon.StringSlice, attrs pcommon.Map, st *scratch) bool {
	changed := false
	keys.RemoveIf(func(k string) bool {
		if _, ok := attrs.Get(k); ok {
			return false
		}
		st.count(e.names.entityRef)
		changed = true
		return true
	})
	return changed
}

// profileString treats a string of a profile's string table as a name.
// The first string must be empty by the format; it is emptied.
func (e *engine) profileString(strs pcommon.StringSlice, i int, st *scratch) {
	s := strs.At(i)
	if i == 0 {
		if s != "" {
			st.count(e.names.vocabulary)
			strs.SetAt(0, "")
		}
		return
	}
	if out, ch := e.name(s, aKeep, e.names.vocabulary, st); ch {
		strs.SetAt(i, out)
	}
}
