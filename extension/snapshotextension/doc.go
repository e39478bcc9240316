//go:generate ../../.tools/bin/mdatagen metadata.yaml

// Package snapshotextension takes snapshots of a Chroma persist directory on a
// schedule inside the collector: the same engine call as `otelcol-chroma
// snapshot now`, configured by the same settings block.
package snapshotextension // import "github.com/otelcol-chroma/otelcol-chroma/extension/snapshotextension"
