package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/segmentkit/segmentkit/schema"
)

// The snapshot file of a data directory, relative to it.
const (
	cacheDir  = ".segmentkit"
	cacheFile = "snapshot"
)

// loaderVersion numbers what Load builds from given files. A snapshot file
// is used by LoadCached only if the same loader version (and the same
// build of segmentkit, when the binary records its version) wrote it, so
// it must change whenever Load's snapshot of the same files changes: the
// columns' types, the clustering, the links, anything a snapshot holds.
const loaderVersion = 2

// racyWindow is how recent a data file's modification may be for its
// snapshot file to be written. A file changed twice within the clock tick
// of the file system, keeping its size, would show the same signature
// after the second change as after the first; a file not modified for
// racyWindow before the snapshot file is written cannot be in that case.
const racyWindow = 2 * time.Second

// SnapshotFilePath returns the path of the snapshot file LoadCached keeps
// for the data directory dir: dir/.segmentkit/snapshot.
func SnapshotFilePath(dir string) string {
	return filepath.Join(dir, cacheDir, cacheFile)
}

// dirSignature identifies the files a data directory's snapshot was built
// from, and the code that built it.
type dirSignature struct {
	Builder string `json:"builder"`
	// Schema is the SHA-256 of schema.json: a schema edited within a clock
	// tick is still seen.
	Schema string      `json:"schemaSha256"`
	Files  []fileStamp `json:"files"`
}

// fileStamp identifies one version of a file, as far as its metadata
// tells: the size, the modification time, and where the system has them
// the inode and the time of the last change to the inode, which no tool
// can set back (cp -p and touch -d set the modification time back, not
// that one).
type fileStamp struct {
	Path    string `json:"path"`
	Size    int64  `json:"size"`
	ModTime int64  `json:"mtime"`
	Change  int64  `json:"ctime,omitempty"`
	Inode   uint64 `json:"inode,omitempty"`
}

func (a *dirSignature) equal(b *dirSignature) bool {
	return a.Builder == b.Builder && a.Schema == b.Schema && slices.Equal(a.Files, b.Files)
}

func stampFile(dir, rel string) (fileStamp, error) {
	st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		return fileStamp{}, err
	}
	fs := fileStamp{Path: rel, Size: st.Size(), ModTime: st.ModTime().UnixNano()}
	fs.Change, fs.Inode = inodeStamp(st)
	return fs, nil
}

// signDir returns the signature of dir's current files: schema.json and
// every source it names. An error means Load would fail too (or the files
// are changing): LoadCached then lets Load report it.
func signDir(dir string) (*dirSignature, error) {
	stamp, err := stampFile(dir, "schema.json")
	if err != nil {
		return nil, err
	}
	data, err := schema.ReadFile(filepath.Join(dir, "schema.json"))
	if err != nil {
		return nil, err
	}
	sch, err := schema.Parse(data)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	sig := &dirSignature{Builder: snapshotBuilder(), Schema: hex.EncodeToString(sum[:]), Files: []fileStamp{stamp}}
	for _, e := range sch.Entities {
		st, err := stampFile(dir, e.File)
		if err != nil {
			return nil, err
		}
		sig.Files = append(sig.Files, st)
	}
	return sig, nil
}

// snapshotBuilder describes the code that builds snapshots (see
// loaderVersion).
var snapshotBuilder = sync.OnceValue(func() string {
	b := fmt.Sprintf("loader %d, format %d", loaderVersion, snapVersion)
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	b += ", " + info.Main.Path + " " + info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" || s.Key == "vcs.modified" {
			b += " " + s.Key + "=" + s.Value
		}
	}
	for _, d := range info.Deps {
		if d.Path == "github.com/segmentkit/segmentkit" {
			b += ", " + d.Path + " " + d.Version
		}
	}
	return b
})

// errStale says that a data directory's snapshot file was not built from
// its current files.
var errStale = errors.New("snapshot file is stale")

// LoadCached is Load with a cache: the data directory's snapshot file,
// dir/.segmentkit/snapshot (SnapshotFilePath). When that file is current
// (written by this build of segmentkit from the very files dir holds now:
// schema.json by content, each source by size, modification time and,
// where the system has them, inode and inode change time), LoadCached opens
// it (Open) instead of reading the data files, which takes well under a
// second however large the data. Otherwise (no file, a stale one, a
// damaged one, one of another format version) it loads dir with Load and
// writes the snapshot file for the next time, replacing the old one
// atomically; a directory it cannot write to (read-only, say) just goes
// without. The file is a cache: deleting it is always safe.
//
// The snapshot file is not written when a data file changed while Load
// read it, or was modified less than two seconds before (a second change
// within the file system's clock tick could go unseen); the next
// LoadCached writes it. Writing costs about the snapshot's size in disk
// space and time to write it, once per change of the data.
//
// A snapshot from the snapshot file is checked as Open checks it: its
// value sections in the background. Call Snapshot.Verify before trusting
// what was read; if the background check finds damage, LoadCached also
// removes the file, so that the next call rebuilds it. With
// opts.VerifySnapshotFile, LoadCached waits for the check itself and
// loads the data files when it fails: the snapshot it returns is then
// checked whole, at the cost of reading every page of the file first.
//
// opts is as for Load; with opts.NoSnapshotCache, LoadCached is Load.
func LoadCached(ctx context.Context, dir string, opts Options) (*Snapshot, error) {
	if opts.NoSnapshotCache {
		return Load(ctx, dir, opts)
	}
	before, err := signDir(dir)
	if err != nil {
		return Load(ctx, dir, opts)
	}
	path := SnapshotFilePath(dir)
	s, err := openCached(ctx, path, before)
	if err == nil && opts.VerifySnapshotFile {
		if err = s.Verify(ctx); err != nil {
			// Verify removed the damaged file, or it was replaced.
			s.Release()
		}
	}
	if err == nil {
		return s, nil
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("load %s: %w", dir, ctx.Err())
	}
	snap, err := Load(ctx, dir, opts)
	if err != nil {
		return nil, err
	}
	if after, err := signDir(dir); err == nil && after.equal(before) {
		// Best effort: a snapshot file that cannot be written is a cache
		// miss next time, no error now.
		// The file holds the data: it gets the permissions of
		// schema.json, not more.
		perm := os.FileMode(0)
		if st, err := os.Stat(filepath.Join(dir, "schema.json")); err == nil {
			perm = st.Mode().Perm() & 0o666
		}
		if os.MkdirAll(filepath.Dir(path), 0o777) == nil {
			saveFile(ctx, snap, path, before, perm)
		}
	}
	return snap, nil
}

// openCached opens the snapshot file at path if it was built from the
// files sig describes.
func openCached(ctx context.Context, path string, sig *dirSignature) (*Snapshot, error) {
	data, unmap, info, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	f := &snapFile{path: path, data: data, unmap: unmap, done: make(chan struct{})}
	f.onDamage = func() {
		// Remove the damaged file, unless it was replaced since.
		if now, err := os.Stat(path); err == nil && os.SameFile(now, info) {
			os.Remove(path)
		}
	}
	s, err := openMapped(ctx, f, func(meta *fileMeta) error {
		if meta.Sources == nil || !meta.Sources.equal(sig) {
			return errStale
		}
		return nil
	})
	if err != nil {
		f.close()
		return nil, err
	}
	return s, nil
}

// checkRacy reports whether a data file was modified within racyWindow of
// now, as the file system's clock tells it (the modification time of a
// file just created).
func checkRacy(sig *dirSignature, now time.Time) error {
	// schema.json is compared by content.
	for _, f := range sig.Files[1:] {
		if now.Sub(time.Unix(0, f.ModTime)) < racyWindow {
			return fmt.Errorf("%s was modified less than %v ago", f.Path, racyWindow)
		}
	}
	return nil
}

// removeOldTemps removes the temporary files of saves that died (a crash,
// a kill) beside path, once they are an hour old: a younger one may be
// another process's save in progress.
func removeOldTemps(path string) {
	dir, base := filepath.Split(path)
	old, _ := filepath.Glob(filepath.Join(dir, "."+base+".*.tmp"))
	for _, p := range old {
		if st, err := os.Stat(p); err == nil && time.Since(st.ModTime()) > time.Hour {
			os.Remove(p)
		}
	}
}
