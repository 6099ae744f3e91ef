/* compiles cshim/kz_wait.c into kazoo.so (cgo only compiles C files of the Go package directory) */
#include "../cshim/kz_wait.c"
