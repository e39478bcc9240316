package scrubprocessor // import "github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor"

import (
	"crypto/rand"
	"fmt"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"
)

// Deployment identity under the vendor policy. The attributes that tell one
// deployment or replica from another name the customer's machines, so the
// vendor gets their keyed hash instead: stable for one hash_key, different
// for different values, and without the key nobody can test a guess.
// Series of two deployments therefore stay two series and are never added
// together, nor is one gauge kept over another.

// serviceNameVocabulary are service names that name the product, not the
// customer; they pass verbatim. Any other service.name is hashed.
var serviceNameVocabulary = []string{"chroma", "chromadb", "otelcol-chroma", "unknown_service"}

// identityKeys are hashed wherever they appear.
var identityKeys = []string{
	"service.namespace", "service.instance.id",
	"host.name", "host.id", "container.id", "container.name",
	"deployment.environment", "deployment.environment.name",
	"k8s.cluster.name", "k8s.cluster.uid", "k8s.namespace.name",
	"k8s.node.name", "k8s.node.uid", "k8s.pod.name", "k8s.pod.uid", "k8s.container.name",
	"k8s.deployment.name", "k8s.statefulset.name", "k8s.replicaset.name",
	"k8s.daemonset.name", "k8s.job.name", "k8s.cronjob.name",
}

func identityRules() []KeyRule {
	rules := []KeyRule{{Key: "service.name", Action: ActionHash, Values: serviceNameVocabulary}}
	for _, k := range identityKeys {
		rules = append(rules, KeyRule{Key: k, Action: ActionHash})
	}
	return rules
}

const instanceKey = "service.instance.id"

// serviceRename is how scrubbing rewrote a resource's service.name. Chroma
// names its tracer after the service, so the part of a scope name that
// repeats the old name gets the new one.
type serviceRename struct{ from, to string }

// minRenameLen keeps a very short service name from rewriting parts of
// unrelated scope names; a scope named exactly after it is always renamed.
const minRenameLen = 4

// scrubResource gives the resource the configured instance when it has no
// identity of its own, scrubs its attributes and entity references, and
// reports how service.name changed, and whether anything did.
func (e *engine) scrubResource(res pcommon.Resource, st *scratch) (serviceRename, bool) {
	attrs := res.Attributes()
	if e.instance != "" {
		if _, ok := attrs.Get(instanceKey); !ok {
			attrs.PutStr(instanceKey, e.instance)
		}
	}
	var r serviceRename
	if v, ok := attrs.Get("service.name"); ok && v.Type() == pcommon.ValueTypeStr {
		r.from = v.Str()
	}
	changed := e.scrubMap(attrs, st, 0)
	changed = e.scrubEntityRefs(res, st) || changed
	if r.from != "" {
		r.to = e.placeholder
		if v, ok := attrs.Get("service.name"); ok {
			r.to = v.AsString()
		}
	}
	return r, changed
}

// split cuts a scope name at each place that repeats the service's old
// name, when scrubbing renamed the service: a scope named exactly after
// it, or one that contains a name of at least minRenameLen bytes.
func (r serviceRename) split(name string) ([]string, bool) {
	switch {
	case r.from == "" || r.from == r.to:
		return nil, false
	case name == r.from:
		return []string{"", ""}, true
	case len(r.from) >= minRenameLen && strings.Contains(name, r.from):
		return strings.Split(name, r.from), true
	}
	return nil, false
}

// scopeName applies the policy to a scope name: where it repeats the
// service's name that part becomes the service's new name (its identity
// hash under the vendor policy); the rest is a name like any other, which
// the vocabulary templates. A masked scope name is masked whole.
func (e *engine) scopeName(s string, r serviceRename, st *scratch) (string, bool) {
	a, id := e.textAct.scopeName, e.textRules.scopeName
	parts, ok := r.split(s)
	if !ok || a == aMask {
		return e.name(s, a, id, st)
	}
	for i, p := range parts {
		parts[i], _ = e.name(p, a, id, st)
	}
	out := strings.Join(parts, r.to)
	return out, out != s
}

// ephemeralKeys hands out the HMAC key of processors whose policy hashes
// identities but whose configuration has no hash_key: one random key per
// component, made when its first signal starts, so that its traces, metrics
// and logs agree. Identities then stay apart, but change at every restart.
type ephemeralKeys struct {
	mu   sync.Mutex
	keys map[component.ID][]byte
}

func (k *ephemeralKeys) keyFor(id component.ID, logger *zap.Logger) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if key, ok := k.keys[id]; ok {
		return key, nil
	}
	key := make([]byte, minHashKeyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("make a random identity key: %w", err)
	}
	if k.keys == nil {
		k.keys = map[component.ID][]byte{}
	}
	k.keys[id] = key
	logger.Warn("hash_key is not set: deployment identities (service.instance.id, host.name, k8s.*, "+
		"and service.name unless it is one of "+strings.Join(serviceNameVocabulary, ", ")+") "+
		"are hashed with a random key made at start, so the vendor sees new identities after every restart; "+
		"set hash_key (at least 32 bytes, e.g. `openssl rand -hex 32`) to keep them stable",
		zap.String("processor", id.String()))
	return key, nil
}
