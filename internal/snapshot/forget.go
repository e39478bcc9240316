package snapshot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
)

// Scope says which snapshots a retention policy applies to.
type Scope string

const (
	// ScopeInstance: only the snapshots of one instance (the configured
	// one), so one replica's retention never removes another's snapshots.
	ScopeInstance Scope = "instance"
	// ScopePerInstance: every instance's snapshots, each instance on its
	// own (restic's default grouping by host).
	ScopePerInstance Scope = "per_instance"
	// ScopeBucket: all snapshots in the bucket as one group.
	ScopeBucket Scope = "bucket"
)

// Validate refuses an unknown scope.
func (s Scope) Validate() error {
	switch s {
	case ScopeInstance, ScopePerInstance, ScopeBucket:
		return nil
	}
	return fmt.Errorf("unknown scope %q: use instance, per_instance or bucket", s)
}

// ForgetOptions configure Forget.
type ForgetOptions struct {
	Policy Policy
	// Scope defaults to ScopeInstance, with Instance the instance.
	Scope    Scope
	Instance string
	// DryRun decides without deleting anything (and takes no lock).
	DryRun bool
	Logger *slog.Logger
}

// ForgetGroup is the decision for one group of snapshots, newest first.
type ForgetGroup struct {
	// Instance is the group's instance ("" in scope bucket, or for
	// snapshots taken without one).
	Instance  string
	Decisions []Decision
}

// ForgetResult says what Forget decided and did.
type ForgetResult struct {
	Policy Policy
	Scope  Scope
	Groups []ForgetGroup
	// Removed lists the ids whose manifests were deleted (none in a dry run).
	Removed []string
	// Skipped lists damaged snapshots, which forget leaves alone
	// (verify names the problem).
	Skipped []Summary
}

// Forget applies a retention policy: it decides, per group of the scope,
// which snapshots to keep (Policy) and deletes the manifests of the others
// under the exclusive lock. Their blocks stay until Prune. The newest
// snapshot of every group is always kept.
func (r *Repository) Forget(ctx context.Context, opts ForgetOptions) (*ForgetResult, error) {
	if opts.Scope == "" {
		opts.Scope = ScopeInstance
	}
	if err := opts.Scope.Validate(); err != nil {
		return nil, fmt.Errorf("forget: %w", err)
	}
	if err := opts.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("forget: %w", err)
	}
	if _, err := r.requireConfig(); err != nil {
		return nil, fmt.Errorf("forget: %w", err)
	}
	log := discardLogger(opts.Logger)
	res := &ForgetResult{Policy: opts.Policy, Scope: opts.Scope}
	if !opts.DryRun {
		lk, err := r.lock(ctx, true, "forget", log)
		if err != nil {
			return nil, fmt.Errorf("forget: %w", err)
		}
		defer lk.release()
		ctx = lk.ctx
		if err := r.decide(ctx, opts, res); err != nil {
			return nil, err
		}
		if err := lk.verify(ctx); err != nil {
			return nil, fmt.Errorf("forget: nothing was deleted: %w", err)
		}
		return res, r.forgetRemoved(ctx, res, log)
	}
	return res, r.decide(ctx, opts, res)
}

// decide lists the snapshots and applies the policy to each group.
func (r *Repository) decide(ctx context.Context, opts ForgetOptions, res *ForgetResult) error {
	list, err := r.List(ctx)
	if err != nil {
		return fmt.Errorf("forget: %w", err)
	}
	groups := map[string][]RetentionItem{}
	for _, s := range list {
		if s.Err != nil {
			res.Skipped = append(res.Skipped, s)
			continue
		}
		facts, err := r.factsOf(ctx, s)
		switch {
		case err != nil && opts.Scope == ScopeBucket && errors.Is(err, ErrKeyRequired):
			// The time in the id is enough to decide.
			groups[""] = append(groups[""], RetentionItem{ID: s.ID, Time: s.Created})
			continue
		case err != nil:
			return fmt.Errorf("forget in scope %s reads each snapshot's instance: %w; or use scope bucket", opts.Scope, err)
		}
		inst := facts.instance
		if opts.Scope == ScopeBucket {
			inst = ""
		} else if opts.Scope == ScopeInstance && inst != opts.Instance {
			continue
		}
		groups[inst] = append(groups[inst], RetentionItem{ID: s.ID, Time: facts.created})
	}
	names := make([]string, 0, len(groups))
	for name := range groups {
		names = append(names, name)
	}
	sort.Strings(names)
	recorded, err := r.RecordedSnapshots(ctx)
	if err != nil {
		return fmt.Errorf("forget: read the status records: %w", err)
	}
	for _, name := range names {
		decisions := keepRecorded(opts.Policy.Apply(groups[name]), recorded)
		res.Groups = append(res.Groups, ForgetGroup{Instance: name, Decisions: decisions})
	}
	return nil
}

// keepRecorded keeps the snapshots an instance's status record names: its
// newest attempt's and its last good one's. When the newest snapshot was
// taken from a damaged database, the policy alone would keep only that one
// and remove the last good snapshot, and its disappearance would read as a
// snapshot deleted outside retention.
func keepRecorded(decisions []Decision, recorded map[string]bool) []Decision {
	for i := range decisions {
		if d := &decisions[i]; recorded[d.ID] && !d.Keep {
			d.Keep = true
			d.Reasons = append(d.Reasons, "named by a status record")
		}
	}
	return decisions
}

// forgetRemoved deletes the manifests the policy removes, oldest first.
func (r *Repository) forgetRemoved(ctx context.Context, res *ForgetResult, log *slog.Logger) error {
	for _, g := range res.Groups {
		for i := len(g.Decisions) - 1; i >= 0; i-- {
			d := g.Decisions[i]
			if d.Keep {
				continue
			}
			if err := r.deleteSnapshot(ctx, d.ID); err != nil {
				return fmt.Errorf("forget: %d snapshots removed before: %w", len(res.Removed), err)
			}
			res.Removed = append(res.Removed, d.ID)
			log.Info("forgot snapshot", "id", d.ID, "instance", g.Instance)
		}
	}
	return nil
}

// deleteSnapshot removes one snapshot's manifest, then its index: the one
// place where a snapshot stops existing.
func (r *Repository) deleteSnapshot(ctx context.Context, id string) error {
	for _, key := range []string{manifestKey(id), indexKey(id)} {
		if err := r.bucket.Delete(ctx, key); err != nil {
			return fmt.Errorf("delete %s in %s: %w%s", key, r.bucket, err, storageHint(err))
		}
	}
	return nil
}
