package azblob

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/internal/base"
)

// opError maps an SDK error to the storage package's error kinds, adding what
// an operator should check.
func (b *Bucket) opError(ctx context.Context, op, key string, err error) error {
	return base.OpError(ctx, b, op, key, err, func(err error) error { return classify(b.name, err) })
}

// classify turns an SDK error into ErrNotExist, ErrNoBucket, a wrapped
// ErrPermanent with advice, or the error itself (transient).
func classify(name string, err error) error {
	// azidentity marks a credential chain that found nothing usable (and
	// other failures no retry fixes) with NonRetriable; AuthenticationFailed
	// (a token endpoint's answer) may be an outage, so it stays transient.
	if _, ok := errors.AsType[nonRetriable](err); ok {
		return base.Permanent(fmt.Sprintf("no usable credentials for %s: set an account key or SAS token, or configure Azure's credential chain (AZURE_* variables, workload identity, managed identity)", name), err)
	}
	switch {
	case bloberror.HasCode(err, bloberror.BlobNotFound):
		return fmt.Errorf("%w (%w)", base.ErrNotExist, err)
	case bloberror.HasCode(err, bloberror.ContainerNotFound, bloberror.ContainerBeingDeleted):
		return fmt.Errorf("container of %s does not exist: create it or fix the container name: %w: %w: %w", name, base.ErrNoBucket, base.ErrPermanent, err)
	case bloberror.HasCode(err, bloberror.AuthenticationFailed, bloberror.InvalidAuthenticationInfo, bloberror.NoAuthenticationInformation):
		return base.Permanent(fmt.Sprintf("access denied to %s: the service rejected the credentials; check the account key, SAS token or identity", name), err)
	case bloberror.HasCode(err, bloberror.AuthorizationFailure, bloberror.AuthorizationPermissionMismatch,
		bloberror.InsufficientAccountPermissions, bloberror.AccountIsDisabled, bloberror.AuthorizationResourceTypeMismatch,
		bloberror.AuthorizationServiceMismatch, bloberror.AuthorizationSourceIPMismatch, bloberror.AuthorizationProtocolMismatch):
		return base.Permanent(fmt.Sprintf("access denied to %s: give the identity the Storage Blob Data Contributor role on the container (or a SAS with read, add, create, write, delete and list)", name), err)
	case bloberror.HasCode(err, bloberror.InvalidBlockList, bloberror.BlobBeingRehydrated, bloberror.ServerBusy,
		bloberror.OperationTimedOut, bloberror.InternalError, bloberror.LeaseIDMissing):
		// InvalidBlockList: another writer committed the same blob while
		// this upload staged its blocks, which discards them; a retry
		// uploads afresh.
		return err
	}
	status := statusCode(err)
	switch {
	case status == http.StatusInsufficientStorage:
		return fmt.Errorf("the store of %s is full: free space or raise its quota: %w: %w: %w", name, base.ErrNoSpace, base.ErrPermanent, err)
	case status == http.StatusNotFound:
		return fmt.Errorf("%w (%w)", base.ErrNotExist, err)
	case status == http.StatusForbidden || status == http.StatusUnauthorized:
		return base.Permanent(fmt.Sprintf("access denied to %s: check the account key, SAS token or identity, and its role on the container", name), err)
	case status >= 400 && status < 500 && status != http.StatusRequestTimeout &&
		status != http.StatusConflict && status != http.StatusTooManyRequests:
		return base.Permanent(fmt.Sprintf("%s rejected the request", name), err)
	}
	return err
}

type nonRetriable interface {
	error
	NonRetriable()
}

func statusCode(err error) int {
	if re, ok := errors.AsType[*azcore.ResponseError](err); ok {
		return re.StatusCode
	}
	return 0
}

// isAlreadyExists recognizes a create refused because the blob exists: Azure
// answers If-None-Match: * on an existing blob with 409 BlobAlreadyExists
// (single upload) or 412 ConditionNotMet (block list commit).
func isAlreadyExists(err error) bool {
	return bloberror.HasCode(err, bloberror.BlobAlreadyExists, bloberror.ConditionNotMet) ||
		statusCode(err) == http.StatusPreconditionFailed
}
