package harness

import "strings"

// netnsTickTime is the Erlang net_ticktime (seconds) of nodes in network namespaces and of
// the rabbitmqctl that talks to them: a peer that stops answering is declared down after
// 1-1.25 times this instead of the default 60-75 s, so that a partition test sees RabbitMQ
// react while it runs. rabbitmqctl needs the same value, or a node drops it as silent.
const netnsTickTime = "4"

// nodePlace puts a node in a network namespace of a rabbitNetwork instead of on 127.0.0.1.
type nodePlace struct {
	netns             string // the namespace it runs in
	ip                string // its address there, reachable from the harness's namespace
	partitionHandling string // its cluster_partition_handling
}

// confLines are the node's rabbitmq.conf lines about access and partitions.
func (p *nodePlace) confLines() string {
	// guest may log in from anywhere: the clients (the test, Kamailio) come from the bridge
	// address, not from the node's loopback
	return "loopback_users = none\n" +
		"cluster_partition_handling = " + p.partitionHandling + "\n"
}

// setEnv adapts the environment of the node and of its rabbitmqctl (see newRabbit) to the
// namespace: long node names (the host part is the IP: no name resolution involved),
// listeners and distribution on the namespace's address, the short tick time, and the
// namespace's own epmd (rabbitNetwork starts it; the node must not start another one, which
// would daemonize out of the node's process group).
func (p *nodePlace) setEnv(env map[string]string) {
	env["RABBITMQ_USE_LONGNAME"] = "true"
	env["RABBITMQ_NODE_IP_ADDRESS"] = p.ip
	env["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] = "-kernel inet_dist_use_interface {" + strings.ReplaceAll(p.ip, ".", ",") + "}" +
		" -kernel net_ticktime " + netnsTickTime + " -start_epmd false"
	env["RABBITMQ_CTL_ERL_ARGS"] = "-dist_listen false -kernel net_ticktime " + netnsTickTime
	env["ERL_EPMD_ADDRESS"] = "127.0.0.1," + p.ip
}
