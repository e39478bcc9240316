package alertrulesexporter // import "github.com/otelcol-chroma/otelcol-chroma/exporter/alertrulesexporter"

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
)

// window is the bounded history the rules run over: Prometheus' in-memory
// TSDB head, truncated to the last `length`, holding at most maxSeries
// received series. It is the rules' storage.Queryable and storage.Appendable.
type window struct {
	head      *tsdb.Head
	length    time.Duration
	maxSeries int

	mu     sync.Mutex
	newest map[uint64]int64 // received series (labels hash) -> newest sample, ms
}

// appendResult counts what one append kept and what it dropped, by reason.
type appendResult struct {
	appended    int
	seriesLimit int // samples of series beyond max_series
	outOfWindow int // samples older than the window or than the series' newest
	rejected    int // samples the head refused for another reason
}

func (r appendResult) dropped() int { return r.seriesLimit + r.outOfWindow + r.rejected }

// openWindow opens an empty head whose chunk files live in dir.
func openWindow(dir string, length time.Duration, maxSeries int, logger *slog.Logger) (*window, error) {
	opts := tsdb.DefaultHeadOptions()
	opts.ChunkDirRoot = dir
	// Prometheus' 16384 lock stripes are sized for millions of series and
	// cost about 3 MiB on their own; a window of up to tens of thousands of
	// series needs far fewer (BENCHMARKS.md).
	opts.StripeSize = 1024
	// The head accepts samples up to ChunkRange/2 behind its newest one: twice
	// the window lets late batches in while the window still covers them.
	opts.ChunkRange = 2 * length.Milliseconds()
	head, err := tsdb.NewHead(nil, logger, nil, nil, opts, nil)
	if err != nil {
		return nil, fmt.Errorf("open the in-memory window in %s: %w", dir, err)
	}
	if err := head.Init(math.MinInt64); err != nil {
		_ = head.Close()
		return nil, fmt.Errorf("initialise the in-memory window in %s: %w", dir, err)
	}
	return &window{head: head, length: length, maxSeries: maxSeries, newest: map[uint64]int64{}}, nil
}

// Querier implements storage.Queryable over the window.
func (w *window) Querier(mint, maxt int64) (storage.Querier, error) {
	return tsdb.NewBlockQuerier(tsdb.NewRangeHead(w.head, mint, maxt), mint, maxt)
}

// Appender implements storage.Appendable for the rules' own output
// (recording rules, ALERTS, ALERTS_FOR_STATE).
func (w *window) Appender(ctx context.Context) storage.Appender { return w.head.Appender(ctx) }

// numSeries is every series held: received and written by rules.
func (w *window) numSeries() uint64 { return w.head.NumSeries() }

// append adds received series, refusing new ones beyond maxSeries.
func (w *window) append(ctx context.Context, series []*prompb.TimeSeries) (appendResult, error) {
	var res appendResult
	app := w.head.Appender(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range series {
		ts := series[i]
		lbls := toLabels(ts.Labels)
		n := len(ts.Samples) + len(ts.Histograms)
		hash := lbls.Hash()
		if _, held := w.newest[hash]; !held && len(w.newest) >= w.maxSeries {
			res.seriesLimit += n
			continue
		}
		kept := appendSeries(app, lbls, ts, &res)
		if newest, ok := newestKept(kept); ok {
			w.newest[hash] = max(w.newest[hash], newest)
		}
	}
	if err := app.Commit(); err != nil {
		return appendResult{rejected: res.appended + res.dropped()}, fmt.Errorf("commit samples to the window: %w", err)
	}
	return res, nil
}

// appendSeries appends one series' samples and returns which were kept.
func appendSeries(app storage.Appender, lbls labels.Labels, ts *prompb.TimeSeries, res *appendResult) []int64 {
	var kept []int64
	var ref storage.SeriesRef
	add := func(t int64, err error, r storage.SeriesRef) {
		switch {
		case err == nil:
			ref = r
			res.appended++
			kept = append(kept, t)
		case errors.Is(err, storage.ErrOutOfBounds), errors.Is(err, storage.ErrOutOfOrderSample), errors.Is(err, storage.ErrTooOldSample):
			res.outOfWindow++
		default:
			res.rejected++
		}
	}
	for _, s := range ts.Samples {
		r, err := app.Append(ref, lbls, s.Timestamp, s.Value)
		add(s.Timestamp, err, r)
	}
	for _, h := range ts.Histograms {
		var r storage.SeriesRef
		var err error
		if h.IsFloatHistogram() {
			r, err = app.AppendHistogram(ref, lbls, h.Timestamp, nil, h.ToFloatHistogram())
		} else {
			r, err = app.AppendHistogram(ref, lbls, h.Timestamp, h.ToIntHistogram(), nil)
		}
		add(h.Timestamp, err, r)
	}
	return kept
}

func newestKept(kept []int64) (int64, bool) {
	if len(kept) == 0 {
		return 0, false
	}
	newest := kept[0]
	for _, t := range kept[1:] {
		newest = max(newest, t)
	}
	return newest, true
}

func toLabels(pl []prompb.Label) labels.Labels {
	b := labels.NewScratchBuilder(len(pl))
	for _, l := range pl {
		b.Add(l.Name, l.Value)
	}
	b.Sort()
	return b.Labels()
}

// truncate drops what is older than now minus the window, and forgets
// received series with no sample left in it, so new series can take their
// place under max_series.
func (w *window) truncate(now time.Time) error {
	mint := now.Add(-w.length).UnixMilli()
	if err := w.head.Truncate(mint); err != nil {
		return fmt.Errorf("truncate the window before %s: %w", time.UnixMilli(mint).UTC().Format(time.RFC3339), err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for hash, newest := range w.newest {
		if newest < mint {
			delete(w.newest, hash)
		}
	}
	return nil
}

// receivedSeries is how many received series count against max_series.
func (w *window) receivedSeries() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.newest)
}

func (w *window) close() error { return w.head.Close() }
