package local

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"

	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/objectstore"
	"github.com/goldenpathidp/goldenpath/internal/plan"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/reconcile"
	"github.com/goldenpathidp/goldenpath/internal/secrets"
)

// ObjectStore is what the S3 provisioner needs of the embedded object store.
type ObjectStore interface {
	CreateBucket(ctx context.Context, name string, o objectstore.BucketOptions) (bool, error)
	Bucket(ctx context.Context, name string) (objectstore.BucketInfo, bool, error)
	DeleteBucket(ctx context.Context, name string, force bool) error
}

// S3 provisions S3Requests as buckets of the embedded object store, with an access key pair for the owner.
type S3 struct {
	Store    ObjectStore
	Vault    Vault
	Endpoint string // e.g. http://127.0.0.1:7071
	Region   string
}

var _ reconcile.Provisioner = (*S3)(nil)

// BucketName is the bucket of an S3Request: "<name>-<environment>".
func BucketName(r *contract.Request) string { return r.BucketName() }

func (p *S3) options(r *contract.Request, cfg *platform.Config) objectstore.BucketOptions {
	return objectstore.BucketOptions{Versioning: r.Spec.Versioning, QuotaBytes: int64(cfg.SizeClasses.S3[r.Spec.Size].QuotaGB) << 30, Tags: labels(r)}
}

func (p *S3) Describe(r *contract.Request, cfg *platform.Config) []plan.Resource {
	return []plan.Resource{
		{Type: "S3 bucket", Name: BucketName(r), Settings: []plan.Setting{
			{Name: "endpoint", Value: p.Endpoint},
			{Name: "versioning", Value: yesNo(r.Spec.Versioning)},
			{Name: "quota", Value: quota(cfg.SizeClasses.S3[r.Spec.Size].QuotaGB, "GiB")},
			{Name: "public access", Value: "blocked"},
		}},
		{Type: "access key", Name: "for " + r.Metadata.Owner, Settings: []plan.Setting{{Name: "scope", Value: "bucket " + BucketName(r) + " only"}}},
	}
}

func (p *S3) ConfigKey(r *contract.Request, cfg *platform.Config) string {
	return fmt.Sprint(cfg.SizeClasses.S3[r.Spec.Size].QuotaGB)
}

// accessKey is stored in the vault under "accesskey/<id>" so the object store can verify signatures.
type accessKey struct {
	Secret  string   `json:"secret"`
	Buckets []string `json:"buckets"`
	Subject string   `json:"subject"`
	Request string   `json:"request"`
}

func (p *S3) Apply(ctx context.Context, r *contract.Request, cfg *platform.Config, rec reconcile.Recorder) (reconcile.Outputs, error) {
	bucket := BucketName(r)
	if err := objectstore.ValidateBucketName(bucket); err != nil {
		return nil, reconcile.Permanent("InvalidBucketName", "bucket name %q: %v", bucket, err)
	}
	info, exists, err := p.Store.Bucket(ctx, bucket)
	if err != nil {
		return nil, reconcile.Transient("ObjectStoreError", err, "looking up bucket %s", bucket)
	}
	if exists && info.Options.Tags[LabelRequestID] != string(r.ID()) {
		return nil, notManaged("bucket", bucket, r, info.Options.Tags[LabelRequestID])
	}
	if err := rec.Step(ctx, "create bucket "+bucket); err != nil {
		return nil, err
	}
	if _, err := p.Store.CreateBucket(ctx, bucket, p.options(r, cfg)); err != nil {
		return nil, reconcile.Transient("ObjectStoreError", err, "creating bucket %s", bucket)
	}
	if err := p.revokeIfTransferred(ctx, r, rec); err != nil {
		return nil, err
	}
	if err := rec.Step(ctx, "issue access key for "+r.Metadata.Owner); err != nil {
		return nil, err
	}
	keyID, err := p.accessKey(ctx, r, bucket)
	if err != nil {
		return nil, err
	}
	if err := recordHolder(ctx, p.Vault, r); err != nil {
		return nil, err
	}
	return reconcile.Outputs{"endpoint": p.Endpoint, "region": p.Region, "bucket": bucket, "accessKeyId": keyID,
		"addressing": "path-style"}, nil
}

// revokeIfTransferred revokes the access key issued to r's previous owners, if r changed hands.
func (p *S3) revokeIfTransferred(ctx context.Context, r *contract.Request, rec reconcile.Recorder) error {
	id, _, err := p.Vault.Get(ctx, SecretPrefix(r.ID())+"accessKeyId")
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return reconcile.Transient("VaultError", err, "reading the access key")
	}
	_, err = revokeOnTransfer(ctx, p.Vault, r, rec, "accesskey/"+id.Reveal(), SecretPrefix(r.ID())+"accessKeyId", SecretPrefix(r.ID())+"secretAccessKey")
	return err
}

// accessKey returns the request's key ID, creating the pair (ID first, then its secret) if needed.
func (p *S3) accessKey(ctx context.Context, r *contract.Request, bucket string) (string, error) {
	id, err := getOrCreate(ctx, p.Vault, SecretPrefix(r.ID())+"accessKeyId", newKeyID)
	if err != nil {
		return "", err
	}
	secret, err := getOrCreate(ctx, p.Vault, SecretPrefix(r.ID())+"secretAccessKey", func() secrets.Value { return secrets.Generate(40) })
	if err != nil {
		return "", err
	}
	raw, _ := json.Marshal(accessKey{Secret: secret.Reveal(), Buckets: []string{bucket}, Subject: r.Metadata.Owner, Request: string(r.ID())})
	if err := p.Vault.Put(ctx, "accesskey/"+id.Reveal(), secrets.Value(raw), "goldenpath"); err != nil {
		return "", reconcile.Transient("VaultError", err, "registering the access key")
	}
	return id.Reveal(), nil
}

func newKeyID() secrets.Value {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return secrets.Value("GPAK" + string(b))
}

func (p *S3) Delete(ctx context.Context, r *contract.Request, _ *platform.Config, rec reconcile.Recorder) error {
	if id, _, err := p.Vault.Get(ctx, SecretPrefix(r.ID())+"accessKeyId"); err == nil {
		if err := rec.Step(ctx, "revoke access key"); err != nil {
			return err
		}
		if err := p.Vault.Delete(ctx, "accesskey/"+id.Reveal()); err != nil {
			return reconcile.Transient("VaultError", err, "revoking the access key")
		}
	}
	bucket := BucketName(r)
	info, exists, err := p.Store.Bucket(ctx, bucket)
	if err != nil {
		return reconcile.Transient("ObjectStoreError", err, "looking up bucket %s", bucket)
	}
	if exists && info.Options.Tags[LabelRequestID] == string(r.ID()) {
		if err := rec.Step(ctx, "delete bucket "+bucket+" and its objects"); err != nil {
			return err
		}
		if err := p.Store.DeleteBucket(ctx, bucket, true); err != nil {
			return reconcile.Transient("ObjectStoreError", err, "deleting bucket %s", bucket)
		}
	}
	for _, n := range []string{SecretPrefix(r.ID()) + "accessKeyId", SecretPrefix(r.ID()) + "secretAccessKey", holderName(r.ID())} {
		if err := p.Vault.Delete(ctx, n); err != nil {
			return reconcile.Transient("VaultError", err, "deleting %s", n)
		}
	}
	return nil
}

// Keys lets the object store verify signatures with the access keys S3 provisioning issued.
type Keys struct {
	Vault Vault
	Admin *objectstore.Credential // optional key with access to every bucket
}

var _ objectstore.Credentials = (*Keys)(nil)

func (k *Keys) LookupKey(ctx context.Context, id string) (objectstore.Credential, bool, error) {
	if k.Admin != nil && id == k.Admin.AccessKeyID {
		return *k.Admin, true, nil
	}
	raw, _, err := k.Vault.Get(ctx, "accesskey/"+id)
	if isNotFound(err) {
		return objectstore.Credential{}, false, nil
	}
	if err != nil {
		return objectstore.Credential{}, false, err
	}
	var ak accessKey
	if err := json.Unmarshal(raw, &ak); err != nil {
		return objectstore.Credential{}, false, fmt.Errorf("access key %s is corrupt: %w", id, err)
	}
	return objectstore.Credential{AccessKeyID: id, SecretAccessKey: ak.Secret, Buckets: ak.Buckets, Subject: ak.Subject}, true, nil
}
