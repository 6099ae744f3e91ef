/* compiles cshim/kz_pua.c into kazoo.so (cgo only compiles C files of the Go package directory) */
#include "../cshim/kz_pua.c"
