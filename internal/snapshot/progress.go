package snapshot

import (
	"log/slog"
	"sync"
)

// Phase names what an operation is doing.
type Phase string

// Phases reported through Progress.
const (
	PhaseInspect  Phase = "inspect"       // reading the live database's facts
	PhaseSegments Phase = "copy-segments" // streaming HNSW segment folders
	PhaseSQLite   Phase = "copy-sqlite"   // copying chroma.sqlite3 under the read lock
	PhaseUpload   Phase = "upload"        // finishing the uploads
	PhaseManifest Phase = "manifest"      // writing the manifest
	PhaseRestore  Phase = "restore"       // downloading and writing blocks
	PhaseCheck    Phase = "check"         // checking the restored database
	PhaseSwap     Phase = "swap"          // putting the restored files in place
	PhaseVerify   Phase = "verify"        // checking blocks in the bucket
	PhaseChroma   Phase = "chroma-check"  // a drill asks Chroma, started on the restored copy
)

// Update is one progress report. Done and Total are bytes of file content
// (for PhaseVerify without ReadData: blocks); Total may grow when a file
// has to be read again.
type Update struct {
	Phase Phase
	Done  int64
	Total int64
}

// Progress receives updates while an operation runs. Calls never overlap,
// but come from the engine's goroutines: implementations must be quick.
type Progress interface {
	Report(Update)
}

// ProgressFunc adapts a function to Progress.
type ProgressFunc func(Update)

// Report calls f.
func (f ProgressFunc) Report(u Update) { f(u) }

// progressReporter serializes and accumulates updates; nil-safe.
type progressReporter struct {
	mu    sync.Mutex
	p     Progress
	cur   Update
	every int64 // report at most once per this many bytes (plus phase changes)
	last  int64
}

func newProgress(p Progress) *progressReporter {
	if p == nil {
		return nil
	}
	return &progressReporter{p: p, every: 1 << 20}
}

func (r *progressReporter) phase(ph Phase) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cur.Phase = ph
	r.last = r.cur.Done
	r.p.Report(r.cur)
}

func (r *progressReporter) addTotal(n int64) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.cur.Total += n
	r.mu.Unlock()
}

func (r *progressReporter) add(n int64) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cur.Done += n
	if r.cur.Done-r.last >= r.every || r.cur.Done == r.cur.Total {
		r.last = r.cur.Done
		r.p.Report(r.cur)
	}
}

func discardLogger(l *slog.Logger) *slog.Logger {
	if l != nil {
		return l
	}
	return slog.New(slog.DiscardHandler)
}
