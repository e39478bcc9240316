package scrubprocessor

import (
	"fmt"
	"runtime"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// manyKeysSpan is one span carrying n distinct attribute keys, as a client
// that puts ids into keys would send.
func manyKeysSpan(prefix string, n int) ptrace.Traces {
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetName("GET /api/v2/heartbeat")
	raw := make(map[string]any, n)
	for i := range n {
		raw[fmt.Sprintf("%s.%d", prefix, i)] = int64(i)
	}
	// FromRaw, because Put looks for an existing key first.
	if err := sp.Attributes().FromRaw(raw); err != nil {
		panic(err)
	}
	return td
}

// BenchmarkScrubManyKeys: one span with 100,000 distinct attribute keys.
//
//	go test -run '^$' -bench '^BenchmarkScrubManyKeys$' -benchmem -count 5 ./processor/scrubprocessor
//
// fresh: the span is the first thing a new processor sees (each op gets
// its own processor, built outside the timed region). after-junk: the
// Chroma corpus through a processor that has already seen such a span.
func BenchmarkScrubManyKeys(b *testing.B) {
	const keys = 100_000
	span := manyKeysSpan("client.key", keys)
	for _, mode := range []string{ModeAllowlist, ModeBlocklist} {
		b.Run("fresh/"+mode, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				p := newPipeline(b, NewFactory(), scrubBenchConfig(mode))
				td := ptrace.NewTraces()
				span.CopyTo(td)
				runtime.GC()
				b.StartTimer()
				p.consume(b, benchInput{traces: []ptrace.Traces{td}})
			}
			b.ReportMetric(keys, "keys/op")
		})
	}
	corpus := corpusInput(b)
	for _, junk := range []bool{false, true} {
		name := "clean/corpus"
		if junk {
			name = "after-junk/corpus"
		}
		b.Run(name, func(b *testing.B) {
			p := newPipeline(b, NewFactory(), scrubBenchConfig(ModeAllowlist))
			if junk {
				td := ptrace.NewTraces()
				span.CopyTo(td)
				p.consume(b, benchInput{traces: []ptrace.Traces{td}})
			}
			benchLoop(b, p, corpus)
		})
	}
}
