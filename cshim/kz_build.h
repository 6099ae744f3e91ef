/*
 * kz_build.h - first include of every shim file: what Kamailio's Makefile.modules would
 * pass on the compiler command line. kamdefs.h is generated from the target Kamailio's
 * "make cfg" (kamailio-headers/), so module_version and module_flags match the core's.
 */
#ifndef KAZOO_BUILD_H
#define KAZOO_BUILD_H

#include "kamdefs.h"

#ifndef MOD_NAME
#define MOD_NAME "kazoo"
#endif

#endif
