package destinations

import (
	"context"
	"errors"
	"testing"

	"go.opentelemetry.io/collector/confmap"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func twoDestinations(vendor, customer any) *confmap.Conf {
	return confmap.NewFromStringMap(map[string]any{
		"exporters": map[string]any{
			"otlp_http/vendor":   map[string]any{"endpoint": vendor},
			"otlp_http/customer": map[string]any{"endpoint": customer},
			"debug":              map[string]any{},
		},
		"processors": map[string]any{
			"scrub/vendor":   map[string]any{"hash_key": "k"},
			"scrub/customer": map[string]any{},
			"memory_limiter": map[string]any{},
			"unused":         map[string]any{},
		},
		"service": map[string]any{"pipelines": map[string]any{
			"traces/vendor":   map[string]any{"receivers": []any{"otlp"}, "processors": []any{"memory_limiter", "scrub/vendor"}, "exporters": []any{"otlp_http/vendor"}},
			"traces/customer": map[string]any{"receivers": []any{"otlp"}, "processors": []any{"memory_limiter", "scrub/customer"}, "exporters": []any{"otlp_http/customer"}},
			"metrics":         map[string]any{"receivers": []any{"otlp"}, "processors": []any{"memory_limiter"}, "exporters": []any{"otlp_http/vendor", "debug", "otlp_http/customer"}},
		}},
	})
}

func convert(t *testing.T, conf *confmap.Conf) (*observer.ObservedLogs, error) {
	t.Helper()
	core, logs := observer.New(zap.InfoLevel)
	conv := NewFactory().Create(confmap.ConverterSettings{Logger: zap.New(core)})
	return logs, conv.Convert(context.Background(), conf)
}

func TestEmptyEndpointSwitchesTheDestinationOff(t *testing.T) {
	for name, empty := range map[string]any{"empty string": "", "unset variable": nil} {
		t.Run(name, func(t *testing.T) {
			conf := twoDestinations("https://vendor.example:4318", empty)
			logs, err := convert(t, conf)
			if err != nil {
				t.Fatal(err)
			}
			if conf.IsSet("exporters::otlp_http/customer") || conf.IsSet("service::pipelines::traces/customer") {
				t.Fatalf("customer destination still configured: %v", conf.ToStringMap())
			}
			if !conf.IsSet("exporters::otlp_http/vendor") || !conf.IsSet("service::pipelines::traces/vendor") {
				t.Fatalf("vendor destination removed: %v", conf.ToStringMap())
			}
			got := conf.Get("service::pipelines::metrics::exporters")
			if list, _ := got.([]any); len(list) != 2 || list[0] != "otlp_http/vendor" || list[1] != "debug" {
				t.Fatalf("metrics exporters = %v, want [otlp_http/vendor debug]", got)
			}
			if logs.FilterMessageSnippet("switched off").Len() != 1 {
				t.Fatalf("no log line names the switched-off destination: %v", logs.All())
			}
		})
	}
}

func TestEverySetEndpointLeavesTheConfigAlone(t *testing.T) {
	conf := twoDestinations("https://vendor.example:4318", "https://customer.example:4318")
	before := conf.ToStringMap()
	if _, err := convert(t, conf); err != nil {
		t.Fatal(err)
	}
	if len(conf.ToStringMap()["exporters"].(map[string]any)) != len(before["exporters"].(map[string]any)) {
		t.Fatalf("config changed: %v", conf.ToStringMap())
	}
}

func TestNoDestinationLeftIsAnError(t *testing.T) {
	conf := confmap.NewFromStringMap(map[string]any{
		"exporters": map[string]any{"otlp_http/vendor": map[string]any{"endpoint": ""}},
		"service": map[string]any{"pipelines": map[string]any{
			"traces": map[string]any{"receivers": []any{"otlp"}, "exporters": []any{"otlp_http/vendor"}},
		}},
	})
	_, err := convert(t, conf)
	if !errors.Is(err, ErrNoPipelineLeft) {
		t.Fatalf("err = %v, want ErrNoPipelineLeft", err)
	}
}

func TestProcessorsOfRemovedPipelinesGoWithThem(t *testing.T) {
	conf := twoDestinations("", "https://customer.example:4318")
	if _, err := convert(t, conf); err != nil {
		t.Fatal(err)
	}
	if conf.IsSet("processors::scrub/vendor") {
		t.Fatal("scrub/vendor is kept although only the removed vendor pipeline used it")
	}
	for _, id := range []string{"memory_limiter", "scrub/customer", "unused"} {
		if !conf.IsSet("processors::" + id) {
			t.Fatalf("processor %s removed", id)
		}
	}
}

// alerting is a configuration with one destination and an alertrules
// exporter whose Alertmanagers come from variables.
func alerting(endpoints ...any) *confmap.Conf {
	var ams []any
	for _, e := range endpoints {
		ams = append(ams, map[string]any{"endpoint": e, "bearer_token": "t"})
	}
	return confmap.NewFromStringMap(map[string]any{
		"exporters": map[string]any{
			"otlp_http/customer": map[string]any{"endpoint": "https://customer.example:4318"},
			"alertrules":         map[string]any{"rule_files": []any{"/rules/*.yml"}, "alertmanagers": ams},
		},
		"service": map[string]any{"pipelines": map[string]any{
			"metrics/customer": map[string]any{"receivers": []any{"chromabackup"}, "exporters": []any{"otlp_http/customer"}},
			"metrics/alerts":   map[string]any{"receivers": []any{"chromabackup"}, "exporters": []any{"alertrules"}},
		}},
	})
}

func TestEveryListedEndpointEmptySwitchesTheExporterOff(t *testing.T) {
	for name, empty := range map[string]any{"empty string": "", "unset variable": nil} {
		t.Run(name, func(t *testing.T) {
			conf := alerting(empty, "")
			logs, err := convert(t, conf)
			if err != nil {
				t.Fatal(err)
			}
			if conf.IsSet("exporters::alertrules") || conf.IsSet("service::pipelines::metrics/alerts") {
				t.Fatalf("alertrules still configured: %v", conf.ToStringMap())
			}
			if !conf.IsSet("service::pipelines::metrics/customer") {
				t.Fatal("the customer's pipeline was removed")
			}
			if logs.FilterMessageSnippet("switched off").Len() != 1 {
				t.Fatalf("no log line names the switched-off exporter: %v", logs.All())
			}
		})
	}
}

func TestEmptyListedEndpointsAreLeftOut(t *testing.T) {
	conf := alerting("", "http://alertmanager-b:9093", nil)
	if _, err := convert(t, conf); err != nil {
		t.Fatal(err)
	}
	ams, _ := conf.Get("exporters::alertrules::alertmanagers").([]any)
	if len(ams) != 1 {
		t.Fatalf("alertmanagers = %v, want only alertmanager-b", ams)
	}
	if am, _ := ams[0].(map[string]any); am["endpoint"] != "http://alertmanager-b:9093" || am["bearer_token"] != "t" {
		t.Fatalf("alertmanagers[0] = %v, want alertmanager-b with its token", am)
	}
	if rf, _ := conf.Get("exporters::alertrules::rule_files").([]any); len(rf) != 1 {
		t.Fatalf("rule_files changed: %v", rf)
	}
}

func TestSetListedEndpointsLeaveTheConfigAlone(t *testing.T) {
	conf := alerting("http://alertmanager-a:9093", "http://alertmanager-b:9093")
	logs, err := convert(t, conf)
	if err != nil {
		t.Fatal(err)
	}
	if ams, _ := conf.Get("exporters::alertrules::alertmanagers").([]any); len(ams) != 2 {
		t.Fatalf("alertmanagers = %v", ams)
	}
	if logs.Len() != 0 {
		t.Fatalf("logged %v with nothing switched off", logs.All())
	}
}
