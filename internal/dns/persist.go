package dns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/goldenpathidp/goldenpath/internal/atomicfile"
)

// zonePath is where a zone's records are kept.
func zonePath(dir, zone string) string { return filepath.Join(dir, zone+".json") }

// loadZone reads a zone saved by saveZone; a zone never saved starts empty at serial 1.
func loadZone(dir, zone string) (*zoneState, error) {
	st := &zoneState{Zone: zone, Serial: 1}
	if dir == "" {
		return st, nil
	}
	data, err := os.ReadFile(zonePath(dir, zone))
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading zone %s: %w", zone, err)
	}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("reading zone %s from %s: %w", zone, zonePath(dir, zone), err)
	}
	if st.Zone != zone {
		return nil, fmt.Errorf("zone file %s holds zone %q, not %q", zonePath(dir, zone), st.Zone, zone)
	}
	st.Records = normalizeAll(st.Records)
	if err := Validate(st.Records, zone); err != nil {
		return nil, fmt.Errorf("zone file %s: %w", zonePath(dir, zone), err)
	}
	return st, nil
}

// saveZone writes the zone atomically: a temporary file, synced, renamed over the old one, and the directory
// synced, so a crash leaves the old records or the new ones, never a torn file.
func saveZone(ctx context.Context, dir string, st *zoneState) error {
	if dir == "" {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding zone %s: %w", st.Zone, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating zone directory: %w", err)
	}
	if err := atomicfile.Write(zonePath(dir, st.Zone), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("saving zone %s: %w", st.Zone, err)
	}
	return nil
}
