// Package destinations is a confmap converter that switches off an exporter
// whose endpoint is empty once the configuration's ${env:...} references are
// expanded. One configuration file then serves every environment: a
// deployment that leaves CUSTOMER_OTLP_ENDPOINT unset runs without the
// customer's OTLP destination instead of failing validation at start.
package destinations // import "github.com/otelcol-chroma/otelcol-chroma/internal/destinations"

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

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

// Convert removes every exporter whose "endpoint" key is present and empty,
// takes it out of each pipeline, and removes the pipelines left with no
// exporter, with the processors that only those pipelines used (a vendor
// scrub processor's hash key is then not needed without a vendor). It fails only when no pipeline is left at all.
func (c converter) Convert(_ context.Context, conf *confmap.Conf) error {
	raw := conf.ToStringMap()
	exporters, _ := raw["exporters"].(map[string]any)
	off := switchedOff(exporters)
	if len(off) == 0 {
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
	if err := setExporters(conf, kept); err != nil {
		return err
	}
	c.logger.Info("Telemetry destinations switched off: their endpoint is empty",
		zap.Strings("exporters", off), zap.Strings("pipelines_removed", dropped),
		zap.Strings("processors_removed", orphans))
	return nil
}

// switchedOff lists, sorted, the exporters whose endpoint is set to nothing.
// An exporter without an endpoint key is left alone.
func switchedOff(exporters map[string]any) []string {
	var off []string
	for id, cfg := range exporters {
		settings, ok := cfg.(map[string]any)
		if !ok {
			continue
		}
		endpoint, present := settings["endpoint"]
		if present && (endpoint == nil || endpoint == "") {
			off = append(off, id)
		}
	}
	sort.Strings(off)
	return off
}

// removeExporters works out, for each pipeline that lists an exporter in off,
// the exporters it keeps; a pipeline left with none is named in dropped.
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
			kept[name] = rest
		}
	}
	sort.Strings(dropped)
	return kept, dropped
}

// setExporters replaces the exporter list of each pipeline in kept.
func setExporters(conf *confmap.Conf, kept map[string][]any) error {
	for name, list := range kept {
		key := "service::pipelines::" + name + "::exporters"
		conf.Delete(key)
		patch := map[string]any{"service": map[string]any{"pipelines": map[string]any{name: map[string]any{"exporters": list}}}}
		if err := conf.Merge(confmap.NewFromStringMap(patch)); err != nil {
			return fmt.Errorf("set the exporters of pipeline %s: %w", name, err)
		}
	}
	return nil
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
