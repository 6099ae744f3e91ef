/* kz_status.h - $xavp(amqpc=>...) connection counters */
#ifndef KAZOO_STATUS_H
#define KAZOO_STATUS_H

int kz_status_mod_init(void);

#endif
