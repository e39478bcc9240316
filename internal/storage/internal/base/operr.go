package base

import (
	"context"
	"errors"
	"fmt"
)

// OpError wraps a backend's failed operation on key (which may be empty)
// with what was done where: with the context's own error when the context
// ended (so a shutdown never reads as a store failure), else with what
// classify makes of err.
func OpError(ctx context.Context, bucket fmt.Stringer, op, key string, err error, classify func(error) error) error {
	what := op
	if key != "" {
		what += " " + key
	}
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		return fmt.Errorf("%s in %s: %w", what, bucket, ctxErr)
	}
	return fmt.Errorf("%s in %s: %w", what, bucket, classify(err))
}

// Permanent wraps err with ErrPermanent and advice for the operator.
func Permanent(advice string, err error) error {
	return fmt.Errorf("%s: %w: %w", advice, ErrPermanent, err)
}

// NoBucket reports that bucket does not exist (ErrNoBucket, ErrPermanent).
func NoBucket(bucket string, err error) error {
	return fmt.Errorf("bucket %s does not exist: create it or fix the bucket name: %w: %w: %w", bucket, ErrNoBucket, ErrPermanent, err)
}
