package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
)

// unlockReport is `snapshot unlock --json`: the locks removed, and the
// live ones left in place (held by a snapshot, forget or prune that still
// runs, or ran within the expiry).
type unlockReport struct {
	Removed []lockEntry `json:"removed"`
	Live    []lockEntry `json:"live"`
}

// lockEntry is one lock in `snapshot unlock --json`.
type lockEntry struct {
	Key       string    `json:"key"`
	Operation string    `json:"operation"`
	Exclusive bool      `json:"exclusive"`
	Hostname  string    `json:"hostname"`
	PID       int       `json:"pid"`
	Time      time.Time `json:"time"`
	Stale     string    `json:"stale,omitempty"`
}

func newSnapshotUnlockCommand(f *snapshotFlags) *cobra.Command {
	var force, asJSON bool
	cmd := &cobra.Command{
		Use:   "unlock [--force]",
		Short: "Remove stale locks from the bucket (with --force, every lock)",
		Long: `Remove the locks in the bucket whose holder is gone: not refreshed within
the expiry (30 minutes), or held by a process of this machine that no longer
runs. Snapshots and prune also take such locks over by themselves.

--force removes every lock, also live ones: a snapshot or prune still running
then stops when it finds its lock gone. Use it only when the holder is
certainly gone (its machine is lost) and you cannot wait for the expiry.

--json prints {"removed": [...], "live": [...]}: the locks removed, and the
live ones left in place, each with its key, operation, holder (hostname,
pid) and last refresh.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			repo, err := f.openForUnlock(ctx)
			if err != nil {
				return err
			}
			removed, err := repo.Unlock(ctx, force, f.logger(cmd.ErrOrStderr()))
			if err != nil {
				return fmt.Errorf("unlock: %d locks removed before: %w", len(removed), err)
			}
			left, err := repo.Locks(ctx)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), unlockReport{Removed: toLockEntries(removed), Live: toLockEntries(left)})
			}
			writeUnlocked(cmd.OutOrStdout(), removed, left)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "remove live locks too")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func toLockEntries(locks []snapshot.LockInfo) []lockEntry {
	entries := make([]lockEntry, 0, len(locks))
	for _, l := range locks {
		entries = append(entries, lockEntry{Key: l.Key, Operation: l.Operation, Exclusive: l.Exclusive,
			Hostname: l.Hostname, PID: l.PID, Time: l.Time.UTC(), Stale: l.Stale})
	}
	return entries
}

func writeUnlocked(out io.Writer, removed, left []snapshot.LockInfo) {
	for _, l := range removed {
		fmt.Fprintf(out, "removed %s\n", l.String())
	}
	fmt.Fprintf(out, "removed %d locks; %d live locks remain\n", len(removed), len(left))
	for _, l := range left {
		fmt.Fprintf(out, "live: %s\n", l.String())
	}
	if len(left) > 0 {
		fmt.Fprintln(out, "a live lock is held by a snapshot, forget or prune that still runs (or ran within the expiry): wait for it; --force removes it and stops its holder, only for a holder that is gone for good")
	}
}

// openForUnlock opens the bucket's repository without requiring its
// config.json: a first snapshot killed before writing it can leave a lock
// behind. It creates nothing.
func (f *snapshotFlags) openForUnlock(ctx context.Context) (*snapshot.Repository, error) {
	s, err := f.settings(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := s.ReaderKeys()
	if err != nil {
		return nil, err
	}
	repo, err := s.OpenRepository(ctx, keys)
	return repo, usageIfBadURL(err)
}
