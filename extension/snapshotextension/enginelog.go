package snapshotextension // import "github.com/otelcol-chroma/otelcol-chroma/extension/snapshotextension"

import (
	"context"
	"log/slog"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// engineLog hands the snapshot engine's log records to the collector's
// logger. The engine's info records (a capture that started again, the
// snapshot it stored) become debug lines, so that an attempt logs one line
// at info level; its warnings stay warnings.
type engineLog struct {
	log    *zap.Logger
	prefix string // group names, dot-separated, ending in a dot
}

func newEngineLogger(log *zap.Logger) *slog.Logger {
	return slog.New(engineLog{log: log.WithOptions(zap.WithCaller(false))})
}

func engineLevel(l slog.Level) zapcore.Level {
	switch {
	case l >= slog.LevelError:
		return zapcore.ErrorLevel
	case l >= slog.LevelWarn:
		return zapcore.WarnLevel
	}
	return zapcore.DebugLevel
}

func (h engineLog) Enabled(_ context.Context, l slog.Level) bool {
	return h.log.Core().Enabled(engineLevel(l))
}

func (h engineLog) Handle(_ context.Context, r slog.Record) error {
	fields := make([]zap.Field, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		fields = append(fields, h.field(a))
		return true
	})
	if ce := h.log.Check(engineLevel(r.Level), r.Message); ce != nil {
		ce.Write(fields...)
	}
	return nil
}

func (h engineLog) field(a slog.Attr) zap.Field {
	return zap.Any(h.prefix+a.Key, a.Value.Resolve().Any())
}

func (h engineLog) WithAttrs(attrs []slog.Attr) slog.Handler {
	fields := make([]zap.Field, len(attrs))
	for i, a := range attrs {
		fields[i] = h.field(a)
	}
	return engineLog{log: h.log.With(fields...), prefix: h.prefix}
}

func (h engineLog) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return engineLog{log: h.log, prefix: h.prefix + name + "."}
}
