package forge

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// pkt-line framing (gitprotocol-common): four hex digits of length (including themselves), then data;
// "0000" is a flush.
const (
	flushPkt      = "0000"
	maxPktPayload = 65516 // 65520 - 4
)

func writePktLine(w io.Writer, payload string) {
	fmt.Fprintf(w, "%04x%s", len(payload)+4, payload)
}

// readPktLine reads one pkt-line, appending its exact bytes to raw. flush reports a "0000".
func readPktLine(br *bufio.Reader, raw *bytes.Buffer) (payload []byte, flush bool, err error) {
	var hdr [4]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, false, fmt.Errorf("reading pkt-line length: %w", err)
	}
	raw.Write(hdr[:])
	n, err := strconv.ParseUint(string(hdr[:]), 16, 16)
	if err != nil {
		return nil, false, fmt.Errorf("invalid pkt-line length %q", hdr[:])
	}
	switch {
	case n == 0:
		return nil, true, nil
	case n < 4:
		return nil, false, fmt.Errorf("unexpected special pkt-line %q", hdr[:])
	}
	payload = make([]byte, n-4)
	if _, err := io.ReadFull(br, payload); err != nil {
		return nil, false, fmt.Errorf("reading pkt-line: %w", err)
	}
	raw.Write(payload)
	return payload, false, nil
}

// pushCommands is the command list at the start of a receive-pack request.
type pushCommands struct {
	raw     []byte // exactly the bytes read, to hand to git before the rest of the body
	updates []RefUpdate
	caps    map[string]bool
}

// maxCommandBytes bounds the command list we buffer; it is a few lines per ref.
const maxCommandBytes = 8 << 20

// readPushCommands parses `*shallow (command-list)` up to its flush: "<old> <new> <ref>", the first
// one followed by NUL and the client's capabilities.
func readPushCommands(br *bufio.Reader) (*pushCommands, error) {
	pc := &pushCommands{caps: map[string]bool{}}
	var raw bytes.Buffer
	for {
		payload, flush, err := readPktLine(br, &raw)
		if err != nil {
			return nil, err
		}
		if flush {
			break
		}
		if raw.Len() > maxCommandBytes {
			return nil, fmt.Errorf("push command list exceeds %d bytes", maxCommandBytes)
		}
		line := strings.TrimSuffix(string(payload), "\n")
		if strings.HasPrefix(line, "shallow ") {
			continue
		}
		if err := pc.addCommand(line); err != nil {
			return nil, err
		}
	}
	pc.raw = raw.Bytes()
	return pc, nil
}

func (pc *pushCommands) addCommand(line string) error {
	if len(pc.updates) == 0 {
		cmd, caps, _ := strings.Cut(line, "\x00")
		for _, c := range strings.Fields(caps) {
			pc.caps[c] = true
		}
		line = cmd
	}
	if strings.HasPrefix(line, "push-cert") {
		return fmt.Errorf("signed pushes are not supported")
	}
	parts := strings.Split(line, " ")
	if len(parts) != 3 || !isFullSHA(parts[0]) || !isFullSHA(parts[1]) || !strings.HasPrefix(parts[2], "refs/") {
		return fmt.Errorf("malformed push command %.100q", line)
	}
	pc.updates = append(pc.updates, RefUpdate{Ref: parts[2], Old: parts[0], New: parts[1]})
	return nil
}

// sidebandMax is the largest data chunk per side-band packet the client accepts, or 0 without
// side-band.
func (pc *pushCommands) sidebandMax() int {
	switch {
	case pc.caps["side-band-64k"]:
		return maxPktPayload - 1
	case pc.caps["side-band"]:
		return 1000 - 4 - 1
	}
	return 0
}

// writeRejection answers a push we refuse without running git, in the report-status format the client
// prints: "unpack <status>" then "ng <ref> <reason>" per ref, and reason as a "remote:" message too.
func (pc *pushCommands) writeRejection(w io.Writer, unpackStatus, reason string) error {
	reason = strings.Join(strings.Fields(reason), " ") // one line, as the protocol requires
	var report bytes.Buffer
	writePktLine(&report, "unpack "+unpackStatus+"\n")
	for _, u := range pc.updates {
		writePktLine(&report, "ng "+u.Ref+" "+reason+"\n")
	}
	report.WriteString(flushPkt)
	chunk := pc.sidebandMax()
	if chunk == 0 {
		_, err := w.Write(report.Bytes())
		return err
	}
	var out bytes.Buffer
	writeSideband(&out, 2, []byte("error: "+reason+"\n"), chunk)
	writeSideband(&out, 1, report.Bytes(), chunk)
	out.WriteString(flushPkt)
	_, err := w.Write(out.Bytes())
	return err
}

func writeSideband(w *bytes.Buffer, band byte, data []byte, chunk int) {
	for len(data) > 0 {
		n := min(len(data), chunk)
		writePktLine(w, string(band)+string(data[:n]))
		data = data[n:]
	}
}
