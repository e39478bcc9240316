package alertrulesexporter // import "github.com/otelcol-chroma/otelcol-chroma/exporter/alertrulesexporter"

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/prometheusremotewrite"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/rules"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"

	"github.com/otelcol-chroma/otelcol-chroma/exporter/alertrulesexporter/internal/metadata"
	"github.com/otelcol-chroma/otelcol-chroma/internal/logthrottle"
	"github.com/otelcol-chroma/otelcol-chroma/internal/zapslog"
)

// Prometheus' defaults for what the rule engine may do in one query and how
// long alerts keep their `for` state across an outage.
const (
	queryMaxSamples = 50_000_000
	queryTimeout    = 2 * time.Minute
	lookbackDelta   = 5 * time.Minute
	outageTolerance = time.Hour
	forGracePeriod  = 10 * time.Minute
)

type alertRulesExporter struct {
	cfg       *Config
	settings  component.TelemetrySettings
	logger    *zap.Logger
	slog      *slog.Logger
	telemetry *metadata.TelemetryBuilder
	// translation names series exactly as the prometheus_remote_write
	// exporter's defaults do, so one rule file serves a Prometheus fed by
	// remote write and this exporter.
	translation prometheusremotewrite.Settings
	now         func() time.Time
	drops       *dropReporter

	dir      string
	window   *window
	sender   *alertSender
	rules    *rules.Manager
	stop     context.CancelFunc
	loopDone sync.WaitGroup

	shutdownOnce sync.Once
	shutdownErr  error
}

func newAlertRulesExporter(cfg *Config, set exporter.Settings) (*alertRulesExporter, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, fmt.Errorf("alertrules: telemetry: %w", err)
	}
	now := time.Now
	return &alertRulesExporter{
		drops:       &dropReporter{telemetry: tb, logger: set.Logger, cfg: cfg, now: now, gate: logthrottle.New(dropLogInterval)},
		cfg:         cfg,
		settings:    set.TelemetrySettings,
		logger:      set.Logger,
		slog:        zapslog.New(set.Logger, nil),
		telemetry:   tb,
		translation: prometheusremotewrite.Settings{AddMetricSuffixes: true},
		now:         now,
	}, nil
}

func (e *alertRulesExporter) start(ctx context.Context, host component.Host) (err error) {
	files, err := ruleFiles(e.cfg.RuleFiles)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, e.shutdown(context.WithoutCancel(ctx)))
		}
	}()
	if e.dir, err = os.MkdirTemp(e.cfg.Directory, "alertrules-"); err != nil {
		return fmt.Errorf("directory: create the window's folder: %w", err)
	}
	if e.window, err = openWindow(e.dir, e.cfg.Window, e.cfg.MaxSeries, e.slog); err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	if e.sender, err = newAlertSender(ctx, e.cfg, host, e.settings, reg, e.slog); err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e.stop = cancel
	if err = e.startRules(runCtx, reg, files); err != nil {
		return err
	}
	e.loopDone.Add(1)
	go e.truncateLoop(runCtx)
	return registerTelemetry(e.telemetry, reg, e.window)
}

// ruleFiles expands the rule_files globs; every pattern must match a file.
func ruleFiles(patterns []string) ([]string, error) {
	var files []string
	for i, pattern := range patterns {
		matches, err := filepath.Glob(pattern)
		if err != nil {
			return nil, fmt.Errorf("rule_files[%d] %q: %w", i, pattern, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("rule_files[%d] %q matches no file; check the path (relative paths start at the collector's working directory)", i, pattern)
		}
		files = append(files, matches...)
	}
	return files, nil
}

// startRules loads the rule files into Prometheus' rule manager over the
// window and starts evaluating them.
func (e *alertRulesExporter) startRules(ctx context.Context, reg prometheus.Registerer, files []string) error {
	engine := promql.NewEngine(promql.EngineOpts{
		Logger:        e.slog,
		Reg:           reg,
		MaxSamples:    queryMaxSamples,
		Timeout:       queryTimeout,
		LookbackDelta: lookbackDelta,
	})
	e.rules = rules.NewManager(&rules.ManagerOptions{
		NameValidationScheme: model.UTF8Validation,
		QueryFunc:            rules.EngineQueryFunc(engine, e.window),
		NotifyFunc:           rules.SendAlerts(e.sender.manager, e.cfg.ExternalURL),
		Context:              ctx,
		Appendable:           e.window,
		Queryable:            e.window,
		Logger:               e.slog,
		Registerer:           reg,
		OutageTolerance:      outageTolerance,
		ForGracePeriod:       forGracePeriod,
		ResendDelay:          e.cfg.ResendDelay,
	})
	extLabels := labels.FromMap(e.cfg.ExternalLabels)
	// Update reports only that loading failed; LoadGroups says where and why.
	if _, errs := e.rules.LoadGroups(e.cfg.EvaluationInterval, extLabels, e.cfg.ExternalURL, nil, false, files...); len(errs) > 0 {
		return fmt.Errorf("rule_files: load the rules: %w; `promtool check rules FILE` shows the same problems", errors.Join(errs...))
	}
	if err := e.rules.Update(e.cfg.EvaluationInterval, files, extLabels, e.cfg.ExternalURL, nil); err != nil {
		return fmt.Errorf("rule_files: start the rules: %w", err)
	}
	warnShortWindow(e.logger, e.cfg.Window, e.rules.Rules())
	go e.rules.Run()
	return nil
}

// truncateLoop keeps the window at its length.
func (e *alertRulesExporter) truncateLoop(ctx context.Context) {
	defer e.loopDone.Done()
	ticker := time.NewTicker(e.cfg.EvaluationInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			if err := e.window.truncate(e.now()); err != nil {
				e.logger.Warn("alertrules: could not drop old samples; memory may grow beyond the window", zap.Error(err))
			}
		}
	}
}

// consumeMetrics names the metrics as remote write into Prometheus would and
// appends them to the window. It never waits on an Alertmanager.
func (e *alertRulesExporter) consumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	series, err := prometheusremotewrite.FromMetrics(md, e.translation)
	if err != nil {
		e.logger.Warn("alertrules: some metrics have no Prometheus form and are not evaluated", zap.Error(err))
	}
	batch := make([]*prompb.TimeSeries, 0, len(series))
	for _, ts := range series {
		batch = append(batch, ts)
	}
	res, err := e.window.append(ctx, batch)
	e.drops.record(ctx, res)
	if err != nil {
		e.logger.Error("alertrules: could not store received samples; rules evaluate without them", zap.Error(err))
	}
	return nil
}

// shutdown stops evaluating and sending and frees the window. It runs once:
// a failed start calls it, and so does the collector afterwards.
func (e *alertRulesExporter) shutdown(ctx context.Context) error {
	e.shutdownOnce.Do(func() { e.shutdownErr = e.release(ctx) })
	return e.shutdownErr
}

func (e *alertRulesExporter) release(ctx context.Context) error {
	var errs []error
	if e.rules != nil {
		e.rules.Stop()
	}
	if e.sender != nil {
		errs = append(errs, e.sender.stop(ctx))
	}
	if e.stop != nil {
		e.stop()
		e.loopDone.Wait()
	}
	e.telemetry.Shutdown()
	if e.window != nil {
		errs = append(errs, e.window.close())
	}
	if e.dir != "" {
		errs = append(errs, os.RemoveAll(e.dir))
	}
	return errors.Join(errs...)
}
