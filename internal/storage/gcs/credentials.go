package gcs

import (
	"encoding/json"
	"fmt"
	"os"

	"google.golang.org/api/option"

	"github.com/otelcol-chroma/otelcol-chroma/internal/storage/internal/base"
)

// credentialTypes are the key files a bucket accepts, by their "type"
// field. The SDK wants the type named: a file of another type could make it
// fetch tokens from wherever the file says.
var credentialTypes = map[string]option.CredentialsType{
	"service_account":              option.ServiceAccount,
	"external_account":             option.ExternalAccount,
	"authorized_user":              option.AuthorizedUser,
	"impersonated_service_account": option.ImpersonatedServiceAccount,
}

// credentialsFileOption reads the key file's type, never its secrets, and
// returns the option that makes the SDK use it. Errors name the file, not
// its content, and wrap base.ErrPermanent.
func credentialsFileOption(bucket, path string) (option.ClientOption, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("gcs bucket %s: read credentials file: %w: %w", bucket, err, base.ErrPermanent)
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("gcs bucket %s: credentials file %s is not a JSON key file (download a service account key, or write a workload identity federation config with gcloud): %w", bucket, path, base.ErrPermanent)
	}
	t, ok := credentialTypes[head.Type]
	if !ok {
		return nil, fmt.Errorf("gcs bucket %s: credentials file %s has type %q; want service_account, external_account, authorized_user or impersonated_service_account: %w", bucket, path, head.Type, base.ErrPermanent)
	}
	return option.WithAuthCredentialsFile(t, path), nil
}
