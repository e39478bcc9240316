package base

import (
	"context"
	"errors"
	"fmt"
)

// OpError wraps a cloud SDK's error for an operation (op on key, in bucket b)
// as classify says, except that an error caused by ctx's end is reported as
// that end, so callers see context.Canceled rather than a transport error.
func OpError(ctx context.Context, b fmt.Stringer, op, key string, err error, classify func(error) error) error {
	what := op
	if key != "" {
		what += " " + key
	}
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		return fmt.Errorf("%s in %s: %w", what, b, ctxErr)
	}
	return fmt.Errorf("%s in %s: %w", what, b, classify(err))
}

// Permanent wraps err with ErrPermanent and advice for the operator.
func Permanent(advice string, err error) error {
	return fmt.Errorf("%s: %w: %w", advice, ErrPermanent, err)
}

// NoBucket reports that bucket does not exist (ErrNoBucket, ErrPermanent).
func NoBucket(bucket string, err error) error {
	return fmt.Errorf("bucket %s does not exist: create it or fix the bucket name: %w: %w: %w", bucket, ErrNoBucket, ErrPermanent, err)
}
