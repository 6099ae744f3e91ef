//go:build bench

package bench

import (
	"fmt"
	"os"
	"time"
)

// benchConfig holds the knobs of a table run (environment variables, see run.sh).
type benchConfig struct {
	quick                  bool
	rounds                 int
	rate, workers          int           // fixed query rate; SIP workers (children)
	warmup, latDur, maxDur time.Duration // query phases
	idleDur                time.Duration // Kamailio's idle CPU, measured before the fixed rate
	pubN, consN, consW     int           // publishes; queued events, consumer workers
	jsonN                  int           // kz.json loop iterations (5 lookups each)
	fleetIdle              time.Duration // the fleet node's idle CPU window
	out                    string        // markdown file
}

// outstanding is the closed loop's depth for Kamailio: 4 requests per SIP worker, so a
// worker never waits for the load generator.
func (c benchConfig) outstanding() int { return 4 * c.workers }

func loadConfig() benchConfig {
	c := benchConfig{rounds: 3, rate: 300, workers: 4, warmup: 2 * time.Second,
		latDur: 20 * time.Second, maxDur: 10 * time.Second, idleDur: 5 * time.Second,
		pubN: 10000, consN: 20000, consW: 8, jsonN: 20000, fleetIdle: 20 * time.Second, out: "results.md"}
	if os.Getenv("QUICK") == "1" {
		c.quick, c.rounds = true, 1
		c.warmup, c.latDur, c.maxDur, c.idleDur = time.Second, 4*time.Second, 3*time.Second, 2*time.Second
		c.pubN, c.consN, c.jsonN = 2000, 5000, 2000
		c.fleetIdle = 5 * time.Second
	}
	c.rounds = envInt("ROUNDS", c.rounds)
	c.rate = envInt("RATE", c.rate)
	c.workers = envInt("WORKERS", c.workers)
	c.latDur = time.Duration(envInt("LAT_SECS", int(c.latDur/time.Second))) * time.Second
	c.maxDur = time.Duration(envInt("MAX_SECS", int(c.maxDur/time.Second))) * time.Second
	c.pubN = envInt("PUBLISH_N", c.pubN)
	c.consN = envInt("CONSUME_N", c.consN)
	c.jsonN = envInt("JSON_N", c.jsonN)
	c.fleetIdle = time.Duration(envInt("FLEET_IDLE_SECS", int(c.fleetIdle/time.Second))) * time.Second
	if o := os.Getenv("OUT"); o != "" {
		c.out = o
	}
	return c
}

func (c benchConfig) String() string {
	mode := "full"
	if c.quick {
		mode = "QUICK"
	}
	return fmt.Sprintf("%s, %d round(s); queries: %d/s for %v (after %v warm-up at 100/s), %d SIP workers, "+
		"maximum with %d outstanding for %v (floor: %d in flight); %d publishes; %d queued events, %d consumer workers; "+
		"%d×5 kz.json lookups; fleet: %v idle window", mode, c.rounds, c.rate, c.latDur, c.warmup, c.workers, c.outstanding(), c.maxDur,
		c.workers, c.pubN, c.consN, c.consW, c.jsonN, c.fleetIdle)
}
