package score

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// filesConfigMap names the ConfigMap holding an app's inline files.
func filesConfigMap(app string) string { return app + "-files" }

// fileSet gathers the inline files of every container into one ConfigMap, mounted file by file.
type fileSet struct {
	data   map[string]string
	binary map[string][]byte
	items  []corev1.KeyToPath
}

// add stores a container's files and returns their mounts.
func (f *fileSet) add(r *renderer, container string, files Files) ([]corev1.VolumeMount, error) {
	var mounts []corev1.VolumeMount
	for i, target := range slices.Sorted(maps.Keys(files)) {
		file := files[target]
		key := fmt.Sprintf("%s-%d", container, i)
		if err := f.store(r, key, file); err != nil {
			return nil, fmt.Errorf("file %s: %w", target, err)
		}
		item := corev1.KeyToPath{Key: key, Path: key}
		if file.Mode != "" {
			m, err := strconv.ParseInt(file.Mode, 8, 32)
			if err != nil {
				return nil, fmt.Errorf("file %s: mode %q: %w", target, file.Mode, err)
			}
			mode := int32(m)
			item.Mode = &mode
		}
		f.items = append(f.items, item)
		mounts = append(mounts, corev1.VolumeMount{Name: filesVolume, MountPath: target, SubPath: key, ReadOnly: true})
	}
	return mounts, nil
}

func (f *fileSet) store(r *renderer, key string, file File) error {
	if file.Source != "" {
		return f.storeSource(r, key, file)
	}
	if file.BinaryContent != "" {
		b, err := base64.StdEncoding.DecodeString(file.BinaryContent)
		if err != nil {
			return fmt.Errorf("binaryContent: %w", err)
		}
		if f.binary == nil {
			f.binary = map[string][]byte{}
		}
		f.binary[key] = b
		return nil
	}
	var content string
	if file.Content != nil {
		content = *file.Content
	}
	if !file.NoExpand {
		t, err := parseTemplate(content)
		if err != nil {
			return err
		}
		if content, err = t.text(r.resolve); err != nil {
			return err
		}
	}
	if f.data == nil {
		f.data = map[string]string{}
	}
	f.data[key] = content
	return nil
}

// storeSource stores a file read from the app's repository: expanded like content unless noExpand, and
// kept as binary data when it is not UTF-8 text.
func (f *fileSet) storeSource(r *renderer, key string, file File) error {
	p, err := SourcePath(file.Source)
	if err != nil {
		return err
	}
	data, ok := r.in.Sources[p]
	if !ok {
		return fmt.Errorf("source %q: the app's repository has no such file", file.Source)
	}
	if !utf8.Valid(data) {
		if !file.NoExpand {
			return fmt.Errorf("source %q is not UTF-8 text, so its placeholders cannot be expanded: set noExpand: true", file.Source)
		}
		if f.binary == nil {
			f.binary = map[string][]byte{}
		}
		f.binary[key] = data
		return nil
	}
	content := string(data)
	return f.store(r, key, File{Content: &content, NoExpand: file.NoExpand})
}

// maxFilesBytes bounds the files of one app: they go into one ConfigMap, which Kubernetes keeps under 1 MiB.
const maxFilesBytes = 1000 << 10

// size is the bytes the files hold.
func (f *fileSet) size() int {
	n := 0
	for _, v := range f.data {
		n += len(v)
	}
	for _, v := range f.binary {
		n += len(v)
	}
	return n
}

func (f *fileSet) configMap(r *renderer) *corev1.ConfigMap {
	if len(f.items) == 0 {
		return nil
	}
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: r.meta(filesConfigMap(r.app)),
		Data:       f.data,
		BinaryData: f.binary,
	}
}

func (f *fileSet) volume(r *renderer) *corev1.Volume {
	if len(f.items) == 0 {
		return nil
	}
	return &corev1.Volume{Name: filesVolume, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: filesConfigMap(r.app)}, Items: f.items,
	}}}
}

// checksum hashes every file's key and content in key order.
func (f *fileSet) checksum() string {
	h := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(f.data)) {
		fmt.Fprintf(h, "%s\x00%d\x00%s", k, len(f.data[k]), f.data[k])
	}
	for _, k := range slices.Sorted(maps.Keys(f.binary)) {
		fmt.Fprintf(h, "%s\x00%d\x00", k, len(f.binary[k]))
		h.Write(f.binary[k])
	}
	for _, it := range f.items {
		if it.Mode != nil {
			fmt.Fprintf(h, "%s\x00mode %o", it.Key, *it.Mode)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
