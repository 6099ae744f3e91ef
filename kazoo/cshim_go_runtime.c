/* compiles cshim/go_runtime.c into kazoo.so (cgo only compiles C files of the Go package directory) */
#include "../cshim/go_runtime.c"
