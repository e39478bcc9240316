//go:generate mdatagen metadata.yaml

// Package alertrulesexporter evaluates Prometheus alerting and recording rules
// over the metrics its pipeline receives, with Prometheus' own rule engine, and
// sends the alerts to Alertmanager through Prometheus' notifier.
package alertrulesexporter // import "github.com/otelcol-chroma/otelcol-chroma/exporter/alertrulesexporter"
