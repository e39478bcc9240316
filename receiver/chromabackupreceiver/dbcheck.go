package chromabackupreceiver // import "github.com/otelcol-chroma/otelcol-chroma/receiver/chromabackupreceiver"

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromadb"
)

// dbCheck runs PRAGMA quick_check on the live chroma.sqlite3 at most once
// per interval, and again as soon as the file changes while its last check
// failed (a restore, a repair). The check holds a read lock for its
// duration, during which Chroma's writers wait: hence the interval. Its
// verdict stands until the next check.
type dbCheck struct {
	interval    time.Duration
	busyTimeout time.Duration
	now         func() time.Time

	last      time.Time
	lastStamp fileStamp
	damage    error
	// runs counts the checks that ran.
	runs int
}

func newDBCheck(interval, busyTimeout time.Duration) *dbCheck {
	return &dbCheck{interval: interval, busyTimeout: busyTimeout, now: time.Now}
}

// result returns the standing verdict, checking first when one is due. An
// error that is not about damage (a lock held too long) leaves the verdict
// as it was and the check due.
func (c *dbCheck) result(ctx context.Context, dbPath string) error {
	if c.interval <= 0 {
		return nil
	}
	st, err := os.Stat(dbPath)
	if err != nil {
		return c.damage
	}
	stamp := fileStamp{size: st.Size(), mtime: st.ModTime()}
	now := c.now()
	due := c.last.IsZero() || now.Sub(c.last) >= c.interval || (c.damage != nil && stamp != c.lastStamp)
	if !due {
		return c.damage
	}
	err = c.run(ctx, dbPath)
	if err != nil && !errors.Is(err, chromadb.ErrDamaged) {
		return c.damage
	}
	c.runs++
	c.last, c.lastStamp = now, stamp
	c.damage = nil
	if err != nil {
		c.damage = fmt.Errorf("%s failed its quick_check, so Chroma will fail on it too: stop Chroma and restore the newest snapshot taken before the damage (snapshot list marks damaged ones): %w", dbPath, err)
	}
	return c.damage
}

func (c *dbCheck) run(ctx context.Context, dbPath string) error {
	db, err := chromadb.Open(ctx, dbPath, c.busyTimeout)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.QuickCheck(ctx)
}
