// Package snapshot is the snapshot engine: it takes consistent snapshots of a
// live Chroma persist directory into a bucket, and lists, verifies and
// restores them. The bucket format is specified in FORMAT.md at the
// repository root; this package is its only writer.
//
// The CLI, the collector extension and the receiver all drive the same API:
//
//	repo, err := snapshot.Open(ctx, bucket, keys)        // keys: Keys{} when unencrypted
//	repo, err := snapshot.OpenExisting(ctx, bucket, keys) // for reads: no repository is an error
//	m, err := repo.Snapshot(ctx, snapshot.SnapshotOptions{PersistDir: dir})
//	list, err := repo.List(ctx)                           // newest first
//	m, err := repo.Manifest(ctx, "latest")
//	res, err := repo.Verify(ctx, id, snapshot.VerifyOptions{ReadData: true})
//	res, err := repo.Restore(ctx, id, snapshot.RestoreOptions{Target: dir})
//	st, err := repo.Status(ctx)
//	attempts, err := repo.Attempts(ctx)                   // status/attempts/<instance>.json
//	res, err := snapshot.RepairConfig(ctx, bucket, writer, reader) // after config.json was lost
//	res, err := repo.Forget(ctx, snapshot.ForgetOptions{Policy: p, Instance: "prod-eu-1"})
//	res, err := repo.Prune(ctx, snapshot.PruneOptions{})
//	removed, err := repo.Unlock(ctx, false, logger)             // stale locks only
//
// Snapshot checks the captured database (PRAGMA integrity_check on the private
// copy); a damaged one is stored anyway, marked in its manifest, and
// reported with ErrSourceCorrupt. Every attempt writes its instance's status
// record; "latest" refuses to roll back past a recorded snapshot that has
// vanished from the bucket (ErrVanished).
//
// Retention: Policy holds restic's keep rules (Apply decides, newest
// first); Forget applies it per instance scope and deletes manifests;
// Prune deletes the blocks no manifest references. Snapshot takes a shared
// lock in the bucket, Forget and Prune an exclusive one (WithLockOptions
// tunes expiry, refresh and waiting); stale locks are taken over.
//
// Encryption: GenerateKeys makes a writer key (age recipient + auth key, for
// the process that takes snapshots; it cannot decrypt) and a reader key (age
// identity + auth key, kept offline, needed to restore). LoadWriterKey and
// LoadReaderKey read them.
//
// Guarantees: a snapshot exists only once its manifest is stored, and the
// manifest is written after every block it lists; cancelling a context
// stops any operation and leaves at most unreferenced blocks. Restore checks
// every byte against the manifest and replaces its target only after the
// restored database has passed its checks.
//
// The engine never prints: progress goes to a Progress callback and logs to
// an optional *slog.Logger. It imports nothing of the collector.
package snapshot
