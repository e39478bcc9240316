// Package destinations is a confmap converter that switches off an exporter
// whose endpoint is empty once the configuration's ${env:...} references are
// expanded. One configuration file then serves every environment: a
// deployment that leaves CUSTOMER_OTLP_ENDPOINT unset runs without the
// customer's OTLP destination instead of failing validation at start. An
// exporter that lists its destinations (alertrules' alertmanagers, each
// with an endpoint) keeps the entries whose endpoint is set and is switched
// off when none is.
package destinations // import "github.com/otelcol-chroma/otelcol-chroma/internal/destinations"

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/confmap"
	"go.uber.org/zap"
)

// ErrNoPipelineLeft is returned when every pipeline lost all its exporters.
var ErrNoPipelineLeft = errors.New("every telemetry destination is switched off")

// NewFactory returns the converter's factory, for the collector's resolver
// settings.
func NewFactory() confmap.ConverterFactory {
	return confmap.NewConverterFactory(func(set confmap.ConverterSettings) confmap.Converter {
		return converter{logger: set.Logger}
	})
}

type converter struct{ logger *zap.Logger }

// Convert removes every exporter whose endpoint is empty (see switchedOff),
// takes it out of each pipeline, and removes the pipelines left with no
// exporter, with the processors that only those pipelines used (a vendor
// scrub processor's hash key is then not needed without a vendor). It fails
// only when no pipeline is left at all.
func (c converter) Convert(_ context.Context, conf *confmap.Conf) error {
	raw := conf.ToStringMap()
	exporters, _ := raw["exporters"].(map[string]any)
	off, trimmed := switchedOff(exporters)
	if len(off) == 0 && len(trimmed) == 0 {
		return nil
	}
	service, _ := raw["service"].(map[string]any)
	pipelines, _ := service["pipelines"].(map[string]any)
	kept, dropped := removeExporters(pipelines, off)
	if len(dropped) > 0 && len(dropped) == len(pipelines) {
		return fmt.Errorf("%w: the endpoints of %v are empty; set at least one destination's endpoint variable", ErrNoPipelineLeft, off)
	}
	for _, id := range off {
		conf.Delete("exporters::" + id)
	}
	for _, name := range dropped {
		conf.Delete("service::pipelines::" + name)
	}
	orphans := orphanedProcessors(pipelines, dropped)
	for _, id := range orphans {
		conf.Delete("processors::" + id)
	}
	if err := setLists(conf, trimmed, kept); err != nil {
		return err
	}
	c.logger.Info("Telemetry destinations switched off: their endpoint is empty",
		zap.Strings("exporters", off), zap.Strings("entries_removed", sortedKeys(trimmed)),
		zap.Strings("pipelines_removed", dropped), zap.Strings("processors_removed", orphans))
	return nil
}

// switchedOff lists, sorted, the exporters whose endpoint is set to nothing,
// and, for the exporters it keeps, the lists of destinations that lost an
// entry (by key path, with the entries kept). An exporter without an
// endpoint key or such a list is left alone.
func switchedOff(exporters map[string]any) (off []string, trimmed map[string][]any) {
	trimmed = map[string][]any{}
	for id, cfg := range exporters {
		settings, ok := cfg.(map[string]any)
		if !ok {
			continue
		}
		if endpoint, present := settings["endpoint"]; present && isEmpty(endpoint) {
			off = append(off, id)
			continue
		}
		lists, allEmpty := endpointLists(settings)
		if allEmpty {
			off = append(off, id)
			continue
		}
		for key, list := range lists {
			trimmed["exporters::"+id+"::"+key] = list
		}
	}
	sort.Strings(off)
	return off, trimmed
}

func isEmpty(endpoint any) bool { return endpoint == nil || endpoint == "" }

// endpointLists finds the settings that list destinations, each a map with
// an endpoint key, and returns those that lose an entry with the entries
// that stay. allEmpty is true when such a list has no entry left.
func endpointLists(settings map[string]any) (trimmed map[string][]any, allEmpty bool) {
	trimmed = map[string][]any{}
	for key, v := range settings {
		list, ok := v.([]any)
		if !ok || !listsDestinations(list) {
			continue
		}
		rest := slices.DeleteFunc(slices.Clone(list), func(e any) bool { return isEmpty(e.(map[string]any)["endpoint"]) })
		if len(rest) == 0 {
			return nil, true
		}
		if len(rest) < len(list) {
			trimmed[key] = rest
		}
	}
	return trimmed, false
}

// listsDestinations: every entry of list is a map with an endpoint key.
func listsDestinations(list []any) bool {
	for _, entry := range list {
		m, ok := entry.(map[string]any)
		if !ok {
			return false
		}
		if _, present := m["endpoint"]; !present {
			return false
		}
	}
	return len(list) > 0
}

// removeExporters works out, for each pipeline that lists an exporter in off,
// the exporters it keeps (by key path); a pipeline left with none is named
// in dropped.
func removeExporters(pipelines map[string]any, off []string) (kept map[string][]any, dropped []string) {
	kept = map[string][]any{}
	for name, p := range pipelines {
		pipeline, _ := p.(map[string]any)
		list, _ := pipeline["exporters"].([]any)
		rest := slices.DeleteFunc(slices.Clone(list), func(e any) bool {
			id, _ := e.(string)
			return slices.Contains(off, id)
		})
		switch {
		case len(rest) == len(list):
		case len(rest) == 0:
			dropped = append(dropped, name)
		default:
			kept["service::pipelines::"+name+"::exporters"] = rest
		}
	}
	sort.Strings(dropped)
	return kept, dropped
}

// setLists replaces the list at each key path of the given maps.
func setLists(conf *confmap.Conf, lists ...map[string][]any) error {
	for _, m := range lists {
		for key, list := range m {
			conf.Delete(key)
			if err := conf.Merge(confmap.NewFromStringMap(nested(strings.Split(key, confmap.KeyDelimiter), list))); err != nil {
				return fmt.Errorf("set %s: %w", key, err)
			}
		}
	}
	return nil
}

// nested builds {path[0]: {path[1]: ... value}}.
func nested(path []string, value any) map[string]any {
	if len(path) == 1 {
		return map[string]any{path[0]: value}
	}
	return map[string]any{path[0]: nested(path[1:], value)}
}

func sortedKeys(m map[string][]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// orphanedProcessors lists, sorted, the processors that only the dropped
// pipelines use. A processor no pipeline ever used is left alone, so that the
// collector still validates it as configured.
func orphanedProcessors(pipelines map[string]any, dropped []string) []string {
	usedBy := func(keep bool) map[string]bool {
		ids := map[string]bool{}
		for name, p := range pipelines {
			if slices.Contains(dropped, name) != keep {
				continue
			}
			pipeline, _ := p.(map[string]any)
			list, _ := pipeline["processors"].([]any)
			for _, e := range list {
				id, _ := e.(string)
				ids[id] = true
			}
		}
		return ids
	}
	remaining := usedBy(false)
	var orphans []string
	for id := range usedBy(true) {
		if !remaining[id] {
			orphans = append(orphans, id)
		}
	}
	sort.Strings(orphans)
	return orphans
}
