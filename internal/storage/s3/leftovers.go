package s3

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// RemoveLeftovers aborts the multipart uploads under the bucket's prefix
// that were started before olderThan: a writer killed mid-upload leaves
// them, invisible to List but stored (and billed) until aborted. Younger
// ones may belong to a write still running. With dryRun it only counts
// them. Their size is not known without listing parts, so it reports 0.
func (b *Bucket) RemoveLeftovers(ctx context.Context, olderThan time.Time, dryRun bool) (n int, size int64, err error) {
	in := &s3.ListMultipartUploadsInput{Bucket: &b.bucket, Prefix: aws.String(b.prefix)}
	for {
		page, err := b.client.ListMultipartUploads(ctx, in)
		if err != nil {
			return n, 0, b.opError(ctx, "list pending uploads", "", err)
		}
		for _, u := range page.Uploads {
			if !aws.ToTime(u.Initiated).Before(olderThan) {
				continue
			}
			if !dryRun {
				_, err := b.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &b.bucket, Key: u.Key, UploadId: u.UploadId})
				if err != nil {
					return n, 0, b.opError(ctx, "abort pending upload of", aws.ToString(u.Key), err)
				}
			}
			n++
		}
		if !aws.ToBool(page.IsTruncated) {
			return n, 0, nil
		}
		in.KeyMarker, in.UploadIdMarker = page.NextKeyMarker, page.NextUploadIdMarker
	}
}
