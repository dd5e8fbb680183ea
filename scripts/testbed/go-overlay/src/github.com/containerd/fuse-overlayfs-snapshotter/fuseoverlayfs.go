// Package fuseoverlayfs stands in for the fuse-overlayfs snapshotter, which Debian does not
// package. The testbed's BuildKit uses the kernel's overlayfs (or native), never FUSE.
package fuseoverlayfs

import (
	"errors"

	"github.com/containerd/containerd/snapshots"
)

var errUnavailable = errors.New("fuse-overlayfs snapshotter is not available in this build")

// Supported reports that fuse-overlayfs cannot be used, so "auto" falls back to native.
func Supported(root string) error { return errUnavailable }

// NewSnapshotter always fails: only an explicit --oci-worker-snapshotter=fuse-overlayfs gets here.
func NewSnapshotter(root string, opts ...interface{}) (snapshots.Snapshotter, error) {
	return nil, errUnavailable
}
