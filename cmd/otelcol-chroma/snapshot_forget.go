package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshotconfig"
)

// forgetReport is `snapshot forget --json`.
type forgetReport struct {
	Policy  string        `json:"policy"`
	Scope   string        `json:"scope"`
	DryRun  bool          `json:"dry_run"`
	Groups  []forgetGroup `json:"groups"`
	Removed []string      `json:"removed"`
	Skipped []listEntry   `json:"skipped,omitempty"`
}

type forgetGroup struct {
	Instance string        `json:"instance"`
	Keep     []forgetEntry `json:"keep"`
	Remove   []forgetEntry `json:"remove"`
}

type forgetEntry struct {
	ID      string    `json:"id"`
	Time    time.Time `json:"time"`
	Reasons []string  `json:"reasons,omitempty"`
}

// forgetFlags are the --keep-* flags; given at all, they are the whole policy.
type forgetFlags struct {
	retention snapshotconfig.RetentionSettings
	dryRun    bool
	asJSON    bool
}

func newSnapshotForgetCommand(f *snapshotFlags) *cobra.Command {
	ff := &forgetFlags{}
	cmd := &cobra.Command{
		Use:   "forget [--keep-* N ...] [--dry-run]",
		Short: "Remove snapshots a retention policy does not keep (restic's rules)",
		Long: `Remove the snapshots that a retention policy does not keep, with restic's
rules and names. With --keep-* flags, they are the policy; without, the
policy is extensions::snapshot::retention of --config (its defaults: 24
hourly, 7 daily, 4 weekly, 3 monthly). The newest snapshot always stays.

Only manifests are removed: run prune to free the blocks no snapshot needs.
Forget takes the bucket's exclusive lock (a running snapshot finishes first).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			repo, s, _, err := f.openForReading(ctx)
			if err != nil {
				return err
			}
			opts, err := ff.options(cmd, f, &s)
			if err != nil {
				return err
			}
			opts.Logger = f.logger(cmd.ErrOrStderr())
			res, err := repo.Forget(ctx, opts)
			if err != nil {
				return err
			}
			rep := toForgetReport(res, ff.dryRun)
			if ff.asJSON {
				return writeJSON(cmd.OutOrStdout(), rep)
			}
			writeForgetText(cmd.OutOrStdout(), rep)
			return nil
		},
	}
	fl := cmd.Flags()
	r := &ff.retention
	fl.IntVar(&r.KeepLast, "keep-last", 0, "keep the newest N snapshots")
	fl.IntVar(&r.KeepHourly, "keep-hourly", 0, "keep the newest snapshot of each of the newest N hours")
	fl.IntVar(&r.KeepDaily, "keep-daily", 0, "keep the newest snapshot of each of the newest N days")
	fl.IntVar(&r.KeepWeekly, "keep-weekly", 0, "keep the newest snapshot of each of the newest N ISO weeks")
	fl.IntVar(&r.KeepMonthly, "keep-monthly", 0, "keep the newest snapshot of each of the newest N months")
	fl.IntVar(&r.KeepYearly, "keep-yearly", 0, "keep the newest snapshot of each of the newest N years")
	fl.StringVar(&r.KeepWithin, "keep-within", "", "keep snapshots newer than this before the newest (restic's 1y5m7d2h; m is months)")
	fl.StringVar(&r.TimeZone, "time-zone", "", "time zone of hours, days, weeks, months, years (default: the config's, else UTC)")
	fl.StringVar(&r.Scope, "scope", "", "instance (this --instance only), per_instance (each instance on its own) or bucket (all as one)")
	fl.BoolVar(&ff.dryRun, "dry-run", false, "show what would be removed; remove nothing")
	fl.BoolVar(&ff.asJSON, "json", false, "print JSON")
	return cmd
}

// options builds the engine's options: --keep-* flags replace the config's
// rules; --time-zone and --scope override the config's.
func (ff *forgetFlags) options(cmd *cobra.Command, f *snapshotFlags, s *snapshotconfig.Settings) (snapshot.ForgetOptions, error) {
	r := s.Retention
	keepFlags := false
	for _, name := range []string{"keep-last", "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly", "keep-yearly", "keep-within"} {
		keepFlags = keepFlags || cmd.Flags().Changed(name)
	}
	if keepFlags {
		r.KeepLast, r.KeepHourly, r.KeepDaily = ff.retention.KeepLast, ff.retention.KeepHourly, ff.retention.KeepDaily
		r.KeepWeekly, r.KeepMonthly, r.KeepYearly = ff.retention.KeepWeekly, ff.retention.KeepMonthly, ff.retention.KeepYearly
		r.KeepWithin = ff.retention.KeepWithin
	} else if len(f.configs) == 0 {
		return snapshot.ForgetOptions{}, usageErrorf("no retention policy: pass --keep-* flags, or --config with extensions::snapshot (retention defaults apply)")
	}
	if ff.retention.TimeZone != "" {
		r.TimeZone = ff.retention.TimeZone
	}
	if ff.retention.Scope != "" {
		r.Scope = ff.retention.Scope
	}
	policy, scope, err := r.Policy()
	if err != nil {
		return snapshot.ForgetOptions{}, usageError{err}
	}
	return snapshot.ForgetOptions{Policy: policy, Scope: scope, Instance: s.Instance, DryRun: ff.dryRun}, nil
}

func toForgetReport(res *snapshot.ForgetResult, dryRun bool) forgetReport {
	rep := forgetReport{Policy: res.Policy.String(), Scope: string(res.Scope), DryRun: dryRun, Removed: res.Removed}
	if rep.Removed == nil {
		rep.Removed = []string{}
	}
	for _, g := range res.Groups {
		fg := forgetGroup{Instance: g.Instance, Keep: []forgetEntry{}, Remove: []forgetEntry{}}
		for _, d := range g.Decisions {
			e := forgetEntry{ID: d.ID, Time: d.Time.UTC(), Reasons: d.Reasons}
			if d.Keep {
				fg.Keep = append(fg.Keep, e)
			} else {
				fg.Remove = append(fg.Remove, e)
			}
		}
		rep.Groups = append(rep.Groups, fg)
	}
	for _, s := range res.Skipped {
		rep.Skipped = append(rep.Skipped, toListEntry(s))
	}
	return rep
}

func writeForgetText(w io.Writer, rep forgetReport) {
	fmt.Fprintf(w, "policy: %s (scope %s)\n", rep.Policy, rep.Scope)
	if len(rep.Groups) == 0 {
		fmt.Fprintln(w, "no snapshots in scope")
		if rep.Scope == string(snapshot.ScopeInstance) {
			fmt.Fprintln(w, "(scope instance takes the snapshots of --instance / extensions::snapshot::instance only; --scope per_instance takes every instance's)")
		}
	}
	for _, g := range rep.Groups {
		group := fmt.Sprintf("instance %q", g.Instance)
		if rep.Scope == string(snapshot.ScopeBucket) {
			group = "all instances"
		}
		fmt.Fprintf(w, "\n%s: keep %d, remove %d\n", group, len(g.Keep), len(g.Remove))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, e := range g.Keep {
			fmt.Fprintf(tw, "keep\t%s\t%s\t%s\n", e.Time.Format(time.DateTime), e.ID, strings.Join(e.Reasons, ", "))
		}
		for _, e := range g.Remove {
			fmt.Fprintf(tw, "remove\t%s\t%s\t\n", e.Time.Format(time.DateTime), e.ID)
		}
		tw.Flush()
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(w, "left alone (damaged): %s: %s\n", s.ID, s.Error)
	}
	switch {
	case rep.DryRun:
		fmt.Fprintln(w, "\ndry run: nothing was removed")
	default:
		fmt.Fprintf(w, "\nremoved %d snapshots; run `snapshot prune` to free their blocks\n", len(rep.Removed))
	}
}
