// Package harness runs the real components needed by the end-to-end tests of
// kazoo.so: a private RabbitMQ node or a cluster of them (StartRabbitCluster;
// StartRabbitClusterNetns for one a test partitions), Kamailio (foreground or
// daemon mode) and sipp.
//
// Rules the harness follows (and that callers can rely on):
//
//   - Everything listens on 127.0.0.1 only, on ports chosen by FreePort; the
//     exception are the nodes of StartRabbitClusterNetns, each on a private
//     10.x.y.z address in a network namespace of its own, joined by a bridge
//     that the harness creates and removes.
//   - Every process is started by the harness and stopped by PID (or by the
//     process group the harness created), never by name. The system RabbitMQ
//     (rabbit@localhost, port 5672) and its epmd are never touched.
//   - Every wait is bounded. If the test binary dies (for example on a
//     `go test -timeout` panic) a small watchdog shell, one per started
//     process group, SIGKILLs the group, so nothing outlives the test binary.
//   - Temporary files live under t.TempDir() or under a directory the harness
//     creates with os.MkdirTemp and removes.
//
// A test binary that uses SharedRabbit must stop it from TestMain:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		harness.StopShared()
//		os.Exit(code)
//	}
package harness
