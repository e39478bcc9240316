package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
)

func newSnapshotKeygenCommand() *cobra.Command {
	var writerPath, readerPath string
	cmd := &cobra.Command{
		Use:   "keygen --writer-key FILE --reader-key FILE",
		Short: "Make a key pair for encrypted snapshots",
		Long: `Make a key pair for encrypted snapshots.

The writer key encrypts snapshots and authenticates them; it cannot decrypt
them. Give it to the collector that takes snapshots (encryption::writer_key_file).
The reader key decrypts: keep it offline (a vault, a safe); restore, verify
and restore tests need it. Someone holding only the bucket learns nothing but
sizes and times, and cannot make a restore return altered data.

Existing files are never overwritten.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if writerPath == "" || readerPath == "" {
				return usageErrorf("keygen needs --writer-key FILE and --reader-key FILE")
			}
			w, _ := filepath.Abs(writerPath)
			r, _ := filepath.Abs(readerPath)
			if w == r {
				return usageErrorf("--writer-key and --reader-key name the same file %s: the two keys go in two different files", writerPath)
			}
			writer, reader, err := snapshot.GenerateKeys()
			if err != nil {
				return err
			}
			if err := writeNewFile(readerPath, reader); err != nil {
				return err
			}
			if err := writeNewFile(writerPath, writer); err != nil {
				os.Remove(readerPath)
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote writer key %s (for the collector) and reader key %s (keep it offline; restores need it)\n", writerPath, readerPath)
			return nil
		},
	}
	// The persistent --writer-key/--reader-key of `snapshot` name files to read;
	// here they name files to create.
	cmd.Flags().StringVar(&writerPath, "writer-key", "", "file to create with the writer key")
	cmd.Flags().StringVar(&readerPath, "reader-key", "", "file to create with the reader key")
	return cmd
}

func writeNewFile(path string, data []byte) error {
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s exists: keygen never overwrites a key", path)
		}
		return err
	}
	if _, err := fh.Write(data); err != nil {
		fh.Close()
		os.Remove(path)
		return err
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		os.Remove(path)
		return err
	}
	return fh.Close()
}
