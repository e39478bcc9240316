package snapshotconfig // import "github.com/otelcol-chroma/otelcol-chroma/internal/snapshotconfig"

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/confmap"
)

// ExtensionType is the configuration key the snapshot settings live under.
const ExtensionType = "snapshot"

// FromCollectorConfig resolves a collector configuration (the same URIs and
// providers as --config) and decodes the snapshot settings found under
// `extensions: snapshot` or `extensions: snapshot/<name>`. name selects one
// when there are several. found is false when there is none. Unknown keys
// in the settings are errors (see Settings.Unmarshal).
func FromCollectorConfig(ctx context.Context, uris []string, providers []confmap.ProviderFactory, name string) (s Settings, found bool, err error) {
	resolver, err := confmap.NewResolver(confmap.ResolverSettings{
		URIs:              uris,
		ProviderFactories: providers,
		DefaultScheme:     "env",
	})
	if err != nil {
		return Settings{}, false, fmt.Errorf("read config: %w", err)
	}
	defer resolver.Shutdown(ctx) //nolint:errcheck // nothing to do about it
	conf, err := resolver.Resolve(ctx)
	if err != nil {
		return Settings{}, false, fmt.Errorf("read config %s: %w", strings.Join(uris, ", "), err)
	}
	exts, err := conf.Sub("extensions")
	if err != nil {
		return Settings{}, false, fmt.Errorf("read config: extensions: %w", err)
	}
	var ids []string
	for _, key := range exts.AllKeys() {
		id, _, _ := strings.Cut(key, confmap.KeyDelimiter)
		if id == ExtensionType || strings.HasPrefix(id, ExtensionType+"/") {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var id string
	switch {
	case name != "":
		id = name
		if !strings.Contains(name, "/") && name != ExtensionType {
			id = ExtensionType + "/" + name
		}
		if !slices.Contains(ids, id) {
			return Settings{}, false, fmt.Errorf("config has no extensions::%s (it has: %s)", id, listOrNone(ids))
		}
	case len(ids) == 0:
		return Settings{}, false, nil
	case len(ids) == 1:
		id = ids[0]
	default:
		return Settings{}, false, fmt.Errorf("config has several snapshot settings (%s): choose one with --extension", strings.Join(ids, ", "))
	}
	sub, err := exts.Sub(id)
	if err != nil {
		return Settings{}, false, fmt.Errorf("read config: extensions::%s: %w", id, err)
	}
	s.Retention = DefaultRetention()
	if err := s.Unmarshal(sub); err != nil {
		return Settings{}, false, fmt.Errorf("read config: extensions::%s: %w", id, err)
	}
	return s, true, nil
}

func listOrNone(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}
