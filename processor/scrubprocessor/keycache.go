package scrubprocessor // import "github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor"

import (
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
)

// The decision cache is shared by every call of one processor. It is
// sharded, each shard bounded and evicting with a clock: an entry read
// since the hand last passed it gets a second chance, so the keys that
// every request uses stay while keys seen once go first. One call admits
// at most keyCacheAdmitPerCall new keys; it decides the rest without
// caching them (remembering up to callKeysMax of them until it returns).
// So a request with many distinct keys costs a map insert per key, never a
// copy of the cache, and cannot push out the keys other requests use.
const (
	keyCacheShards       = 16
	keyCacheShardSize    = 512 // 8,192 keys in all
	keyCacheAdmitPerCall = 256
	keyCacheMaxLen       = 256 // longer keys are never cached
	callKeysMax          = 4096
)

type keyCache struct {
	seed   maphash.Seed
	shards [keyCacheShards]keyShard
}

type keyShard struct {
	mu    sync.RWMutex
	index map[string]int32
	slots []keySlot // len grows to keyCacheShardSize, then entries are replaced
	hand  int
}

type keySlot struct {
	key  string
	d    *decision
	used atomic.Bool // read since the clock hand last passed
}

func (c *keyCache) init() {
	c.seed = maphash.MakeSeed()
	for i := range c.shards {
		c.shards[i].index = make(map[string]int32)
		c.shards[i].slots = make([]keySlot, 0, keyCacheShardSize)
	}
}

func (c *keyCache) shard(k string) *keyShard {
	return &c.shards[maphash.String(c.seed, k)%keyCacheShards]
}

func (c *keyCache) get(k string) (*decision, bool) {
	s := c.shard(k)
	s.mu.RLock()
	i, ok := s.index[k]
	var d *decision
	if ok {
		slot := &s.slots[i]
		d = slot.d
		if !slot.used.Load() {
			slot.used.Store(true)
		}
	}
	s.mu.RUnlock()
	return d, ok
}

func (c *keyCache) put(k string, d *decision) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.index[k]; ok {
		return
	}
	k = strings.Clone(k)
	if n := len(s.slots); n < keyCacheShardSize {
		s.slots = s.slots[:n+1]
		s.slots[n].key, s.slots[n].d = k, d
		s.index[k] = int32(n)
		return
	}
	for s.slots[s.hand].used.Swap(false) {
		s.hand = (s.hand + 1) % len(s.slots)
	}
	victim := &s.slots[s.hand]
	delete(s.index, victim.key)
	victim.key, victim.d = k, d
	s.index[k] = int32(s.hand)
	s.hand = (s.hand + 1) % len(s.slots)
}

// len returns the number of cached keys.
func (c *keyCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.index)
		s.mu.RUnlock()
	}
	return n
}

// callKeys is a call's own memory of the keys it decided but did not admit
// to the shared cache.
type callKeys struct {
	keys     map[string]*decision
	admitted int
}

func (ck *callKeys) reset() {
	if len(ck.keys) > 0 {
		clear(ck.keys)
	}
	ck.admitted = 0
}

func (e *engine) decide(k string, st *scratch) *decision {
	if d, ok := e.cache.get(k); ok {
		return d
	}
	if d, ok := st.callKeys.keys[k]; ok {
		return d
	}
	d := e.computeDecision(k)
	switch {
	case len(k) > keyCacheMaxLen:
	case st.callKeys.admitted < keyCacheAdmitPerCall:
		st.callKeys.admitted++
		e.cache.put(k, d)
	case len(st.callKeys.keys) < callKeysMax:
		if st.callKeys.keys == nil {
			st.callKeys.keys = make(map[string]*decision)
		}
		st.callKeys.keys[k] = d
	}
	return d
}
