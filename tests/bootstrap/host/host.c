/*
 * host.c - behaves like Kamailio towards a module: dlopen in the parent, fork, then use
 * the library in a child. Exit 0 only when the parent never got Go threads, the bootstrap
 * was captured, and a child that starts the runtime runs goroutines, timers, net and GC.
 * Every wait is bounded by alarm(): a broken capture fails, it does not hang.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <signal.h>
#include <sys/wait.h>

static int threads(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	while(d && (e = readdir(d)))
		if(e->d_name[0] != '.')
			n++;
	if(d)
		closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	void *lib;
	int (*state)(void), (*start)(void), (*selftest)(void);
	int status;
	pid_t pid;

	alarm(20);
	lib = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
	if(!lib) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 10;
	}
	state = dlsym(lib, "go_runtime_state");
	start = dlsym(lib, "go_runtime_start");
	selftest = dlsym(lib, "SelfTest");
	if(!state || !start || !selftest) {
		fprintf(stderr, "missing symbols\n");
		return 11;
	}
	if(state() != 1) {
		fprintf(stderr, "bootstrap not captured at dlopen (state %d)\n", state());
		return 12;
	}
	if(threads() != 1) {
		fprintf(stderr, "the parent has %d threads after dlopen: the runtime started\n", threads());
		return 13;
	}
	pid = fork();
	if(pid == 0) {
		alarm(10);
		if(start() != 0)
			_exit(20);
		_exit(selftest() == 0 ? 0 : 21);
	}
	if(waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "child failed: %s %d\n", WIFSIGNALED(status) ? "signal" : "exit",
				WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		return 14;
	}
	if(threads() != 1) {
		fprintf(stderr, "the parent has %d threads after the child ran Go\n", threads());
		return 15;
	}
	printf("bootstrap captured at dlopen; runtime healthy after fork\n");
	return 0;
}
