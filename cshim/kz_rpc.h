/* kz_rpc.h - kazoo.status and kazoo.subscriptions */
#ifndef KAZOO_RPC_H
#define KAZOO_RPC_H

#include "core/rpc.h"

int kz_rpc_mod_init(void);
void kz_rpc_process_started(void);
void kz_rpc_subscriptions_writer(void);
/* counter idx (kz_status_counter) summed over the processes */
long kz_rpc_counter_sum(int idx);

extern rpc_export_t kz_rpc[];

#endif
