/* kz_status.h - $xavp(amqpc=>...) connection counters */
#ifndef KAZOO_STATUS_H
#define KAZOO_STATUS_H

#include <stdint.h>

int kz_status_mod_init(void);
/* changed by Go (kzgo_watch_status) whenever this process's connection counters change */
extern uint64_t kz_status_gen;

#endif
