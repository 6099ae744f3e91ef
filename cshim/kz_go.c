/*
 * kz_go.c - where and when Go runs.
 *
 * Process model (see the README): every Kamailio process that runs routes calling the
 * module starts its own Go runtime after fork and owns its own AMQP connection, as the db
 * modules do. SIP workers (ranks 1..126: UDP/TCP/SCTP receivers) start it in child_init,
 * before they serve traffic; any other forked process (timers, RPC, rtimer, ...) starts it
 * on its first call into the module, so processes that never use it stay single-threaded.
 * Never in the main process (modules are loaded and mod_init runs there, and it forks
 * everything else afterwards), never under `kamailio -c`; event_route[kazoo:mod-init] runs
 * in "kazoo consumer 1" (kz_consumer.c).
 *
 * Go's own log lines travel through a non-blocking pipe to the "kazoo log relay" process,
 * which prints them with Kamailio's LOG macros (goroutines must not call Kamailio's API).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "kz_build.h"
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <stdlib.h>
#include "core/dprint.h"
#include "core/pt.h"
#include "core/globals.h"
#include "core/cfg_core.h"
#include "core/cfg/cfg.h"
#include "core/cfg/cfg_struct.h"
#include "core/mem/mem.h"
#include "core/sr_module.h"
#include "kazoo_abi.h"
#include "go_runtime.h"
#include "kz_params.h"
#include "kz_go.h"
#include "kz_bounds.h"
#include "kz_status.h"
#include "kz_rpc.h"

unsigned char kz_errbuf[KZ_ERRBUF_SIZE];
kz_buf_t kz_err = {kz_errbuf, sizeof(kz_errbuf), 0};

int kz_pkg_grow(uint8_t **buf, int64_t *cap, int64_t size)
{
	uint8_t *p = pkg_realloc(*buf, size);

	if(p == NULL) {
		PKG_MEM_ERROR;
		return -1;
	}
	*buf = p;
	*cap = size;
	return 0;
}

int kz_errlen_checked(void)
{
	if(!kz_len_ok(kz_err.len, sizeof(kz_errbuf), "an error text length"))
		return 0;
	return (int)kz_err.len;
}

static int log_pipe[2] = {-1, -1};
static char *go_cfg = NULL; /* "key\0value\0" records, built in mod_init, inherited by fork */
static int go_cfg_len = 0;
static int go_cfg_cap = 0;
static int go_started_here = 0; /* kzgo_init succeeded in this process */
int kz_go_consumer_process = 0;  /* set by a kazoo consumer process before kz_go_ensure */
static int go_failed_pid = 0;   /* pid in which starting Go failed (logged once) */

int kz_go_cfg_add(const char *key, const char *val, int val_len)
{
	int klen = strlen(key), need;
	char *p;

	if(val_len < 0)
		val_len = strlen(val);
	need = go_cfg_len + klen + 1 + val_len + 1;
	if(need > go_cfg_cap) {
		int cap = need * 2 + 256;
		p = pkg_realloc(go_cfg, cap);
		if(p == NULL) {
			PKG_MEM_ERROR;
			return -1;
		}
		go_cfg = p;
		go_cfg_cap = cap;
	}
	memcpy(go_cfg + go_cfg_len, key, klen + 1);
	go_cfg_len += klen + 1;
	memcpy(go_cfg + go_cfg_len, val, val_len);
	go_cfg[go_cfg_len + val_len] = 0;
	go_cfg_len += val_len + 1;
	return 0;
}

int kz_go_cfg_add_int(const char *key, int v)
{
	char num[24];
	snprintf(num, sizeof(num), "%d", v);
	return kz_go_cfg_add(key, num, -1);
}

static int cfg_send_int(const char *key, int v)
{
	return key ? kz_go_cfg_add_int(key, v) : 0;
}

static int cfg_send_str(const char *key, const str *v)
{
	return key ? kz_go_cfg_add(key, v->s ? v->s : "", v->s ? v->len : 0) : 0;
}

/* every parameter kz_params.def sends to Go, and the values derived here; the consumers'
 * records follow in kz_consumer_mod_init, the process's own in start_go_here */
static int build_go_config(void)
{
	kz_broker_url_t *b;
	int rc = 0;

#define KZ_NOT_SENT NULL
#define KZ_INT(name, var, dflt, min, max, flags, go_key) rc |= cfg_send_int(go_key, var);
#define KZ_STR(name, var, dflt, flags, go_key) rc |= cfg_send_str(go_key, &var);
#define KZ_STR_FN(name, var, dflt, setter, flags, go_key) rc |= cfg_send_str(go_key, &var);
#define KZ_URLS(name, setter, go_key)            \
	for(b = kz_broker_urls; b; b = b->next) \
		rc |= kz_go_cfg_add(go_key, b->url, -1);
#include "kz_params.def"
#undef KZ_NOT_SENT
	rc |= kz_go_cfg_add(kz_key_app_version, VERSION, -1);
	rc |= kz_go_cfg_add_int(kz_key_connect_timeout_ms, kz_connect_timeout_ms());
	return rc ? -1 : 0;
}

int kz_go_mod_init(void)
{
	if(go_runtime_state() != GO_RUNTIME_CAPTURED) {
		LM_ERR("the Go runtime's bootstrap was not captured at load time (state %d):"
			   " kazoo.so was built without -Wl,--wrap=pthread_create, or this Go"
			   " toolchain starts its runtime differently; rebuild with the project's"
			   " Makefile, whose build verifies it (scripts/check-module.sh)\n",
				go_runtime_state());
		return -1;
	}
	if(pipe2(log_pipe, O_CLOEXEC) < 0) {
		LM_ERR("cannot create the log relay pipe: %s\n", strerror(errno));
		return -1;
	}
	/* writers (Go, in every process) must never block on a full pipe */
	if(fcntl(log_pipe[1], F_SETFL, O_NONBLOCK) < 0) {
		LM_ERR("cannot make the log relay pipe non-blocking: %s\n", strerror(errno));
		return -1;
	}
	if(build_go_config() < 0)
		return -1;
	register_procs(1);
	cfg_register_child(1);
	return 0;
}

/* ---- the log relay process ---- */

static void relay_line(char *line, int len)
{
	int level, pid = 0;
	char *text;

	if(len < 2)
		return;
	level = line[0] - '0';
	text = memchr(line, '|', len);
	if(text == NULL)
		return;
	pid = atoi(line + 1);
	text++;
	len -= text - line;
	switch(level) {
		case KZ_LOG_ERR:
			LM_ERR("[pid %d] %.*s\n", pid, len, text);
			break;
		case KZ_LOG_WARN:
			LM_WARN("[pid %d] %.*s\n", pid, len, text);
			break;
		case KZ_LOG_NOTICE:
			LM_NOTICE("[pid %d] %.*s\n", pid, len, text);
			break;
		case KZ_LOG_INFO:
			LM_INFO("[pid %d] %.*s\n", pid, len, text);
			break;
		default:
			LM_DBG("[pid %d] %.*s\n", pid, len, text);
	}
}

static void relay_loop(void)
{
	char buf[2 * KZ_LOG_RECORD_MAX];
	int have = 0, n;
	char *start, *nl;

	for(;;) {
		n = read(log_pipe[0], buf + have, sizeof(buf) - have);
		if(n < 0 && errno == EINTR)
			continue;
		if(n <= 0) {
			LM_ERR("log relay pipe: %s\n", n < 0 ? strerror(errno) : "closed");
			sleep(1);
			continue;
		}
		cfg_update();
		have += n;
		start = buf;
		while((nl = memchr(start, '\n', have - (start - buf))) != NULL) {
			relay_line(start, nl - start);
			start = nl + 1;
		}
		have -= start - buf;
		memmove(buf, start, have);
		if(have == sizeof(buf)) /* no newline in a whole buffer: not a record */
			have = 0;
	}
}

int kz_go_fork_relay(void)
{
	int pid = fork_process(PROC_NOCHLDINIT, "kazoo log relay", 1);
	if(pid < 0)
		return -1;
	if(pid == 0) {
		if(cfg_child_init())
			exit(-1);
		relay_loop();
		exit(0);
	}
	return 0;
}

/* ---- starting Go in a process ---- */

static int start_go_here(void)
{
	int r;
	char process[128];

	r = go_runtime_start();
	if(r != 0) {
		LM_ERR("cannot start the Go runtime in this process: %s\n", strerror(-r));
		return -1;
	}
	/* first call into Go: returns once the runtime and the package inits have run */
	if(kzgo_abi_version() != KZ_ABI_VERSION) {
		LM_ERR("kazoo.so is inconsistent: Go side ABI %d, C shim ABI %d\n",
				kzgo_abi_version(), KZ_ABI_VERSION);
		return -1;
	}
	snprintf(process, sizeof(process), "%s", pt && process_no >= 0 ? pt[process_no].desc : "?");
	if(kz_go_cfg_add(kz_key_process, process, -1) < 0
			|| kz_go_cfg_add_int(kz_key_log_level, cfg_get(core, core_cfg, debug)) < 0
			|| kz_go_cfg_add_int(kz_key_consumer_process, kz_go_consumer_process) < 0)
		return -1;
	kz_err.len = 0;
	r = kzgo_init((kz_bytes_t){(uint8_t *)go_cfg, go_cfg_len}, log_pipe[1], &kz_err);
	if(r != KZ_OK) {
		LM_ERR("cannot start the module's Go side: %.*s\n", kz_errlen_checked(), kz_errbuf);
		return -1;
	}
	go_started_here = 1;
	kzgo_watch_status(&kz_status_gen);
	kz_rpc_process_started();
	LM_DBG("Go runtime started in process %d (%s)\n", process_no, process);
	return 0;
}

int kz_go_ensure(void)
{
	int me = (int)getpid();

	if(go_runtime_alive())
		return go_started_here ? 0 : -1;
	if(go_failed_pid == me)
		return -1;
	go_failed_pid = me; /* log the reasons below once per process */
	if(_ksr_is_main) {
		LM_ERR("the kazoo module's AMQP functions cannot run in Kamailio's main process"
			   " (event_route[kazoo:mod-init], startup): it forks all other processes"
			   " afterwards and Go does not survive fork\n");
		return -1;
	}
	if(go_runtime_state() == GO_RUNTIME_STARTED) {
		LM_ERR("this process was forked from process %d after Go started there; Go does"
			   " not survive fork, so the kazoo module is unavailable here\n",
				go_runtime_owner());
		return -1;
	}
	if(start_go_here() < 0)
		return -1;
	go_failed_pid = 0;
	return 0;
}

int kz_go_running(void)
{
	return go_started_here && go_runtime_alive();
}

int kz_go_child_init(int rank)
{
	if(rank >= PROC_SIPINIT && rank < PROC_XWORKER)
		return kz_go_ensure();
	return 0;
}
