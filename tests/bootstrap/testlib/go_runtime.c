/* the product's capture code, compiled into the test library */
#include "../../../cshim/go_runtime.c"
