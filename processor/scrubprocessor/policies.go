package scrubprocessor // import "github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor"

import (
	"github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor/internal/detect"
)

// policySpec is a built-in policy: the defaults a Config extends.
type policySpec struct {
	mode            string
	keys            []KeyRule
	detectors       map[detect.Kind]string
	text            TextConfig
	urlWithoutRoute string
	vocabulary      VocabularyConfig
	// identity rules hash deployment identities with hash_key, or with a
	// random key when there is none.
	identity []KeyRule
}

func builtinPolicy(name string) (policySpec, bool) {
	switch name {
	case PolicyVendor:
		return vendorPolicy(), true
	case PolicyCustomer:
		return customerPolicy(), true
	case PolicyNone:
		return policySpec{
			mode:            ModeBlocklist,
			detectors:       map[detect.Kind]string{},
			text:            TextConfig{SpanName: ActionKeep, EventName: ActionKeep, MetricName: ActionKeep, ScopeName: ActionKeep, StatusMessage: ActionKeep, LogBody: ActionKeep},
			urlWithoutRoute: URLStrip,
		}, true
	}
	return policySpec{}, false
}

// vendorKeys lists what the vendor may see: operation shape, outcome, timing
// and code location, never names, addresses, free text or request content.
// Every kept string is still scanned by every detector.
var vendorKeys = []string{
	// resource: what runs, not where or for whom (identities: identity.go)
	"service.version",
	"telemetry.sdk.name", "telemetry.sdk.language", "telemetry.sdk.version",
	"telemetry.distro.name", "telemetry.distro.version",
	"process.runtime.name", "process.runtime.version",
	"os.type", "host.arch", "cloud.provider", "cloud.platform",
	// HTTP and RPC shape and outcome
	"http.route", "http.status_code", "http.response.status_code", "http.version",
	"network.protocol.name", "network.protocol.version", "url.scheme", "url.template",
	"rpc.system", "rpc.service", "rpc.method", "rpc.grpc.status_code",
	"db.system", "db.system.name", "db.operation", "db.operation.name",
	// errors: the kind, never the message
	"error.type", "exception.type", "exception.escaped", "otel.status_code",
	// code location (code.filepath is left out: build machines' paths)
	"code.namespace", "code.function", "code.function.name", "code.lineno", "code.line.number",
	"thread.id", "thread.name", "level", "target",
	// Chroma's timings, counts and flags
	"busy_ns", "idle_ns", "elapsed", "elapsed_secs", "latency",
	"num_ids", "num_embeddings", "has_where", "include", "limit", "offset", "batch_size",
	"end_timestamp", "rows_affected", "rows_returned", "classification",
	// the collector's own telemetry
	"otel.component.id", "otel.component.kind", "otel.signal",
	"receiver", "processor", "exporter", "transport", "data_type", "outcome",
	"rule", "signal", "action",
}

func vendorPolicy() policySpec {
	keys := []KeyRule{
		{Key: "http.method", Shape: ShapeMethod},
		{Key: "http.request.method", Shape: ShapeMethod},
		// Raw URIs become their route template, or go.
		{Key: "http.uri", Action: ActionURL},
		{Key: "http.url", Action: ActionURL},
		{Key: "http.target", Action: ActionURL},
		{Key: "url.full", Action: ActionURL},
		{Key: "url.path", Action: ActionURL},
	}
	for _, k := range vendorKeys {
		keys = append(keys, KeyRule{Key: k, Shape: vendorShapes[k]})
	}
	all := map[detect.Kind]string{}
	for k := detect.Kind(0); k < detect.NumKinds; k++ {
		all[k] = ActionMask
	}
	return policySpec{
		mode:      ModeAllowlist,
		keys:      keys,
		detectors: all,
		text: TextConfig{
			SpanName:      ActionURL,
			EventName:     ActionKeep,
			MetricName:    ActionKeep,
			ScopeName:     ActionKeep,
			StatusMessage: ActionDrop,
			LogBody:       ActionDrop,
			TraceState:    ActionDrop,
		},
		urlWithoutRoute: URLDrop,
		vocabulary:      VocabularyConfig{Unknown: UnknownTemplate},
		identity:        identityRules(),
	}
}

// customerDropKeys hold credentials by name.
var customerDropKeys = []string{
	"authorization", "*.authorization", "proxy-authorization", "*.proxy-authorization",
	"cookie", "*.cookie", "set-cookie", "*.set-cookie",
	"x-api-key", "*.x-api-key", "x-chroma-token", "*.x-chroma-token",
	"*password*", "*passwd*", "*secret*", "*token", "*api_key*", "*apikey*", "*api-key*",
	"*private_key*", "*access_key*",
}

func customerPolicy() policySpec {
	var keys []KeyRule
	for _, k := range customerDropKeys {
		keys = append(keys, KeyRule{Key: k, Action: ActionDrop})
	}
	for _, k := range chromaNumericKeys {
		keys = append(keys, KeyRule{Key: k, Shape: vendorShapes[k]})
	}
	return policySpec{
		mode: ModeBlocklist,
		keys: keys,
		detectors: map[detect.Kind]string{
			detect.JWT:          ActionMask,
			detect.Credentials:  ActionMask,
			detect.AWSAccessKey: ActionMask,
			detect.APIKey:       ActionMask,
			detect.PrivateKey:   ActionMask,
			detect.URLUserinfo:  ActionMask,
			detect.CardNumber:   ActionMask,
			detect.USSSN:        ActionMask,
		},
		text: TextConfig{
			SpanName:      ActionKeep,
			EventName:     ActionKeep,
			MetricName:    ActionKeep,
			ScopeName:     ActionKeep,
			StatusMessage: ActionKeep,
			LogBody:       ActionKeep,
		},
		urlWithoutRoute: URLStrip,
	}
}
