package dns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
	if err := writeAtomic(zonePath(dir, st.Zone), append(data, '\n')); err != nil {
		return fmt.Errorf("saving zone %s: %w", st.Zone, err)
	}
	return nil
}

func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after a successful rename there is nothing left to remove
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
