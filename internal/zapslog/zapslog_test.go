package zapslog

import (
	"errors"
	"log/slog"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestRecordsReachZap(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	log := New(zap.New(core), nil).With("component", "rules").WithGroup("g")
	log.Warn("evaluation failed", "err", errors.New("boom"), "n", 3)
	log.Info("ok")
	log.Debug("detail")
	all := logs.All()
	if len(all) != 3 || all[0].Level != zapcore.WarnLevel || all[1].Level != zapcore.InfoLevel || all[2].Level != zapcore.DebugLevel {
		t.Fatalf("records %v", all)
	}
	m := all[0].ContextMap()
	if m["component"] != "rules" || m["g.err"] != "boom" || m["g.n"] != int64(3) {
		t.Fatalf("fields %v", m)
	}
}

func TestLevelMapAndEnabled(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	quietInfo := func(l slog.Level) zapcore.Level {
		if l < slog.LevelWarn {
			return zapcore.DebugLevel
		}
		return Level(l)
	}
	log := New(zap.New(core), quietInfo)
	if log.Enabled(t.Context(), slog.LevelInfo) {
		t.Fatal("info is debug under the map, below the core's level")
	}
	log.Info("hidden")
	log.Error("shown")
	if logs.Len() != 1 || logs.All()[0].Message != "shown" || logs.All()[0].Level != zapcore.ErrorLevel {
		t.Fatalf("records %v", logs.All())
	}
}
