package scrubprocessor

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromatest"
	"github.com/otelcol-chroma/otelcol-chroma/receiver/chromabackupreceiver"
)

// scrapeOnce runs the real chromabackup receiver on dir until it has
// emitted once.
func scrapeOnce(t *testing.T, instance, dir string) pmetric.Metrics {
	t.Helper()
	f := chromabackupreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*chromabackupreceiver.Config)
	cfg.PersistDirectory = dir
	cfg.Instance = instance
	cfg.CollectionInterval = 50 * time.Millisecond
	cfg.InitialDelay = 0
	sink := new(consumertest.MetricsSink)
	rcv, err := f.CreateMetrics(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	require.Eventually(t, func() bool { return len(sink.AllMetrics()) > 0 }, time.Minute, 10*time.Millisecond)
	require.NoError(t, rcv.Shutdown(context.Background()))
	return sink.AllMetrics()[0]
}

// The outage the issue saw hidden: two deployments' receivers, one of them
// unable to read its persist directory, batched together before the vendor.
func TestReceiverDeploymentsStayApartAtTheVendor(t *testing.T) {
	md := pmetric.NewMetrics()
	scrapeOnce(t, "prod-eu-1", filepath.Join(t.TempDir(), "unmounted")).ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
	scrapeOnce(t, "prod-eu-2", chromatest.CopyDemo(t)).ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
	require.Equal(t, 2, md.ResourceMetrics().Len())

	out := runMetrics(t, testConfig(t, func(c *Config) { c.HashKey = testHashKey }), md)
	up := map[string]int64{}
	for _, rm := range out.ResourceMetrics().All() {
		id := str(t, rm.Resource().Attributes(), "service.instance.id")
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				if m.Name() == "chroma.persist.up" {
					require.Equal(t, 1, m.Gauge().DataPoints().Len())
					up[id] = m.Gauge().DataPoints().At(0).IntValue()
				}
			}
		}
	}
	assert.Equal(t, map[string]int64{hashOf(testHashKey, "prod-eu-1"): 0, hashOf(testHashKey, "prod-eu-2"): 1}, up)
	assert.NotContains(t, metricsJSON(t, out), "prod-eu")
}
