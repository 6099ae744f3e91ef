package module

import "syscall"

// recvBuffer is a receive buffer for the largest datagram a socket may carry, mapped outside
// the Go heap. On the heap, the 4 MB async and 1 MB control buffers of each consumer worker
// counted as live memory: the GC let garbage grow to 125% of them (GOGC 25) before
// collecting, which kept ~5 MB more resident per consumer process after a burst of events.
// Mapped pages cost nothing until a datagram touches them. Falls back to the heap when
// the mapping fails.
func recvBuffer(size int) []byte {
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS)
	if err != nil {
		return make([]byte, size)
	}
	return b
}
