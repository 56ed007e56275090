package dns

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"
	"github.com/sivchari/kumo"
)

// kumoClient is the real Route53 client talking to kumo, the in-process AWS emulator.
func kumoClient(t *testing.T) *route53.Client {
	t.Helper()
	srv := kumo.NewServer()
	t.Cleanup(srv.Close)
	return route53.New(route53.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(srv.URL),
	})
}

// kumoZones counts the zones named, so that a test run again in one process (-count) gets a new one.
var kumoZones atomic.Int64

// kumoZone names a zone for one test: kumo keeps its hosted zones process-wide, shared by every server.
func kumoZone(t *testing.T) string {
	name := strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-"))
	return fmt.Sprintf("%s-%d.goldenpath.test", strings.Trim(name, "-"), kumoZones.Add(1))
}

// fastRoute53 is a config for tests: no client-side wait beyond what a test asks for.
func fastRoute53() Route53Config {
	return Route53Config{RequestsPerSecond: 1000, PollInterval: time.Millisecond, RetryBase: time.Millisecond, WaitTimeout: 5 * time.Second}
}

func TestRoute53FindsOrCreatesTheZone(t *testing.T) {
	ctx := context.Background()
	api := kumoClient(t)
	zone := kumoZone(t)
	created, err := NewRoute53(api, fastRoute53()).EnsureZone(ctx, zone)
	if err != nil {
		t.Fatal(err)
	}
	if !created.Created || created.ID == "" || len(created.NameServers) == 0 {
		t.Fatalf("first EnsureZone: got %+v, want a created zone with an id and name servers", created)
	}
	found, err := NewRoute53(api, fastRoute53()).EnsureZone(ctx, zone+".")
	if err != nil {
		t.Fatal(err)
	}
	if found.Created || found.ID != created.ID || !slices.Equal(found.NameServers, created.NameServers) {
		t.Errorf("second EnsureZone: got %+v, want the zone created before, %+v", found, created)
	}
	cfg := fastRoute53()
	cfg.HostedZoneID = "/hostedzone/" + created.ID
	byID, err := NewRoute53(api, cfg).EnsureZone(ctx, zone)
	if err != nil || byID.ID != created.ID {
		t.Errorf("by configured id: got %+v, %v; want zone %s", byID, err, created.ID)
	}
	if _, err := NewRoute53(api, cfg).EnsureZone(ctx, "other.goldenpath.test"); err == nil || !strings.Contains(err.Error(), "hostedZoneId") {
		t.Errorf("configured id of another zone: got %v, want an error pointing at dns.route53.hostedZoneId", err)
	}
}

func TestRoute53AppliesPlans(t *testing.T) {
	ctx := context.Background()
	api := kumoClient(t)
	zone := kumoZone(t)
	p := NewRoute53(api, fastRoute53())
	opts := Options{Zone: zone, OwnerID: "goldenpath", Policy: PolicySync}
	rec := func(name, typ string, targets ...string) Record {
		return Record{Name: name + "." + zone, Type: typ, TTL: 300, Targets: targets, Resource: "route/dev/" + name}
	}
	long := strings.Repeat("k=v;", 100) // 400 bytes: two character-strings
	first := []Record{
		{Name: "*.dev." + zone, Type: TypeCNAME, TTL: 300, Targets: []string{"kong-dev.elb.amazonaws.com"}, Resource: "gateway/dev"},
		rec("web", TypeA, "10.0.0.1"),
		rec("api", TypeA, "10.0.0.2"),
		rec("note", TypeTXT, `say "hi"`, long),
	}
	if _, err := Sync(ctx, p, first, opts); err != nil {
		t.Fatal(err)
	}
	// Someone else's record, made outside goldenpath.
	hz, _ := p.EnsureZone(ctx, zone)
	if _, err := api.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(hz.ID),
		ChangeBatch: &types.ChangeBatch{Changes: []types.Change{{Action: types.ChangeActionCreate,
			ResourceRecordSet: toRoute53(Record{Name: "legacy." + zone, Type: TypeCNAME, TTL: 60, Targets: []string{"old.example.com"}})}}}}); err != nil {
		t.Fatal(err)
	}
	second := []Record{first[0], rec("web", TypeA, "10.0.0.9"), first[3], rec("legacy", TypeCNAME, "new.example.com")}
	plan, err := Sync(ctx, p, second, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Conflicts) != 1 || plan.Conflicts[0].Record.Name != "legacy."+zone {
		t.Errorf("conflicts %v, want legacy.%s reported and left alone", plan.Conflicts, zone)
	}
	got, err := p.Records(ctx, zone)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		fmt.Sprintf(`*.dev.%s 300 CNAME kong-dev.elb.amazonaws.com`, zone),
		fmt.Sprintf(`a-web.%s 300 TXT "heritage=external-dns,external-dns/owner=goldenpath,external-dns/resource=route/dev/web"`, zone),
		fmt.Sprintf(`cname-*.dev.%s 300 TXT "heritage=external-dns,external-dns/owner=goldenpath,external-dns/resource=gateway/dev"`, zone),
		fmt.Sprintf(`legacy.%s 60 CNAME old.example.com`, zone),
		fmt.Sprintf(`note.%s 300 TXT %q, "say \"hi\""`, zone, long),
		fmt.Sprintf(`txt-note.%s 300 TXT "heritage=external-dns,external-dns/owner=goldenpath,external-dns/resource=route/dev/note"`, zone),
		fmt.Sprintf(`web.%s 300 A 10.0.0.9`, zone),
	}
	if diff := recordLines(got); !slices.Equal(diff, want) {
		t.Errorf("zone after two syncs:\n got %q\nwant %q", diff, want)
	}
	again, err := Calculate(second, got, opts)
	if err != nil || again.HasChanges() {
		t.Errorf("a third plan against Route53's records: %v %v, want no changes (records read back as written)", again, err)
	}
}

func recordLines(rs []Record) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Normalize().String())
	}
	slices.Sort(out)
	return out
}

func TestRoute53AliasRecords(t *testing.T) {
	ctx := context.Background()
	api := kumoClient(t)
	zone := kumoZone(t)
	p := NewRoute53(api, fastRoute53())
	opts := Options{Zone: zone, OwnerID: "goldenpath"}
	alias := Record{Name: "argocd.dev." + zone, Type: TypeA, Resource: "tool/dev/argocd",
		Alias: &Alias{HostedZoneID: "Z32O12XQLNTSW2", DNSName: "kong-dev-123.eu-west-1.elb.amazonaws.com", EvaluateTargetHealth: true}}
	if _, err := Sync(ctx, p, []Record{alias}, opts); err != nil {
		t.Fatal(err)
	}
	got, err := p.Records(ctx, zone)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(got, func(r Record) bool { return r.Name == alias.Name && r.Type == TypeA })
	if i < 0 || got[i].Alias == nil || *got[i].Alias != *alias.Alias || got[i].TTL != 0 {
		t.Fatalf("alias read back as %v, want %v without a TTL", got, alias)
	}
	if plan, _ := Calculate([]Record{alias}, got, opts); plan.HasChanges() {
		t.Errorf("alias not stable across a read: second plan %s", plan)
	}
}

// recordingAPI passes calls to Route53 and keeps what the provider sent; its hooks stand in for what kumo
// cannot do (throttle, report PENDING, page).
type recordingAPI struct {
	Route53API
	mu        sync.Mutex
	batches   [][]types.Change
	getChange int
	onChange  func(n int) error // called before each ChangeResourceRecordSets, 1-based
	pending   int               // GetChange reports PENDING this many times
	pageSize  int               // serve ListResourceRecordSets in pages of this size
}

func (r *recordingAPI) ChangeResourceRecordSets(ctx context.Context, in *route53.ChangeResourceRecordSetsInput, opts ...func(*route53.Options)) (*route53.ChangeResourceRecordSetsOutput, error) {
	r.mu.Lock()
	r.batches = append(r.batches, in.ChangeBatch.Changes)
	n := len(r.batches)
	r.mu.Unlock()
	if r.onChange != nil {
		if err := r.onChange(n); err != nil {
			return nil, err
		}
	}
	out, err := r.Route53API.ChangeResourceRecordSets(ctx, in, opts...)
	if err == nil && r.pending > 0 {
		out.ChangeInfo.Status = types.ChangeStatusPending
	}
	return out, err
}

func (r *recordingAPI) GetChange(ctx context.Context, in *route53.GetChangeInput, opts ...func(*route53.Options)) (*route53.GetChangeOutput, error) {
	r.mu.Lock()
	r.getChange++
	pending := r.getChange <= r.pending
	r.mu.Unlock()
	out, err := r.Route53API.GetChange(ctx, in, opts...)
	if err == nil && pending {
		out.ChangeInfo.Status = types.ChangeStatusPending
	}
	return out, err
}

func (r *recordingAPI) ListResourceRecordSets(ctx context.Context, in *route53.ListResourceRecordSetsInput, opts ...func(*route53.Options)) (*route53.ListResourceRecordSetsOutput, error) {
	full, err := r.Route53API.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: in.HostedZoneId}, opts...)
	if err != nil || r.pageSize == 0 {
		return full, err
	}
	all := full.ResourceRecordSets
	slices.SortFunc(all, func(a, b types.ResourceRecordSet) int {
		return strings.Compare(aws.ToString(a.Name)+" "+string(a.Type), aws.ToString(b.Name)+" "+string(b.Type))
	})
	start := 0
	if in.StartRecordName != nil {
		start = slices.IndexFunc(all, func(rs types.ResourceRecordSet) bool {
			return aws.ToString(rs.Name) == *in.StartRecordName && rs.Type == in.StartRecordType
		})
	}
	end := min(start+r.pageSize, len(all))
	out := &route53.ListResourceRecordSetsOutput{ResourceRecordSets: all[start:end], IsTruncated: end < len(all)}
	if out.IsTruncated {
		out.NextRecordName, out.NextRecordType = all[end].Name, all[end].Type
	}
	return out, nil
}

func TestRoute53SplitsLargePlansIntoBatches(t *testing.T) {
	ctx := context.Background()
	api := &recordingAPI{Route53API: kumoClient(t), pageSize: 100}
	zone := kumoZone(t)
	p := NewRoute53(api, fastRoute53())
	var desired []Record
	for i := range 600 {
		desired = append(desired, Record{Name: fmt.Sprintf("app%04d.%s", i, zone), Type: TypeA, TTL: 300, Targets: []string{"10.0.0.1"}, Resource: fmt.Sprintf("route/dev/app%04d", i)})
	}
	plan, err := Sync(ctx, p, desired, Options{Zone: zone, OwnerID: "goldenpath"})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Create) != 1200 {
		t.Fatalf("plan creates %d record sets, want 1200 (records and their ownership records)", len(plan.Create))
	}
	if len(api.batches) < 2 {
		t.Errorf("%d batches for 1,200 changes, want at least 2", len(api.batches))
	}
	for i, b := range api.batches {
		records, chars := 0, 0
		names := map[string]bool{}
		for _, c := range b {
			records += len(c.ResourceRecordSet.ResourceRecords)
			for _, v := range c.ResourceRecordSet.ResourceRecords {
				chars += len(*v.Value)
			}
			names[aws.ToString(c.ResourceRecordSet.Name)] = true
		}
		if len(b) > 1000 || records > 1000 || chars > 32000 {
			t.Errorf("batch %d: %d changes, %d records, %d characters; Route53 takes at most 1,000, 1,000, 32,000", i, len(b), records, chars)
		}
		for n := range names {
			if !strings.HasPrefix(n, "a-") && !names["a-"+n] {
				t.Errorf("batch %d holds %s without its ownership record", i, n)
			}
		}
	}
	got, err := p.Records(ctx, zone)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1200 {
		t.Errorf("read back %d record sets through pages of 100, want 1200", len(got))
	}
}

func TestBatchLimitsCountUpsertsTwice(t *testing.T) {
	r := func(i int) Record {
		return Record{Name: fmt.Sprintf("h%d.z.test", i), Type: TypeTXT, TTL: 300, Targets: []string{strings.Repeat("x", 98)}}
	}
	tests := []struct {
		name string
		plan Plan
		lim  batchLimits
		want []int // changes per batch
	}{
		{"creates up to the record limit", Plan{Create: []Record{r(1), r(2), r(3), r(4), r(5)}}, batchLimits{changes: 100, records: 2, chars: 1e6}, []int{2, 2, 1}},
		{"upserts count twice", Plan{Update: []Update{{Old: r(1), New: r(1)}, {Old: r(2), New: r(2)}, {Old: r(3), New: r(3)}}}, batchLimits{changes: 100, records: 4, chars: 1e6}, []int{2, 1}},
		{"characters of values", Plan{Create: []Record{r(1), r(2), r(3)}}, batchLimits{changes: 100, records: 100, chars: 250}, []int{2, 1}},
		{"upsert characters count twice", Plan{Update: []Update{{Old: r(1), New: r(1)}, {Old: r(2), New: r(2)}}}, batchLimits{changes: 100, records: 100, chars: 250}, []int{1, 1}},
		{"deletes go first", Plan{Create: []Record{r(1)}, Delete: []Record{r(2)}}, batchLimits{changes: 1, records: 100, chars: 1e6}, []int{1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			batches, err := batchChanges(tt.plan, "z.test", tt.lim)
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, b := range batches {
				got = append(got, len(b))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("batch sizes %v, want %v", got, tt.want)
			}
			if tt.name == "deletes go first" && batches[0][0].Action != types.ChangeActionDelete {
				t.Errorf("first batch %s, want the delete", batches[0][0].Action)
			}
		})
	}
	if _, err := batchChanges(Plan{Create: []Record{r(1)}}, "z.test", batchLimits{changes: 10, records: 10, chars: 50}); err == nil || !strings.Contains(err.Error(), "h1.z.test") {
		t.Errorf("a record larger than a batch: got %v, want an error naming it", err)
	}
}

func TestRoute53WaitsForInsync(t *testing.T) {
	ctx := context.Background()
	zone := kumoZone(t)
	desired := []Record{{Name: "web." + zone, Type: TypeA, TTL: 300, Targets: []string{"10.0.0.1"}}}
	t.Run("until INSYNC", func(t *testing.T) {
		api := &recordingAPI{Route53API: kumoClient(t), pending: 3}
		if _, err := Sync(ctx, NewRoute53(api, fastRoute53()), desired, Options{Zone: zone, OwnerID: "goldenpath"}); err != nil {
			t.Fatal(err)
		}
		if api.getChange != 4 {
			t.Errorf("GetChange called %d times, want 4 (three PENDING, then INSYNC)", api.getChange)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		api := &recordingAPI{Route53API: kumoClient(t), pending: 1 << 30}
		cfg := fastRoute53()
		cfg.WaitTimeout = 50 * time.Millisecond
		_, err := Sync(ctx, NewRoute53(api, cfg), []Record{{Name: "api." + zone, Type: TypeA, TTL: 300, Targets: []string{"10.0.0.2"}}},
			Options{Zone: zone, OwnerID: "goldenpath"})
		if err == nil || !strings.Contains(err.Error(), "PENDING") {
			t.Errorf("got %v, want an error saying the change is still PENDING", err)
		}
	})
}

func TestRoute53RetriesThrottling(t *testing.T) {
	ctx := context.Background()
	zone := kumoZone(t)
	tests := []struct {
		name     string
		errs     map[int]error // by call number
		wantErr  bool
		wantSent int
	}{
		{"Throttling twice", map[int]error{1: apiErr("Throttling"), 2: apiErr("Throttling")}, false, 3},
		{"PriorRequestNotComplete", map[int]error{1: apiErr("PriorRequestNotComplete")}, false, 2},
		{"other errors are not retried", map[int]error{1: apiErr("InvalidChangeBatch")}, true, 1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &recordingAPI{Route53API: kumoClient(t), onChange: func(n int) error { return tt.errs[n] }}
			desired := []Record{{Name: fmt.Sprintf("web%d.%s", i, zone), Type: TypeA, TTL: 300, Targets: []string{"10.0.0.1"}}}
			_, err := Sync(ctx, NewRoute53(api, fastRoute53()), desired, Options{Zone: zone, OwnerID: "goldenpath"})
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error: %v", err, tt.wantErr)
			}
			if len(api.batches) != tt.wantSent {
				t.Errorf("ChangeResourceRecordSets called %d times, want %d", len(api.batches), tt.wantSent)
			}
		})
	}
}

func apiErr(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: "test double", Fault: smithy.FaultClient}
}

func TestRoute53RateLimit(t *testing.T) {
	ctx := context.Background()
	api := &recordingAPI{Route53API: kumoClient(t)}
	cfg := fastRoute53()
	cfg.RequestsPerSecond = 20
	p := NewRoute53(api, cfg)
	start := time.Now()
	for range 5 {
		if _, err := p.Records(ctx, "none.goldenpath.test"); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("5 calls at 20 a second took %s, want at least 200ms", d)
	}
}

func TestRoute53Escapes(t *testing.T) {
	tests := []struct{ in, want string }{
		{`\052.dev.goldenpathidp.io.`, "*.dev.goldenpathidp.io."},
		{`cname-\052.dev.goldenpathidp.io.`, "cname-*.dev.goldenpathidp.io."},
		{`plain.io.`, "plain.io."},
	}
	for _, tt := range tests {
		if got := unescapeRoute53(tt.in); got != tt.want {
			t.Errorf("unescape %q: got %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, v := range []string{`plain`, `say "hi" \ bye`, strings.Repeat("0123456789", 60)} {
		q := quoteTXT(v)
		if got := unquoteTXT(q); got != v {
			t.Errorf("TXT %q quoted as %s reads back as %q", v, q, got)
		}
	}
}
