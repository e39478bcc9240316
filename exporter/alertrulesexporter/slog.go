package alertrulesexporter // import "github.com/otelcol-chroma/otelcol-chroma/exporter/alertrulesexporter"

import (
	"context"
	"log/slog"
	"slices"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// zapHandler is a slog.Handler writing to the collector's zap logger, so the
// log lines of Prometheus' rule manager, engine and notifier reach the
// collector's log with its level and encoding.
type zapHandler struct {
	logger *zap.Logger
	fields []zap.Field
	group  string
}

func newSlogLogger(logger *zap.Logger) *slog.Logger {
	return slog.New(zapHandler{logger: logger})
}

func (h zapHandler) Enabled(_ context.Context, level slog.Level) bool {
	return h.logger.Core().Enabled(zapLevel(level))
}

func (h zapHandler) Handle(_ context.Context, r slog.Record) error {
	fields := slices.Clone(h.fields)
	r.Attrs(func(a slog.Attr) bool {
		fields = append(fields, h.field(a))
		return true
	})
	if ce := h.logger.Check(zapLevel(r.Level), r.Message); ce != nil {
		ce.Write(fields...)
	}
	return nil
}

func (h zapHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	fields := slices.Clone(h.fields)
	for _, a := range attrs {
		fields = append(fields, h.field(a))
	}
	return zapHandler{logger: h.logger, fields: fields, group: h.group}
}

func (h zapHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return zapHandler{logger: h.logger, fields: h.fields, group: h.group + name + "."}
}

func (h zapHandler) field(a slog.Attr) zap.Field {
	v := a.Value.Resolve()
	if err, ok := v.Any().(error); ok {
		return zap.NamedError(h.group+a.Key, err)
	}
	return zap.Any(h.group+a.Key, v.Any())
}

func zapLevel(l slog.Level) zapcore.Level {
	switch {
	case l >= slog.LevelError:
		return zapcore.ErrorLevel
	case l >= slog.LevelWarn:
		return zapcore.WarnLevel
	case l >= slog.LevelInfo:
		return zapcore.InfoLevel
	default:
		return zapcore.DebugLevel
	}
}
