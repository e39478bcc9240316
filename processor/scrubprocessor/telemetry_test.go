package scrubprocessor

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor/internal/metadatatest"
)

func removed(rule, signal, action string, n int64) metricdata.DataPoint[int64] {
	return metricdata.DataPoint[int64]{
		Attributes: attribute.NewSet(attribute.String("rule", rule), attribute.String("signal", signal), attribute.String("action", action)),
		Value:      n,
	}
}

func TestTelemetryCountsByRuleAndSignal(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	cfg := testConfig(t, nil)

	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := 0; i < 2; i++ {
		sp := spans.AppendEmpty()
		sp.SetName("notify jdoe@acme.com")
		sp.Attributes().PutStr("tenant", "canary_tenant_acme_corp")
		sp.Attributes().PutStr("http.user_agent", "CanaryAgent/1.0")
		sp.Attributes().PutStr("http.route", "/api/v2/tenants/{tenant}")
		sp.Attributes().PutStr("http.uri", "/api/v2/tenants/canary_tenant_acme_corp")
		sp.Attributes().PutStr("http.method", "CANARY")
		sp.Status().SetMessage("tenant canary_tenant_acme_corp missing")
	}
	tp, err := NewFactory().CreateTraces(context.Background(), metadatatest.NewSettings(tel), cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, tp.ConsumeTraces(context.Background(), td))

	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Body().SetStr("free text")
	lr.Attributes().PutStr("tenant", "acme")
	lp, err := NewFactory().CreateLogs(context.Background(), metadatatest.NewSettings(tel), cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, lp.ConsumeLogs(context.Background(), ld))

	metadatatest.AssertEqualProcessorScrubRemoved(t, tel, []metricdata.DataPoint[int64]{
		removed("allowlist", "traces", "drop", 4),
		removed("key/http.uri", "traces", "url", 2),
		removed("shape/http.method", "traces", "mask", 2),
		removed("vocabulary", "traces", "mask", 2),
		removed("text/status_message", "traces", "drop", 2),
		removed("allowlist", "logs", "drop", 1),
		removed("text/log_body", "logs", "drop", 1),
	}, metricdatatest.IgnoreTimestamp())

	got, err := tel.GetMetric("otelcol_processor_scrub_removed")
	require.NoError(t, err)
	for _, dp := range got.Data.(metricdata.Sum[int64]).DataPoints {
		for _, kv := range dp.Attributes.ToSlice() {
			assert.False(t, strings.Contains(strings.ToLower(kv.Value.AsString()), "canary"), "telemetry never carries values")
		}
	}
}
