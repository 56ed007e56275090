//go:build aws

package dns

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/route53"
)

// TestRoute53AgainstAWS runs the provider against a real account (go test -tags aws ./internal/dns/ with
// credentials in the environment): it creates a throwaway public zone, applies, reads back, changes, empties
// and deletes it. A public hosted zone deleted within 12 hours is not charged.
func TestRoute53AgainstAWS(t *testing.T) {
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" && os.Getenv("AWS_PROFILE") == "" && os.Getenv("AWS_WEB_IDENTITY_TOKEN_FILE") == "" {
		t.Skip("no AWS credentials in the environment")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client := route53.NewFromConfig(awsCfg)
	zone := fmt.Sprintf("goldenpath-test-%d.com", time.Now().UnixNano())
	p := NewRoute53(client, Route53Config{WaitTimeout: 5 * time.Minute, PollInterval: 5 * time.Second})
	hz, err := p.EnsureZone(ctx, zone)
	if err != nil {
		t.Fatal(err)
	}
	if !hz.Created || len(hz.NameServers) == 0 {
		t.Fatalf("EnsureZone: %+v, want a created zone with name servers", hz)
	}
	opts := Options{Zone: zone, OwnerID: "goldenpath-test"}
	t.Cleanup(func() {
		ctx := context.Background()
		if _, err := Sync(ctx, p, nil, opts); err != nil {
			t.Errorf("emptying %s: %v", zone, err)
		}
		if _, err := client.DeleteHostedZone(ctx, &route53.DeleteHostedZoneInput{Id: aws.String(hz.ID)}); err != nil {
			t.Errorf("deleting hosted zone %s (%s): %v — delete it by hand", zone, hz.ID, err)
		}
	})
	desired := []Record{
		{Name: "*.dev." + zone, Type: TypeCNAME, TTL: 300, Targets: []string{"lb.example.com"}, Resource: "gateway/dev"},
		{Name: "web." + zone, Type: TypeA, TTL: 300, Targets: []string{"192.0.2.10"}, Resource: "route/prod/web"},
		{Name: "www." + zone, Type: TypeA, Resource: "route/prod/www", Alias: &Alias{HostedZoneID: hz.ID, DNSName: "web." + zone}},
		{Name: "note." + zone, Type: TypeTXT, TTL: 300, Targets: []string{`say "hi"`}, Resource: "route/prod/note"},
	}
	if _, err := Sync(ctx, p, desired, opts); err != nil {
		t.Fatal(err)
	}
	got, err := p.Records(ctx, zone)
	if err != nil {
		t.Fatal(err)
	}
	if plan, err := Calculate(desired, got, opts); err != nil || plan.HasChanges() || len(plan.Conflicts) > 0 {
		t.Fatalf("plan against what AWS reads back: %v\n%s\nwant nothing to do", err, plan)
	}
	desired[1].Targets = []string{"192.0.2.11"}
	plan, err := Sync(ctx, p, desired[:2], opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Update) != 1 || len(plan.Delete) != 4 {
		t.Errorf("second plan:\n%s\nwant web updated, www and note deleted with their ownership records", plan)
	}
}
