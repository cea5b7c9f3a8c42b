package process

import (
	"sync"
	"syscall"
)

// umaskMu serialises changes to the umask, which is one per operating-system process, not per
// goroutine: it is the only state this package shares.
var umaskMu sync.Mutex

// WithPrivateUmask runs start — which must fork the child and return — with the umask at 077, so
// the child creates files only its owner can read (a store's data, logs and sockets). A child
// inherits the umask when it is forked; other goroutines creating files meanwhile get stricter
// modes, never looser ones.
func WithPrivateUmask(start func() error) error {
	umaskMu.Lock()
	defer umaskMu.Unlock()
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	return start()
}
