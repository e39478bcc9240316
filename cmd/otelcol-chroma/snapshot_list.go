package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/otelcol-chroma/otelcol-chroma/internal/snapshot"
)

// listEntry is one snapshot in `snapshot list --json`.
type listEntry struct {
	ID          string    `json:"id"`
	Time        time.Time `json:"time,omitzero"`
	Size        *int64    `json:"size_bytes,omitempty"`
	Added       *int64    `json:"added_bytes,omitempty"`
	Collections *int      `json:"collections,omitempty"`
	Records     *int64    `json:"records,omitempty"`
	Instance    string    `json:"instance,omitempty"`
	// Damaged marks a snapshot that must not be trusted; Error says why.
	Damaged bool   `json:"damaged,omitempty"`
	Error   string `json:"error,omitempty"`
	// SourceDamaged: the live database failed its check at capture; the
	// snapshot holds it as it was and restores only with --no-check.
	SourceDamaged  bool     `json:"source_damaged,omitempty"`
	SourceProblems []string `json:"source_problems,omitempty"`
	// CollectionList is each collection's name, id and records, with
	// --collections.
	CollectionList []snapshot.Collection `json:"collection_list,omitempty"`
}

// errDamagedListed makes `list` exit non-zero when it shows a damaged
// snapshot, so a script notices without parsing the table.
func errDamagedListed(entries []listEntry) error {
	n := 0
	for _, e := range entries {
		if e.Damaged {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d snapshots are DAMAGED (see the list): do not restore them; run `snapshot verify ID` on the others and take a new snapshot", n, len(entries))
}

func newSnapshotListCommand(f *snapshotFlags) *cobra.Command {
	var asJSON, collections bool
	cmd := &cobra.Command{
		Use:   "list [--collections] [--json]",
		Short: "List the snapshots in the bucket, newest first",
		Long: `List the snapshots in the bucket, newest first: time, id, logical size, bytes
the snapshot added to the bucket, collections and records. With --collections,
each snapshot's collections follow it: name, id and records, to find the
snapshot taken before a collection was deleted (restore-collection brings it
back).

In an encrypted bucket the details need the reader key; without it only ids
and times are shown.

A snapshot whose manifest cannot be read, authenticated or decoded is listed
as DAMAGED, with the reason on a line of its own under it ("damaged": true
and "error" with --json), and list then exits 1.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			repo, _, keys, err := f.openForReading(ctx)
			if err != nil {
				return err
			}
			list, err := repo.List(ctx)
			if err != nil {
				return err
			}
			entries := make([]listEntry, 0, len(list))
			for _, sum := range list {
				e := toListEntry(sum)
				if collections && sum.Manifest != nil {
					e.CollectionList = sum.Manifest.Chroma.Collections
				}
				entries = append(entries, e)
			}
			if asJSON {
				if err := writeJSON(cmd.OutOrStdout(), entries); err != nil {
					return err
				}
			} else {
				writeListTable(cmd.OutOrStdout(), entries, repo.Encrypted() && !keys.CanRead())
			}
			return errDamagedListed(entries)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&collections, "collections", false, "list each snapshot's collections: name, id, records")
	return cmd
}

func toListEntry(sum snapshot.Summary) listEntry {
	e := listEntry{ID: sum.ID, Time: sum.Created}
	if sum.Err != nil {
		e.Damaged, e.Error = true, sum.Err.Error()
	}
	if m := sum.Manifest; m != nil {
		e.Time = m.Created
		size, added, colls, recs := m.Stats.LogicalBytes, m.Stats.AddedBytes, len(m.Chroma.Collections), m.Records()
		e.Size, e.Added, e.Collections, e.Records = &size, &added, &colls, &recs
		e.Instance = m.Instance
		if m.SourceDamaged() {
			e.SourceDamaged, e.SourceProblems = true, m.SourceCheck.Problems
		}
	}
	return e
}

// sourceDamagedNote marks a snapshot of a damaged database in tables.
const sourceDamagedNote = "SOURCE DAMAGED (restore needs --no-check)"

func writeListTable(w io.Writer, entries []listEntry, noReaderKey bool) {
	if len(entries) == 0 {
		fmt.Fprintln(w, "no snapshots")
		return
	}
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME (UTC)\tID\tSIZE\tADDED\tCOLLECTIONS\tRECORDS\t")
	// A damaged snapshot's reason goes on a line of its own under its row,
	// outside the columns: a long one must not widen every column.
	reasons := make(map[int]string)
	rows := 1
	for _, e := range entries {
		if e.Error != "" {
			fmt.Fprintf(tw, "%s\t%s\tDAMAGED\t-\t-\t-\t\n", listTime(e.Time), e.ID)
			reasons[rows] = "  why: " + oneLine(e.Error)
			rows++
			continue
		}
		note := ""
		if e.SourceDamaged {
			note = sourceDamagedNote
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", listTime(e.Time), e.ID,
			optBytes(e.Size), optBytes(e.Added), optInt(e.Collections), optInt(e.Records), note)
		for _, c := range e.CollectionList {
			fmt.Fprintf(tw, "  - %s\t%s\t\t\t\t%d\t\n", c.Name, c.ID, c.Records)
		}
		rows += 1 + len(e.CollectionList)
	}
	tw.Flush()
	for i, line := range strings.SplitAfter(strings.TrimSuffix(table.String(), "\n"), "\n") {
		fmt.Fprintln(w, strings.TrimSuffix(line, "\n"))
		if r, ok := reasons[i]; ok {
			fmt.Fprintln(w, r)
		}
	}
	if noReaderKey {
		fmt.Fprintln(w, "(encrypted: pass --reader-key to see sizes, collections and records)")
	}
}

// oneLine keeps a message on one line of the table: line breaks and tabs
// become spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' || r == '\v' || r == '\f' {
			return ' '
		}
		return r
	}, s)
}

// listTime shows a snapshot's time; a manifest whose name is not a
// snapshot id has none.
func listTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.DateTime)
}

func optBytes(p *int64) string {
	if p == nil {
		return "-"
	}
	return humanBytes(*p)
}

func optInt[T int | int64](p *T) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprint(*p)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
