/*
 * go_runtime.c - deferred start of the Go runtime of a c-shared library.
 *
 * kazoo.so is linked with -Wl,--wrap=pthread_create, so every pthread_create() issued by code
 * of this .so - including the Go runtime's own runtime/cgo - goes through
 * __wrap_pthread_create below; other libraries of the process are not affected. The first
 * such call comes from the .so's ELF constructor (_rt0_amd64_lib -> x_cgo_sys_thread_create)
 * during dlopen: it would start the thread that runs runtime.rt0_go. We keep its start routine
 * and argument, pretend success, and replay it later with the real pthread_create in the
 * process that wants Go. Every later call passes straight through.
 *
 * Consequences the shim relies on:
 *  - no Go thread exists in Kamailio's main process, nor in any process that never starts Go;
 *  - a Go export called before go_runtime_start() blocks forever (cgo waits for the runtime
 *    to be initialised), so every shim entry checks go_runtime_alive() first;
 *  - the captured start routine stays pristine in every forked copy of the process image until
 *    that copy replays it.
 * The dependency on Go internals is "the first pthread_create of this .so during dlopen is the
 * runtime bootstrap", true since Go 1.5 on linux/amd64 and arm64. It is checked at build time
 * (scripts/check-module.sh, which make runs on every build; tests/bootstrap) and at load time
 * (mod_init refuses to start unless captured).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include "go_runtime.h"

#define HIDDEN __attribute__((visibility("hidden")))

int __real_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
		void *(*start)(void *), void *arg);

static void *(*bootstrap_start)(void *);
static void *bootstrap_arg;
static int state = GO_RUNTIME_NONE;
static int owner_pid;
/* 1 in the process that started the runtime, 0 in every process forked from it (an atfork
 * handler clears it): go_runtime_alive() runs at every shim entry, and getpid() is a system
 * call, which costs about 1 us on the virtual machines measured (kz.json is 3.5 us) */
static int alive_here;

static void forked_child(void)
{
	alive_here = 0;
}

HIDDEN int __wrap_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
		void *(*start)(void *), void *arg)
{
	if(__atomic_load_n(&state, __ATOMIC_ACQUIRE) == GO_RUNTIME_NONE) {
		bootstrap_start = start;
		bootstrap_arg = arg;
		__atomic_store_n(&state, GO_RUNTIME_CAPTURED, __ATOMIC_RELEASE);
		memset(thread, 0, sizeof(*thread));
		return 0;
	}
	return __real_pthread_create(thread, attr, start, arg);
}

int go_runtime_state(void)
{
	return __atomic_load_n(&state, __ATOMIC_ACQUIRE);
}

int go_runtime_owner(void)
{
	return owner_pid;
}

int go_runtime_alive(void)
{
	return alive_here;
}

/* Go wants SA_ONSTACK on every handler that may run on one of its threads; Kamailio installs
 * its handlers after dlopen without it (Go only patches the handlers present at load). */
static void add_onstack_to_handlers(void)
{
	struct sigaction sa;
	int sig;

	for(sig = 1; sig < NSIG; sig++) {
		if(sig == SIGKILL || sig == SIGSTOP || sigaction(sig, NULL, &sa) != 0)
			continue;
		if(sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN
				|| (sa.sa_flags & SA_ONSTACK))
			continue;
		sa.sa_flags |= SA_ONSTACK;
		sigaction(sig, &sa, NULL);
	}
}

int go_runtime_start(void)
{
	pthread_attr_t attr;
	pthread_t thread;
	sigset_t process_signals, saved;
	int r;

	if(go_runtime_state() != GO_RUNTIME_CAPTURED)
		return -EALREADY;
	if(pthread_atfork(NULL, NULL, forked_child) != 0)
		return -ENOMEM;
	add_onstack_to_handlers();
	/* Go threads inherit the creating thread's mask: block the signals Kamailio handles so
	 * they keep landing on Kamailio's own thread, never on a goroutine stack. */
	sigemptyset(&process_signals);
	sigaddset(&process_signals, SIGINT);
	sigaddset(&process_signals, SIGTERM);
	sigaddset(&process_signals, SIGHUP);
	sigaddset(&process_signals, SIGQUIT);
	sigaddset(&process_signals, SIGUSR1);
	sigaddset(&process_signals, SIGUSR2);
	sigaddset(&process_signals, SIGCHLD);
	sigaddset(&process_signals, SIGALRM);
	sigaddset(&process_signals, SIGPIPE);
	sigaddset(&process_signals, SIGWINCH);
	pthread_sigmask(SIG_BLOCK, &process_signals, &saved);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = __real_pthread_create(&thread, &attr, bootstrap_start, bootstrap_arg);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if(r != 0)
		return -r;
	owner_pid = (int)getpid();
	__atomic_store_n(&state, GO_RUNTIME_STARTED, __ATOMIC_RELEASE);
	alive_here = 1;
	return 0;
}
