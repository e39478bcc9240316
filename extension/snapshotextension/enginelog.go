package snapshotextension // import "github.com/otelcol-chroma/otelcol-chroma/extension/snapshotextension"

import (
	"log/slog"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/otelcol-chroma/otelcol-chroma/internal/zapslog"
)

// newEngineLogger hands the snapshot engine's log records to the
// collector's logger. The engine's info records (a capture that started
// again, the snapshot it stored) become debug lines, so that an attempt logs
// one line at info level; its warnings stay warnings.
func newEngineLogger(log *zap.Logger) *slog.Logger {
	return zapslog.New(log.WithOptions(zap.WithCaller(false)), engineLevel)
}

func engineLevel(l slog.Level) zapcore.Level {
	if l < slog.LevelWarn {
		return zapcore.DebugLevel
	}
	return zapslog.Level(l)
}
