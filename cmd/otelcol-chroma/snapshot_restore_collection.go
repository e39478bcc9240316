package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/otelcol-chroma/otelcol-chroma/internal/chromaapi"
	"github.com/otelcol-chroma/otelcol-chroma/internal/collrestore"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
)

// Environment variables Chroma's own clients read for token auth.
const (
	envChromaToken       = "CHROMA_CLIENT_AUTH_CREDENTIALS"
	envChromaTokenHeader = "CHROMA_AUTH_TOKEN_TRANSPORT_HEADER"
)

// collectionRestoreFlags are the flags of `snapshot restore-collection`.
type collectionRestoreFlags struct {
	names         []string
	into          string
	as            string
	tenant        string
	database      string
	mode          string
	tokenFile     string
	tokenHeader   string
	batchSize     int
	chromaCommand string
	asJSON        bool
}

// collectionRestoreReport is `snapshot restore-collection --json`.
type collectionRestoreReport struct {
	SnapshotID  string                `json:"snapshot_id"`
	Into        string                `json:"into"`
	Tenant      string                `json:"tenant"`
	Database    string                `json:"database"`
	Restore     time.Duration         `json:"restore_ns"`
	Collections []*collrestore.Result `json:"collections"`
}

func newSnapshotRestoreCollectionCommand(f *snapshotFlags) *cobra.Command {
	var cf collectionRestoreFlags
	cmd := &cobra.Command{
		Use:   "restore-collection [ID|latest] --collection NAME --into URL [--as NEWNAME] [--mode create|upsert]",
		Short: "Restore collections from a snapshot into a running Chroma, through its API",
		Long: `Bring collections of a snapshot (default: latest) back into a running Chroma,
keeping every write made to it since: the snapshot is restored into a scratch
folder (every check of a restore), a Chroma (--chroma-command, or
drill::chroma_command) is started on it on a loopback port, and each
--collection is read through its API in pages and written into the Chroma at
--into in batches, with its metadata and configuration (distance function,
HNSW parameters). The target then holds as many records as the snapshot,
sampled records are compared in full (embeddings bit for bit), and a query
with a stored embedding must find its record first.

--mode create (default) refuses a collection that exists in the target;
--mode upsert merges into it, the snapshot's version of each record winning.
--as NEWNAME restores beside the original, for inspection. A collection is
written under a temporary name (NAME.restoring-<hash>) and renamed once
checked; if the restore is interrupted, run the same command again: it
continues into that collection, writing only what is missing.

The token of a target behind token auth comes from --token-file or
$` + envChromaToken + `, sent as "Authorization: Bearer" or X-Chroma-Token
(--token-header, or $` + envChromaTokenHeader + `); it is never printed.

Exit codes: 0 restored and checked, 1 failed (see the message), 2 wrong
command line, or a collection the snapshot does not hold (nothing was done).`,
		Args: snapshotIDArgs("--into"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRestoreCollection(cmd, f, &cf, idOrLatest(args))
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&cf.names, "collection", nil, "collection to restore (repeatable; required)")
	fl.StringVar(&cf.into, "into", "", "base URL of the running Chroma to restore into, e.g. http://chroma:8000 (required)")
	fl.StringVar(&cf.as, "as", "", "name to restore the collection under (one --collection only; default its own)")
	fl.StringVar(&cf.tenant, "tenant", chromaapi.DefaultTenant, "tenant of the collections, in the snapshot and the target")
	fl.StringVar(&cf.database, "database", chromaapi.DefaultDatabase, "database of the collections, in the snapshot and the target")
	fl.StringVar(&cf.mode, "mode", string(collrestore.ModeCreate), "create: refuse a collection that exists in the target; upsert: merge into it")
	fl.StringVar(&cf.tokenFile, "token-file", "", "file holding the target's auth token (default $"+envChromaToken+")")
	fl.StringVar(&cf.tokenHeader, "token-header", "", "header for the token: Authorization (Bearer, default) or X-Chroma-Token (default $"+envChromaTokenHeader+")")
	fl.IntVar(&cf.batchSize, "batch-size", collrestore.DefaultBatchSize, "records per read and write (lowered to what the servers accept)")
	fl.StringVar(&cf.chromaCommand, "chroma-command", "", "chroma executable to serve the restored snapshot (default: drill::chroma_command)")
	fl.BoolVar(&cf.asJSON, "json", false, "print the outcome as JSON")
	return cmd
}

// check refuses a wrong command line before anything is read.
func (cf *collectionRestoreFlags) check() error {
	switch {
	case len(cf.names) == 0:
		return usageErrorf("restore-collection needs --collection NAME")
	case cf.into == "":
		return usageErrorf("restore-collection needs --into URL (the running Chroma, e.g. http://chroma:8000)")
	case cf.as != "" && len(cf.names) > 1:
		return usageErrorf("--as names one collection, and %d were given", len(cf.names))
	case cf.mode != string(collrestore.ModeCreate) && cf.mode != string(collrestore.ModeUpsert):
		return usageErrorf("--mode %q: use create or upsert", cf.mode)
	case cf.batchSize <= 0:
		return usageErrorf("--batch-size must be at least 1")
	}
	u, err := url.Parse(cf.into)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageErrorf("--into %q: give Chroma's base URL, http://host:port or https://host:port", cf.into)
	}
	if u.User != nil {
		return usageErrorf("--into: credentials in the URL would be printed; put the token in --token-file or $%s", envChromaToken)
	}
	return nil
}

// target is the client for --into, with its token.
func (cf *collectionRestoreFlags) target() (*chromaapi.Client, error) {
	header, err := chromaapi.ParseTokenHeader(cmp.Or(cf.tokenHeader, os.Getenv(envChromaTokenHeader)))
	if err != nil {
		return nil, usageError{err}
	}
	token := os.Getenv(envChromaToken)
	if cf.tokenFile != "" {
		b, err := os.ReadFile(cf.tokenFile)
		if err != nil {
			return nil, usageErrorf("--token-file: %w", err)
		}
		token = strings.TrimSpace(string(b))
		if token == "" {
			return nil, usageErrorf("--token-file %s is empty", cf.tokenFile)
		}
	}
	c := chromaapi.NewClient(cf.into).InDatabase(cf.tenant, cf.database)
	c.Auth = chromaapi.Auth{Header: header, Token: chromaapi.Token(token)}
	return c, nil
}

func runRestoreCollection(cmd *cobra.Command, f *snapshotFlags, cf *collectionRestoreFlags, id string) error {
	if err := cf.check(); err != nil {
		return err
	}
	target, err := cf.target()
	if err != nil {
		return err
	}
	ctx, stop := signalContext(cmd.Context())
	defer stop()
	repo, s, _, err := f.openForReading(ctx)
	if err != nil {
		return err
	}
	drill := s.DrillOptions()
	command := cmp.Or(cf.chromaCommand, drill.ChromaCommand)
	if command == "" {
		return usageErrorf("restore-collection needs a chroma executable to serve the snapshot: --chroma-command PATH or drill::chroma_command")
	}
	if _, err := exec.LookPath(command); err != nil {
		return usageErrorf("--chroma-command (or drill::chroma_command) %s cannot run: %w; give the path of the chroma executable (nothing was done)", command, err)
	}
	m, err := repo.Manifest(ctx, id)
	if err != nil {
		return err
	}
	if err := requireCollections(m, cf.names); err != nil {
		return err
	}
	targetNames := cf.names
	if cf.as != "" {
		targetNames = []string{cf.as}
	}
	if err := collrestore.CheckTarget(ctx, target, targetNames, collrestore.Mode(cf.mode)); err != nil {
		return explainTargetError(err)
	}
	progress := newProgressPrinter(cmd.ErrOrStderr())
	progress.counts = map[snapshot.Phase]string{collrestore.PhaseCopy: "records"}
	report, err := restoreCollections(ctx, repo, m, target, cf, scratchOptions(f, drill, progress, cmd.ErrOrStderr()), command)
	progress.Done()
	if report != nil && cf.asJSON {
		if jerr := writeJSON(cmd.OutOrStdout(), report); jerr != nil {
			return jerr
		}
	}
	if err != nil {
		return explainTargetError(err)
	}
	if !cf.asJSON {
		writeCollectionsRestored(cmd.OutOrStdout(), report)
	}
	return nil
}

func scratchOptions(f *snapshotFlags, drill snapshot.DrillOptions, progress snapshot.Progress, logTo io.Writer) snapshot.ScratchOptions {
	return snapshot.ScratchOptions{
		ScratchDir:  cmp.Or(f.scratchDir, drill.ScratchDir),
		Concurrency: drill.Concurrency,
		Progress:    progress,
		Logger:      f.logger(logTo),
	}
}

// requireCollections refuses, before anything is restored, a name the
// snapshot does not hold, listing the ones it does.
func requireCollections(m *snapshot.Manifest, names []string) error {
	have := make(map[string]bool, len(m.Chroma.Collections))
	var list []string
	for _, c := range m.Chroma.Collections {
		have[c.Name] = true
		list = append(list, fmt.Sprintf("%s (%d records)", c.Name, c.Records))
	}
	for _, n := range names {
		if !have[n] {
			return usageErrorf("snapshot %s has no collection %q; it holds: %s (nothing was done; `snapshot list --collections` shows every snapshot's)",
				m.ID, n, cmp.Or(strings.Join(list, ", "), "no collections"))
		}
	}
	return nil
}

// explainTargetError adds what to do to an error about the target.
func explainTargetError(err error) error {
	switch {
	case errors.Is(err, collrestore.ErrTargetAuth):
		return fmt.Errorf("%w\ncheck the token (--token-file or $%s) and its header (--token-header)", err, envChromaToken)
	case errors.Is(err, collrestore.ErrTargetUnreachable):
		return fmt.Errorf("%w\ncheck --into: Chroma's base URL as its clients use it, reachable from here", err)
	}
	return err
}

// restoreCollections restores m into a scratch folder, serves it with
// Chroma and copies each collection into the target, in order.
func restoreCollections(ctx context.Context, repo *snapshot.Repository, m *snapshot.Manifest, target *chromaapi.Client,
	cf *collectionRestoreFlags, so snapshot.ScratchOptions, command string,
) (*collectionRestoreReport, error) {
	so.ID = m.ID
	sc, err := repo.RestoreScratch(ctx, "restore-collection", so)
	if err != nil {
		return nil, err
	}
	defer sc.Close()
	report := &collectionRestoreReport{SnapshotID: m.ID, Into: cf.into, Tenant: cf.tenant, Database: cf.database, Restore: sc.Restore}
	if so.Progress != nil {
		so.Progress.Report(snapshot.Update{Phase: snapshot.PhaseChroma})
	}
	srv, _, err := sc.Serve(ctx, command, 0)
	if err != nil {
		return nil, err
	}
	for _, name := range cf.names {
		source, err := sourceClient(sc, srv.Client, m, name, cf)
		if err != nil {
			return report, err
		}
		res, err := collrestore.Copy(ctx, collrestore.Options{
			Source: source, Target: target, Name: name, As: cf.as, Mode: collrestore.Mode(cf.mode),
			BatchSize: cf.batchSize, SnapshotID: m.ID, Progress: so.Progress,
		})
		if err != nil {
			return report, err
		}
		report.Collections = append(report.Collections, res)
	}
	return report, nil
}

// sourceClient finds the named collection's database in the restored
// snapshot: the one named by --tenant/--database, or the only one holding
// that name.
func sourceClient(sc *snapshot.ScratchCopy, c *chromaapi.Client, m *snapshot.Manifest, name string, cf *collectionRestoreFlags) (*chromaapi.Client, error) {
	var found []*chromaapi.Client
	var where []string
	for _, col := range m.Chroma.Collections {
		if col.Name != name {
			continue
		}
		tenant, database := sc.Database(col.ID)
		if tenant == cf.tenant && database == cf.database {
			return c.InDatabase(tenant, database), nil
		}
		found, where = append(found, c.InDatabase(tenant, database)), append(where, tenant+"/"+database)
	}
	if len(found) == 1 {
		return found[0], nil
	}
	return nil, fmt.Errorf("collection %q is in several databases of the snapshot (%s), none of them %s/%s: pass --tenant and --database",
		name, strings.Join(where, ", "), cf.tenant, cf.database)
}

func writeCollectionsRestored(w io.Writer, r *collectionRestoreReport) {
	for _, c := range r.Collections {
		how := "created"
		switch {
		case c.Merged:
			how = "merged into the existing collection"
		case c.Resumed:
			how = fmt.Sprintf("continued an interrupted restore (%d records were already there)", c.Skipped)
		}
		query := ""
		switch {
		case c.Queried:
			query = ", a query with a stored embedding found its record first"
		case c.QueryNote != "":
			query = "; " + c.QueryNote
		}
		fmt.Fprintf(w, "restored collection %q from snapshot %s into %s as %q (%s/%s): %d records, %s; distance %s; checked: the record count, every id, %d records in full (embeddings %s)%s (%s)\n",
			c.Name, r.SnapshotID, r.Into, c.Target, r.Tenant, r.Database, c.Records, how, c.Space, c.Checked, c.Embeddings, query, c.Duration.Round(time.Millisecond))
	}
}
