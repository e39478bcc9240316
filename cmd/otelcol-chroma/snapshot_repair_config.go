package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshotconfig"
)

func newSnapshotRepairConfigCommand(f *snapshotFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "repair-config",
		Short: "Rebuild a deleted config.json from the snapshots' manifests",
		Long: `Rebuild the repository's config.json from its manifests, after it was
deleted or lost: without it no snapshot lists or restores, and snapshot now
refuses to start a new repository over the old snapshots.

Every manifest repeats the repository id and block size; they must all agree,
else nothing is written. An encrypted repository needs both keys: the reader
key (--reader-key) to read the manifests, the writer key (--writer-key) whose
recipients the new config.json records. Unreadable manifests are skipped and
named. A bucket that still has its config.json is refused.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			s, err := f.settings(ctx)
			if err != nil {
				return err
			}
			writer, reader, err := repairKeys(&s)
			if err != nil {
				return err
			}
			bucket, err := openBucket(ctx, &s)
			if err != nil {
				return err
			}
			res, err := snapshot.RepairConfig(ctx, bucket, writer, reader)
			if err != nil {
				return err
			}
			printRepair(cmd, bucket.String(), res)
			return nil
		},
	}
}

// repairKeys loads no key (unencrypted) or both.
func repairKeys(s *snapshotconfig.Settings) (writer, reader snapshot.Keys, err error) {
	w, r := s.Encryption.WriterKeyFile, s.Encryption.ReaderKeyFile
	switch {
	case w == "" && r == "":
		return writer, reader, nil
	case w == "" || r == "":
		return writer, reader, usageErrorf("an encrypted repository's config.json is rebuilt with both keys: pass --writer-key and --reader-key (or neither, for an unencrypted one)")
	}
	if writer, err = s.WriterKeys(); err != nil {
		return writer, reader, err
	}
	reader, err = s.ReaderKeys()
	return writer, reader, err
}

func printRepair(cmd *cobra.Command, bucket string, res *snapshot.RepairResult) {
	out := cmd.OutOrStdout()
	enc := "unencrypted"
	if res.Encrypted {
		enc = "encrypted"
	}
	fmt.Fprintf(out, "rebuilt config.json in %s: repository %s, block size %d, %s, from %d manifests\n",
		bucket, res.RepositoryID, res.BlockSize, enc, res.Manifests)
	if len(res.Damaged) > 0 {
		fmt.Fprintf(out, "skipped %d unreadable manifests:\n  %s\n", len(res.Damaged), strings.Join(res.Damaged, "\n  "))
	}
	fmt.Fprintln(out, "next: `snapshot verify latest --read-data` checks that the newest snapshot restores")
}
