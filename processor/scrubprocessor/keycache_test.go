package scrubprocessor

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func testEngine(t *testing.T, cfg *Config) *engine {
	t.Helper()
	ep, err := cfg.effective()
	require.NoError(t, err)
	return newEngine(ep)
}

func scrubTracesOnce(e *engine, td ptrace.Traces) {
	st := e.getScratch()
	e.scrubTraces(td, st)
	e.putScratch(st)
}

func spanWithKeys(keys ...string) ptrace.Traces {
	td := ptrace.NewTraces()
	attrs := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().Attributes()
	for _, k := range keys {
		attrs.PutStr(k, "v")
	}
	return td
}

// One request full of distinct keys must not fill the shared cache with
// them: the keys every request uses stay cached, and keys that arrive
// later still get in.
func TestKeyCacheNotPoisonedByManyKeys(t *testing.T) {
	e := testEngine(t, testConfig(t, nil))
	hot := []string{"http.route", "http.status_code", "busy_ns"}
	scrubTracesOnce(e, spanWithKeys(hot...))

	for round := range 40 {
		scrubTracesOnce(e, manyKeysSpan(fmt.Sprintf("junk%d", round), 5_000))
		scrubTracesOnce(e, spanWithKeys(hot...))
	}
	for _, k := range hot {
		_, ok := e.cache.get(k)
		assert.True(t, ok, "%s stays cached", k)
	}
	assert.LessOrEqual(t, e.cache.len(), keyCacheShards*keyCacheShardSize)

	scrubTracesOnce(e, spanWithKeys("rpc.method"))
	_, ok := e.cache.get("rpc.method")
	assert.True(t, ok, "a key first seen after the junk is cached")
}

func TestKeyCacheAdmitsAFewKeysPerCall(t *testing.T) {
	e := testEngine(t, testConfig(t, nil))
	scrubTracesOnce(e, manyKeysSpan("client.key", 10_000))
	assert.Equal(t, keyCacheAdmitPerCall, e.cache.len())
}

// The clock gives an entry read since the hand last passed a second chance.
func TestKeyCacheClockKeepsUsedKeys(t *testing.T) {
	var c keyCache
	c.init()
	d := &decision{}
	c.put("hot", d)
	for i := range 20 * keyCacheShards * keyCacheShardSize {
		c.put(fmt.Sprintf("cold.%d", i), d)
		if i%100 == 0 {
			_, ok := c.get("hot")
			require.True(t, ok, "after %d cold keys", i)
		}
	}
	assert.Equal(t, keyCacheShards*keyCacheShardSize, c.len())
}

// The cost of a key is a map insert, not a copy of the cache: one span with
// 100,000 distinct keys allocates a few hundred bytes per key at most.
func TestManyDistinctKeysAllocateLinearly(t *testing.T) {
	for _, policy := range []string{PolicyVendor, PolicyCustomer} {
		t.Run(policy, func(t *testing.T) {
			const n = 100_000
			p, err := NewFactory().CreateTraces(context.Background(), testSettings(),
				testConfig(t, func(c *Config) { c.Policy = policy }), new(consumertest.TracesSink))
			require.NoError(t, err)
			td := manyKeysSpan("client.key", n)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			require.NoError(t, p.ConsumeTraces(context.Background(), td))
			runtime.ReadMemStats(&after)
			perKey := (after.TotalAlloc - before.TotalAlloc) / n
			t.Logf("%d bytes allocated per key", perKey)
			assert.Less(t, perKey, uint64(1024))
		})
	}
}
