package alertrulesexporter // import "github.com/otelcol-chroma/otelcol-chroma/exporter/alertrulesexporter"

import (
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
	"go.uber.org/zap"
)

// longestLookback is how far back expr reads: its longest range or subquery
// range plus offset, or the lookback delta of an instant selector.
func longestLookback(expr parser.Expr) time.Duration {
	var longest time.Duration
	parser.Inspect(expr, func(node parser.Node, path []parser.Node) error {
		switch n := node.(type) {
		case *parser.MatrixSelector:
			vs, _ := n.VectorSelector.(*parser.VectorSelector)
			longest = max(longest, n.Range+offsetOf(vs))
		case *parser.SubqueryExpr:
			longest = max(longest, n.Range+n.OriginalOffset)
		case *parser.VectorSelector:
			longest = max(longest, lookbackDelta+n.OriginalOffset)
		}
		return nil
	})
	return longest
}

func offsetOf(vs *parser.VectorSelector) time.Duration {
	if vs == nil {
		return 0
	}
	return vs.OriginalOffset
}

// warnShortWindow logs each rule that reads further back than the window:
// it evaluates as if its range were the window.
func warnShortWindow(logger *zap.Logger, window time.Duration, loaded []rules.Rule) {
	for _, r := range loaded {
		if need := longestLookback(r.Query()); need > window {
			logger.Warn("alertrules: a rule reads further back than the window; it sees only the window",
				zap.String("rule", r.Name()),
				zap.Duration("reads_back", need),
				zap.Duration("window", window),
				zap.String("what_to_do", "raise window to at least reads_back if the rule needs the full range (memory grows with it)"))
		}
	}
}
