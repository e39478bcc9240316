package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
)

func newSnapshotVerifyCommand(f *snapshotFlags) *cobra.Command {
	var readData bool
	cmd := &cobra.Command{
		Use:   "verify [ID|latest]",
		Short: "Check that a snapshot is complete (and, with --read-data, that every byte is intact)",
		Long: `Check a snapshot (default: latest). Without --read-data: its manifest
authenticates and every block it lists exists. With --read-data: every block is
downloaded, decrypted, decompressed and hashed against the manifest.`,
		Args: snapshotIDArgs(""),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			repo, s, _, err := f.openForReading(ctx)
			if err != nil {
				return err
			}
			progress := newProgressPrinter(cmd.ErrOrStderr())
			progress.countsBlocks = !readData
			res, err := repo.Verify(ctx, idOrLatest(args), snapshot.VerifyOptions{
				ReadData:    readData,
				Concurrency: s.Concurrency,
				Progress:    progress,
			})
			progress.Done()
			out := cmd.OutOrStdout()
			if res != nil {
				for _, s := range res.Skipped {
					fmt.Fprintf(cmd.ErrOrStderr(), "warning: not the newest snapshot: %s\n", s)
				}
				for _, p := range res.Problems {
					fmt.Fprintf(out, "problem: %s\n", p)
				}
			}
			if err != nil {
				return err
			}
			how := "every block exists"
			if readData {
				how = "every byte read and matches"
			}
			fmt.Fprintf(out, "snapshot %s: OK, %s (%d files, %d blocks, %s)\n", res.ID, how, res.Files, res.Blocks, humanBytes(res.Bytes))
			return nil
		},
	}
	cmd.Flags().BoolVar(&readData, "read-data", false, "download and check every block")
	return cmd
}
