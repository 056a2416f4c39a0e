package ociruntime

import (
	"os"
	"syscall"
)

// identity returns the identity of the binary st describes.
func identity(st os.FileInfo) binaryID {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return unidentifiable()
	}
	return binaryID{
		Dev:   uint64(sys.Dev), // uint32 on some architectures
		Ino:   sys.Ino,
		Size:  sys.Size,
		Mtime: sys.Mtim.Nano(),
		Ctime: sys.Ctim.Nano(),
	}
}

// ownedBy reports whether uid owns the file st describes.
func ownedBy(st os.FileInfo, uid int) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	return ok && int(sys.Uid) == uid
}
