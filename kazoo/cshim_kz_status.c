/* compiles cshim/kz_status.c into kazoo.so (cgo only compiles C files of the Go package directory) */
#include "../cshim/kz_status.c"
