package forge

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// packWriter collects git objects (named by the SHA-1 of "<type> <size>\0<data>") and writes them as one
// packfile with its index. It is only used on a repository nobody else can see yet (CreateRepoWithCommit
// builds it aside); everything else goes through git itself. Two files, because creating many small files
// is what costs time on a slow disk.
type packWriter struct {
	objects []packObject
	seen    map[string]bool
}

type packObject struct {
	typ  byte // 1 commit, 2 tree, 3 blob
	sha  string
	data []byte
}

var objectTypes = map[string]byte{"commit": 1, "tree": 2, "blob": 3}

func (w *packWriter) write(typ string, data []byte) (string, error) {
	h := sha1.New()
	fmt.Fprintf(h, "%s %d\x00", typ, len(data))
	h.Write(data)
	sum := hex.EncodeToString(h.Sum(nil))
	if w.seen == nil {
		w.seen = map[string]bool{}
	}
	if !w.seen[sum] {
		w.seen[sum] = true
		w.objects = append(w.objects, packObject{typ: objectTypes[typ], sha: sum, data: data})
	}
	return sum, nil
}

// flush writes objects/pack/pack-<sha>.pack and its version 2 .idx (gitformat-pack).
func (w *packWriter) flush(objectsDir string) error {
	var pack bytes.Buffer
	var hdr [12]byte
	copy(hdr[:4], "PACK")
	binary.BigEndian.PutUint32(hdr[4:8], 2)
	binary.BigEndian.PutUint32(hdr[8:12], uint32(len(w.objects)))
	pack.Write(hdr[:])
	type indexed struct {
		sha    []byte
		crc    uint32
		offset uint32
	}
	idx := make([]indexed, 0, len(w.objects))
	zw, _ := zlib.NewWriterLevel(&pack, zlib.BestSpeed) // one compressor, reset per object: they are large
	for _, o := range w.objects {
		start := pack.Len()
		pack.Write(packObjectHeader(o.typ, len(o.data)))
		zw.Reset(&pack)
		zw.Write(o.data)
		if err := zw.Close(); err != nil {
			return err
		}
		raw, _ := hex.DecodeString(o.sha)
		idx = append(idx, indexed{sha: raw, crc: crc32.ChecksumIEEE(pack.Bytes()[start:]), offset: uint32(start)})
	}
	packSum := sha1.Sum(pack.Bytes())
	pack.Write(packSum[:])
	sort.Slice(idx, func(i, j int) bool { return bytes.Compare(idx[i].sha, idx[j].sha) < 0 })
	var ix bytes.Buffer
	ix.Write([]byte{0xff, 't', 'O', 'c', 0, 0, 0, 2})
	var fanout [256]uint32
	for _, e := range idx {
		for b := int(e.sha[0]); b < 256; b++ {
			fanout[b]++
		}
	}
	for _, n := range fanout {
		binary.Write(&ix, binary.BigEndian, n)
	}
	for _, e := range idx {
		ix.Write(e.sha)
	}
	for _, e := range idx {
		binary.Write(&ix, binary.BigEndian, e.crc)
	}
	for _, e := range idx {
		binary.Write(&ix, binary.BigEndian, e.offset)
	}
	ix.Write(packSum[:])
	ixSum := sha1.Sum(ix.Bytes())
	ix.Write(ixSum[:])
	base := filepath.Join(objectsDir, "pack", "pack-"+hex.EncodeToString(packSum[:]))
	if err := os.WriteFile(base+".pack", pack.Bytes(), 0o444); err != nil {
		return err
	}
	return os.WriteFile(base+".idx", ix.Bytes(), 0o444)
}

// treeNode is a directory being assembled.
type treeNode struct {
	files map[string]looseEntry
	dirs  map[string]*treeNode
}

type looseEntry struct {
	mode string
	sha  string
}

func newTreeNode() *treeNode {
	return &treeNode{files: map[string]looseEntry{}, dirs: map[string]*treeNode{}}
}

// writeTree writes the tree objects of node bottom-up and returns its object id. Entries are sorted as git
// sorts them: by name, a directory comparing as if its name ended in "/".
func (w *packWriter) writeTree(node *treeNode) (string, error) {
	type entry struct {
		mode, name, sha string
		sortKey         string
	}
	var entries []entry
	for name, d := range node.dirs {
		sha, err := w.writeTree(d)
		if err != nil {
			return "", err
		}
		entries = append(entries, entry{mode: "40000", name: name, sha: sha, sortKey: name + "/"})
	}
	for name, f := range node.files {
		entries = append(entries, entry{mode: f.mode, name: name, sha: f.sha, sortKey: name})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].sortKey < entries[j].sortKey })
	var buf bytes.Buffer
	for _, e := range entries {
		raw, _ := hex.DecodeString(e.sha)
		fmt.Fprintf(&buf, "%s %s\x00", e.mode, e.name)
		buf.Write(raw)
	}
	return w.write("tree", buf.Bytes())
}

// writeFirstCommit writes changes as the root commit of branch in the bare repository at dir and points
// the branch at it.
func (f *Forge) writeFirstCommit(dir, branch string, o CommitOptions) (string, error) {
	w := &packWriter{}
	root := newTreeNode()
	for _, c := range o.Changes {
		if c.Delete {
			continue // nothing to delete in a first commit
		}
		sha, err := w.write("blob", c.Content)
		if err != nil {
			return "", err
		}
		parts := strings.Split(c.Path, "/")
		node := root
		for _, d := range parts[:len(parts)-1] {
			if node.dirs[d] == nil {
				if _, clash := node.files[d]; clash {
					return "", fmt.Errorf("path %q: %q is both a file and a directory", c.Path, d)
				}
				node.dirs[d] = newTreeNode()
			}
			node = node.dirs[d]
		}
		name := parts[len(parts)-1]
		if node.dirs[name] != nil {
			return "", fmt.Errorf("path %q: %q is both a file and a directory", c.Path, name)
		}
		node.files[name] = looseEntry{mode: modeOrDefault(c.Mode), sha: sha}
	}
	tree, err := w.writeTree(root)
	if err != nil {
		return "", err
	}
	when := o.Author.When
	if when.IsZero() {
		when = time.Now()
	}
	msg := o.Message
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	commit := fmt.Sprintf("tree %s\nauthor %s <%s> %d +0000\ncommitter %s <%s> %d +0000\n\n%s",
		tree, o.Author.Name, o.Author.Email, when.Unix(), f.committer.Name, f.committer.Email, when.Unix(), msg)
	sha, err := w.write("commit", []byte(commit))
	if err != nil {
		return "", err
	}
	if err := w.flush(filepath.Join(dir, "objects")); err != nil {
		return "", err
	}
	ref := filepath.Join(dir, "refs", "heads", filepath.FromSlash(branch))
	if err := os.MkdirAll(filepath.Dir(ref), 0o755); err != nil {
		return "", err
	}
	return sha, os.WriteFile(ref, []byte(sha+"\n"), 0o644)
}
