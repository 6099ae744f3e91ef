//go:build race

package payload

// raceEnabled skips the allocation tests: race instrumentation changes
// escape analysis (crypto/rand's buffer escapes under -race).
const raceEnabled = true
