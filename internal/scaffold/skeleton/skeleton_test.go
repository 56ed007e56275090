package skeleton

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
)

func values() map[string]any {
	return map[string]any{
		"component_id": "orders", "java_package_name": "io/acme/orders", "description": "",
		"owner": "team-a", "empty": "", "port": 8080, "enabled": true,
	}
}

// summary renders files as "path=content" lines (symlinks as "path->target", executables
// marked with *), so a whole tree compares in one string.
func summary(files []File) string {
	var lines []string
	for _, f := range files {
		switch {
		case f.Symlink != "":
			lines = append(lines, f.Path+"->"+f.Symlink)
		case f.Executable:
			lines = append(lines, f.Path+"*="+string(f.Content))
		default:
			lines = append(lines, f.Path+"="+string(f.Content))
		}
	}
	return strings.Join(lines, "\n")
}

func TestRender(t *testing.T) {
	tests := []struct {
		name  string
		files []File
		o     Options
		want  string
	}{
		{
			name: "paths and contents",
			files: []File{
				{Path: "src/main/java/${{values.java_package_name}}/App.java", Content: []byte("package ${{ values.component_id }};")},
				{Path: "${{ values.component_id }}.sh", Content: []byte("#!/bin/sh\necho ${{ values.port }}\n"), Executable: true},
				{Path: "README.md", Content: []byte("# ${{ values.component_id }}")},
			},
			want: "README.md=# orders\norders.sh*=#!/bin/sh\necho 8080\n\nsrc/main/java/io/acme/orders/App.java=package orders;",
		},
		{
			name: "path rendering to empty is skipped",
			files: []File{
				{Path: "${{ values.empty }}", Content: []byte("root file skipped")},
				{Path: "${{ values.empty }}/inner.txt", Content: []byte("dir skipped")},
				{Path: "a/${{ values.empty }}/inner.txt", Content: []byte("subdir skipped")},
				{Path: "a/${{ values.empty }}", Content: []byte("name skipped")},
				{Path: "{% if values.enabled %}kept.txt{% endif %}", Content: []byte("k")},
				{Path: "{% if not values.enabled %}dropped.txt{% endif %}", Content: []byte("d")},
			},
			want: "kept.txt=k",
		},
		{
			name: "copyWithoutTemplating keeps content, renders path",
			files: []File{
				{Path: ".github/workflows/ci.yml", Content: []byte("ref: ${{ github.ref }}")},
				{Path: ".github/workflows/${{ values.component_id }}.yml", Content: []byte("x: ${{ secrets.TOKEN }}")},
				{Path: ".github/CODEOWNERS", Content: []byte("* ${{ values.owner }}")},
			},
			o:    Options{CopyWithoutTemplating: []string{".github/workflows/*"}},
			want: ".github/CODEOWNERS=* team-a\n.github/workflows/ci.yml=ref: ${{ github.ref }}\n.github/workflows/orders.yml=x: ${{ secrets.TOKEN }}",
		},
		{
			name: "copyWithoutRender keeps content and path",
			files: []File{
				{Path: ".github/workflows/${{ values.component_id }}.yml", Content: []byte("x: ${{ secrets.TOKEN }}")},
				{Path: "${{ values.component_id }}.md", Content: []byte("${{ values.component_id }}")},
			},
			o:    Options{CopyWithoutRender: []string{".github/workflows/*"}},
			want: ".github/workflows/${{ values.component_id }}.yml=x: ${{ secrets.TOKEN }}\norders.md=orders",
		},
		{
			name:  "a directory pattern covers everything below it",
			files: []File{{Path: "static/a/b.html", Content: []byte("${{ x }}")}, {Path: "static.txt", Content: []byte("${{ values.owner }}")}},
			o:     Options{CopyWithoutTemplating: []string{"./static/"}},
			want:  "static.txt=team-a\nstatic/a/b.html=${{ x }}",
		},
		{
			name: "cookiecutter",
			files: []File{
				{Path: "{{ cookiecutter.component_id }}/setup.py", Content: []byte("name={{ cookiecutter.component_id | jsonify }} ${{ keep }}")},
			},
			o:    Options{CookiecutterCompat: true},
			want: "orders/setup.py=name=\"orders\" $",
		},
		{
			name: "templateFileExtension",
			files: []File{
				{Path: "catalog-info.yaml.njk", Content: []byte("name: ${{ values.component_id }}")},
				{Path: "${{ values.component_id }}/main.go.njk", Content: []byte("package ${{ values.component_id }}")},
				{Path: ".github/ci.yml", Content: []byte("ref: ${{ github.ref }}")},
				{Path: ".njk", Content: []byte("${{ x }}")},
			},
			o:    Options{TemplateFileExtension: ".njk"},
			want: ".github/ci.yml=ref: ${{ github.ref }}\n.njk=${{ x }}\ncatalog-info.yaml=name: orders\norders/main.go=package orders",
		},
		{
			name: "binary files and symlinks are copied raw",
			files: []File{
				{Path: "logo-${{ values.component_id }}.png", Content: []byte("\x89PNG\x00${{ values.owner }}")},
				{Path: "latin1.txt", Content: []byte("caf\xe9 ${{ values.owner }}")},
				{Path: "link-${{ values.component_id }}", Symlink: "README.md"},
			},
			want: "latin1.txt=caf\xe9 ${{ values.owner }}\nlink-orders->README.md\nlogo-orders.png=\x89PNG\x00${{ values.owner }}",
		},
		{
			name:  "trimBlocks and lstripBlocks",
			files: []File{{Path: "list.txt", Content: []byte("items:\n  {% for i in [1, 2] %}\n  - ${{ i }}\n  {% endfor %}\n")}},
			o:     Options{TrimBlocks: true, LstripBlocks: true},
			want:  "list.txt=items:\n  - 1\n  - 2\n",
		},
		{
			name:  "without trimBlocks the tag lines stay",
			files: []File{{Path: "list.txt", Content: []byte("items:\n  {% for i in [1, 2] %}\n  - ${{ i }}\n  {% endfor %}\n")}},
			want:  "list.txt=items:\n  \n  - 1\n  \n  - 2\n  \n",
		},
	}
	e := expr.New(expr.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.Values = values()
			got, err := Render(e, tt.files, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if s := summary(got); s != tt.want {
				t.Errorf("got\n%s\nwant\n%s", s, tt.want)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name  string
		files []File
		o     Options
		want  string
	}{
		{"both copy options", nil, Options{CopyWithoutRender: []string{"a"}, CopyWithoutTemplating: []string{"b"}}, "cannot both be set"},
		{"extension with copy option", nil, Options{TemplateFileExtension: ".njk", CopyWithoutTemplating: []string{"b"}}, "templateFileExtension cannot be combined"},
		{"extension with cookiecutter", nil, Options{TemplateFileExtension: ".njk", CookiecutterCompat: true}, "cannot be combined with cookiecutterCompat"},
		{"bad glob", nil, Options{CopyWithoutTemplating: []string{"{a,b"}}, `glob "{a,b"`},
		{"error names file and line", []File{{Path: "docs/index.md", Content: []byte("ok\n${{ x | nope }}")}}, Options{}, `docs/index.md: line 2: unknown filter "nope"`},
		{"error in a path", []File{{Path: "${{ x | nope }}.txt"}}, Options{}, `${{ x | nope }}.txt (path): line 1: unknown filter "nope"`},
		{"rendered path escapes", []File{{Path: "${{ values.dir }}/x"}}, Options{Values: map[string]any{"dir": "../.."}}, `must not contain ".."`},
		{"rendered path absolute", []File{{Path: "${{ values.dir }}x"}}, Options{Values: map[string]any{"dir": "/etc/"}}, ""},
		{"skeleton path escapes", []File{{Path: "../x"}}, Options{}, `must not contain ".."`},
		{"duplicate output", []File{{Path: "a-${{ values.x }}"}, {Path: "a-"}}, Options{Values: map[string]any{}}, `both render to "a-"`},
		{"too many files", []File{{Path: "a"}, {Path: "b"}}, Options{MaxFiles: 1}, "more than the limit of 1"},
		{"too many bytes", []File{{Path: "a", Content: []byte("12345")}}, Options{MaxTotalBytes: 4}, "exceeds 4 bytes"},
	}
	e := expr.New(expr.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Render(e, tt.files, tt.o)
			if tt.want == "" {
				// "/etc/" + "x" renders to an absolute path, which Backstage skips as a skipped root directory.
				if err != nil || len(got) != 0 {
					t.Fatalf("got %v, %v; want the file skipped", summary(got), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestMatcher(t *testing.T) {
	tests := []struct {
		pattern string
		path    string
		want    bool
	}{
		{".github/workflows/*", ".github/workflows/ci.yml", true},
		{".github/workflows/*", ".github/workflows/sub/ci.yml", false},
		{".github/workflows/*", ".github/CODEOWNERS", false},
		{"**/*.png", "a/b/c.png", true},
		{"**/*.png", "c.png", true},
		{"**/*.png", "c.png.txt", false},
		{"*.{png,jpg}", "x.jpg", true},
		{"*.{png,jpg}", "x.gif", false},
		{"docs/**", "docs/a/b.md", true},
		{"docs/**", "docsx/a.md", false},
		{"file?.txt", "file1.txt", true},
		{"file[0-9].txt", "file7.txt", true},
		{"file[!0-9].txt", "file7.txt", false},
		{"*", ".hidden", true},
		{"templates", "templates/a/b.txt", true},
		{"templates", "templates.txt", false},
		{"!templates", "templates/a", false},
	}
	for _, tt := range tests {
		m, err := newMatcher([]string{tt.pattern})
		if err != nil {
			t.Fatal(err)
		}
		if got := m.match(tt.path); got != tt.want {
			t.Errorf("glob %q on %q: got %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
}

func TestIsBinary(t *testing.T) {
	tests := []struct {
		content string
		want    bool
	}{
		{"plain text ${{ x }}", false},
		{"ünïcödé", false},
		{"", false},
		{"a\x00b", true},
		{"\xff\xfe", true},
		{strings.Repeat("a", 9000) + "\x00", false}, // a NUL past the first 8 KiB does not count
	}
	for _, tt := range tests {
		if got := IsBinary([]byte(tt.content)); got != tt.want {
			t.Errorf("IsBinary(%.20q) = %v, want %v", tt.content, got, tt.want)
		}
	}
}

func FuzzRenderPath(f *testing.F) {
	for _, s := range []string{
		"src/${{ values.java_package_name }}/App.java", "${{ values.empty }}/x", "../${{ values.x }}",
		"{% if values.enabled %}a{% endif %}/b", "${{ values.dir }}", "a//b", "/etc/passwd", "a/./b",
		"${{ range(100000) }}", "{{ cookiecutter.x }}", "${{ '../' * 3 }}x", "\x00",
	} {
		f.Add(s, "../..")
	}
	e := expr.New(expr.Options{Timeout: 200 * time.Millisecond, MaxOutputBytes: 1 << 14})
	f.Fuzz(func(t *testing.T, p, dir string) {
		v := values()
		v["dir"] = dir
		start := time.Now()
		out, err := Render(e, []File{{Path: p, Content: []byte("x")}}, Options{Values: v})
		if err != nil && strings.Contains(err.Error(), "internal error") {
			t.Fatalf("Render path %q panicked: %v", p, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Render path %q took %s", p, d)
		}
		for _, f := range out {
			if c, err := cleanPath(f.Path); err != nil || c != f.Path {
				t.Fatalf("path %q rendered to unsafe %q: %v", p, f.Path, err)
			}
		}
	})
}

func BenchmarkRenderSkeleton(b *testing.B) {
	var files []File
	for i := range 20 {
		files = append(files, File{
			Path: fmt.Sprintf("src/${{ values.java_package_name }}/File%d.java", i),
			Content: []byte(strings.Repeat(fmt.Sprintf(
				"// ${{ values.component_id | upper }} %d\n{%% if values.enabled %%}class ${{ values.component_id | capitalize }}%d {}\n{%% endif %%}\n", i, i), 40)),
		})
	}
	e := expr.New(expr.Options{})
	o := Options{Values: values()}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		out, err := Render(e, files, o)
		if err != nil || len(out) != len(files) {
			b.Fatalf("got %d files, %v", len(out), err)
		}
	}
}

func TestRenderResultIsSortedAndIndependent(t *testing.T) {
	files := []File{{Path: "b", Content: []byte("1")}, {Path: "a", Content: []byte("2")}}
	got, err := Render(expr.New(expr.Options{}), files, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if paths := []string{got[0].Path, got[1].Path}; !reflect.DeepEqual(paths, []string{"a", "b"}) {
		t.Errorf("got paths %v, want sorted [a b]", paths)
	}
	if files[0].Path != "b" {
		t.Errorf("got input reordered to %q first, want the caller's slice untouched", files[0].Path)
	}
}

// TestRenderMarksSecretParts: a file rendered from a secret value says which parts of it are secret, in
// its content and in its path; other files say none.
func TestRenderMarksSecretParts(t *testing.T) {
	files := []File{
		{Path: "config.txt", Content: []byte("user=${{ values.user }}\nkey=${{ values.key | reverse }}\n")},
		{Path: "${{ values.key | upper }}.txt", Content: []byte("x")},
		{Path: "plain.txt", Content: []byte("${{ values.user }}")},
	}
	out, err := Render(expr.New(expr.Options{}), files, Options{Values: map[string]any{"user": "alice", "key": expr.NewSecret("s3cret")}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, f := range out {
		got[f.Path] = f.Secret
	}
	want := map[string][]string{"config.txt": {"terc3s"}, "S3CRET.txt": {"S3CRET"}, "plain.txt": nil}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("secret parts = %q, want %q", got, want)
	}
}

// TestRenderJinja: with Jinja, a cookiecutter skeleton may call items() on its values.
func TestRenderJinja(t *testing.T) {
	vals, _ := expr.DecodeJSON([]byte(`{"name": "orders", "port": 8080}`))
	files := []File{{Path: "{{ cookiecutter.name }}/env", Content: []byte("{% for k, v in cookiecutter.items() %}{{ k | upper }}={{ v }}\n{% endfor %}")}}
	got, err := Render(expr.New(expr.Options{}), files, Options{Values: vals, CookiecutterCompat: true, Jinja: true})
	if err != nil {
		t.Fatal(err)
	}
	if s := summary(got); s != "orders/env=NAME=orders\nPORT=8080\n" {
		t.Errorf("rendered %q", s)
	}
	if _, err := Render(expr.New(expr.Options{}), files, Options{Values: vals, CookiecutterCompat: true}); err == nil {
		t.Error("items() rendered without Jinja")
	}
}
