package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
)

// progressPrinter shows an operation's progress: a redrawn bar on a terminal,
// a plain line every few seconds (and at each phase change) otherwise.
type progressPrinter struct {
	w        io.Writer
	tty      bool
	interval time.Duration // between plain lines
	// countsBlocks: Done and Total count blocks, not bytes (verify without --read-data).
	countsBlocks bool
	// counts names what Done and Total count in the phases that count
	// things other than bytes ("records").
	counts map[snapshot.Phase]string
	now    func() time.Time

	mu      sync.Mutex
	phase   snapshot.Phase
	started time.Time // first report: Done counts from there, across phases
	// phaseStarted: the current phase's first report; a phase in counts
	// counts from there.
	phaseStarted time.Time
	last         snapshot.Update
	lastDraw     time.Time
	drawn        bool
}

func newProgressPrinter(w io.Writer) *progressPrinter {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return &progressPrinter{w: w, tty: tty, interval: 5 * time.Second, now: time.Now}
}

// Report implements snapshot.Progress.
func (p *progressPrinter) Report(u snapshot.Update) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if p.started.IsZero() {
		p.started = now
	}
	if u.Phase != p.phase {
		p.finishLine()
		p.phase, p.phaseStarted = u.Phase, now
		p.last = u
		p.draw(now, true)
		return
	}
	p.last = u
	every := p.interval
	if p.tty {
		every = 100 * time.Millisecond
	}
	if now.Sub(p.lastDraw) >= every {
		p.draw(now, false)
	}
}

// Done ends the display with the final state of the last phase.
func (p *progressPrinter) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.phase != "" {
		p.draw(p.now(), false)
		p.finishLine()
	}
}

func (p *progressPrinter) finishLine() {
	if p.tty && p.drawn {
		fmt.Fprintln(p.w)
	}
	p.drawn = false
}

func (p *progressPrinter) draw(now time.Time, phaseStart bool) {
	p.lastDraw = now
	u := p.last
	elapsed := now.Sub(p.started)
	if p.counts[u.Phase] != "" {
		elapsed = now.Sub(p.phaseStarted)
	}
	rate := 0.0
	if elapsed > 0 {
		rate = float64(u.Done) / elapsed.Seconds()
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", renderBar(u, rate, p.unit(u.Phase)))
		p.drawn = true
		return
	}
	if phaseStart && u.Total == 0 {
		fmt.Fprintf(p.w, "%s phase=%s\n", now.UTC().Format(time.RFC3339), u.Phase)
		return
	}
	done, total, speed := amounts(u, rate, p.unit(u.Phase))
	fmt.Fprintf(p.w, "%s phase=%s done=%q total=%q percent=%s rate=%q eta=%s\n",
		now.UTC().Format(time.RFC3339), u.Phase, done, total, percent(u), speed, eta(u, rate))
}

// unit is what a phase's Done and Total count: "" for bytes.
func (p *progressPrinter) unit(ph snapshot.Phase) string {
	if p.countsBlocks {
		return "blocks"
	}
	return p.counts[ph]
}

// amounts formats done, total and rate as bytes, or as plain counts of unit.
func amounts(u snapshot.Update, rate float64, unit string) (done, total, speed string) {
	if unit != "" {
		return fmt.Sprintf("%d %s", u.Done, unit), fmt.Sprintf("%d %s", u.Total, unit), fmt.Sprintf("%.0f %s/s", rate, unit)
	}
	return humanBytes(u.Done), humanBytes(u.Total), humanBytes(int64(rate)) + "/s"
}

func renderBar(u snapshot.Update, rate float64, unit string) string {
	const width = 24
	filled := 0
	if u.Total > 0 {
		filled = int(float64(width) * float64(min(u.Done, u.Total)) / float64(u.Total))
	}
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", width-filled)
	done, total, speed := amounts(u, rate, unit)
	return fmt.Sprintf("%-13s [%s] %s / %s  %s  %s  ETA %s", u.Phase, bar, done, total, percent(u), speed, eta(u, rate))
}

func percent(u snapshot.Update) string {
	if u.Total <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(min(u.Done, u.Total))/float64(u.Total))
}

func eta(u snapshot.Update, rate float64) string {
	if rate <= 0 || u.Total <= u.Done {
		return "-"
	}
	return time.Duration(float64(u.Total-u.Done) / rate * float64(time.Second)).Round(time.Second).String()
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
