package alertrulesexporter

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusremotewriteexporter"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil/prometheus"
)

// mixedMetrics has each kind of metric and unit the translation treats
// differently: gauges with units and {bool}, a monotonic and a non-monotonic
// sum, a histogram, dotted attribute names, and resource attributes that go
// to job, instance and target_info.
func mixedMetrics(at time.Time) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "otelcol-chroma")
	rm.Resource().Attributes().PutStr("service.instance.id", "demo")
	rm.Resource().Attributes().PutStr("k8s.pod.name", "otel-collector-0")
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	ts := pcommon.NewTimestampFromTime(at)
	addGauge := func(name, unit string, v float64) pmetric.NumberDataPoint {
		m := ms.AppendEmpty()
		m.SetName(name)
		m.SetUnit(unit)
		dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.SetDoubleValue(v)
		dp.SetTimestamp(ts)
		return dp
	}
	addGauge("chroma.backup.age", "s", 7200)
	addGauge("chroma.backup.consecutive_failures", "{attempt}", 3)
	addGauge("chroma.bucket.up", "{bool}", 1)
	addGauge("chroma.persist.volume.available", "By", 1e9).Attributes().PutStr("volume.kind", "pvc")
	addSum := func(name, unit string, monotonic bool, v int64) {
		m := ms.AppendEmpty()
		m.SetName(name)
		m.SetUnit(unit)
		s := m.SetEmptySum()
		s.SetIsMonotonic(monotonic)
		s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		dp := s.DataPoints().AppendEmpty()
		dp.SetIntValue(v)
		dp.SetTimestamp(ts)
		dp.Attributes().PutStr("exporter", "otlphttp/vendor")
	}
	addSum("otelcol_exporter_send_failed_metric_points", "{datapoints}", true, 12)
	addSum("chroma.backup.count", "{snapshot}", false, 4)
	h := ms.AppendEmpty()
	h.SetName("http.server.request.duration")
	h.SetUnit("s")
	hist := h.SetEmptyHistogram()
	hist.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	dp := hist.DataPoints().AppendEmpty()
	dp.SetTimestamp(ts)
	dp.SetCount(3)
	dp.SetSum(0.6)
	dp.ExplicitBounds().FromRaw([]float64{0.1, 0.5})
	dp.BucketCounts().FromRaw([]uint64{1, 1, 1})
	return md
}

// remoteWriteTo creates the collector's prometheus_remote_write exporter
// with its defaults, writing to a Prometheus.
func remoteWriteTo(t *testing.T, prometheusURL string) exporter.Metrics {
	t.Helper()
	f := prometheusremotewriteexporter.NewFactory()
	cfg := f.CreateDefaultConfig()
	require.NoError(t, confmap.NewFromStringMap(map[string]any{
		"endpoint":           prometheusURL + "/api/v1/write",
		"remote_write_queue": map[string]any{"enabled": false},
	}).Unmarshal(cfg))
	exp, err := f.CreateMetrics(context.Background(), exportertest.NewNopSettings(f.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { assert.NoError(t, exp.Shutdown(context.Background())) })
	return exp
}

// prometheusSeries lists every series a Prometheus holds, minus its own
// ALERTS series and recording rules' output (names with a colon).
func prometheusSeries(t *testing.T, base string) []string {
	t.Helper()
	q := url.Values{"match[]": {`{__name__=~".+"}`}}
	var body struct {
		Data []map[string]string `json:"data"`
	}
	getJSON(t, base+"/api/v1/series?"+q.Encode(), &body)
	var out []labels.Labels
	for _, s := range body.Data {
		out = append(out, labels.FromMap(s))
	}
	return received(out)
}

// windowSeries lists every series in the exporter's window, likewise.
func windowSeries(t *testing.T, w *window) []string {
	t.Helper()
	q, err := w.Querier(0, time.Now().Add(time.Hour).UnixMilli())
	require.NoError(t, err)
	defer q.Close()
	set := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".+"))
	var out []labels.Labels
	for set.Next() {
		out = append(out, set.At().Labels())
	}
	require.NoError(t, set.Err())
	return received(out)
}

// received keeps the series a pipeline sent: not ALERTS, ALERTS_FOR_STATE
// or a recording rule's output (a name with a colon).
func received(series []labels.Labels) []string {
	var out []string
	for _, ls := range series {
		name := ls.Get(labels.MetricName)
		if name == "ALERTS" || name == "ALERTS_FOR_STATE" || strings.Contains(name, ":") {
			continue
		}
		out = append(out, ls.String())
	}
	slices.Sort(out)
	return out
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, u)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
}

// The same metrics reach a real Prometheus through the remote-write exporter
// and this exporter's window under the same series names and labels, and
// the same rule file fires the same alert in both.
func TestSameSeriesAndAlertsAsPrometheus(t *testing.T) {
	rules, err := filepath.Abs("testdata/rules.yaml")
	require.NoError(t, err)
	prom := prometheus.Start(t, fmt.Sprintf("global:\n  evaluation_interval: 1s\nrule_files: [%q]\n", rules))
	rw := remoteWriteTo(t, prom.URL)
	am := newFakeAlertmanager(t)
	cfg := testConfig(am)
	cfg.ExternalLabels = nil
	e, _, _ := newTestExporterWith(t, cfg)

	md := mixedMetrics(time.Now())
	require.NoError(t, rw.ConsumeMetrics(context.Background(), md))
	require.NoError(t, e.consumeMetrics(context.Background(), md))

	want := windowSeries(t, e.window)
	require.NotEmpty(t, want)
	assert.Contains(t, want, `{__name__="chroma_backup_age_seconds", instance="demo", job="otelcol-chroma"}`)
	var got []string
	require.Eventually(t, func() bool {
		got = prometheusSeries(t, prom.URL)
		return len(got) >= len(want)
	}, waitFor, 50*time.Millisecond, "Prometheus never held the remote-written series")
	assert.Equal(t, want, got)

	ours := am.waitAlert(t, "ChromaBackupsFailing", firing)
	var theirs map[string]string
	require.Eventually(t, func() bool {
		theirs = prometheusAlert(t, prom.URL, "ChromaBackupsFailing")
		return theirs != nil
	}, waitFor, 50*time.Millisecond, "Prometheus never fired ChromaBackupsFailing")
	assert.Equal(t, theirs, ours.Labels)
}

// prometheusAlert returns the labels of the firing alert named name, or nil.
func prometheusAlert(t *testing.T, base, name string) map[string]string {
	t.Helper()
	var body struct {
		Data struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
			} `json:"alerts"`
		} `json:"data"`
	}
	getJSON(t, base+"/api/v1/alerts", &body)
	for _, a := range body.Data.Alerts {
		if a.Labels["alertname"] == name && a.State == "firing" {
			return a.Labels
		}
	}
	return nil
}
