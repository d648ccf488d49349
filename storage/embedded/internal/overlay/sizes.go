package overlay

import (
	"sync/atomic"
	"unsafe"
)

const (
	sizeofNode = int(unsafe.Sizeof(node{}))
	sizeofLink = int(unsafe.Sizeof(atomic.Pointer[node]{}))
)
