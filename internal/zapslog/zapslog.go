// Package zapslog hands log/slog records to a collector component's zap
// logger, so that libraries and engines that log with slog (Prometheus' rule
// manager, the snapshot engine) write into the collector's log with its
// level and encoding.
package zapslog // import "github.com/otelcol-chroma/otelcol-chroma/internal/zapslog"

import (
	"context"
	"log/slog"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// LevelMap maps a slog level to the zap level its records are written at.
type LevelMap func(slog.Level) zapcore.Level

// New returns a slog.Logger writing to logger, at the levels levels gives
// (Level when nil).
func New(logger *zap.Logger, levels LevelMap) *slog.Logger {
	if levels == nil {
		levels = Level
	}
	return slog.New(handler{log: logger, levels: levels})
}

// Level keeps slog's levels: error, warn, info, and debug below that.
func Level(l slog.Level) zapcore.Level {
	switch {
	case l >= slog.LevelError:
		return zapcore.ErrorLevel
	case l >= slog.LevelWarn:
		return zapcore.WarnLevel
	case l >= slog.LevelInfo:
		return zapcore.InfoLevel
	}
	return zapcore.DebugLevel
}

type handler struct {
	log    *zap.Logger
	levels LevelMap
	prefix string // group names, dot-separated, ending in a dot
}

func (h handler) Enabled(_ context.Context, l slog.Level) bool {
	return h.log.Core().Enabled(h.levels(l))
}

func (h handler) Handle(_ context.Context, r slog.Record) error {
	fields := make([]zap.Field, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		fields = append(fields, h.field(a))
		return true
	})
	if ce := h.log.Check(h.levels(r.Level), r.Message); ce != nil {
		ce.Write(fields...)
	}
	return nil
}

func (h handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	fields := make([]zap.Field, len(attrs))
	for i, a := range attrs {
		fields[i] = h.field(a)
	}
	return handler{log: h.log.With(fields...), levels: h.levels, prefix: h.prefix}
}

func (h handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return handler{log: h.log, levels: h.levels, prefix: h.prefix + name + "."}
}

// field keeps errors as errors, so the collector's encoder writes their text.
func (h handler) field(a slog.Attr) zap.Field {
	v := a.Value.Resolve()
	if err, ok := v.Any().(error); ok {
		return zap.NamedError(h.prefix+a.Key, err)
	}
	return zap.Any(h.prefix+a.Key, v.Any())
}
