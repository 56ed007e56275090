package aws

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/goldenpathidp/goldenpath/internal/platform"
)

// Validate checks the settings with platform.yaml's rules for an aws block; the error names the field as
// platform.yaml does.
func (c Config) Validate() error {
	a := platform.AWS{Region: c.Region, Account: c.Account, AssumeRoleARN: c.AssumeRole.ARN, ExternalID: c.AssumeRole.ExternalID}
	if ps := a.Problems(true); len(ps) > 0 {
		return fmt.Errorf("%s: %s", ps[0].Field, ps[0].Message)
	}
	return nil
}

// AWSConfig loads the SDK configuration: the default credential chain (IRSA and EKS Pod Identity in a
// cluster, profiles and environment variables on a laptop), then the configured role assumed on top of it.
// Extra options (e.g. an endpoint for tests) are applied to the loading.
func (c Config) AWSConfig(ctx context.Context, opts ...func(*config.LoadOptions) error) (aws.Config, error) {
	if err := c.Validate(); err != nil {
		return aws.Config{}, err
	}
	cfg, err := config.LoadDefaultConfig(ctx, append([]func(*config.LoadOptions) error{config.WithRegion(c.Region)}, opts...)...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if c.AssumeRole.ARN != "" {
		p := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), c.AssumeRole.ARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "goldenpath"
			if c.AssumeRole.ExternalID != "" {
				o.ExternalID = aws.String(c.AssumeRole.ExternalID)
			}
		})
		cfg.Credentials = aws.NewCredentialsCache(p)
	}
	return cfg, nil
}
