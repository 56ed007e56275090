package dns

import (
	"fmt"
	"io"

	mdns "github.com/miekg/dns"
)

// WriteZoneFile writes records as an RFC 1035 master file for zone, the form other DNS servers (Knot, BIND,
// NSD) load. A Route53 alias is written as the CNAME the embedded server answers with, since master files have
// no aliases. records must include the apex SOA and NS, as Server.Records returns them.
func WriteZoneFile(w io.Writer, zone string, records []Record) error {
	zone = normalizeName(zone)
	if _, err := fmt.Fprintf(w, "$ORIGIN %s\n", mdns.Fqdn(zone)); err != nil {
		return err
	}
	for _, r := range normalizeAll(records) {
		for _, rr := range masterRRs(r) {
			if rr == nil {
				return fmt.Errorf("record %s %s: cannot be written as a master file entry", r.Name, r.Type)
			}
			if _, err := fmt.Fprintln(w, rr.String()); err != nil {
				return err
			}
		}
	}
	return nil
}

func masterRRs(r Record) []mdns.RR {
	name := mdns.Fqdn(r.Name)
	if r.Alias != nil {
		return []mdns.RR{&mdns.CNAME{Hdr: hdr(name, mdns.TypeCNAME, aliasTTL), Target: mdns.Fqdn(r.Alias.DNSName)}}
	}
	t := mdns.StringToType[r.Type]
	out := make([]mdns.RR, 0, len(r.Targets))
	for _, v := range r.Targets {
		rr, err := toRR(name, t, uint32(r.TTL), v)
		if err != nil {
			rr = nil
		}
		out = append(out, rr)
	}
	return out
}
