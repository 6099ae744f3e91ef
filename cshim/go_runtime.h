/*
 * go_runtime.h - start the Go runtime of kazoo.so after fork, in the process that wants it.
 *
 * Kamailio dlopens modules in its main process and then forks; a Go runtime started at dlopen
 * would not survive the fork (its threads stay behind in the parent). So the runtime's
 * bootstrap thread is captured at dlopen instead of started, and replayed by go_runtime_start()
 * in each process that runs the module (see go_runtime.c).
 */
#ifndef KAZOO_GO_RUNTIME_H
#define KAZOO_GO_RUNTIME_H

enum go_runtime_state {
	GO_RUNTIME_NONE = 0,     /* bootstrap never seen: the capture did not work */
	GO_RUNTIME_CAPTURED = 1, /* captured at dlopen, not started in this process */
	GO_RUNTIME_STARTED = 2   /* started (in go_runtime_owner(), maybe an ancestor) */
};

int go_runtime_state(void);
/* pid of the process that started the runtime, 0 if none */
int go_runtime_owner(void);
/* 1 when the runtime runs in the calling process */
int go_runtime_alive(void);
/* start it in the calling, freshly forked and single-threaded process; 0 or -errno */
int go_runtime_start(void);

#endif
