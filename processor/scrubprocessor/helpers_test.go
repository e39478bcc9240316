package scrubprocessor

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-chroma/otelcol-chroma/internal/testutil"
	"github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor/internal/detect"
	"github.com/otelcol-chroma/otelcol-chroma/processor/scrubprocessor/internal/metadata"
)

// corpusDir finds the Chroma telemetry corpus beside the repository, or
// at CHROMA_CORPUS_DIR (a checkout elsewhere). It fails when
// REQUIRE_REAL_COMPONENTS=1 and the corpus is missing.
func corpusDir(tb testing.TB) string {
	tb.Helper()
	c := os.Getenv("CHROMA_CORPUS_DIR")
	if c == "" {
		dir, err := testutil.RepoRoot()
		require.NoError(tb, err)
		// The corpus sits beside the repository, or beside the folder that
		// holds a worktree of it.
		c = filepath.Join(dir, "..", "shared", "corpus", "chroma-1.0.1")
		if _, err := os.Stat(c); err != nil {
			c = filepath.Join(dir, "..", "..", "shared", "corpus", "chroma-1.0.1")
		}
	}
	if _, err := os.Stat(filepath.Join(c, "README.md")); err != nil {
		if os.Getenv("REQUIRE_REAL_COMPONENTS") == "1" {
			tb.Fatalf("Chroma corpus missing at %s: %v", c, err)
		}
		tb.Skipf("Chroma corpus missing at %s (set REQUIRE_REAL_COMPONENTS=1 to fail instead)", c)
	}
	return c
}

var corpusFiles = []string{"run1-default.otlp.jsonl", "run2-debug.otlp.jsonl"}

// corpusRun holds one corpus file's export requests, in order.
type corpusRun struct {
	name    string
	traces  []ptrace.Traces
	metrics []pmetric.Metrics
}

func loadCorpus(tb testing.TB) []corpusRun {
	tb.Helper()
	dir := corpusDir(tb)
	var runs []corpusRun
	for _, name := range corpusFiles {
		f, err := os.Open(filepath.Join(dir, name))
		require.NoError(tb, err)
		run := corpusRun{name: name}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var line struct {
				Signal string          `json:"signal"`
				OTLP   json.RawMessage `json:"otlp_json"`
			}
			require.NoError(tb, json.Unmarshal(sc.Bytes(), &line))
			switch line.Signal {
			case "traces":
				td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(line.OTLP)
				require.NoError(tb, err)
				run.traces = append(run.traces, td)
			case "metrics":
				md, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(line.OTLP)
				require.NoError(tb, err)
				run.metrics = append(run.metrics, md)
			default:
				tb.Fatalf("%s: unexpected signal %q", name, line.Signal)
			}
		}
		require.NoError(tb, sc.Err())
		require.NoError(tb, f.Close())
		require.NotEmpty(tb, run.traces, name)
		require.NotEmpty(tb, run.metrics, name)
		runs = append(runs, run)
	}
	return runs
}

// testConfig returns a validated configuration.
func testConfig(tb testing.TB, mutate func(*Config)) *Config {
	tb.Helper()
	cfg := createDefaultConfig()
	if mutate != nil {
		mutate(cfg)
	}
	require.NoError(tb, cfg.Validate())
	return cfg
}

func testSettings() processor.Settings {
	return processortest.NewNopSettings(metadata.Type)
}

// run passes data through a processor built from cfg via the factory and
// returns what reached the next consumer.
func runTraces(tb testing.TB, cfg *Config, td ptrace.Traces) ptrace.Traces {
	tb.Helper()
	sink := new(consumertest.TracesSink)
	p, err := NewFactory().CreateTraces(context.Background(), testSettings(), cfg, sink)
	require.NoError(tb, err)
	require.NoError(tb, p.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(tb, p.ConsumeTraces(context.Background(), td))
	require.NoError(tb, p.Shutdown(context.Background()))
	require.Len(tb, sink.AllTraces(), 1)
	return sink.AllTraces()[0]
}

func runMetrics(tb testing.TB, cfg *Config, md pmetric.Metrics) pmetric.Metrics {
	tb.Helper()
	sink := new(consumertest.MetricsSink)
	p, err := NewFactory().CreateMetrics(context.Background(), testSettings(), cfg, sink)
	require.NoError(tb, err)
	require.NoError(tb, p.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(tb, p.ConsumeMetrics(context.Background(), md))
	require.NoError(tb, p.Shutdown(context.Background()))
	require.Len(tb, sink.AllMetrics(), 1)
	return sink.AllMetrics()[0]
}

func runLogs(tb testing.TB, cfg *Config, ld plog.Logs) plog.Logs {
	tb.Helper()
	sink := new(consumertest.LogsSink)
	p, err := NewFactory().CreateLogs(context.Background(), testSettings(), cfg, sink)
	require.NoError(tb, err)
	require.NoError(tb, p.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(tb, p.ConsumeLogs(context.Background(), ld))
	require.NoError(tb, p.Shutdown(context.Background()))
	require.Len(tb, sink.AllLogs(), 1)
	return sink.AllLogs()[0]
}

func tracesJSON(tb testing.TB, td ptrace.Traces) string {
	b, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	require.NoError(tb, err)
	return string(b)
}

func metricsJSON(tb testing.TB, md pmetric.Metrics) string {
	b, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(md)
	require.NoError(tb, err)
	return string(b)
}

func logsJSON(tb testing.TB, ld plog.Logs) string {
	b, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
	require.NoError(tb, err)
	return string(b)
}

var _ component.Config = (*Config)(nil)

func fmtConfig(cfg *Config) string { return fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg) }

func detectNames() []string { return detect.Names() }
